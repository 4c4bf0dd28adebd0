package offline

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

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

// TablePlan is what EnsureTable would do to a view's table, as PlanTable reports it
// without changing anything.
type TablePlan struct {
	// Create is true when the table does not exist yet: serve or ingest creates it.
	Create bool
	// Add, Widen and Relax name the feature columns that would be added (optional;
	// old rows read null), widened in place, and made optional.
	Add, Widen, Relax []string
}

// String says the plan in words, e.g. "add columns c (old rows read null)".
func (p TablePlan) String() string {
	if p.Create {
		return "created on first use (serve or ingest)"
	}
	var parts []string
	if len(p.Add) > 0 {
		parts = append(parts, "add columns "+strings.Join(p.Add, ", ")+" (old rows read null)")
	}
	if len(p.Widen) > 0 {
		parts = append(parts, "widen "+strings.Join(p.Widen, ", "))
	}
	if len(p.Relax) > 0 {
		parts = append(parts, "make "+strings.Join(p.Relax, ", ")+" optional")
	}
	if len(parts) == 0 {
		return "up to date"
	}
	return strings.Join(parts, "; ") + " (schema-only commit, no data rewritten)"
}

// PlanTable reports what EnsureTable would change in the view's table, changing
// nothing. A difference Iceberg cannot make in place is an error wrapping
// ErrSchemaMismatch, as EnsureTable's.
func (s *Store) PlanTable(ctx context.Context, v *registry.FeatureView) (TablePlan, error) {
	tbl, err := s.freshTable(ctx, v)
	if errors.Is(err, ErrNoSuchTable) {
		return TablePlan{Create: true}, nil
	}
	if err != nil {
		return TablePlan{}, err
	}
	ev, err := planEvolution(v, tbl.Schema())
	if err != nil {
		return TablePlan{}, err
	}
	p := TablePlan{Relax: ev.relax}
	for _, c := range ev.add {
		p.Add = append(p.Add, c.name)
	}
	for _, c := range ev.promote {
		p.Widen = append(p.Widen, c.name)
	}
	return p, nil
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
