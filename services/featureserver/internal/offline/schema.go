package offline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Table properties Floe sets on the tables it creates.
const (
	// rowGroupRows bounds Parquet row groups so that, with rows sorted by join key,
	// a point lookup's min/max pruning reads one small row group rather than a
	// whole file.
	rowGroupRows = 65536
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
	key := v.Entity.Key()
	fields := make([]arrow.Field, 0, len(v.Features)+2)
	fields = append(fields,
		arrow.Field{Name: key.Name, Type: arrowType(key.Type), Nullable: false},
		arrow.Field{Name: v.EventTime, Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: false},
	)
	for _, f := range v.Features {
		fields = append(fields, arrow.Field{Name: f.Name, Type: arrowType(f.Type), Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// float32List is the canonical type of float_vector features; one instance so
// type comparisons are cheap and element naming is consistent.
var float32List = arrow.ListOf(arrow.PrimitiveTypes.Float32)

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

func columns(v *registry.FeatureView) []column {
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
	cols := columns(v)
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

// sortOrder clusters each write by join key then event time, so every data file
// and row group covers a narrow key range and point lookups prune on min/max
// statistics. Field ids refer to IcebergSchema's numbering.
func sortOrder() (table.SortOrder, error) {
	return table.NewSortOrder(1, []table.SortField{
		{SourceIDs: []int{1}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsFirst},
		{SourceIDs: []int{2}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsFirst},
	})
}

// EnsureTable returns the view's table, creating its namespace and the table
// from the spec on first use. An existing table must have every spec column with
// the same type (extra columns are allowed: other writers may add them); otherwise
// the error wraps ErrSchemaMismatch and names each offending column.
func (s *Store) EnsureTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	tbl, err := s.ensureTable(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("ensure table %s for view %s: %w", v.Source.Identifier(), v.Name, err)
	}
	return tbl, nil
}

func (s *Store) ensureTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	ident := Identifier(v)
	tbl, err := s.cat.LoadTable(ctx, ident)
	if err == nil {
		return tbl, checkCompatible(v, tbl.Schema())
	}
	if !errors.Is(err, catalog.ErrNoSuchTable) && !errors.Is(err, catalog.ErrNoSuchNamespace) {
		return nil, classify(err)
	}

	ns := catalog.NamespaceFromIdent(ident)
	if err := s.cat.CreateNamespace(ctx, ns, iceberg.Properties{}); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return nil, fmt.Errorf("create namespace %s: %w", strings.Join(ns, "."), classify(err))
	}
	order, err := sortOrder()
	if err != nil {
		return nil, err
	}
	tbl, err = s.cat.CreateTable(ctx, ident, IcebergSchema(v),
		catalog.WithSortOrder(order),
		catalog.WithProperties(iceberg.Properties{
			table.PropertyFormatVersion:   "2",
			table.ParquetRowGroupLimitKey: fmt.Sprint(rowGroupRows),
			// iceberg-go retries no lost commit race by default (Java: 4);
			// every Floe writer of this table benefits.
			table.CommitNumRetriesKey: "4",
			propManagedBy:             "floe",
			propView:                  v.Name,
		}))
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		// Another process created it between our load and create: use theirs.
		if tbl, err = s.cat.LoadTable(ctx, ident); err == nil {
			return tbl, checkCompatible(v, tbl.Schema())
		}
	}
	if err != nil {
		return nil, classify(err)
	}
	return tbl, nil
}

// checkCompatible lists every spec column the table lacks or has with another
// type, in one error.
func checkCompatible(v *registry.FeatureView, sc *iceberg.Schema) error {
	byName := map[string]iceberg.NestedField{}
	for _, f := range sc.Fields() {
		byName[f.Name] = f
	}
	var problems []string
	for _, c := range columns(v) {
		f, ok := byName[c.name]
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
