package offline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Table properties Floe sets on the tables it creates.
const (
	// rowGroupRows bounds Parquet row groups so that, with rows sorted by join key,
	// a point lookup's min/max pruning reads one small row group rather than a
	// whole file. A lookup decodes a whole row group, so its cost grows with this
	// size; iceberg-go also parses the footer and evaluates statistics of every
	// row group of a file on each read, so it cannot be too small either. Measured
	// on 1M rows of user_behavior: 65536 rows cost a lookup about twice the CPU of
	// 16384, and 8192 halves a full scan's throughput, 16384 does not.
	rowGroupRows = 16384
	// targetFileBytes bounds data files (iceberg-go's default is 512 MB) so a
	// file has at most a few hundred row groups: its footer, which every lookup
	// in it parses, stays small, and files prune by their key bounds.
	targetFileBytes = 64 << 20
	// propManagedBy marks tables Floe created, for operators browsing the catalog.
	propManagedBy = "floe.managed-by"
	// propView names the feature view a table was created for.
	propView = "floe.view"
)

// ArrowSchema is the canonical Arrow schema of a view, the one every part of Floe
// exchanges: column 0 is the join key (int64 or utf8), column 1 the event time
// (timestamp[us, tz=UTC]), then the view's features in spec order: int64→Int64,
// double→Float64, string→String (utf8), bool→Boolean, timestamp→Timestamp(us, UTC),
// float_vector→List<Float32> (each non-null value has exactly Dim elements). The
// key and event time are non-nullable, every feature is nullable.
func ArrowSchema(v *registry.FeatureView) *arrow.Schema {
	return FeatureSchema(v, nil)
}

// FeatureSchema is ArrowSchema narrowed to the join key, the event time and the
// given features (indexes into v.Features), in the order given; nil means every
// feature, as ArrowSchema.
func FeatureSchema(v *registry.FeatureView, features []int) *arrow.Schema {
	key := v.Entity.Key()
	fields := make([]arrow.Field, 0, len(v.Features)+2)
	fields = append(fields,
		arrow.Field{Name: key.Name, Type: arrowType(key.Type), Nullable: false},
		arrow.Field{Name: v.EventTime, Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: false},
	)
	feature := func(f *registry.Feature) arrow.Field {
		return arrow.Field{Name: f.Name, Type: arrowType(f.Type), Nullable: true}
	}
	if features == nil {
		for _, f := range v.Features {
			fields = append(fields, feature(f))
		}
	}
	for _, i := range features {
		fields = append(fields, feature(v.Features[i]))
	}
	return arrow.NewSchema(fields, nil)
}

// float32List is the canonical type of float_vector features; one instance so
// type comparisons are cheap and element naming is consistent.
var float32List = arrow.ListOf(arrow.PrimitiveTypes.Float32)

// ArrowType is the canonical Arrow type of a feature type (float_vector: a list of
// float32).
func ArrowType(t registry.Type) arrow.DataType { return arrowType(t) }

func arrowType(t registry.Type) arrow.DataType {
	switch t {
	case registry.TypeInt64:
		return arrow.PrimitiveTypes.Int64
	case registry.TypeDouble:
		return arrow.PrimitiveTypes.Float64
	case registry.TypeString:
		return arrow.BinaryTypes.String
	case registry.TypeBool:
		return arrow.FixedWidthTypes.Boolean
	case registry.TypeTimestamp:
		return arrow.FixedWidthTypes.Timestamp_us
	case registry.TypeFloatVector:
		return float32List
	}
	panic(fmt.Sprintf("offline: no Arrow type for %v", t))
}

// column is one spec column of a view: the join key, the event time or a feature.
type column struct {
	name     string
	typ      registry.Type
	dim      int
	required bool
	role     string // "join key", "event time" or "feature", for messages
}

func specColumns(v *registry.FeatureView) []column {
	key := v.Entity.Key()
	cols := make([]column, 0, len(v.Features)+2)
	cols = append(cols,
		column{name: key.Name, typ: key.Type, required: true, role: "join key"},
		column{name: v.EventTime, typ: registry.TypeTimestamp, required: true, role: "event time"},
	)
	for _, f := range v.Features {
		cols = append(cols, column{name: f.Name, typ: f.Type, dim: f.Dim, role: "feature"})
	}
	return cols
}

