package transform

import "math"

// abs: the absolute value, of the input's type (int64 → int64, double → double).
// For a double: NaN → NaN, ±Inf → +Inf, and -0 → +0 (the sign bit is cleared, as
// math.Abs and numpy's absolute do). For an int64: the smallest int64, -2^63, has no
// int64 absolute value and becomes null (as cast does with values it cannot
// represent); every other value maps to |x|.
type absOp struct{}

func init() { register(absOp{}) }

func (absOp) Name() string { return "abs" }

func (absOp) Doc() string {
	return "Absolute value, of the input's type: -0 → 0, NaN stays NaN, the smallest int64 becomes null."
}

func (absOp) Params() []Param { return nil }

func (absOp) Compile(_ Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("abs", in.Type); err != nil {
		return nil, Shape{}, err
	}
	return abs{}, Shape{Type: in.Type}, nil
}

type abs struct{}

func (abs) Apply(c Column) Column {
	if c.Type == TypeDouble {
		out := make([]float64, len(c.Floats))
		for i, x := range c.Floats {
			out[i] = math.Abs(x)
		}
		return Column{Type: TypeDouble, Floats: out, Null: c.Null}
	}
	out := make([]int64, len(c.Ints))
	var null []bool
	for i, x := range c.Ints {
		switch {
		case x == math.MinInt64:
			if null == nil {
				null = make([]bool, len(c.Ints))
				copy(null, c.Null)
			}
			null[i] = true
		case x < 0:
			out[i] = -x
		default:
			out[i] = x
		}
	}
	if null == nil {
		null = c.Null
	}
	return Column{Type: TypeInt64, Ints: out, Null: null}
}
