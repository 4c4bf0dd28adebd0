package registry

import (
	"reflect"
	"slices"
	"strings"

	"floe.dev/floe/services/featureserver/internal/transform"
	"gopkg.in/yaml.v3"
)

// The decoding of transform steps from specs and lock files. Which ops exist and
// which parameters each takes is the transform package's table (transform.Ops):
// nothing here names an op.

// fittedKey is the key that marks a step's parameters as fitted by floe fit.
const fittedKey = "fitted"

// fromScalar accepts the short form of an op without parameters: "- log1p".
func (s *transformStepSpec) fromScalar(line int, value string) {
	*s = transformStepSpec{Line: line, short: value}
	if op, ok := transform.OpNamed(value); ok && len(op.Params()) == 0 {
		s.op, s.n, s.pline = op, 1, line
	}
}

// decodeYAML decodes a step: a mapping from op name to its parameters, or the short
// form. Unknown ops and parameters are reported as decodeStrict reports unknown
// fields.
func (s *transformStepSpec) decodeYAML(file string, node *yaml.Node, path string, errs *ErrorList) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind == yaml.ScalarNode {
		s.fromScalar(node.Line, node.Value)
		return
	}
	*s = transformStepSpec{Line: node.Line}
	if node.Kind != yaml.MappingNode {
		errs.add(file, node.Line, path, "expected a mapping, found %s", kindName(node))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if seen[key.Value] {
			errs.add(file, key.Line, join(path, key.Value), "duplicate key")
			continue
		}
		seen[key.Value] = true
		op, ok := transform.OpNamed(key.Value)
		if !ok {
			errs.add(file, key.Line, join(path, key.Value), "unknown field (allowed: %s)", strings.Join(opNames(), ", "))
			continue
		}
		s.n++
		s.op = op
		s.decodeParams(file, value, op, join(path, key.Value), errs)
	}
}

// decodeParams decodes the parameter mapping of op into s.
func (s *transformStepSpec) decodeParams(file string, node *yaml.Node, op transform.Op, path string, errs *ErrorList) {
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	s.pline, s.args, s.options = node.Line, transform.Args{}, transform.Args{}
	if node.Kind != yaml.MappingNode {
		errs.add(file, node.Line, path, "expected a mapping, found %s", kindName(node))
		return
	}
	params := op.Params()
	var options []transform.Param
	allowed := paramNames(params)
	f, fittable := op.(transform.Fittable)
	if fittable {
		options = f.FitOptions()
		allowed = append(append(allowed, fittedKey), paramNames(options)...)
		slices.Sort(allowed)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		name, at := key.Value, join(path, key.Value)
		if seen[name] {
			errs.add(file, key.Line, at, "duplicate key")
			continue
		}
		seen[name] = true
		if fittable && name == fittedKey {
			decodeStrict(file, value, reflect.ValueOf(&s.fitted).Elem(), at, errs)
			continue
		}
		p, into := findParam(params, name), s.args
		if p == nil {
			p, into = findParam(options, name), s.options
		}
		if p == nil {
			errs.add(file, key.Line, at, "unknown field (allowed: %s)", strings.Join(allowed, ", "))
			continue
		}
		if value.Kind == yaml.ScalarNode && value.Tag == "!!null" {
			continue // written empty: as if absent
		}
		v := reflect.New(kindType(p.Kind)).Elem()
		before := len(*errs)
		decodeStrict(file, value, v, at, errs)
		if len(*errs) == before {
			into[name] = v.Interface()
		}
	}
}

// kindType is the Go type a parameter of kind k decodes to, the one transform.Args
// holds for it.
func kindType(k transform.Kind) reflect.Type {
	switch k {
	case transform.Number:
		return reflect.TypeOf(float64(0))
	case transform.Integer:
		return reflect.TypeOf(0)
	case transform.String:
		return reflect.TypeOf("")
	case transform.Numbers:
		return reflect.TypeOf([]float64(nil))
	case transform.Strings:
		return reflect.TypeOf([]string(nil))
	}
	return reflect.TypeOf((*any)(nil)).Elem()
}

// which returns the step's op, whether it is marked fitted, and how many ops the
// mapping names (exactly one when valid).
func (s *transformStepSpec) which() (op transform.Op, fitted bool, n int) {
	return s.op, s.fitted, s.n
}

func findParam(params []transform.Param, name string) *transform.Param {
	for i := range params {
		if params[i].Name == name {
			return &params[i]
		}
	}
	return nil
}

func paramNames(params []transform.Param) []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	return names
}

// opNames lists every op's name, sorted.
func opNames() []string {
	ops := transform.Ops()
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = op.Name()
	}
	return names
}
