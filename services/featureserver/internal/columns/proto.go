package columns

import (
	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// FromProto views a serving response column, as the online read path decodes
// it, as a transform.Column of the column's type, for a chain to run on. The
// values are shared, not copied. A value is null unless its status is PRESENT:
// a missing, expired or unavailable value is null to a chain, exactly as
// training data sees it, so online vectors and training rows agree. Null is
// allocated only when some value is not PRESENT.
func FromProto(col *floev1.FeatureColumn) transform.Column {
	c := transform.Column{Type: transform.Type(col.ValueType)}
	switch v := col.Values.(type) {
	case *floev1.FeatureColumn_Int64Values:
		c.Ints = v.Int64Values.GetValues()
	case *floev1.FeatureColumn_TimestampValues:
		c.Ints = v.TimestampValues.GetUnixMicros()
	case *floev1.FeatureColumn_DoubleValues:
		c.Floats = v.DoubleValues.GetValues()
	case *floev1.FeatureColumn_StringValues:
		c.Strs = v.StringValues.GetValues()
	case *floev1.FeatureColumn_BoolValues:
		c.Bools = v.BoolValues.GetValues()
	case *floev1.FeatureColumn_FloatVectorValues:
		c.Vec, c.Dim = v.FloatVectorValues.GetValues(), int(v.FloatVectorValues.GetDim())
	}
	for r, st := range col.Statuses {
		if st != floev1.FeatureStatus_FEATURE_STATUS_PRESENT {
			if c.Null == nil {
				c.Null = make([]bool, len(col.Statuses))
			}
			c.Null[r] = true
		}
	}
	return c
}

// ToProto replaces the values and value type of a response column by those of
// c, a chain's output, sharing its slices. The values at null positions, which
// a chain leaves unspecified, are set to the zero value, as a raw column holds
// for a missing value; statuses are the caller's to set.
func ToProto(col *floev1.FeatureColumn, c transform.Column) {
	zeroNulls(&c)
	col.ValueType = floev1.ValueType(c.Type)
	switch c.Type {
	case transform.TypeInt64:
		col.Values = &floev1.FeatureColumn_Int64Values{Int64Values: &floev1.Int64List{Values: c.Ints}}
	case transform.TypeTimestamp:
		col.Values = &floev1.FeatureColumn_TimestampValues{TimestampValues: &floev1.TimestampList{UnixMicros: c.Ints}}
	case transform.TypeDouble:
		col.Values = &floev1.FeatureColumn_DoubleValues{DoubleValues: &floev1.DoubleList{Values: c.Floats}}
	case transform.TypeString:
		col.Values = &floev1.FeatureColumn_StringValues{StringValues: &floev1.StringList{Values: c.Strs}}
	case transform.TypeBool:
		col.Values = &floev1.FeatureColumn_BoolValues{BoolValues: &floev1.BoolList{Values: c.Bools}}
	case transform.TypeFloatVector:
		col.Values = &floev1.FeatureColumn_FloatVectorValues{FloatVectorValues: &floev1.FloatVectorList{Dim: uint32(c.Dim), Values: c.Vec}}
	}
}

// zeroNulls sets the values at c's null positions to the zero value.
func zeroNulls(c *transform.Column) {
	for r, null := range c.Null {
		if !null {
			continue
		}
		switch c.Type {
		case transform.TypeInt64, transform.TypeTimestamp:
			c.Ints[r] = 0
		case transform.TypeDouble:
			c.Floats[r] = 0
		case transform.TypeString:
			c.Strs[r] = ""
		case transform.TypeBool:
			c.Bools[r] = false
		case transform.TypeFloatVector:
			clear(c.Vec[r*c.Dim : (r+1)*c.Dim])
		}
	}
}
