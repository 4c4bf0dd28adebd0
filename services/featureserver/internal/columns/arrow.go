package columns

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/transform"
)

// FromArrow views an Arrow column of a feature's canonical type
// (offline.ArrowType) as a transform.Column of type t, for a chain to run on.
// Fixed-width values are shared, not copied; strings and vectors are copied.
// dim is the length of every vector of a float_vector column; a non-null row
// with another length is an error.
func FromArrow(a arrow.Array, t transform.Type, dim int) (transform.Column, error) {
	n := a.Len()
	c := transform.Column{Type: t}
	if a.NullN() > 0 {
		c.Null = make([]bool, n)
		for i := range n {
			c.Null[i] = a.IsNull(i)
		}
	}
	switch t {
	case transform.TypeInt64:
		v, ok := a.(*array.Int64)
		if !ok {
			return c, fmt.Errorf("column is %s, want int64", a.DataType())
		}
		c.Ints = v.Int64Values()
	case transform.TypeTimestamp:
		v, ok := a.(*array.Timestamp)
		if !ok {
			return c, fmt.Errorf("column is %s, want a timestamp", a.DataType())
		}
		c.Ints = make([]int64, n)
		for i, x := range v.TimestampValues() {
			c.Ints[i] = int64(x)
		}
	case transform.TypeDouble:
		v, ok := a.(*array.Float64)
		if !ok {
			return c, fmt.Errorf("column is %s, want double", a.DataType())
		}
		c.Floats = v.Float64Values()
	case transform.TypeString:
		v, ok := a.(*array.String)
		if !ok {
			return c, fmt.Errorf("column is %s, want string", a.DataType())
		}
		c.Strs = make([]string, n)
		for i := range n {
			c.Strs[i] = v.Value(i)
		}
	case transform.TypeBool:
		v, ok := a.(*array.Boolean)
		if !ok {
			return c, fmt.Errorf("column is %s, want bool", a.DataType())
		}
		c.Bools = make([]bool, n)
		for i := range n {
			c.Bools[i] = v.Value(i)
		}
	case transform.TypeFloatVector:
		v, ok := a.(*array.List)
		if !ok {
			return c, fmt.Errorf("column is %s, want a list of float32", a.DataType())
		}
		vals, ok := v.ListValues().(*array.Float32)
		if !ok {
			return c, fmt.Errorf("column is %s, want a list of float32", a.DataType())
		}
		c.Dim = dim
		c.Vec = make([]float32, n*dim)
		for i := range n {
			if v.IsNull(i) {
				continue
			}
			lo, hi := v.ValueOffsets(i)
			if int(hi-lo) != dim {
				return c, fmt.Errorf("row %d holds a vector of %d values, want %d", i, hi-lo, dim)
			}
			copy(c.Vec[i*dim:], vals.Float32Values()[lo:hi])
		}
	default:
		return c, fmt.Errorf("no transform input of type %s", t)
	}
	return c, nil
}

// ToArrow builds the Arrow column of a transform output, of the canonical type
// of its transform type (as offline.ArrowType), allocated from mem. Values at
// null positions are not read.
func ToArrow(c transform.Column, mem memory.Allocator) arrow.Array {
	n := c.Len()
	var valid []bool
	if c.Null != nil {
		valid = make([]bool, n)
		for i, null := range c.Null {
			valid[i] = !null
		}
	}
	switch c.Type {
	case transform.TypeInt64:
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(c.Ints, valid)
		return b.NewArray()
	case transform.TypeTimestamp:
		b := array.NewTimestampBuilder(mem, arrow.FixedWidthTypes.Timestamp_us.(*arrow.TimestampType))
		defer b.Release()
		b.Reserve(n)
		for i, x := range c.Ints {
			if valid != nil && !valid[i] {
				b.UnsafeAppendBoolToBitmap(false)
			} else {
				b.UnsafeAppend(arrow.Timestamp(x))
			}
		}
		return b.NewArray()
	case transform.TypeDouble:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(c.Floats, valid)
		return b.NewArray()
	case transform.TypeString:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(c.Strs, valid)
		return b.NewArray()
	case transform.TypeBool:
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		b.AppendValues(c.Bools, valid)
		return b.NewArray()
	case transform.TypeFloatVector:
		b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
		defer b.Release()
		vb := b.ValueBuilder().(*array.Float32Builder)
		for i := range n {
			if valid != nil && !valid[i] {
				b.AppendNull()
				continue
			}
			b.Append(true)
			vb.AppendValues(c.Vec[i*c.Dim:(i+1)*c.Dim], nil)
		}
		return b.NewArray()
	}
	panic(fmt.Sprintf("columns: no Arrow column for transform output %s", c.Type))
}
