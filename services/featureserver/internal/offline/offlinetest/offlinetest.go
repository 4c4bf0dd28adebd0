// Package offlinetest is the contract suite of the offline store: the behaviours
// materialization, serving and training rely on (point lookups, scans at a
// snapshot, changes between snapshots, the history of a table, schema evolution)
// are specified here once, and each catalog's tests run them against a Store on
// that catalog:
//
//	func TestSQLCatalogContract(t *testing.T) {
//		offlinetest.Run(t, func(t *testing.T) *offline.Store { return newStore(t) })
//	}
//
// Each behaviour is one subtest with a fresh Store, and every table a subtest
// creates lives in a namespace unique to the subtest and the run, so catalogs
// shared between subtests (or left over from an earlier run) never collide.
package offlinetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Run runs the contract suite. newStore is called once per subtest; Run does not
// close the Store (the caller's constructor registers its cleanup).
func Run(t *testing.T, newStore func(t *testing.T) *offline.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, &env{t: t, s: newStore(t), ns: namespace(t)})
		})
	}
}

// cases lists the behaviours, one subtest each.
var cases = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"MissingTable", testMissingTable},
	{"EmptyTable", testEmptyTable},
	{"ScanAtSnapshot", testScanAtSnapshot},
	{"ScanFeatures", testScanFeatures},
	{"History", testHistory},
	{"SnapshotAsOf", testSnapshotAsOf},
	{"PointLookup", testPointLookup},
	{"PointLookupStringKeys", testPointLookupStringKeys},
	{"ChangesOfAppends", testChangesOfAppends},
	{"ChangesOfUpserts", testChangesOfUpserts},
	{"ChangesOutsideAncestry", testChangesOutsideAncestry},
	{"SchemaEvolution", testSchemaEvolution},
}

// env is one subtest's store and namespace.
type env struct {
	t  *testing.T
	s  *offline.Store
	ns string
	n  int
}

func namespace(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "contract_" + hex.EncodeToString(b)
}

// spec is the suite's feature definitions; %[1]s is the subtest's namespace and
// %[2]s extra features of user_stats (for schema evolution).
const spec = `
entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
  - {name: card, join_keys: [{name: card_id, type: string}]}
sources:
  - {name: users, table: %[1]s.users}
  - {name: cards, table: %[1]s.cards}
feature_views:
  - name: user_stats
    entity: user
    source: users
    features:
      - {name: score, type: int64}
      - {name: label, type: string}%[2]s
  - name: card_stats
    entity: card
    source: cards
    features:
      - {name: amount, type: double}
`

// view returns a view of the suite's spec, with extra features appended to
// user_stats when given ("name:type" each).
func (e *env) view(name string, extra ...string) *registry.FeatureView {
	e.t.Helper()
	var more strings.Builder
	for _, x := range extra {
		n, typ, _ := strings.Cut(x, ":")
		fmt.Fprintf(&more, "\n      - {name: %s, type: %s}", n, typ)
	}
	reg, err := registry.Compile(map[string][]byte{"contract.yaml": fmt.Appendf(nil, spec, e.ns, more.String())})
	if err != nil {
		e.t.Fatal(err)
	}
	v, ok := reg.FeatureView(name)
	if !ok {
		e.t.Fatalf("no view %s", name)
	}
	return v
}

// base is the event time of minute 0 of the suite's rows.
var base = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

