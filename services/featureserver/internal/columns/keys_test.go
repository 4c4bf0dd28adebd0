package columns

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestKeyStrings(t *testing.T) {
	mem := memory.NewGoAllocator()
	build := func(dt arrow.DataType, fill func(array.Builder)) arrow.Array {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		fill(b)
		return b.NewArray()
	}
	for _, tc := range []struct {
		name string
		col  arrow.Array
		want []string
	}{
		{"int64", build(arrow.PrimitiveTypes.Int64, func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{-3, 0, 42}, nil)
		}), []string{"-3", "0", "42"}},
		{"int32", build(arrow.PrimitiveTypes.Int32, func(b array.Builder) {
			b.(*array.Int32Builder).AppendValues([]int32{7, -1}, nil)
		}), []string{"7", "-1"}},
		{"string", build(arrow.BinaryTypes.String, func(b array.Builder) {
			b.(*array.StringBuilder).AppendValues([]string{"a", ""}, nil)
		}), []string{"a", ""}},
		{"large string", build(arrow.BinaryTypes.LargeString, func(b array.Builder) {
			b.(*array.LargeStringBuilder).AppendValues([]string{"x", "y"}, nil)
		}), []string{"x", "y"}},
		{"binary", build(arrow.BinaryTypes.Binary, func(b array.Builder) {
			b.(*array.BinaryBuilder).AppendStringValues([]string{"k1"}, nil)
		}), []string{"k1"}},
		{"null int key", build(arrow.PrimitiveTypes.Int64, func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{5, 0}, []bool{true, false})
		}), []string{"5", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.col.Release()
			got, err := KeyStrings(tc.col)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("KeyStrings = %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("double is refused", func(t *testing.T) {
		col := build(arrow.PrimitiveTypes.Float64, func(b array.Builder) { b.(*array.Float64Builder).Append(1) })
		defer col.Release()
		if _, err := KeyStrings(col); err == nil {
			t.Fatal("KeyStrings accepted a double column")
		}
	})
}