func icebergType(t registry.Type, elementID int) iceberg.Type {
	switch t {
	case registry.TypeInt64:
		return iceberg.PrimitiveTypes.Int64
	case registry.TypeDouble:
		return iceberg.PrimitiveTypes.Float64
	case registry.TypeString:
		return iceberg.PrimitiveTypes.String
	case registry.TypeBool:
		return iceberg.PrimitiveTypes.Bool
	case registry.TypeTimestamp:
		return iceberg.PrimitiveTypes.TimestampTz
	case registry.TypeFloatVector:
		return &iceberg.ListType{ElementID: elementID, Element: iceberg.PrimitiveTypes.Float32, ElementRequired: false}
	}
	panic(fmt.Sprintf("offline: no Iceberg type for %v", t))
}

// IcebergSchema is the Iceberg schema Floe creates a view's table with: the join
// key (required long or string), the event time (required timestamptz), then the
// features, all optional; float_vector is list<float>.
func IcebergSchema(v *registry.FeatureView) *iceberg.Schema {
	cols := specColumns(v)
	fields := make([]iceberg.NestedField, len(cols))
	nextID := len(cols) + 1 // list element ids come after the top-level ids
	for i, c := range cols {
		elemID := 0
		if c.typ == registry.TypeFloatVector {
			elemID = nextID
			nextID++
		}
		fields[i] = iceberg.NestedField{ID: i + 1, Name: c.name, Type: icebergType(c.typ, elemID), Required: c.required}
		if c.role == "feature" {
			if f, ok := v.Feature(c.name); ok {
				fields[i].Doc = f.Description
			}
		}
	}
	return iceberg.NewSchema(0, fields...)
}

// typeRel is how a table column's type relates to the type a spec asks for.
type typeRel int

const (
	otherType typeRel = iota // incompatible
	sameType
	widens // Iceberg can promote the column to the spec's type in place
)

func typeRelation(want registry.Type, got iceberg.Type) typeRel {
	if icebergTypeMatches(want, got) {
		return sameType
	}
	switch want {
	case registry.TypeInt64:
		if _, ok := got.(iceberg.Int32Type); ok {
			return widens
		}
	case registry.TypeDouble:
		if _, ok := got.(iceberg.Float32Type); ok {
			return widens
		}
	}
	return otherType
}

// checkCompatible reports, in one error, every spec column the table lacks or
// has with another type: what a write needs before it commits.
func checkCompatible(v *registry.FeatureView, sc *iceberg.Schema) error {
	var problems []string
	for _, c := range specColumns(v) {
		f, ok := sc.FindFieldByName(c.name)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %q: missing from the table", c.role, c.name))
			continue
		}
		if !icebergTypeMatches(c.typ, f.Type) {
			problems = append(problems, fmt.Sprintf("%s %q: table has %s, spec says %s (Iceberg %s)", c.role, c.name, f.Type, c.typ, icebergType(c.typ, 0)))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &SchemaError{Subject: "table " + v.Source.Identifier(), Problems: problems}
}

// readableFields returns the spec columns a snapshot schema has, for a scan to
// select. Features it lacks (added to the spec later) are left out and read as
// null; features of a type that widens to the spec's are read and converted.
// The join key and event time must be there with their types.
func readableFields(v *registry.FeatureView, sc *iceberg.Schema) ([]string, error) {
	var names, problems []string
	for _, c := range specColumns(v) {
		f, ok := sc.FindFieldByName(c.name)
		if !ok {
			if c.role == "feature" {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s %q: missing from the table", c.role, c.name))
			continue
		}
		if rel := typeRelation(c.typ, f.Type); rel == otherType || (rel == widens && c.role != "feature") {
			problems = append(problems, fmt.Sprintf("%s %q: table has %s, spec says %s (Iceberg %s)", c.role, c.name, f.Type, c.typ, icebergType(c.typ, 0)))
			continue
		}
		names = append(names, c.name)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &SchemaError{Subject: "table " + v.Source.Identifier(), Problems: problems}
	}
	return names, nil
}

func icebergTypeMatches(want registry.Type, got iceberg.Type) bool {
	if want == registry.TypeFloatVector {
		l, ok := got.(*iceberg.ListType)
		return ok && l.Element.Equals(iceberg.PrimitiveTypes.Float32)
	}
	return got.Equals(icebergType(want, 0))
}

// SchemaError lists every column of a file or table that does not match the
// view's spec. It matches ErrSchemaMismatch with errors.Is.
type SchemaError struct {
	// Subject is what was checked: "file x.csv" or "table ns.t".
	Subject string
	// Problems has one line per offending column, naming it.
	Problems []string
}

// Error lists the problems one per line, so a CLI can print it as is.
func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s does not match the spec (%d problem(s)):\n  %s", e.Subject, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// Is makes errors.Is(err, ErrSchemaMismatch) hold.
func (e *SchemaError) Is(target error) bool { return target == ErrSchemaMismatch }
