package offline

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// changes calls Changes and reads Appended.
func changes(t testing.TB, s *Store, v *registry.FeatureView, from, to int64) (*ChangeSet, [][]any) {
	t.Helper()
	cs, err := s.Changes(context.Background(), v, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Appended == nil {
		t.Fatal("Appended is nil")
	}
	return cs, sortRows(rowsOf(t, cs.Appended, ArrowSchema(v)))
}

// external is a writer that is not Floe: iceberg-go used directly on the table,
// as pyiceberg, Spark or Flink would commit.
func external(t testing.TB, s *Store, v *registry.FeatureView) *table.Table {
	t.Helper()
	tbl, err := s.Catalog().LoadTable(context.Background(), Identifier(v))
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// canonical reads a CSV file into a canonical record reader.
func canonical(t testing.TB, v *registry.FeatureView, path string) array.RecordReader {
	t.Helper()
	rec, err := readCSV(context.Background(), v, path, memory.DefaultAllocator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	return rdr
}

func current(t testing.TB, tbl *table.Table) int64 {
	t.Helper()
	if tbl.CurrentSnapshot() == nil {
		t.Fatal("no current snapshot")
	}
	return tbl.CurrentSnapshot().SnapshotID
}

// reference is what a materializer must end with: the entities and rows of a
// full scan at snap.
func entitiesAt(t testing.TB, s *Store, v *registry.FeatureView, snap int64) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	for _, r := range scanRows(t, s, v, snap) {
		k := fmt.Sprint(r[0])
		out[k] = append(out[k], r)
	}
	return out
}

// replay applies a change set to the state at `from` the way a materializer
// does (rows of every entity, not just the latest) and checks it matches a full
// scan at `to`.
func replay(t testing.TB, s *Store, v *registry.FeatureView, from, to int64, cs *ChangeSet, appended [][]any) {
	t.Helper()
	if cs.FullRescan {
		t.Fatalf("unexpected full rescan: %s", cs.Reason)
	}
	state := entitiesAt(t, s, v, from)
	for _, r := range appended {
		k := fmt.Sprint(r[0])
		state[k] = append(state[k], r)
	}
	if len(cs.Affected) > 0 {
		for _, k := range cs.Affected {
			delete(state, k)
		}
		for _, r := range lookupRows(t, s, v, to, cs.Affected...) {
			k := fmt.Sprint(r[0])
			state[k] = append(state[k], r)
		}
	}
	want := entitiesAt(t, s, v, to)
	for k := range state {
		sortRows(state[k])
	}
	for k := range want {
		sortRows(want[k])
	}
	if !reflect.DeepEqual(state, want) {
		t.Errorf("replaying changes %d..%d does not give the snapshot:\n got %v\nwant %v", from, to, state, want)
	}
}

func TestChangesOfAppends(t *testing.T) {
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 10), 1))
	s2 := ingest(t, s, v, profileCSV(t, "b.csv", []int{2, 11}, 2))
	// Another writer appends through iceberg-go directly.
	rdr := canonical(t, v, profileCSV(t, "c.csv", []int{12}, 3))
	tbl, err := external(t, s, v).Append(context.Background(), rdr, nil)
	rdr.Release()
	if err != nil {
		t.Fatal(err)
	}
	s3 := current(t, tbl)

	cs, rows := changes(t, s, v, s1, s3)
	if !slices.Equal(cs.Snapshots, []int64{s2, s3}) || cs.FullRescan || len(cs.Affected) != 0 {
		t.Errorf("change set %+v", cs)
	}
	if keys := keysOf(rows); !reflect.DeepEqual(keys, []string{"11", "12", "2"}) || len(rows) != 3 {
		t.Errorf("appended %v", rows)
	}
	replay(t, s, v, s1, s3, cs, rows)

	cs, rows = changes(t, s, v, s2, 0) // 0: the current snapshot
	if !slices.Equal(cs.Snapshots, []int64{s3}) || len(rows) != 1 || rows[0][0] != int64(12) {
		t.Errorf("changes after %d up to current: %+v %v", s2, cs, rows)
	}
	cs, rows = changes(t, s, v, 0, s2)
	if !slices.Equal(cs.Snapshots, []int64{s1, s2}) || len(rows) != 12 {
		t.Errorf("changes from the beginning: %+v, %d rows", cs, len(rows))
	}
	cs, rows = changes(t, s, v, s3, s3)
	if len(cs.Snapshots) != 0 || len(rows) != 0 {
		t.Errorf("changes of an empty range: %+v %v", cs, rows)
	}

	// A start that is not an ancestor of the end cannot be followed.
	cs, _ = changes(t, s, v, 424242, s3)
	if !cs.FullRescan || !strings.Contains(cs.Reason, "not an ancestor") {
		t.Errorf("unrelated start: %+v", cs)
	}
	if _, err := s.Changes(context.Background(), v, s1, 999); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Errorf("unknown end: %v", err)
	}
}

