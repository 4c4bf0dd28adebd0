package offline

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// normalizer turns a record as decoded by iceberg-go into the canonical schema.
type normalizer struct {
	ctx  context.Context
	want *arrow.Schema
	src  []int                                    // source column of each canonical column, -1 for a feature read as null
	conv []func(arrow.Array) (arrow.Array, error) // nil where types already match
}

func newNormalizer(ctx context.Context, got, want *arrow.Schema) (*normalizer, error) {
	n := &normalizer{ctx: ctx, want: want, src: make([]int, want.NumFields()), conv: make([]func(arrow.Array) (arrow.Array, error), want.NumFields())}
	for i, f := range want.Fields() {
		idx := got.FieldIndices(f.Name)
		if len(idx) == 0 && f.Nullable {
			n.src[i] = -1
			continue
		}
		if len(idx) != 1 {
			return nil, fmt.Errorf("scan returned no column %q", f.Name)
		}
		n.src[i] = idx[0]
		from, to := got.Field(idx[0]).Type, f.Type
		if arrow.TypeEqual(from, to) {
			continue
		}
		conv, err := converter(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		n.conv[i] = conv
	}
	return n, nil
}

// converter returns how to turn arrays of type from into type to. Types that
// differ only in names or time zone metadata (list element "element" vs "item",
// timestamp "UTC" vs "+00:00") share their buffers; the rest are cast.
func converter(ctx context.Context, from, to arrow.DataType) (func(arrow.Array) (arrow.Array, error), error) {
	if sameLayout(from, to) {
		return func(a arrow.Array) (arrow.Array, error) { return retype(a, to), nil }, nil
	}
	if _, ok := from.(*arrow.LargeListType); ok && arrow.TypeEqual(to, float32List) {
		return func(a arrow.Array) (arrow.Array, error) { return toFloat32List(a) }, nil
	}
	if !compute.CanCast(from, to) {
		return nil, fmt.Errorf("cannot convert %s to %s", from, to)
	}
	return func(a arrow.Array) (arrow.Array, error) { return compute.CastToType(ctx, a, to) }, nil
}

func sameLayout(from, to arrow.DataType) bool {
	switch f := from.(type) {
	case *arrow.TimestampType:
		t, ok := to.(*arrow.TimestampType)
		return ok && f.Unit == t.Unit
	case *arrow.ListType:
		t, ok := to.(*arrow.ListType)
		return ok && arrow.TypeEqual(f.Elem(), t.Elem())
	}
	return false
}

// retype reinterprets a's buffers as type dt, which must have the same layout.
func retype(a arrow.Array, dt arrow.DataType) arrow.Array {
	d := a.Data()
	nd := array.NewData(dt, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

// toFloat32List copies any list-like array of floats into the canonical
// List<Float32>; it serves the rare large_list decode, so clarity beats speed.
func toFloat32List(a arrow.Array) (arrow.Array, error) {
	offsets, values, ok := listAt(a)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), float32List)
	}
	get, ok := float64At(values)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), float32List)
	}
	b := array.NewListBuilderWithField(memory.DefaultAllocator, float32List.ElemField())
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float32Builder)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(true)
		start, end := offsets(i)
		for j := start; j < end; j++ {
			if values.IsNull(int(j)) {
				vb.AppendNull()
				continue
			}
			vb.Append(float32(get(int(j))))
		}
	}
	return b.NewArray(), nil
}

func (n *normalizer) apply(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(n.src))
	for i, j := range n.src {
		if j < 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, n.want.Field(i).Type, int(rec.NumRows()))
			continue
		}
		col := rec.Column(j)
		if n.conv[i] == nil {
			col.Retain()
			cols[i] = col
			continue
		}
		c, err := n.conv[i](col)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, fmt.Errorf("column %q: %w", n.want.Field(i).Name, err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(n.want, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}
