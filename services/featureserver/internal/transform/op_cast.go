package transform

import (
	"fmt"
	"math"
	"slices"
)

// cast {to}: to double from int64, double or bool (true → 1); to int64 from int64,
// bool or double (truncated toward zero; NaN, ±Inf and values outside the int64 range
// become null).
type castOp struct{}

func init() { register(castOp{}) }

func (castOp) Name() string { return "cast" }

func (castOp) Doc() string {
	return "Convert int64/double/bool to double or int64 (double → int64 truncates; NaN, ±Inf, out of range → null)."
}

func (castOp) Params() []Param {
	return []Param{{Name: "to", Kind: String, Required: true, Enum: []string{"double", "int64"}}}
}

func (castOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	var to Type
	switch name := a.Str("to"); name {
	case "double":
		to = TypeDouble
	case "int64":
		to = TypeInt64
	default:
		return nil, Shape{}, fmt.Errorf("cast to %s is not supported (use double or int64)", name)
	}
	if !numeric(in.Type) && in.Type != TypeBool {
		return nil, Shape{}, fmt.Errorf("cast needs an int64, double or bool input, got %s", in.Type)
	}
	out := Shape{Type: to}
	if in.Type == TypeInt64 && to == TypeInt64 {
		out.Card = in.Card
	}
	return cast{to}, out, nil
}

type cast struct{ to Type }

func (k cast) Apply(c Column) Column {
	n := c.Len()
	if k.to == TypeDouble {
		if c.Type == TypeBool {
			out := make([]float64, n)
			for i, b := range c.Bools {
				if b {
					out[i] = 1
				}
			}
			return Column{Type: TypeDouble, Floats: out, Null: c.Null}
		}
		return Column{Type: TypeDouble, Floats: slices.Clone(asFloats(c)), Null: c.Null}
	}
	out := make([]int64, n)
	switch c.Type {
	case TypeInt64:
		copy(out, c.Ints)
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	case TypeBool:
		for i, b := range c.Bools {
			if b {
				out[i] = 1
			}
		}
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	}
	var null []bool
	for i, x := range c.Floats {
		t := math.Trunc(x)
		// float64(1<<63) is exactly 2^63, the first value past the int64 range.
		if math.IsNaN(x) || t >= 1<<63 || t < -(1<<63) {
			if null == nil {
				null = make([]bool, n)
				copy(null, c.Null)
			}
			null[i] = true
			continue
		}
		out[i] = int64(t)
	}
	if null == nil {
		null = c.Null
	}
	return Column{Type: TypeInt64, Ints: out, Null: null}
}