func TestChangesOfCopyOnWriteOverwriteAndDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 20), 1, 2))

	// Overwrite (copy-on-write): entities 3 and 4 get new rows, 21 is new.
	rdr := canonical(t, v, profileCSV(t, "o.csv", []int{3, 4, 21}, 9))
	ref := iceberg.Reference("user_id")
	tbl, err := external(t, s, v).Overwrite(ctx, rdr, nil, table.WithOverwriteFilter(iceberg.IsIn(ref, int64(3), int64(4))))
	rdr.Release()
	if err != nil {
		t.Fatal(err)
	}
	s2 := current(t, tbl)
	if op := tbl.CurrentSnapshot().Summary.Operation; op != table.OpOverwrite {
		t.Fatalf("operation %s", op)
	}
	cs, rows := changes(t, s, v, s1, s2)
	// The file holding 1..20 was rewritten: only the entities whose rows
	// changed are affected, not all twenty.
	if !reflect.DeepEqual(cs.Affected, []string{"21", "3", "4"}) || len(rows) != 0 {
		t.Errorf("overwrite: affected %v, appended %v (%s)", cs.Affected, rows, cs.Reason)
	}
	replay(t, s, v, s1, s2, cs, rows)

	// Delete (copy-on-write, the default mode): entity 5.
	tbl, err = tbl.Delete(ctx, iceberg.EqualTo(ref, int64(5)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s3 := current(t, tbl)
	cs, rows = changes(t, s, v, s2, s3)
	if !reflect.DeepEqual(cs.Affected, []string{"5"}) || len(rows) != 0 {
		t.Errorf("delete: affected %v, appended %v (%s)", cs.Affected, rows, cs.Reason)
	}
	if got := lookupRows(t, s, v, s3, "5"); len(got) != 0 {
		t.Errorf("entity 5 still has rows: %v", got)
	}
	replay(t, s, v, s2, s3, cs, rows)

	// Delete of one version only: the entity is affected, and re-reading it
	// gives the version left.
	tbl, err = tbl.Delete(ctx, iceberg.NewAnd(iceberg.EqualTo(ref, int64(6)), iceberg.LessThan(iceberg.Reference("age"), int64(28))), nil)
	if err != nil {
		t.Fatal(err)
	}
	s4 := current(t, tbl)
	cs, rows = changes(t, s, v, s3, s4)
	if !reflect.DeepEqual(cs.Affected, []string{"6"}) {
		t.Errorf("delete of a version: affected %v (%s)", cs.Affected, cs.Reason)
	}
	replay(t, s, v, s3, s4, cs, rows)

	// Over the whole range at once, with an append in the middle whose entity
	// a later delete removes: that entity is affected and not appended.
	s5 := ingest(t, s, v, profileCSV(t, "b.csv", []int{30, 31}, 3))
	tbl, err = external(t, s, v).Delete(ctx, iceberg.EqualTo(ref, int64(30)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s6 := current(t, tbl)
	cs, rows = changes(t, s, v, s1, s6)
	if !slices.Equal(cs.Snapshots, []int64{s2, s3, s4, s5, s6}) || !slices.Contains(cs.Affected, "30") || keysOf(rows)[0] != "31" || len(rows) != 1 {
		t.Errorf("whole range: %+v, appended %v", cs, rows)
	}
	replay(t, s, v, s1, s6, cs, rows)
}

func TestChangesOfMergeOnReadDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 20), 1, 2))
	tx := external(t, s, v).NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeMergeOnRead}); err != nil {
		t.Fatal(err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref := iceberg.Reference("user_id")
	tbl, err = tbl.Delete(ctx, iceberg.IsIn(ref, int64(7), int64(8)), nil)
	if err != nil {
		t.Fatal(err)
	}
	s2 := current(t, tbl)
	sum := tbl.CurrentSnapshot().Summary.Properties
	if n, _ := strconv.Atoi(sum["added-position-delete-files"]); n == 0 {
		t.Fatalf("merge-on-read delete wrote no position deletes: %v", sum)
	}
	if got := lookupRows(t, s, v, s2, "7", "8", "9"); keysOf(got)[0] != "9" || len(got) != 2 {
		t.Errorf("rows after the position delete: %v", got)
	}
	cs, rows := changes(t, s, v, s1, s2)
	if !reflect.DeepEqual(cs.Affected, []string{"7", "8"}) || len(rows) != 0 {
		t.Errorf("merge-on-read delete: affected %v, appended %v (%s)", cs.Affected, rows, cs.Reason)
	}
	replay(t, s, v, s1, s2, cs, rows)
}

func TestUpsertReplacesEntitiesInOneSnapshot(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 10), 1, 2))
	s2 := ingest(t, s, v, profileCSV(t, "b.csv", []int{3}, 3))

	// Entities 3 and 4 get one new row each (older than some existing ones:
	// an upsert replaces, whatever the event times), 11 is new.
	res, err := s.IngestWithOptions(ctx, v, profileCSV(t, "u.csv", []int{11, 4, 3}, 1), IngestOptions{Mode: ModeUpsert})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Entities != 3 || res.Mode != ModeUpsert {
		t.Errorf("result %+v", res)
	}
	snaps, err := s.Snapshots(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	last := snaps[len(snaps)-1]
	if len(snaps) != 3 || last.ID != res.SnapshotID || last.ParentID != s2 || last.Operation != "overwrite" ||
		last.Summary["added-equality-delete-files"] != "1" || last.Summary[summaryMode] != "upsert" {
		t.Errorf("snapshots %+v", snaps)
	}
	want := [][]any{
		{int64(3), at("2024-05-01T00:00:00Z"), int64(24), "city3", nil},
		{int64(4), at("2024-05-01T00:00:00Z"), int64(25), "city4", nil},
	}
	if got := lookupRows(t, s, v, 0, "3", "4"); !reflect.DeepEqual(got, want) {
		t.Errorf("lookup after upsert:\n got %v\nwant %v", got, want)
	}
	all := scanRows(t, s, v, 0)
	if len(all) != 2*8+3 {
		t.Errorf("scan after upsert: %d rows, want %d", len(all), 2*8+3)
	}
	if got := lookupRows(t, s, v, s2, "3"); len(got) != 3 {
		t.Errorf("the snapshot before the upsert still has the old rows: %v", got)
	}

	cs, rows := changes(t, s, v, s2, res.SnapshotID)
	if !reflect.DeepEqual(cs.Affected, []string{"11", "3", "4"}) || len(rows) != 0 {
		t.Errorf("upsert: affected %v, appended %v (%s)", cs.Affected, rows, cs.Reason)
	}
	replay(t, s, v, s2, res.SnapshotID, cs, rows)
	cs, rows = changes(t, s, v, s1, res.SnapshotID)
	replay(t, s, v, s1, res.SnapshotID, cs, rows)

	// A second upsert of the same entity, then plain appends on top: every
	// read applies both equality deletes.
	res2, err := s.IngestWithOptions(ctx, v, profileCSV(t, "u2.csv", []int{3}, 7, 8), IngestOptions{Mode: ModeUpsert})
	if err != nil {
		t.Fatal(err)
	}
	s5 := ingest(t, s, v, profileCSV(t, "c.csv", []int{3}, 9))
	if got := lookupRows(t, s, v, 0, "3"); len(got) != 3 || got[0][1] != at("2024-05-07T00:00:00Z") {
		t.Errorf("after a second upsert and an append: %v", got)
	}
	cs, rows = changes(t, s, v, res.SnapshotID, s5)
	if !reflect.DeepEqual(cs.Affected, []string{"3"}) {
		t.Errorf("affected %v", cs.Affected)
	}
	replay(t, s, v, res.SnapshotID, s5, cs, rows)
	_ = res2

	// Upsert into a table that does not exist yet creates it.
	s2nd := newStore(t)
	res3, err := s2nd.IngestWithOptions(ctx, v, profileCSV(t, "first.csv", []int{1, 2}, 1), IngestOptions{Mode: ModeUpsert})
	if err != nil || res3.Rows != 2 {
		t.Fatalf("upsert into a new table: %+v %v", res3, err)
	}
	if got := scanRows(t, s2nd, v, 0); len(got) != 2 {
		t.Errorf("rows %v", got)
	}
}

