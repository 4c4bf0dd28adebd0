package training

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// ColumnName is the name of ref's feature column in training data: the output name
// when the feature service gives one (every transformed feature has one), else
// "<view>__<feature>".
func ColumnName(r registry.FeatureRef) string {
	if r.Alias != "" {
		return r.Alias
	}
	return r.View.Name + "__" + r.Feature.Name
}

// columnType is the Arrow type of ref's feature column: the view's canonical type
// when served raw, the chain's output type when transformed.
func columnType(r registry.FeatureRef) arrow.DataType {
	if r.Transform == nil {
		return offline.ArrowSchema(r.View).Field(2 + r.Feature.Index).Type
	}
	t, _ := r.Output()
	return offline.ArrowType(t)
}

// applyChain runs ref's transform over the joined raw values. A row with no joined
// view row (unknown entity, before any data, older than the TTL) is null, exactly as
// an online read sees a missing or expired value: fill_null fills both.
func applyChain(r registry.FeatureRef, raw arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	in, err := toColumn(raw, transform.Type(r.Feature.Type), r.Feature.Dim)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %w", r.Name(), err)
	}
	out, err := r.Transform.Apply(in)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %w", r.Name(), err)
	}
	return fromColumn(out, mem), nil
}

// ToColumn views an Arrow column of a feature's canonical type (offline.ArrowType)
// as a transform.Column of type t; fixed-width values are shared, not copied.
func ToColumn(a arrow.Array, t transform.Type, dim int) (transform.Column, error) {
	return toColumn(a, t, dim)
}

func toColumn(a arrow.Array, t transform.Type, dim int) (transform.Column, error) {
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

// fromColumn builds the Arrow column of a transform output (canonical types, as
// offline.ArrowType).
func fromColumn(c transform.Column, mem memory.Allocator) arrow.Array {
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
	panic(fmt.Sprintf("training: no Arrow column for transform output %s", c.Type))
}
