package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"floe.dev/floe/services/featureserver/internal/transform"
)

// The transform part of the JSON Schema of specs (specs/schema/floe-spec.schema.json):
// $defs.step_<op> per op and $defs.transform_step, generated from the transform
// table so the schema editors use cannot drift from what the loader accepts.
// TestJSONSchemaStepsMatchTable compares the file with it (and rewrites the file
// with -update).

// stepSchemaDefs returns the $defs the transform table describes, in order: one
// step_<op> per op, then transform_step.
func stepSchemaDefs() jsonObject {
	var defs jsonObject
	var bare []any
	steps := jsonObject{}
	for _, op := range transform.Ops() {
		defs = append(defs, jsonMember{"step_" + op.Name(), stepSchema(op)})
		steps = append(steps, jsonMember{op.Name(), jsonObject{{"$ref", "#/$defs/step_" + op.Name()}}})
		if len(op.Params()) == 0 {
			bare = append(bare, op.Name())
		}
	}
	names := make([]string, len(bare))
	for i, b := range bare {
		names[i] = b.(string)
	}
	defs = append(defs, jsonMember{"transform_step", jsonObject{
		{"description", "One step: a mapping with exactly one key naming it, or the bare name of a step without parameters (" + strings.Join(names, ", ") + ")."},
		{"oneOf", []any{
			jsonObject{{"enum", bare}},
			jsonObject{
				{"type", "object"},
				{"additionalProperties", false},
				{"minProperties", 1},
				{"maxProperties", 1},
				{"properties", steps},
			},
		}},
	}})
	return defs
}

// stepSchema is the schema of one op's parameter mapping.
func stepSchema(op transform.Op) jsonObject {
	params := op.Params()
	f, fittable := op.(transform.Fittable)
	s := jsonObject{{"type", "object"}, {"additionalProperties", false}}
	doc := op.Doc()
	if len(params) == 0 {
		s = append(s, jsonMember{"maxProperties", 0}, jsonMember{"description", doc + " May be written as the bare string " + op.Name() + "."})
		return s
	}
	props := jsonObject{}
	for _, p := range params {
		props = append(props, jsonMember{p.Name, paramSchema(p, p.Doc)})
	}
	var options []transform.Param
	if fittable {
		options = f.FitOptions()
		props = append(props, jsonMember{fittedKey, jsonObject{
			{"type", "boolean"},
			{"description", "Take the parameters from <spec>.lock.yaml, written by floe fit."},
		}})
		for _, o := range options {
			doc := "With fitted: true, " + o.Doc
			if o.Required {
				doc += " (required then; not allowed otherwise)."
			} else {
				doc += ". Not allowed otherwise."
			}
			props = append(props, jsonMember{o.Name, paramSchema(o, doc)})
		}
	}
	s = append(s, jsonMember{"properties", props}, jsonMember{"description", doc})
	var required, fittedParams, requiredOptions, optionNames []any
	for _, p := range params {
		if p.Required {
			required = append(required, p.Name)
		}
		if p.Fitted {
			fittedParams = append(fittedParams, p.Name)
		}
	}
	for _, o := range options {
		optionNames = append(optionNames, o.Name)
		if o.Required {
			requiredOptions = append(requiredOptions, o.Name)
		}
	}
	if !fittable {
		if len(required) > 0 {
			s = append(s, jsonMember{"required", required})
		}
		return s
	}
	written := jsonObject{
		{"required", required},
		{"properties", jsonObject{{fittedKey, jsonObject{{"const", false}}}}},
	}
	if len(optionNames) > 0 {
		written = append(written, jsonMember{"not", anyRequired(optionNames)})
	}
	fitted := jsonObject{
		{"required", append([]any{fittedKey}, requiredOptions...)},
		{"properties", jsonObject{{fittedKey, jsonObject{{"const", true}}}}},
		{"not", anyRequired(fittedParams)},
	}
	return append(s, jsonMember{"oneOf", []any{written, fitted}})
}

// anyRequired is {"anyOf": [{"required": [name]}, ...]}: any of names is present.
func anyRequired(names []any) jsonObject {
	alts := make([]any, len(names))
	for i, n := range names {
		alts[i] = jsonObject{{"required", []any{n}}}
	}
	return jsonObject{{"anyOf", alts}}
}

