package transform

// Column is a typed column of n values with a null mask. Exactly one value slice is
// set, by Type: Ints (int64, timestamp), Floats (double), Strs (string), Bools (bool)
// or Vec (float_vector, n*Dim values, row-major). Null is nil when no value is null,
// else has length n with true at each null.
type Column struct {
	Type   Type
	Ints   []int64
	Floats []float64
	Strs   []string
	Bools  []bool
	Vec    []float32
	Dim    int
	Null   []bool
}

// Len returns the number of values.
func (c *Column) Len() int {
	switch c.Type {
	case TypeInt64, TypeTimestamp:
		return len(c.Ints)
	case TypeDouble:
		return len(c.Floats)
	case TypeString:
		return len(c.Strs)
	case TypeBool:
		return len(c.Bools)
	case TypeFloatVector:
		if c.Dim == 0 {
			return 0
		}
		return len(c.Vec) / c.Dim
	}
	return 0
}

// IsNull reports whether value i is null.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// asFloats returns a numeric column's values as float64.
func asFloats(c Column) []float64 {
	if c.Type == TypeDouble {
		return c.Floats
	}
	out := make([]float64, len(c.Ints))
	for i, v := range c.Ints {
		out[i] = float64(v)
	}
	return out
}

// floatsIn returns a numeric column's values as float64 and a fresh output slice of
// the same length. An int64 input is converted into the output slice, which the
// caller then overwrites in place.
func floatsIn(c Column) (in, out []float64) {
	if c.Type == TypeDouble {
		return c.Floats, make([]float64, len(c.Floats))
	}
	out = asFloats(c)
	return out, out
}

// mapFloats applies f to every value of a numeric column, as double.
func mapFloats(c Column, f func(float64) float64) Column {
	xs := asFloats(c)
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return Column{Type: TypeDouble, Floats: out, Null: c.Null}
}
