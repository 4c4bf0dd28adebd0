package registry

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// decodeStrict decodes a YAML node into out (a pointer to a struct, slice or scalar),
// rejecting keys the target does not declare. Every problem is appended to errs with
// the file, line and field path, so one run reports all of them. A struct field named
// Line (with tag yaml:"-") receives the line the struct started on.
func decodeStrict(file string, node *yaml.Node, out reflect.Value, path string, errs *ErrorList) {
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return
		}
		node = node.Content[0]
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	switch out.Kind() {
	case reflect.Pointer:
		if out.IsNil() {
			out.Set(reflect.New(out.Type().Elem()))
		}
		decodeStrict(file, node, out.Elem(), path, errs)
	case reflect.Struct:
		if nd, ok := out.Addr().Interface().(nodeDecoder); ok {
			nd.decodeYAML(file, node, path, errs)
			return
		}
		if sd, ok := out.Addr().Interface().(scalarDecoder); ok && node.Kind == yaml.ScalarNode {
			sd.fromScalar(node.Line, node.Value)
			return
		}
		if out.Type() == reflect.TypeOf(lineString{}) {
			if node.Kind != yaml.ScalarNode {
				errs.add(file, node.Line, path, "expected a single value, found %s", kindName(node))
				return
			}
			out.Set(reflect.ValueOf(lineString{Line: node.Line, Value: node.Value}))
			return
		}
		if node.Kind != yaml.MappingNode {
			errs.add(file, node.Line, path, "expected a mapping, found %s", kindName(node))
			return
		}
		fields := yamlFields(out.Type())
		if f, ok := out.Type().FieldByName("Line"); ok && f.Type.Kind() == reflect.Int {
			out.FieldByName("Line").SetInt(int64(node.Line))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			name := key.Value
			if seen[name] {
				errs.add(file, key.Line, join(path, name), "duplicate key")
				continue
			}
			seen[name] = true
			idx, ok := fields[name]
			if !ok {
				errs.add(file, key.Line, join(path, name), "unknown field (allowed: %s)", strings.Join(sortedKeys(fields), ", "))
				continue
			}
			decodeStrict(file, value, out.Field(idx), join(path, name), errs)
		}
	case reflect.Map:
		if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
			return
		}
		if node.Kind != yaml.MappingNode {
			errs.add(file, node.Line, path, "expected a mapping, found %s", kindName(node))
			return
		}
		m := reflect.MakeMapWithSize(out.Type(), len(node.Content)/2)
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, value := node.Content[i], node.Content[i+1]
			k := reflect.ValueOf(key.Value).Convert(out.Type().Key())
			if m.MapIndex(k).IsValid() {
				errs.add(file, key.Line, join(path, key.Value), "duplicate key")
				continue
			}
			v := reflect.New(out.Type().Elem()).Elem()
			decodeStrict(file, value, v, join(path, key.Value), errs)
			m.SetMapIndex(k, v)
		}
		out.Set(m)
	case reflect.Slice:
		if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
			return
		}
		if node.Kind != yaml.SequenceNode {
			errs.add(file, node.Line, path, "expected a list, found %s", kindName(node))
			return
		}
		slice := reflect.MakeSlice(out.Type(), len(node.Content), len(node.Content))
		for i, item := range node.Content {
			decodeStrict(file, item, slice.Index(i), fmt.Sprintf("%s[%d]", path, i), errs)
		}
		out.Set(slice)
	default:
		if node.Kind != yaml.ScalarNode {
			errs.add(file, node.Line, path, "expected a single value, found %s", kindName(node))
			return
		}
		if err := node.Decode(out.Addr().Interface()); err != nil {
			errs.add(file, node.Line, path, "expected %s, found %q", typeName(out.Type()), node.Value)
		}
	}
}

// scalarDecoder is a struct that may also be written as a single scalar (a short
// form), e.g. a feature service feature given as a bare "view:feature".
type scalarDecoder interface {
	fromScalar(line int, value string)
}

// nodeDecoder is a struct that decodes its node itself, with decodeStrict's
// reporting: a transform step, whose keys come from the transform package's table.
type nodeDecoder interface {
	decodeYAML(file string, node *yaml.Node, path string, errs *ErrorList)
}

// lineString is a scalar that remembers the line it was written on, for list items
// that later validation must point at.
type lineString struct {
	Line  int
	Value string
}

func yamlFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
	}
	return fields
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	default:
		return "a string"
	}
}
