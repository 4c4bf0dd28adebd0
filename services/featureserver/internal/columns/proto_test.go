package columns

import (
	"slices"
	"testing"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// TestFromProto: a response column is read in place, and every value whose
// status is not PRESENT (expired included) is null to a chain.
func TestFromProto(t *testing.T) {
	vals := []float64{1, 2, 3, 4}
	col := &floev1.FeatureColumn{
		ValueType: floev1.ValueType_VALUE_TYPE_DOUBLE,
		Values:    &floev1.FeatureColumn_DoubleValues{DoubleValues: &floev1.DoubleList{Values: vals}},
		Statuses: []floev1.FeatureStatus{
			floev1.FeatureStatus_FEATURE_STATUS_PRESENT, floev1.FeatureStatus_FEATURE_STATUS_EXPIRED,
			floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND, floev1.FeatureStatus_FEATURE_STATUS_PRESENT,
		},
	}
	c := FromProto(col)
	if c.Type != transform.TypeDouble || &c.Floats[0] != &vals[0] {
		t.Fatalf("FromProto = %+v, want a double column sharing the response's values", c)
	}
	if want := []bool{false, true, true, false}; !slices.Equal(c.Null, want) {
		t.Fatalf("nulls %v, want %v", c.Null, want)
	}
	col.Statuses = []floev1.FeatureStatus{floev1.FeatureStatus_FEATURE_STATUS_PRESENT}
	col.Values = &floev1.FeatureColumn_FloatVectorValues{FloatVectorValues: &floev1.FloatVectorList{Dim: 2, Values: []float32{1, 2}}}
	col.ValueType = floev1.ValueType_VALUE_TYPE_FLOAT_VECTOR
	if c := FromProto(col); c.Null != nil || c.Len() != 1 || c.Dim != 2 {
		t.Fatalf("vector column read as %+v, want one present vector of 2", c)
	}
}

// TestToProto: a chain's output replaces the column's values and type, and the
// values at null positions are zero.
func TestToProto(t *testing.T) {
	col := &floev1.FeatureColumn{ValueType: floev1.ValueType_VALUE_TYPE_STRING}
	ToProto(col, transform.Column{Type: transform.TypeInt64, Ints: []int64{5, 99, 7}, Null: []bool{false, true, false}})
	if col.ValueType != floev1.ValueType_VALUE_TYPE_INT64 {
		t.Fatalf("value type %v, want int64", col.ValueType)
	}
	if got := col.GetInt64Values().GetValues(); !slices.Equal(got, []int64{5, 0, 7}) {
		t.Fatalf("values %v, want [5 0 7]", got)
	}
	ToProto(col, transform.Column{Type: transform.TypeFloatVector, Dim: 2, Vec: []float32{1, 2, 3, 4}, Null: []bool{true, false}})
	if v := col.GetFloatVectorValues(); v.GetDim() != 2 || !slices.Equal(v.GetValues(), []float32{0, 0, 3, 4}) {
		t.Fatalf("vector values %v, want dim 2 [0 0 3 4]", v)
	}
}
