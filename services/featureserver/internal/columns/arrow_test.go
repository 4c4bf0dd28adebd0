package columns

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/transform"
)

// TestArrowRoundTrip: a canonical Arrow column read as a transform column and
// built back is the same column, nulls included.
func TestArrowRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	valid := []bool{true, false, true}
	ts := arrow.FixedWidthTypes.Timestamp_us.(*arrow.TimestampType)
	for _, tc := range []struct {
		typ   transform.Type
		dim   int
		build func() arrow.Array
	}{
		{transform.TypeInt64, 0, func() arrow.Array {
			b := array.NewInt64Builder(mem)
			defer b.Release()
			b.AppendValues([]int64{1, 0, -3}, valid)
			return b.NewArray()
		}},
		{transform.TypeTimestamp, 0, func() arrow.Array {
			b := array.NewTimestampBuilder(mem, ts)
			defer b.Release()
			b.AppendValues([]arrow.Timestamp{10, 0, 30}, valid)
			return b.NewArray()
		}},
		{transform.TypeDouble, 0, func() arrow.Array {
			b := array.NewFloat64Builder(mem)
			defer b.Release()
			b.AppendValues([]float64{1.5, 0, -2}, valid)
			return b.NewArray()
		}},
		{transform.TypeString, 0, func() arrow.Array {
			b := array.NewStringBuilder(mem)
			defer b.Release()
			b.AppendValues([]string{"a", "", "c"}, valid)
			return b.NewArray()
		}},
		{transform.TypeBool, 0, func() arrow.Array {
			b := array.NewBooleanBuilder(mem)
			defer b.Release()
			b.AppendValues([]bool{true, false, false}, valid)
			return b.NewArray()
		}},
		{transform.TypeFloatVector, 2, func() arrow.Array {
			b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
			defer b.Release()
			vb := b.ValueBuilder().(*array.Float32Builder)
			b.Append(true)
			vb.AppendValues([]float32{1, 2}, nil)
			b.AppendNull()
			b.Append(true)
			vb.AppendValues([]float32{3, 4}, nil)
			return b.NewArray()
		}},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			in := tc.build()
			defer in.Release()
			c, err := FromArrow(in, tc.typ, tc.dim)
			if err != nil {
				t.Fatal(err)
			}
			if c.Len() != in.Len() || !c.IsNull(1) || c.IsNull(0) {
				t.Fatalf("transform column has %d values, nulls %v; want %d, null at row 1 only", c.Len(), c.Null, in.Len())
			}
			out := ToArrow(c, mem)
			defer out.Release()
			if !array.Equal(in, out) {
				t.Fatalf("round trip gave %v, want %v", out, in)
			}
		})
	}
}

func TestFromArrowRefuses(t *testing.T) {
	mem := memory.NewGoAllocator()
	ib := array.NewInt64Builder(mem)
	ib.Append(1)
	ints := ib.NewArray()
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
	lb.Append(true)
	lb.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{1, 2, 3}, nil)
	vecs := lb.NewArray()
	for _, tc := range []struct {
		name string
		col  arrow.Array
		typ  transform.Type
		dim  int
		want string
	}{
		{"int64 read as double", ints, transform.TypeDouble, 0, "want double"},
		{"vector of the wrong length", vecs, transform.TypeFloatVector, 2, "3 values, want 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromArrow(tc.col, tc.typ, tc.dim); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("FromArrow error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
