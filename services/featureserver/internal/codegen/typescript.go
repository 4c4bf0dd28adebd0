package codegen

import (
	"fmt"
	"regexp"
	"strings"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// tsReserved are identifiers a generated declaration must not take: JavaScript
// reserved words (services become lowerCamel consts), global types the generated
// interfaces refer to (views become UpperCamel interfaces) and the module's own
// fixed exports.
var tsReserved = strings.Fields(`break case catch class const continue debugger default delete do else enum export
	extends false finally for function if import in instanceof new null return super switch this throw true
	try typeof var void while with yield let static implements interface package private protected public
	await Date Float32Array Array Object String Number Boolean BigInt Record Readonly
	featureServices FeatureServiceName`)

var tsIdentifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// tsValueType is the TypeScript type of one feature value as the SDK's row helper
// returns it (protobuf-es represents int64 as bigint).
func tsValueType(t registry.Type) (string, error) {
	switch t {
	case registry.TypeInt64:
		return "bigint", nil
	case registry.TypeDouble:
		return "number", nil
	case registry.TypeString:
		return "string", nil
	case registry.TypeBool:
		return "boolean", nil
	case registry.TypeTimestamp:
		return "Date", nil
	case registry.TypeFloatVector:
		return "Float32Array", nil
	}
	return "", fmt.Errorf("unsupported type %s", t)
}

// tsKey writes an object key, quoted only when it is not an identifier.
func tsKey(s string) string {
	if tsIdentifier.MatchString(s) {
		return s
	}
	return pyStr(s) // a double-quoted literal with \x escapes is valid JavaScript too
}

// tsDoc writes a JSDoc comment wrapped to 80 columns.
func tsDoc(b *strings.Builder, indent, text string) {
	text = strings.ReplaceAll(oneLine(text), "*/", `*\/`)
	lines := wrap(text, 80-len(indent)-4)
	if len(lines) == 1 && len(indent)+len(lines[0])+7 <= 80 {
		fmt.Fprintf(b, "%s/** %s */\n", indent, lines[0])
		return
	}
	fmt.Fprintf(b, "%s/**\n", indent)
	for _, l := range lines {
		fmt.Fprintf(b, "%s * %s\n", indent, l)
	}
	fmt.Fprintf(b, "%s */\n", indent)
}

func featureKind(f *registry.Feature) string {
	if f.Type == registry.TypeFloatVector {
		return fmt.Sprintf("%s, dim %d", f.Type, f.Dim)
	}
	return f.Type.String()
}

func (p *project) typescript() ([]byte, error) {
	ids := newIdentifiers("TypeScript", tsReserved...)
	var b strings.Builder
	fmt.Fprintf(&b, "// %s\n\n", p.header)
	tsDoc(&b, "", fmt.Sprintf("Feature contracts of the Floe project %q: per feature view an interface of its feature values, per feature service a const describing its ordered features, their value types and the entity join keys a request must carry, plus an interface of its values keyed by \"view:feature\".", p.name))
	for _, v := range p.reg.FeatureViews {
		name := camel(v.Name)
		if err := ids.claim(name, fmt.Sprintf("feature view %q", v.Name)); err != nil {
			return nil, err
		}
		b.WriteString("\n")
		tsDoc(&b, "", fmt.Sprintf("Feature values of view %s (entity %s). %s", v.Name, v.Entity.Name, oneLine(v.Description)))
		fmt.Fprintf(&b, "export interface %s {\n", name)
		for _, f := range v.Features {
			t, err := tsValueType(f.Type)
			if err != nil {
				return nil, fmt.Errorf("feature %s:%s: %w", v.Name, f.Name, err)
			}
			tsDoc(&b, "  ", strings.TrimSpace(featureKind(f)+". "+oneLine(f.Description)))
			fmt.Fprintf(&b, "  %s: %s;\n", tsKey(f.Name), t)
		}
		b.WriteString("}\n")
	}

	for _, s := range p.services {
		constName := lowerCamel(s.def.Name)
		valuesName := camel(s.def.Name) + "Values"
		what := fmt.Sprintf("feature service %q", s.def.Name)
		if err := ids.claim(constName, what); err != nil {
			return nil, err
		}
		if err := ids.claim(valuesName, what); err != nil {
			return nil, err
		}
		b.WriteString("\n")
		tsDoc(&b, "", fmt.Sprintf("Feature service %s, declared in %s. %s", s.def.Name, specPath(s.def.Location.File), oneLine(s.def.Description)))
		fmt.Fprintf(&b, "export const %s = {\n", constName)
		fmt.Fprintf(&b, "  name: %s,\n", pyStr(s.def.Name))
		fmt.Fprintf(&b, "  description: %s,\n", pyStr(oneLine(s.def.Description)))
		b.WriteString("  /** Feature references in the order the model consumes them. */\n")
		b.WriteString("  features: [\n")
		for _, f := range s.def.Features {
			fmt.Fprintf(&b, "    %s,\n", pyStr(f.OutputName()))
		}
		b.WriteString("  ],\n")
		b.WriteString("  /** Spec value type of each feature. */\n")
		b.WriteString("  valueTypes: {\n")
		for _, f := range s.def.Features {
			fmt.Fprintf(&b, "    %s: %s,\n", tsKey(f.OutputName()), pyStr(outputFeature(f).Type.String()))
		}
		b.WriteString("  },\n")
		b.WriteString("  /** Dimension of each float_vector feature. */\n")
		dims := 0
		for _, f := range s.def.Features {
			if outputFeature(f).Type == registry.TypeFloatVector {
				dims++
			}
		}
		if dims == 0 {
			b.WriteString("  dims: {},\n")
		} else {
			b.WriteString("  dims: {\n")
			for _, f := range s.def.Features {
				if out := outputFeature(f); out.Type == registry.TypeFloatVector {
					fmt.Fprintf(&b, "    %s: %d,\n", tsKey(f.OutputName()), out.Dim)
				}
			}
			b.WriteString("  },\n")
		}
		b.WriteString("  /** Join keys a request must carry, with their spec types. */\n")
		b.WriteString("  entityKeys: {\n")
		for _, k := range s.keys {
			fmt.Fprintf(&b, "    %s: %s,\n", tsKey(k.Name), pyStr(k.Type.String()))
		}
		b.WriteString("  },\n")
		b.WriteString("} as const;\n\n")
		tsDoc(&b, "", fmt.Sprintf("Feature values of feature service %s, keyed by output name (\"view:feature\" unless renamed).", s.def.Name))
		fmt.Fprintf(&b, "export interface %s {\n", valuesName)
		for _, f := range s.def.Features {
			t, err := tsValueType(outputFeature(f).Type)
			if err != nil {
				return nil, fmt.Errorf("feature %s: %w", f.Name(), err)
			}
			fmt.Fprintf(&b, "  %s: %s;\n", tsKey(f.OutputName()), t)
		}
		b.WriteString("}\n")
	}

	b.WriteString("\n")
	tsDoc(&b, "", fmt.Sprintf("Every feature service of project %s, by name.", p.name))
	if len(p.services) == 0 {
		b.WriteString("export const featureServices = {} as const;\n")
	} else {
		b.WriteString("export const featureServices = {\n")
		for _, s := range p.services {
			fmt.Fprintf(&b, "  %s: %s,\n", tsKey(s.def.Name), lowerCamel(s.def.Name))
		}
		b.WriteString("} as const;\n")
	}
	b.WriteString("\n")
	tsDoc(&b, "", fmt.Sprintf("Name of a feature service of project %s.", p.name))
	b.WriteString("export type FeatureServiceName = keyof typeof featureServices;\n")
	return []byte(b.String()), nil
}

// tsIndex is features/index.ts: one namespace export per project.
func tsIndex(root string, projects []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "// Code generated by floe gen from %s; DO NOT EDIT.\n\n", root)
	tsDoc(&b, "", "Generated feature contracts, one namespace per Floe project.")
	for _, p := range projects {
		fmt.Fprintf(&b, "export * as %s from \"./%s.js\";\n", p, p)
	}
	return []byte(b.String())
}