// commit ingests CSV rows (after the view's header, event times as minutes
// after base: "7,@3,70,x" is entity 7 at minute 3) and returns the snapshot.
func (e *env) commit(v *registry.FeatureView, mode offline.IngestMode, rows ...string) int64 {
	e.t.Helper()
	var b strings.Builder
	b.WriteString(v.Entity.Key().Name + "," + v.EventTime)
	for _, f := range v.Features {
		b.WriteString("," + f.Name)
	}
	b.WriteString("\n")
	for _, r := range rows {
		key, rest, _ := strings.Cut(r, ",@")
		minute, vals, _ := strings.Cut(rest, ",")
		var m int
		if _, err := fmt.Sscan(minute, &m); err != nil {
			e.t.Fatalf("row %q: %v", r, err)
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", key, base.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), vals)
	}
	e.n++
	path := filepath.Join(e.t.TempDir(), fmt.Sprintf("commit%d.csv", e.n))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.s.IngestWithOptions(context.Background(), v, path, offline.IngestOptions{Mode: mode})
	if err != nil {
		e.t.Fatalf("ingest %d rows into %s: %v", len(rows), v.Name, err)
	}
	return res.SnapshotID
}

// row is one canonical row: the key string, the event time in minutes after
// base, and the feature values (int64, float64, string, or nil for null).
type row struct {
	key    string
	minute int64
	values []any
}

func (r row) String() string { return fmt.Sprintf("%s@%d%v", r.key, r.minute, r.values) }

// read drains rdr, checking every record has the schema want, and returns its
// rows sorted by key, event time and values.
func (e *env) read(rdr array.RecordReader, err error, want *arrow.Schema) []row {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	defer rdr.Release()
	if !rdr.Schema().Equal(want) {
		e.t.Fatalf("reader schema:\n%s\nwant:\n%s", rdr.Schema(), want)
	}
	var out []row
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if !rec.Schema().Equal(want) {
			e.t.Fatalf("record schema:\n%s\nwant:\n%s", rec.Schema(), want)
		}
		keys, err := columns.KeyStrings(rec.Column(0))
		if err != nil {
			e.t.Fatal(err)
		}
		ts := rec.Column(1).(*array.Timestamp)
		for i, k := range keys {
			r := row{key: k, minute: (int64(ts.Value(i)) - base.UnixMicro()) / 60e6}
			for _, col := range rec.Columns()[2:] {
				r.values = append(r.values, value(e.t, col, i))
			}
			out = append(out, r)
		}
	}
	if err := rdr.Err(); err != nil {
		e.t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b row) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func value(t *testing.T, col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch c := col.(type) {
	case *array.Int64:
		return c.Value(i)
	case *array.Float64:
		return c.Value(i)
	case *array.String:
		return c.Value(i)
	}
	t.Fatalf("unexpected column type %s", col.DataType())
	return nil
}

// rows parses expected rows written like commit's ("7,@3,70,x"), with the
// values of user_stats (score int64, label string, then extra int64 columns)
// or card_stats (amount float64); an empty value is null.
func rows(v *registry.FeatureView, specs ...string) []row {
	var out []row
	for _, s := range specs {
		key, rest, _ := strings.Cut(s, ",@")
		minute, vals, _ := strings.Cut(rest, ",")
		r := row{key: key}
		fmt.Sscan(minute, &r.minute)
		for i, x := range strings.Split(vals, ",") {
			if x == "" {
				r.values = append(r.values, nil)
				continue
			}
			switch v.Features[i].Type {
			case registry.TypeInt64:
				var n int64
				fmt.Sscan(x, &n)
				r.values = append(r.values, n)
			case registry.TypeDouble:
				var f float64
				fmt.Sscan(x, &f)
				r.values = append(r.values, f)
			default:
				r.values = append(r.values, x)
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b row) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func (e *env) equal(what string, got, want []row) {
	e.t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func (e *env) scan(v *registry.FeatureView, snap int64) []row {
	e.t.Helper()
	rdr, err := e.s.Scan(context.Background(), v, snap)
	return e.read(rdr, err, offline.ArrowSchema(v))
}

func (e *env) lookup(v *registry.FeatureView, snap int64, ids ...string) []row {
	e.t.Helper()
	rdr, err := e.s.LookupScan(context.Background(), v, snap, ids)
	return e.read(rdr, err, offline.ArrowSchema(v))
}

// changes returns the change set of (from, to], its appended rows read.
func (e *env) changes(v *registry.FeatureView, from, to int64) (*offline.ChangeSet, []row) {
	e.t.Helper()
	cs, err := e.s.Changes(context.Background(), v, from, to)
	if err != nil {
		e.t.Fatalf("Changes(%d, %d): %v", from, to, err)
	}
	return cs, e.read(cs.Appended, nil, offline.ArrowSchema(v))
}

// A view whose table does not exist yet: reads say so (ErrNoSuchTable), or
// report no snapshot where "none yet" is an answer.
func testMissingTable(t *testing.T, e *env) {
	ctx := context.Background()
	v := e.view("user_stats")
	if _, ok, err := e.s.CurrentSnapshot(ctx, v); ok || err != nil {
		t.Errorf("CurrentSnapshot = ok %v, err %v; want no snapshot and no error", ok, err)
	}
	if _, err := e.s.Snapshots(ctx, v); !errors.Is(err, offline.ErrNoSuchTable) {
		t.Errorf("Snapshots: %v, want ErrNoSuchTable", err)
	}
	if _, err := e.s.Snapshot(ctx, v, 1); !errors.Is(err, offline.ErrNoSuchTable) {
		t.Errorf("Snapshot: %v, want ErrNoSuchTable", err)
	}
	if _, ok, err := e.s.SnapshotAsOf(ctx, v, time.Now()); ok || err != nil {
		t.Errorf("SnapshotAsOf = ok %v, err %v; want no snapshot and no error", ok, err)
	}
	if _, err := e.s.LookupScan(ctx, v, 0, []string{"1"}); !errors.Is(err, offline.ErrNoSuchTable) {
		t.Errorf("LookupScan: %v, want ErrNoSuchTable", err)
	}
}

// A created table without a commit has no snapshot, and creating it again is
// not an error.
func testEmptyTable(t *testing.T, e *env) {
	ctx := context.Background()
	v := e.view("user_stats")
	for range 2 {
		if _, err := e.s.EnsureTable(ctx, v); err != nil {
			t.Fatalf("EnsureTable: %v", err)
		}
	}
	if _, ok, err := e.s.CurrentSnapshot(ctx, v); ok || err != nil {
		t.Errorf("CurrentSnapshot = ok %v, err %v; want no snapshot and no error", ok, err)
	}
	if snaps, err := e.s.Snapshots(ctx, v); len(snaps) != 0 || err != nil {
		t.Errorf("Snapshots = %v, %v; want none", snaps, err)
	}
}

// Scan reads every row of a snapshot, in the canonical schema: an older
// snapshot keeps its rows after later commits, 0 is the current one, and an
// unknown id is ErrNoSuchSnapshot.
func testScanAtSnapshot(t *testing.T, e *env) {
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@0,20,", "3,@0,30,z")
	b := e.commit(v, offline.ModeAppend, "1,@5,11,x", "4,@5,40,w")
	if a == b {
		t.Fatal("two commits share a snapshot id")
	}
	first := rows(v, "1,@0,10,x", "2,@0,20,", "3,@0,30,z")
	e.equal("scan at the first snapshot", e.scan(v, a), first)
	both := append(rows(v, "1,@5,11,x", "4,@5,40,w"), first...)
	slices.SortFunc(both, func(a, b row) int { return strings.Compare(a.String(), b.String()) })
	e.equal("scan at the second snapshot", e.scan(v, b), both)
	e.equal("scan at the current snapshot", e.scan(v, 0), both)
	if _, err := e.s.Scan(context.Background(), v, 12345); !errors.Is(err, offline.ErrNoSuchSnapshot) {
		t.Errorf("Scan at an unknown snapshot: %v, want ErrNoSuchSnapshot", err)
	}
}

// ScanFeatures reads the join key, the event time and the chosen features only,
// in the order asked.
func testScanFeatures(t *testing.T, e *env) {
	v := e.view("user_stats")
	snap := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@1,20,y")
	rdr, err := e.s.ScanFeatures(context.Background(), v, snap, []int{1})
	got := e.read(rdr, err, offline.FeatureSchema(v, []int{1}))
	want := []row{{key: "1", minute: 0, values: []any{"x"}}, {key: "2", minute: 1, values: []any{"y"}}}
	e.equal("ScanFeatures of label", got, want)
}

// The history of a table: snapshots oldest first, each with its parent, its
// operation and record counts; Snapshot describes one by id; CurrentSnapshot
// and RecentSnapshot see this Store's own last commit at once.
func testHistory(t *testing.T, e *env) {
	ctx := context.Background()
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@0,20,y", "3,@0,30,z")
	b := e.commit(v, offline.ModeAppend, "1,@5,11,x", "4,@5,40,w")
	snaps, err := e.s.Snapshots(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 || snaps[0].ID != a || snaps[1].ID != b {
		t.Fatalf("Snapshots = %+v, want %d then %d", snaps, a, b)
	}
	if snaps[0].ParentID != 0 || snaps[1].ParentID != a {
		t.Errorf("parents %d and %d, want 0 and %d", snaps[0].ParentID, snaps[1].ParentID, a)
	}
	if snaps[0].Operation != "append" || snaps[0].AddedRecords != 3 || snaps[1].AddedRecords != 2 || snaps[1].TotalRecords != 5 {
		t.Errorf("summaries %+v", snaps)
	}
	if snaps[0].Timestamp.IsZero() || snaps[1].Timestamp.Before(snaps[0].Timestamp) {
		t.Errorf("commit times %v then %v", snaps[0].Timestamp, snaps[1].Timestamp)
	}
	got, err := e.s.Snapshot(ctx, v, a)
	if err != nil || !reflect.DeepEqual(got, snaps[0]) {
		t.Errorf("Snapshot(%d) = %+v, %v; want %+v", a, got, err, snaps[0])
	}
	if _, err := e.s.Snapshot(ctx, v, 12345); !errors.Is(err, offline.ErrNoSuchSnapshot) {
		t.Errorf("Snapshot of an unknown id: %v, want ErrNoSuchSnapshot", err)
	}
	if id, ok, err := e.s.CurrentSnapshot(ctx, v); id != b || !ok || err != nil {
		t.Errorf("CurrentSnapshot = %d %v %v, want %d", id, ok, err, b)
	}
	if id, ok, err := e.s.RecentSnapshot(ctx, v); id != b || !ok || err != nil {
		t.Errorf("RecentSnapshot = %d %v %v, want %d", id, ok, err, b)
	}
}

// SnapshotAsOf answers the snapshot current at a moment: the last one
// committed at or before it, none before the first commit.
func testSnapshotAsOf(t *testing.T, e *env) {
	ctx := context.Background()
	v := e.view("user_stats")
	for i := range 3 {
		e.commit(v, offline.ModeAppend, fmt.Sprintf("1,@%d,%d,x", i, i))
	}
	snaps, err := e.s.Snapshots(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	// Commits in the same millisecond share a timestamp; the later one is then
	// current at that moment.
	asOf := func(at time.Time) int64 {
		var id int64
		for _, sn := range snaps {
			if !sn.Timestamp.After(at) {
				id = sn.ID
			}
		}
		return id
	}
	for _, sn := range snaps {
		for _, at := range []time.Time{sn.Timestamp, sn.Timestamp.Add(999 * time.Microsecond), sn.Timestamp.Add(-time.Millisecond)} {
			got, ok, err := e.s.SnapshotAsOf(ctx, v, at)
			want := asOf(at)
			if err != nil || ok != (want != 0) || got.ID != want {
				t.Errorf("SnapshotAsOf(%v) = %d %v %v, want %d", at, got.ID, ok, err, want)
			}
		}
	}
	if got, ok, err := e.s.SnapshotAsOf(ctx, v, time.Now().Add(time.Hour)); !ok || err != nil || !reflect.DeepEqual(got, snaps[2]) {
		t.Errorf("SnapshotAsOf in the future = %+v %v %v, want %+v", got, ok, err, snaps[2])
	}
}

// LookupScan returns every version of the entities asked for, and only those,
// at the snapshot asked for; malformed ids are ErrInvalidData, an unknown
// snapshot ErrNoSuchSnapshot.
func testPointLookup(t *testing.T, e *env) {
	ctx := context.Background()
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@0,20,y", "3,@0,30,z")
	b := e.commit(v, offline.ModeAppend, "3,@5,31,z", "4,@5,40,")
	e.equal("lookup of 3, 4 and an unknown 99", e.lookup(v, 0, "3", "4", "99", "3"), rows(v, "3,@0,30,z", "3,@5,31,z", "4,@5,40,"))
	e.equal("lookup at the first snapshot", e.lookup(v, a, "3", "4"), rows(v, "3,@0,30,z"))
	e.equal("lookup at the second snapshot", e.lookup(v, b, "1"), rows(v, "1,@0,10,x"))
	e.equal("lookup of no ids", e.lookup(v, 0), nil)
	for _, bad := range []string{"x", "007", "+7", " 7", "9223372036854775808"} {
		if _, err := e.s.LookupScan(ctx, v, 0, []string{"1", bad}); !errors.Is(err, offline.ErrInvalidData) {
			t.Errorf("lookup of id %q: %v, want ErrInvalidData", bad, err)
		}
	}
	if _, err := e.s.LookupScan(ctx, v, 12345, []string{"1"}); !errors.Is(err, offline.ErrNoSuchSnapshot) {
		t.Errorf("lookup at an unknown snapshot: %v, want ErrNoSuchSnapshot", err)
	}
}

// String join keys are looked up by their exact value.
func testPointLookupStringKeys(t *testing.T, e *env) {
	v := e.view("card_stats")
	e.commit(v, offline.ModeAppend, "card-1,@0,1.5", "card-2,@0,2.5", "card-10,@1,")
	e.equal("lookup of card-1 and card-10", e.lookup(v, 0, "card-1", "card-10", "card-3"), rows(v, "card-1,@0,1.5", "card-10,@1,"))
}

// Between snapshots linked by appends, the change set is the rows appended:
// from 0 every row, otherwise only the later commits' rows, nothing affected.
func testChangesOfAppends(t *testing.T, e *env) {
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@0,20,y")
	b := e.commit(v, offline.ModeAppend, "1,@5,11,x")
	c := e.commit(v, offline.ModeAppend, "3,@6,30,z")
	cs, got := e.changes(v, 0, a)
	e.equal("changes from the beginning to the first snapshot", got, rows(v, "1,@0,10,x", "2,@0,20,y"))
	if cs.FullRescan || len(cs.Affected) != 0 {
		t.Errorf("changes from the beginning: %+v", cs)
	}
	cs, got = e.changes(v, a, 0)
	e.equal("changes after the first snapshot", got, rows(v, "1,@5,11,x", "3,@6,30,z"))
	if cs.FullRescan || len(cs.Affected) != 0 || !slices.Equal(cs.Snapshots, []int64{b, c}) {
		t.Errorf("changes after the first snapshot: %+v, want snapshots %d, %d", cs, b, c)
	}
	if cs, got = e.changes(v, c, c); len(got) != 0 || len(cs.Affected) != 0 || cs.FullRescan {
		t.Errorf("changes of an empty range: %+v, rows %v", cs, got)
	}
}

// An upsert replaces its entities' rows: the change set names every entity of
// the upsert Affected, for the caller to re-read with LookupScan, and keeps
// their rows out of Appended.
func testChangesOfUpserts(t *testing.T, e *env) {
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x", "2,@0,20,y", "3,@0,30,z")
	e.commit(v, offline.ModeUpsert, "2,@1,21,y", "4,@1,40,w")
	cs, got := e.changes(v, a, 0)
	if cs.FullRescan {
		t.Fatalf("changes of an upsert need a full rescan: %s", cs.Reason)
	}
	if !slices.Equal(cs.Affected, []string{"2", "4"}) {
		t.Errorf("affected %v, want the upserted entities [2 4]", cs.Affected)
	}
	e.equal("appended rows (the upserted entities' are re-read instead)", got, nil)
	e.equal("entity 2 after the upsert", e.lookup(v, 0, "2"), rows(v, "2,@1,21,y"))
	e.equal("entity 1 after the upsert", e.lookup(v, 0, "1"), rows(v, "1,@0,10,x"))
}

// A range that does not follow the target's ancestry cannot be analyzed: the
// caller is told to rescan the target in full.
func testChangesOutsideAncestry(t *testing.T, e *env) {
	v := e.view("user_stats")
	a := e.commit(v, offline.ModeAppend, "1,@0,10,x")
	b := e.commit(v, offline.ModeAppend, "2,@1,20,y")
	cs, got := e.changes(v, b, a)
	if !cs.FullRescan || cs.Reason == "" || len(got) != 0 || cs.Affected != nil {
		t.Errorf("changes from %d back to its parent %d: %+v, rows %v; want a full rescan with a reason", b, a, cs, got)
	}
}

// A feature added to the spec: EnsureTable adds its column without touching the
// data, earlier snapshots read it as null (scans and lookups alike), and new
// commits carry it.
func testSchemaEvolution(t *testing.T, e *env) {
	ctx := context.Background()
	v1 := e.view("user_stats")
	old := e.commit(v1, offline.ModeAppend, "1,@0,10,x", "2,@0,20,y")
	v2 := e.view("user_stats", "visits:int64")
	if _, err := e.s.EnsureTable(ctx, v2); err != nil {
		t.Fatalf("EnsureTable with a new feature: %v", err)
	}
	e.equal("the old snapshot under the new spec", e.scan(v2, old), rows(v2, "1,@0,10,x,", "2,@0,20,y,"))
	e.equal("a lookup at the old snapshot under the new spec", e.lookup(v2, old, "1"), rows(v2, "1,@0,10,x,"))
	e.commit(v2, offline.ModeAppend, "1,@5,11,x,3")
	e.equal("the current snapshot under the new spec", e.scan(v2, 0), rows(v2, "1,@0,10,x,", "1,@5,11,x,3", "2,@0,20,y,"))
	e.equal("the current snapshot under the old spec", e.scan(v1, 0), rows(v1, "1,@0,10,x", "1,@5,11,x", "2,@0,20,y"))
}
