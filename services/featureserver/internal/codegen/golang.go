package codegen

import (
	"fmt"
	"go/format"
	"strconv"
	"strings"
)

// goComment writes a // comment wrapped to 80 columns.
func goComment(b *strings.Builder, indent, text string) {
	for _, l := range wrap(oneLine(text), 80-len(indent)-3) {
		fmt.Fprintf(b, "%s// %s\n", indent, l)
	}
}

// golang is the Go package of the project, with package clause pkg.
func (p *project) golang(pkg string) ([]byte, error) {
	ids := newIdentifiers("Go")
	var b strings.Builder
	fmt.Fprintf(&b, "// %s\n\n", p.header)
	goComment(&b, "", fmt.Sprintf("Package %s names the feature services and features of the Floe project %q as constants, so Go callers refer to them through names the compiler checks.", pkg, p.name))
	fmt.Fprintf(&b, "package %s\n", pkg)

	if len(p.services) > 0 {
		b.WriteString("\n// Feature service names.\nconst (\n")
		for i, s := range p.services {
			ident := camel(s.def.Name)
			if err := ids.claim(ident, fmt.Sprintf("feature service %q", s.def.Name)); err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteString("\n")
			}
			goComment(&b, "\t", fmt.Sprintf("%s is feature service %s. %s", ident, s.def.Name, oneLine(s.def.Description)))
			fmt.Fprintf(&b, "\t%s = %s\n", ident, strconv.Quote(s.def.Name))
		}
		b.WriteString(")\n")
	}

	for _, v := range p.reg.FeatureViews {
		b.WriteString("\n")
		goComment(&b, "", fmt.Sprintf("Features of view %s, as \"view:feature\" references. %s", v.Name, oneLine(v.Description)))
		b.WriteString("const (\n")
		for i, f := range v.Features {
			ident := camel(v.Name) + camel(f.Name)
			if err := ids.claim(ident, fmt.Sprintf("feature %q of view %q", f.Name, v.Name)); err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteString("\n")
			}
			goComment(&b, "\t", strings.TrimSpace(fmt.Sprintf("%s is %s:%s (%s). %s", ident, v.Name, f.Name, featureKind(f), oneLine(f.Description))))
			fmt.Fprintf(&b, "\t%s = %s\n", ident, strconv.Quote(v.Name+":"+f.Name))
		}
		b.WriteString(")\n")
	}

	for _, s := range p.services {
		ident := camel(s.def.Name) + "Features"
		if err := ids.claim(ident, fmt.Sprintf("the feature list of service %q", s.def.Name)); err != nil {
			return nil, err
		}
		b.WriteString("\n")
		goComment(&b, "", fmt.Sprintf("%s lists the features of %s in the order the model consumes them, which is also the order of the response columns. Treat it as read-only.", ident, s.def.Name))
		fmt.Fprintf(&b, "var %s = []string{\n", ident)
		for _, f := range s.def.Features {
			if f.Alias != "" {
				// A transformed output has its own name, which no ref constant holds.
				fmt.Fprintf(&b, "\t%q,\n", f.OutputName())
				continue
			}
			fmt.Fprintf(&b, "\t%s,\n", camel(f.View.Name)+camel(f.Feature.Name))
		}
		b.WriteString("}\n")
	}

	src, err := format.Source([]byte(b.String()))
	if err != nil {
		// Only a generator bug gets here; show the source so it can be found.
		return nil, fmt.Errorf("gofmt generated code: %w\n%s", err, b.String())
	}
	return src, nil
}