// A partitioned table (created by another engine) cannot take an equality
// delete that reaches every partition, so the upsert is a copy-on-write
// overwrite with the same result.
func TestUpsertIntoPartitionedTableOverwrites(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	if err := s.Catalog().CreateNamespace(ctx, []string{"pricing"}, nil); err != nil {
		t.Fatal(err)
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "day", Transform: iceberg.DayTransform{}})
	if _, err := s.Catalog().CreateTable(ctx, Identifier(v), IcebergSchema(v), catalog.WithPartitionSpec(&spec), catalog.WithProperties(iceberg.Properties{table.PropertyFormatVersion: "2"})); err != nil {
		t.Fatal(err)
	}
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 5), 1, 2))
	res, err := s.IngestWithOptions(ctx, v, profileCSV(t, "u.csv", []int{2, 9}, 3), IngestOptions{Mode: ModeUpsert})
	if err != nil {
		t.Fatal(err)
	}
	if got := lookupRows(t, s, v, 0, "2", "9"); len(got) != 2 || got[0][1] != at("2024-05-03T00:00:00Z") {
		t.Errorf("after upsert: %v", got)
	}
	snap, _ := s.Snapshot(ctx, v, res.SnapshotID)
	if snap.Operation != "overwrite" || snap.Summary["added-equality-delete-files"] != "" {
		t.Errorf("snapshot %+v", snap)
	}
	cs, rows := changes(t, s, v, s1, res.SnapshotID)
	if !reflect.DeepEqual(cs.Affected, []string{"2", "9"}) {
		t.Errorf("affected %v (%s)", cs.Affected, cs.Reason)
	}
	replay(t, s, v, s1, res.SnapshotID, cs, rows)
}