// paramSchema is the schema of one parameter's value.
func paramSchema(p transform.Param, doc string) jsonObject {
	var s jsonObject
	switch p.Kind {
	case transform.Number:
		s = jsonObject{{"type", "number"}}
	case transform.Integer:
		s = jsonObject{{"type", "integer"}}
	case transform.String:
		if len(p.Enum) > 0 {
			enum := make([]any, len(p.Enum))
			for i, e := range p.Enum {
				enum[i] = e
			}
			s = jsonObject{{"enum", enum}}
		} else {
			s = jsonObject{{"type", "string"}}
		}
	case transform.Numbers, transform.Strings:
		item := "number"
		if p.Kind == transform.Strings {
			item = "string"
		}
		s = jsonObject{{"type", "array"}}
		if p.MinItems > 0 {
			s = append(s, jsonMember{"minItems", p.MinItems})
		}
		if p.UniqueItems {
			s = append(s, jsonMember{"uniqueItems", true})
		}
		s = append(s, jsonMember{"items", jsonObject{{"type", item}}})
	case transform.Scalar:
		s = jsonObject{{"type", []any{"number", "string", "boolean"}}}
	}
	if p.Minimum != nil {
		s = append(s, jsonMember{"minimum", jsonNumber(*p.Minimum)})
	}
	if p.ExclusiveMinimum != nil {
		s = append(s, jsonMember{"exclusiveMinimum", jsonNumber(*p.ExclusiveMinimum)})
	}
	if p.Default != nil {
		s = append(s, jsonMember{"default", p.Default})
	}
	if doc != "" {
		s = append(s, jsonMember{"description", doc})
	}
	return s
}

// jsonNumber writes an integral bound as an integer (2, not 2.0).
func jsonNumber(x float64) json.Number {
	return json.Number(strings.TrimSuffix(fmt.Sprintf("%v", x), ".0"))
}

// jsonObject is a JSON object that keeps its members in order, as the schema file
// is written.
type jsonObject []jsonMember

// jsonMember is one member of a jsonObject.
type jsonMember struct {
	Key   string
	Value any
}

// MarshalJSON writes the members in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshalJSON(m.Key)
		if err != nil {
			return nil, err
		}
		v, err := marshalJSON(m.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// get returns the value of member key, nil when absent.
func (o jsonObject) get(key string) any {
	for _, m := range o {
		if m.Key == key {
			return m.Value
		}
	}
	return nil
}

// marshalJSON is json.Marshal without escaping <, > and & (the schema's
// descriptions name <spec>.lock.yaml).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeSchema renders a schema document as the file is written: two-space indent,
// a final newline.
func writeSchema(doc any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// readSchema decodes a schema document keeping the order of object members.
func readSchema(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return decodeOrdered(dec)
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	switch d {
	case '{':
		obj := jsonObject{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			obj = append(obj, jsonMember{k.(string), v})
		}
		_, err = dec.Token()
		return obj, err
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := decodeOrdered(dec)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		_, err = dec.Token()
		return arr, err
	}
	return nil, fmt.Errorf("unexpected %v", d)
}

// withStepDefs returns the schema document doc with its transform step definitions
// replaced by those of the table, where the old ones stood.
func withStepDefs(doc any) (any, error) {
	root, ok := doc.(jsonObject)
	if !ok {
		return nil, fmt.Errorf("schema is not an object")
	}
	defs, ok := root.get("$defs").(jsonObject)
	if !ok {
		return nil, fmt.Errorf("schema has no $defs")
	}
	var out jsonObject
	inserted := false
	for _, m := range defs {
		if strings.HasPrefix(m.Key, "step_") || m.Key == "transform_step" {
			if !inserted {
				out = append(out, stepSchemaDefs()...)
				inserted = true
			}
			continue
		}
		out = append(out, m)
	}
	if !inserted {
		out = append(out, stepSchemaDefs()...)
	}
	newRoot := make(jsonObject, len(root))
	for i, m := range root {
		if m.Key == "$defs" {
			m.Value = out
		}
		newRoot[i] = m
	}
	return newRoot, nil
}
