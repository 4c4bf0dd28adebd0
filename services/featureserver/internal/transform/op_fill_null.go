package transform

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// fill_null {value}: nulls become value; the column has no nulls after it. The value
// is of the input's type: a number for int64 (integral) and double, a string, a bool.
// It does not apply to timestamp and float_vector inputs.
type fillNullOp struct{}

func init() { register(fillNullOp{}) }

func (fillNullOp) Name() string { return "fill_null" }

func (fillNullOp) Doc() string { return "Replace nulls with value, of the input's type." }

func (fillNullOp) Params() []Param {
	return []Param{{Name: "value", Kind: Scalar, Required: true}}
}

func (fillNullOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	var k fillNull
	in.Dim = 0
	out := in
	switch v := a["value"].(type) {
	case float64:
		switch {
		case in.Type == TypeDouble:
			k.f = v
		case in.Type == TypeInt64 && v == math.Trunc(v) && math.Abs(v) < 1<<63:
			k.i = int64(v)
		default:
			return nil, Shape{}, fmt.Errorf("value %v does not fit a %s input", v, in.Type)
		}
	case int64:
		switch in.Type {
		case TypeInt64:
			k.i = v
		case TypeDouble:
			k.f = float64(v)
		default:
			return nil, Shape{}, fmt.Errorf("value %v does not fit a %s input", v, in.Type)
		}
	case string:
		if in.Type != TypeString {
			return nil, Shape{}, fmt.Errorf("value %q does not fit a %s input", v, in.Type)
		}
		k.s = v
	case bool:
		if in.Type != TypeBool {
			return nil, Shape{}, fmt.Errorf("value %v does not fit a %s input", v, in.Type)
		}
		k.b = v
	case nil:
		return nil, Shape{}, errors.New("value is required")
	}
	if in.Type == TypeTimestamp || in.Type == TypeFloatVector {
		return nil, Shape{}, fmt.Errorf("fill_null does not apply to %s inputs", in.Type)
	}
	return k, out, nil
}

type fillNull struct {
	f float64
	i int64
	s string
	b bool
}

func (k fillNull) Apply(c Column) Column {
	out := Column{Type: c.Type, Dim: c.Dim}
	switch c.Type {
	case TypeInt64:
		out.Ints = slices.Clone(c.Ints)
	case TypeDouble:
		out.Floats = slices.Clone(c.Floats)
	case TypeString:
		out.Strs = slices.Clone(c.Strs)
	case TypeBool:
		out.Bools = slices.Clone(c.Bools)
	}
	for i, null := range c.Null {
		if !null {
			continue
		}
		switch c.Type {
		case TypeInt64:
			out.Ints[i] = k.i
		case TypeDouble:
			out.Floats[i] = k.f
		case TypeString:
			out.Strs[i] = k.s
		case TypeBool:
			out.Bools[i] = k.b
		}
	}
	return out
}
