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
// from the spec on first use, and evolving an existing table's schema to the
// spec's when Iceberg can do so without rewriting data:
//
//   - a feature the table lacks (added to the spec) becomes a new optional
//     column; rows written before read as null;
//   - a feature whose column has a type Iceberg widens in place to the spec's
//     (int→long, float→double) is widened;
//   - a feature column the table declares required is made optional, since
//     features may be null.
//
// Any other difference is refused and nothing is changed: the error wraps
// ErrSchemaMismatch and says, per column, why the change cannot be made in place
// and what to do instead (a join key renamed or retyped, an event time column
// missing or of another type, a type change that is not a widening). Columns the
// spec does not mention are left alone: other writers may own them.
func (s *Store) EnsureTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	tbl, err := s.ensureTable(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("ensure table %s for view %s: %w", v.Source.Identifier(), v.Name, err)
	}
	return tbl, nil
}

func (s *Store) ensureTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	ident := Identifier(v)
	tbl, err := s.freshTable(ctx, v)
	if err == nil {
		return s.evolve(ctx, v, tbl)
	}
	if !errors.Is(err, ErrNoSuchTable) {
		return nil, err
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
			table.PropertyFormatVersion:       "2",
			table.ParquetRowGroupLimitKey:     fmt.Sprint(rowGroupRows),
			table.WriteTargetFileSizeBytesKey: fmt.Sprint(targetFileBytes),
			// iceberg-go retries no lost commit race by default (Java: 4);
			// every Floe writer of this table benefits.
			table.CommitNumRetriesKey: "4",
			propManagedBy:             "floe",
			propView:                  v.Name,
		}))
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		// Another process created it between our load and create: use theirs.
		if tbl, err = s.freshTable(ctx, v); err == nil {
			return s.evolve(ctx, v, tbl)
		}
	}
	if err != nil {
		return nil, classify(err)
	}
	s.remember(v, tbl)
	return tbl, nil
}

// evolution is what EnsureTable changes in an existing table's schema.
type evolution struct {
	add     []column // features to add as optional columns
	promote []column // features whose column type is widened to the spec's
	relax   []string // feature columns made optional
}

func (e evolution) empty() bool { return len(e.add)+len(e.promote)+len(e.relax) == 0 }

// evolve brings tbl's schema to the view's spec in one schema-only commit (no
// data is rewritten, no snapshot is added), or refuses with a SchemaError.
func (s *Store) evolve(ctx context.Context, v *registry.FeatureView, tbl *table.Table) (*table.Table, error) {
	for attempt := 1; ; attempt++ {
		ev, err := planEvolution(v, tbl.Schema())
		if err != nil {
			return nil, err
		}
		if ev.empty() {
			return tbl, nil
		}
		tx := tbl.NewTransaction()
		us := tx.UpdateSchema(true, false)
		for _, c := range ev.add {
			doc := ""
			if f, ok := v.Feature(c.name); ok {
				doc = f.Description
			}
			us.AddColumn([]string{c.name}, icebergType(c.typ, 0), doc, false, nil)
		}
		for _, c := range ev.promote {
			us.UpdateColumn([]string{c.name}, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: icebergType(c.typ, 0), Valid: true}})
		}
		for _, name := range ev.relax {
			us.UpdateColumn([]string{name}, table.ColumnUpdate{Required: iceberg.Optional[bool]{Val: false, Valid: true}})
		}
		if err := us.Commit(); err != nil {
			return nil, fmt.Errorf("evolve schema: %w", err)
		}
		committed, err := tx.Commit(ctx)
		if err == nil {
			s.remember(v, committed)
			return committed, nil
		}
		if !lostRace(err) || attempt == maxCommitAttempts {
			return nil, fmt.Errorf("evolve schema: %w", classify(err))
		}
		// Another writer changed the table first (perhaps another replica
		// making the same change): plan again against what it committed.
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		if tbl, err = s.freshTable(ctx, v); err != nil {
			return nil, err
		}
	}
}

// planEvolution compares the spec with a table schema and returns the changes
// that make them match, or a SchemaError listing every change Iceberg cannot
// make in place, each with its reason and remedy.
func planEvolution(v *registry.FeatureView, sc *iceberg.Schema) (evolution, error) {
	var ev evolution
	var problems []string
	for _, c := range specColumns(v) {
		f, ok := sc.FindFieldByName(c.name)
		if other, found := sc.FindFieldByNameCaseInsensitive(c.name); !ok && found {
			problems = append(problems, fmt.Sprintf("%s %q: the table spells the column %q; Iceberg names are case-sensitive, so Floe would add a second column differing only in case. Spell it %q in the spec, or rename the column in the table", c.role, c.name, other.Name, other.Name))
			continue
		}
		switch {
		case !ok && c.role == "feature":
			ev.add = append(ev.add, c)
			continue
		case !ok && c.role == "join key":
			problems = append(problems, fmt.Sprintf("join key %q: not a column of the table (its columns: %s). A join key cannot be renamed or replaced in place: every stored row is keyed by it and existing rows have no value for a new key column. Keep the old key name in the spec, rename the column in the table itself if it holds the same ids (ALTER TABLE ... RENAME COLUMN, metadata-only in Iceberg), or point the view at a new source table and backfill it", c.name, columnNames(sc)))
			continue
		case !ok:
			problems = append(problems, fmt.Sprintf("event time %q: not a column of the table (its columns: %s). Floe cannot add it: it is required and existing rows have no value for it. Keep the old column name in the spec, rename the column in the table itself (ALTER TABLE ... RENAME COLUMN, metadata-only in Iceberg), or point the view at a new source table and backfill it", c.name, columnNames(sc)))
			continue
		}
		switch typeRelation(c.typ, f.Type) {
		case sameType:
		case widens:
			if c.role == "feature" {
				ev.promote = append(ev.promote, c)
				break
			}
			problems = append(problems, retypeProblem(c, f))
		default:
			problems = append(problems, retypeProblem(c, f))
		}
		if f.Required && c.role == "feature" {
			ev.relax = append(ev.relax, c.name)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return evolution{}, &SchemaError{Subject: "table " + v.Source.Identifier(), Problems: problems}
	}
	return ev, nil
}

func retypeProblem(c column, f iceberg.NestedField) string {
	want := icebergType(c.typ, 0)
	switch c.role {
	case "join key":
		return fmt.Sprintf("join key %q: the table has %s, the spec says %s (Iceberg %s). A join key cannot change type: every stored row is keyed by it. Restore the type in the spec, or point the view at a new source table with the new key type and backfill it", c.name, f.Type, c.typ, want)
	case "event time":
		return fmt.Sprintf("event time %q: the table has %s, Floe needs timestamptz. Point the event time at a timestamptz column, or convert the table with your engine", c.name, f.Type)
	}
	return fmt.Sprintf("feature %q: the table has %s, the spec says %s (Iceberg %s). Iceberg changes a column's type in place only to widen it (int to long, float to double), so existing values cannot be read as the new type. Restore the type in the spec, or declare the new type as a feature with a new name (Floe adds it as a new column) and backfill it", c.name, f.Type, c.typ, want)
}

func columnNames(sc *iceberg.Schema) string {
	names := make([]string, 0, len(sc.Fields()))
	for _, f := range sc.Fields() {
		names = append(names, f.Name)
	}
	return strings.Join(names, ", ")
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
