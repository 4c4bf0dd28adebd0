package codegen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// The TRANSFORMS table of a generated Python class is data, not layer
// construction code: floe.keras (hand-written, its op table in floe/keras/ops.py,
// tested against the shared vectors in specs/testdata/transforms) maps each step
// to its Keras layer, so the mapping lives in one place and the generated code
// only carries the final parameters, fitted ones included.

// hasTransforms reports whether a service returns any feature transformed.
func hasTransforms(s *registry.FeatureService) bool {
	for _, f := range s.Features {
		if f.Transform != nil && len(f.Transform.Steps) > 0 {
			return true
		}
	}
	return false
}

// pyNode is a Python literal: an atom, or a list or dict of nodes, rendered the
// way black formats it.
type pyNode struct {
	atom  string
	open  string // "[" or "{"; "" for an atom
	close string
	keys  []string // dict keys as Python literals, parallel to items; nil for a list
	items []*pyNode
}

func pyAtom(s string) *pyNode { return &pyNode{atom: s} }

func pyList(items ...*pyNode) *pyNode { return &pyNode{open: "[", close: "]", items: items} }

// pyDict builds a dict from alternating string keys and values.
func pyDict(kv ...any) *pyNode {
	n := &pyNode{open: "{", close: "}", keys: []string{}}
	for i := 0; i < len(kv); i += 2 {
		n.keys = append(n.keys, pyStr(kv[i].(string)))
		n.items = append(n.items, kv[i+1].(*pyNode))
	}
	return n
}

// flat is the node on one line.
func (n *pyNode) flat() string {
	if n.open == "" {
		return n.atom
	}
	parts := make([]string, len(n.items))
	for i, it := range n.items {
		parts[i] = it.flat()
		if n.keys != nil {
			parts[i] = n.keys[i] + ": " + parts[i]
		}
	}
	return n.open + strings.Join(parts, ", ") + n.close
}

// write renders prefix+node+suffix at indent: on one line when it fits black's 88
// columns, else (as black does for a collection that does not fit) one item per
// line with a trailing comma, each item rendered the same way.
func (n *pyNode) write(b *strings.Builder, indent, prefix, suffix string) {
	line := indent + prefix + n.flat() + suffix
	if n.open == "" || len(line) <= 88 || len(n.items) == 0 {
		b.WriteString(line + "\n")
		return
	}
	fmt.Fprintf(b, "%s%s%s\n", indent, prefix, n.open)
	for i, it := range n.items {
		p := ""
		if n.keys != nil {
			p = n.keys[i] + ": "
		}
		it.write(b, indent+"    ", p, ",")
	}
	fmt.Fprintf(b, "%s%s%s\n", indent, n.close, suffix)
}

// pyFloat writes f as Python's repr does, as black formats it (18 is 18.0, 1e-07
// stays 1e-07, 1e+16 is 1e16), which Python parses back to the same float64.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return `float("nan")`
	case math.IsInf(f, 1):
		return `float("inf")`
	case math.IsInf(f, -1):
		return `-float("inf")`
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	// Python's repr switches to exponent notation below 1e-4 and from 1e16 on, and
	// writes the shortest digits that parse back to f, as Go's -1 precision does.
	// Black drops an exponent's "+" (1e+16 → 1e16).
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if exp, err := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:]); err == nil && (exp < -4 || exp >= 16) {
		return strings.Replace(e, "e+", "e", 1)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyFill is a Scalar parameter (fill_null's value) as a Python literal of its own
// type.
func pyFill(v any) string {
	switch x := v.(type) {
	case float64:
		return pyFloat(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case string:
		return pyStr(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	panic(fmt.Sprintf("codegen: fill_null value %#v of unexpected type", v))
}

func pyFloats(xs []float64) *pyNode {
	items := make([]*pyNode, len(xs))
	for i, x := range xs {
		items[i] = pyAtom(pyFloat(x))
	}
	return pyList(items...)
}

// pyStep is one step as written in specs, with its final parameters in the op's
// order ({op: {}} for an op without parameters).
func pyStep(s transform.Step) *pyNode {
	var kv []any
	for _, p := range s.Op.Params() {
		if v, ok := s.Args[p.Name]; ok {
			kv = append(kv, p.Name, pyParam(p.Kind, v))
		}
	}
	return pyDict(s.Name(), pyDict(kv...))
}

// pyParam is a parameter value of kind k as a Python literal.
func pyParam(k transform.Kind, v any) *pyNode {
	switch k {
	case transform.Number:
		return pyAtom(pyFloat(v.(float64)))
	case transform.Integer:
		return pyAtom(strconv.Itoa(v.(int)))
	case transform.String:
		return pyAtom(pyStr(v.(string)))
	case transform.Numbers:
		return pyFloats(v.([]float64))
	case transform.Strings:
		xs := v.([]string)
		items := make([]*pyNode, len(xs))
		for i, x := range xs {
			items[i] = pyAtom(pyStr(x))
		}
		return pyList(items...)
	}
	return pyAtom(pyFill(v))
}

// pyTransforms writes a class's TRANSFORMS table: per output feature, in service
// order, its raw input, the input's type and the steps (none for a raw feature),
// the argument floe.keras.Preprocessing takes.
func pyTransforms(b *strings.Builder, s *registry.FeatureService) {
	entries := make([]*pyNode, len(s.Features))
	for i, f := range s.Features {
		var steps []*pyNode
		if f.Transform != nil {
			for _, st := range f.Transform.Steps {
				steps = append(steps, pyStep(st))
			}
		}
		kv := []any{
			"name", pyAtom(pyStr(f.OutputName())),
			"input", pyAtom(pyStr(f.Name())),
			"type", pyAtom(pyStr(f.Feature.Type.String())),
		}
		if f.Feature.Type == registry.TypeFloatVector {
			kv = append(kv, "dim", pyAtom(strconv.Itoa(f.Feature.Dim)))
		}
		kv = append(kv, "transform", pyList(steps...))
		entries[i] = pyDict(kv...)
	}
	// Always one entry per line: the table is read (and diffed) feature by feature.
	b.WriteString("    TRANSFORMS: Final = [\n")
	for _, e := range entries {
		e.write(b, "        ", "", ",")
	}
	b.WriteString("    ]\n")
}

// pyPreprocessingMethod is the classmethod building the Keras preprocessing model.
const pyPreprocessingMethod = `
    @classmethod
    def preprocessing(cls) -> "floe.keras.Preprocessing":
        """Keras model computing FEATURES from the raw features, as the server does.

        Takes the raw features named in TRANSFORMS ("view:feature"), and
        optionally their null masks, and returns this service's features in
        order with theirs; see floe.keras for how nulls are passed. Needs
        ` + "``pip install 'floe-features[keras-jax,keras-tf]'``" + `.
        """
        from floe.keras import Preprocessing

        return Preprocessing(cls.TRANSFORMS, name=cls.NAME)
`
