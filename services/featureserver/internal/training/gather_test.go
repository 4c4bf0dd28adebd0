package training

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestGatherMatchesTake compares gather with compute.TakeArray for each type
// it serves, with and without nulls in the values and in the indices, on
// sliced arrays (non-zero offsets).
func TestGatherMatchesTake(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	types := []arrow.DataType{
		arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Timestamp_us,
		arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float32, arrow.FixedWidthTypes.Boolean,
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary, arrow.ListOf(arrow.PrimitiveTypes.Float32),
		arrow.ListOf(arrow.PrimitiveTypes.Int64),
	}
	for _, dt := range types {
		for _, nulls := range []bool{false, true} {
			b := array.NewBuilder(mem, dt)
			for range 300 {
				if nulls && rng.IntN(4) == 0 {
					b.AppendNull()
					continue
				}
				switch b := b.(type) {
				case *array.Int64Builder:
					b.Append(rng.Int64())
				case *array.Float64Builder:
					b.Append(rng.NormFloat64())
				case *array.TimestampBuilder:
					b.Append(arrow.Timestamp(rng.Int64()))
				case *array.Int32Builder:
					b.Append(rng.Int32())
				case *array.Float32Builder:
					b.Append(rng.Float32())
				case *array.BooleanBuilder:
					b.Append(rng.IntN(2) == 0)
				case *array.StringBuilder:
					b.Append(strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(5))) // "" too
				case *array.BinaryBuilder:
					b.Append([]byte(strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(5))))
				case *array.ListBuilder:
					b.Append(true)
					for range rng.IntN(4) { // empty lists too
						switch vb := b.ValueBuilder().(type) {
						case *array.Float32Builder:
							vb.Append(rng.Float32())
						case *array.Int64Builder:
							vb.Append(rng.Int64())
						}
					}
				}
			}
			full := b.NewArray()
			b.Release()
			values := array.NewSlice(full, 7, 290)
			full.Release()

			ib := array.NewInt32Builder(mem)
			for range 500 {
				if nulls && rng.IntN(3) == 0 {
					ib.AppendNull()
				} else {
					ib.Append(rng.Int32N(int32(values.Len())))
				}
			}
			allIdx := ib.NewArray()
			ib.Release()
			idx := array.NewSlice(allIdx, 3, 497)
			allIdx.Release()

			got, ok := gather(values, idx, mem)
			if !ok {
				t.Fatalf("%s: gather does not serve it", dt)
			}
			want, err := compute.TakeArray(compute.WithAllocator(context.Background(), mem), values, idx)
			if err != nil {
				t.Fatal(err)
			}
			if !array.Equal(got, want) {
				t.Errorf("%s (nulls %v): got %v, want %v", dt, nulls, got, want)
			}
			got.Release()
			want.Release()
			values.Release()
			idx.Release()
		}
	}
	// A list whose child array starts at an offset of its own.
	fb := array.NewFloat32Builder(mem)
	for i := range 20 {
		fb.Append(float32(i))
	}
	floats := fb.NewArray()
	fb.Release()
	child := array.NewSlice(floats, 5, 20)
	floats.Release()
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 2, 2, 7, 15}))
	listData := array.NewData(arrow.ListOf(arrow.PrimitiveTypes.Float32), 4, []*memory.Buffer{nil, offsets}, []arrow.ArrayData{child.Data()}, 0, 0)
	child.Release()
	shifted := array.MakeFromData(listData)
	listData.Release()
	ib0 := array.NewInt32Builder(mem)
	ib0.AppendValues([]int32{3, 0, 1, 2, 3}, nil)
	idx0 := ib0.NewArray()
	ib0.Release()
	got, _ := gather(shifted, idx0, mem)
	want, err := compute.TakeArray(compute.WithAllocator(context.Background(), mem), shifted, idx0)
	if err != nil {
		t.Fatal(err)
	}
	if !array.Equal(got, want) {
		t.Errorf("list with a child offset: got %v, want %v", got, want)
	}
	for _, a := range []arrow.Array{got, want, shifted, idx0} {
		a.Release()
	}

	// Lists with null elements are left to compute.TakeArray.
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
	lb.Append(true)
	lb.ValueBuilder().AppendNull()
	lists := lb.NewArray()
	lb.Release()
	defer lists.Release()
	ib := array.NewInt32Builder(mem)
	ib.Append(0)
	idx := ib.NewArray()
	ib.Release()
	defer idx.Release()
	if _, ok := gather(lists, idx, mem); ok {
		t.Errorf("gather claims to serve lists with null elements")
	}
}