func TestChangesFullRescanCases(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 30), 1))

	// Equality deletes on a column other than the join key: which entities
	// they hit cannot be known without applying them to every row.
	tx := external(t, s, v).NewTransaction()
	sc := arrow.NewSchema([]arrow.Field{{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.StringBuilder).Append("city3")
	rec := b.NewRecordBatch()
	b.Release()
	cityID := 4
	if err := tx.CommitEqualityDeletes(ctx, []int{cityID}, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }, nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2 := current(t, tbl)
	cs, _ := changes(t, s, v, s1, s2)
	if !cs.FullRescan || !strings.Contains(cs.Reason, "without the join key") || !slices.Equal(cs.Snapshots, []int64{s2}) {
		t.Errorf("equality delete on city: %+v", cs)
	}
	if got := lookupRows(t, s, v, s2, "3"); len(got) != 0 {
		t.Errorf("the equality delete on city did not apply: %v", got)
	}

	// More affected entities than the limit.
	s.maxAffected = 2
	rdr := canonical(t, v, profileCSV(t, "o.csv", []int{1, 2, 4}, 9))
	tbl, err = external(t, s, v).Overwrite(ctx, rdr, nil, table.WithOverwriteFilter(iceberg.IsIn(iceberg.Reference("user_id"), int64(1), int64(2), int64(4))))
	rdr.Release()
	if err != nil {
		t.Fatal(err)
	}
	cs, _ = changes(t, s, v, s2, current(t, tbl))
	if !cs.FullRescan || !strings.Contains(cs.Reason, "3 entities") {
		t.Errorf("over the limit: %+v", cs)
	}
}

// An upsert racing appends (iceberg-go refuses an equality delete when data
// was committed concurrently, under serializable isolation) is committed again
// on the fresh table: every commit lands, and the upsert's entities end with
// only its rows or later ones.
func TestUpsertRacingAppends(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 10), 1))
	errs := make(chan error, 4)
	for i := range 3 {
		go func() {
			_, err := s.Ingest(ctx, v, profileCSV(t, fmt.Sprintf("b%d.csv", i), []int{20 + i}, 2), nil)
			errs <- err
		}()
	}
	go func() {
		_, err := s.IngestWithOptions(ctx, v, profileCSV(t, "u.csv", []int{1, 2}, 5), IngestOptions{Mode: ModeUpsert})
		errs <- err
	}()
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := lookupRows(t, s, v, 0, "1", "2", "20", "21", "22"); len(got) != 5 || got[0][1] != at("2024-05-05T00:00:00Z") {
		t.Errorf("rows %v", got)
	}
	snaps, _ := s.Snapshots(ctx, v)
	if len(snaps) != 5 {
		t.Errorf("%d snapshots, want 5", len(snaps))
	}
}
