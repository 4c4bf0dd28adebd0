package codegen

import (
	"fmt"
	"strings"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// pythonReserved are identifiers a generated class must not take: Python keywords
// spelled in CamelCase and the names the module itself imports.
var pythonReserved = []string{"None", "True", "False", "Any", "Final", "Mapping", "Client", "OnlineFeatures", "np", "serving_pb2"}

// pythonDtype is the numpy dtype (as Python source) a feature's column has in the
// SDK's OnlineFeatures.columns, so a model's input layer can be declared from it.
// outputFeature describes what the server returns for a service feature: the
// transform's output when it has one, the stored feature otherwise.
func outputFeature(f registry.FeatureRef) *registry.Feature {
	t, dim := f.Output()
	return &registry.Feature{Name: f.OutputName(), Type: t, Dim: dim}
}

func pythonDtype(f *registry.Feature) (string, error) {
	switch f.Type {
	case registry.TypeInt64:
		return "np.int64", nil
	case registry.TypeDouble:
		return "np.float64", nil
	case registry.TypeBool:
		return "np.bool_", nil
	case registry.TypeString:
		return "object", nil
	case registry.TypeTimestamp:
		return `"datetime64[us]"`, nil
	case registry.TypeFloatVector:
		return fmt.Sprintf("(np.float32, %d)", f.Dim), nil
	}
	return "", fmt.Errorf("feature %q has unsupported type %s", f.Name, f.Type)
}

func pythonKeyDtype(k registry.JoinKey) (string, error) {
	switch k.Type {
	case registry.TypeInt64:
		return "np.int64", nil
	case registry.TypeString:
		return "object", nil
	}
	return "", fmt.Errorf("join key %q has unsupported type %s", k.Name, k.Type)
}

// pyStr quotes s as a Python string literal the way black writes it: in double
// quotes, unless s holds more double than single quotes (black then keeps the
// single-quoted form, which needs fewer escapes).
func pyStr(s string) string {
	q := byte('"')
	if strings.Count(s, `"`) > strings.Count(s, `'`) {
		q = '\''
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyDocText escapes free text for a triple-quoted docstring.
func pyDocText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"""`, `\"\"\"`)
	if strings.HasSuffix(s, `"`) {
		s = s[:len(s)-1] + `\"`
	}
	return s
}

// wrap breaks text into lines of at most width characters (longer words stay whole).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// pyDocstring writes a docstring at the given indent: a summary line, then
// optional paragraphs, wrapped to stay within black's 88 columns.
func pyDocstring(b *strings.Builder, indent string, summary string, paragraphs ...string) {
	width := 79 - len(indent)
	sum := wrap(pyDocText(summary), width-3)
	if len(paragraphs) == 0 && len(sum) == 1 {
		fmt.Fprintf(b, "%s\"\"\"%s\"\"\"\n", indent, sum[0])
		return
	}
	fmt.Fprintf(b, "%s\"\"\"%s\n", indent, sum[0])
	for _, l := range sum[1:] {
		fmt.Fprintf(b, "%s%s\n", indent, l)
	}
	for _, p := range paragraphs {
		b.WriteString("\n")
		for _, l := range wrap(pyDocText(p), width) {
			fmt.Fprintf(b, "%s%s\n", indent, l)
		}
	}
	fmt.Fprintf(b, "%s\"\"\"\n", indent)
}

// pyTuple writes `prefix(items...)` the way black formats it: one item per line
// with a trailing comma, except that black joins a one-item tuple onto one line
// when it fits (its trailing comma is syntax, not a "magic" comma).
func pyTuple(b *strings.Builder, indent, prefix string, items []string) {
	if len(items) == 1 {
		line := fmt.Sprintf("%s%s(%s,)", indent, prefix, pyStr(items[0]))
		if len(line) <= 88 {
			b.WriteString(line + "\n")
			return
		}
	}
	fmt.Fprintf(b, "%s%s(\n", indent, prefix)
	for _, it := range items {
		fmt.Fprintf(b, "%s    %s,\n", indent, pyStr(it))
	}
	fmt.Fprintf(b, "%s)\n", indent)
}

func (p *project) python() ([]byte, error) {
	ids := newIdentifiers("Python", pythonReserved...)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", p.header)
	pyDocstring(&b, "", fmt.Sprintf("Feature contracts of the Floe project %q.", p.name),
		"One class per feature service: its name, its features in the order the model consumes them, the numpy dtype of each feature's column in OnlineFeatures.columns, and the entity join keys a request must carry. A service that transforms features also has TRANSFORMS (each feature's raw input and transform steps, with their final parameters) and preprocessing(), the same transforms as a Keras model (floe.keras).")
	transforms := false
	for _, s := range p.services {
		transforms = transforms || hasTransforms(s.def)
	}
	if transforms {
		// floe.keras is imported for the annotation only: it needs Keras, which the
		// generated module must not.
		b.WriteString(`
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from floe.client import Client, OnlineFeatures
from floe.v1 import serving_pb2

if TYPE_CHECKING:
    import floe.keras

`)
	} else {
		b.WriteString(`
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from floe.client import Client, OnlineFeatures
from floe.v1 import serving_pb2

`)
	}
	b.WriteString("__all__ = [\n")
	for _, s := range p.services {
		fmt.Fprintf(&b, "    %s,\n", pyStr(camel(s.def.Name)))
	}
	b.WriteString("]\n")
	for _, s := range p.services {
		class := camel(s.def.Name)
		if err := ids.claim(class, fmt.Sprintf("feature service %q", s.def.Name)); err != nil {
			return nil, err
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "class %s:\n", class)
		// The file but not the line: a comment added to a spec must not churn every
		// generated file.
		declared := fmt.Sprintf("Feature service ``%s``, declared in %s.", s.def.Name, specPath(s.def.Location.File))
		if oneLine(s.def.Description) == "" {
			pyDocstring(&b, "    ", declared)
		} else {
			pyDocstring(&b, "    ", sentence(s.def.Description, ""), declared)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "    NAME: Final = %s\n", pyStr(s.def.Name))
		refs := make([]string, len(s.def.Features))
		for i, f := range s.def.Features {
			refs[i] = f.OutputName()
		}
		pyTuple(&b, "    ", "FEATURES: Final = ", refs)
		b.WriteString("    DTYPES: Final = {\n")
		for _, f := range s.def.Features {
			dt, err := pythonDtype(outputFeature(f))
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "        %s: %s,\n", pyStr(f.OutputName()), dt)
		}
		b.WriteString("    }\n")
		b.WriteString("    ENTITY_KEYS: Final = {\n")
		for _, k := range s.keys {
			dt, err := pythonKeyDtype(k)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "        %s: %s,\n", pyStr(k.Name), dt)
		}
		b.WriteString("    }\n")
		if hasTransforms(s.def) {
			pyTransforms(&b, s.def)
		}
		b.WriteString(`
    @classmethod
    def from_response(
        cls, response: serving_pb2.GetOnlineFeaturesResponse
    ) -> OnlineFeatures:
        """Converts a response, checking it holds FEATURES in this order."""
        return OnlineFeatures.from_response(response, expected_features=cls.FEATURES)

    @classmethod
    def get(
        cls,
        client: Client,
        entities: Mapping[str, Any],
        timeout: float | None = None,
    ) -> OnlineFeatures:
        """Reads this service's features for the entity rows given by join key."""
        return cls.from_response(
            client.get_online_features_proto(cls.NAME, entities, timeout=timeout)
        )
`)
		if hasTransforms(s.def) {
			b.WriteString(pyPreprocessingMethod)
		}
	}
	return []byte(b.String()), nil
}

// pythonIndex is the package's __init__.py (floe/features/__init__.py in this
// repository): it makes the directory a regular package and lists the generated
// project modules.
func pythonIndex(root, pkg string, projects []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Code generated by floe gen from %s; DO NOT EDIT.\n", root)
	pyDocstring(&b, "", "Generated feature contracts, one module per Floe project.",
		"Import a project's module, e.g. ``from "+pkg+" import "+projects[0]+"``.")
	b.WriteString("\n")
	pyTuple(&b, "", "PROJECTS: tuple[str, ...] = ", projects)
	return []byte(b.String())
}
