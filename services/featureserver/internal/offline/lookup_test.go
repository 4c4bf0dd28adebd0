package offline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

const profileHeader = "user_id,event_time,age,city,last_updated\n"

// profileCSV writes a user_profile file with one row per (id, day) pair: age is
// 20+id+day so every version differs, city names the id.
func profileCSV(t testing.TB, name string, ids []int, days ...int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(profileHeader)
	for _, id := range ids {
		for _, d := range days {
			fmt.Fprintf(&b, "%d,2024-05-%02dT00:00:00Z,%d,city%d,\n", id, d, 20+id+d, id)
		}
	}
	return writeFile(t, name, b.String())
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func ingest(t testing.TB, s *Store, v *registry.FeatureView, path string) int64 {
	t.Helper()
	res, err := s.Ingest(context.Background(), v, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

func lookupRows(t testing.TB, s *Store, v *registry.FeatureView, snap int64, ids ...string) [][]any {
	t.Helper()
	rdr, err := s.LookupScan(context.Background(), v, snap, ids)
	if err != nil {
		t.Fatal(err)
	}
	return sortRows(rowsOf(t, rdr, ArrowSchema(v)))
}

// sortRows orders rows by key then event time, for comparisons.
func sortRows(rows [][]any) [][]any {
	slices.SortFunc(rows, func(a, b []any) int {
		if c := strings.Compare(fmt.Sprint(a[0]), fmt.Sprint(b[0])); c != 0 {
			if x, ok := a[0].(int64); ok {
				y := b[0].(int64)
				if x < y {
					return -1
				}
				return 1
			}
			return c
		}
		return a[1].(time.Time).Compare(b[1].(time.Time))
	})
	return rows
}

// keysOf lists the distinct keys of rows, as canonical strings, sorted.
func keysOf(rows [][]any) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		k := fmt.Sprint(r[0])
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func TestLookupScanReturnsEveryVersionOfTheEntities(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")

	if _, err := s.LookupScan(ctx, v, 0, []string{"1"}); !errors.Is(err, ErrNoSuchTable) {
		t.Fatalf("lookup in a missing table: %v", err)
	}
	first := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 50), 1, 2))
	second := ingest(t, s, v, profileCSV(t, "b.csv", []int{7, 60}, 3))

	got := lookupRows(t, s, v, 0, "7", "3", "99", "7")
	want := [][]any{
		{int64(3), at("2024-05-01T00:00:00Z"), int64(24), "city3", nil},
		{int64(3), at("2024-05-02T00:00:00Z"), int64(25), "city3", nil},
		{int64(7), at("2024-05-01T00:00:00Z"), int64(28), "city7", nil},
		{int64(7), at("2024-05-02T00:00:00Z"), int64(29), "city7", nil},
		{int64(7), at("2024-05-03T00:00:00Z"), int64(30), "city7", nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lookup at current:\n got %v\nwant %v", got, want)
	}
	if got := lookupRows(t, s, v, first, "7", "60"); len(got) != 2 || got[1][1] != at("2024-05-02T00:00:00Z") {
		t.Errorf("lookup at the first snapshot: %v", got)
	}
	if got := lookupRows(t, s, v, second, "60"); len(got) != 1 || got[0][2] != int64(83) {
		t.Errorf("lookup of an entity of the second file: %v", got)
	}
	if got := lookupRows(t, s, v, 0); len(got) != 0 {
		t.Errorf("lookup of no ids: %v", got)
	}

	// More ids than an IN list takes: filtered by range, then by set.
	var many []string
	for i := 0; i < 3000; i += 2 {
		many = append(many, strconv.Itoa(i))
	}
	rows := lookupRows(t, s, v, 0, many...)
	wantKeys := []string{}
	for i := 2; i <= 50; i += 2 {
		wantKeys = append(wantKeys, strconv.Itoa(i))
	}
	wantKeys = append(wantKeys, "60")
	slices.Sort(wantKeys)
	if keys := keysOf(rows); !reflect.DeepEqual(keys, wantKeys) || len(rows) != 2*25+1 {
		t.Errorf("lookup of %d ids: %d rows of keys %v", len(many), len(rows), keys)
	}

	for _, bad := range []string{"x", "007", "+7", " 7", "9223372036854775808"} {
		if _, err := s.LookupScan(ctx, v, 0, []string{"1", bad}); !errors.Is(err, ErrInvalidData) {
			t.Errorf("lookup of id %q: %v, want ErrInvalidData", bad, err)
		}
	}
	if _, err := s.LookupScan(ctx, v, 12345, []string{"1"}); !errors.Is(err, ErrNoSuchSnapshot) {
		t.Errorf("lookup at an unknown snapshot: %v", err)
	}
}

func TestLookupScanStringKeys(t *testing.T) {
	s := newStore(t)
	v := view(t, "fraud", "card_activity")
	header := "card_id,event_time,txn_count_1h,txn_count_24h,amount_sum_24h,amount_avg_30d,distinct_countries_7d,last_txn_at\n"
	var b strings.Builder
	b.WriteString(header)
	for i := range 200 {
		fmt.Fprintf(&b, "card-%04d,2024-05-01T00:00:00Z,%d,0,0,,1,\n", i, i)
	}
	ingest(t, s, v, writeFile(t, "cards.csv", b.String()))
	got := lookupRows(t, s, v, 0, "card-0042", "card-0199", "card-9999", "card-42")
	if keys := keysOf(got); !reflect.DeepEqual(keys, []string{"card-0042", "card-0199"}) || got[0][2] != int64(42) {
		t.Errorf("rows %v", got)
	}
	var many []string
	for i := range 2000 {
		many = append(many, fmt.Sprintf("card-%04d", i*3))
	}
	if got := lookupRows(t, s, v, 0, many...); len(got) != 67 {
		t.Errorf("lookup of %d ids: %d rows, want 67", len(many), len(got))
	}
}

// countingCatalog counts the catalog's LoadTable calls; everything else is the
// real SQL catalog.
type countingCatalog struct {
	catalog.Catalog
	loads atomic.Int64
}

func (c *countingCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	c.loads.Add(1)
	return c.Catalog.LoadTable(ctx, ident)
}

// openSame opens a second Store on the SQLite catalog and warehouse of the
// first, as another process would.
func openSame(t testing.TB, s *Store, cfg Config) *Store {
	t.Helper()
	var dir string
	if err := s.db.QueryRow("PRAGMA database_list").Scan(new(int), new(string), &dir); err != nil {
		t.Fatal(err)
	}
	tbl, err := s.Catalog().LoadTable(context.Background(), Identifier(view(t, "pricing", "user_profile")))
	if err != nil {
		t.Fatal(err)
	}
	loc := tbl.Location() // file:///.../warehouse/pricing.db/user_profile
	cfg.URI = "file:" + dir
	cfg.Warehouse = strings.TrimSuffix(loc, "/pricing.db/user_profile")
	other, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

func TestTableCacheSemantics(t *testing.T) {
	ctx := context.Background()
	writer := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, writer, v, profileCSV(t, "a.csv", []int{1}, 1))

	// The reader is another process with a long max age, so staleness shows.
	reader := openSame(t, writer, Config{MetadataMaxAge: time.Hour})
	cat := &countingCatalog{Catalog: reader.cat}
	reader.cat = cat
	var probes atomic.Int64
	probe := reader.probe
	reader.probe = func(ctx context.Context, id table.Identifier) (string, error) {
		probes.Add(1)
		return probe(ctx, id)
	}

	if got := lookupRows(t, reader, v, 0, "1"); len(got) != 1 {
		t.Fatalf("first lookup: %v", got)
	}
	for range 5 {
		lookupRows(t, reader, v, 0, "1")
		lookupRows(t, reader, v, s1, "1")
		if id, ok, err := reader.RecentSnapshot(ctx, v); err != nil || !ok || id != s1 {
			t.Fatalf("RecentSnapshot = %d, %v, %v", id, ok, err)
		}
	}
	if n := cat.loads.Load(); n != 1 || probes.Load() != 0 {
		t.Fatalf("%d catalog loads and %d probes for repeated lookups, want 1 and 0", n, probes.Load())
	}

	// Another writer commits: a current read within the max age still sees the
	// cached snapshot; a read of the new snapshot id loads it.
	s2 := ingest(t, writer, v, profileCSV(t, "b.csv", []int{1}, 2))
	if got := lookupRows(t, reader, v, 0, "1"); len(got) != 1 {
		t.Errorf("current lookup within the max age: %d rows, want the cached 1", len(got))
	}
	if got := lookupRows(t, reader, v, s2, "1"); len(got) != 2 {
		t.Errorf("lookup at the new snapshot: %d rows, want 2", len(got))
	}
	if got := lookupRows(t, reader, v, 0, "1"); len(got) != 2 {
		t.Errorf("current lookup after the table was reloaded: %d rows, want 2", len(got))
	}
	if n := cat.loads.Load(); n != 2 {
		t.Errorf("%d catalog loads, want 2", n)
	}

	// CurrentSnapshot asks the catalog; an unchanged table is confirmed by the
	// probe without reloading its metadata.
	probed := probes.Load()
	if id := currentSnapshot(t, reader, v); id != s2 {
		t.Errorf("CurrentSnapshot = %d, want %d", id, s2)
	}
	if cat.loads.Load() != 2 || probes.Load() != probed+1 {
		t.Errorf("CurrentSnapshot of an unchanged table: %d loads, %d probes; want 2 and %d", cat.loads.Load(), probes.Load(), probed+1)
	}
	s3 := ingest(t, writer, v, profileCSV(t, "c.csv", []int{1}, 3))
	if id := currentSnapshot(t, reader, v); id != s3 {
		t.Errorf("CurrentSnapshot after a commit = %d, want %d", id, s3)
	}
	if got := lookupRows(t, reader, v, 0, "1"); len(got) != 3 {
		t.Errorf("current lookup after CurrentSnapshot: %d rows, want 3", len(got))
	}

	// RefreshTable and InvalidateTable make the next current read see commits.
	s4 := ingest(t, writer, v, profileCSV(t, "d.csv", []int{1}, 4))
	if _, err := reader.RefreshTable(ctx, v); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := reader.RecentSnapshot(ctx, v); id != s4 {
		t.Errorf("RecentSnapshot after RefreshTable = %d, want %d", id, s4)
	}
	s5 := ingest(t, writer, v, profileCSV(t, "e.csv", []int{1}, 5))
	reader.InvalidateTable(v)
	if id, _, _ := reader.RecentSnapshot(ctx, v); id != s5 {
		t.Errorf("RecentSnapshot after InvalidateTable = %d, want %d", id, s5)
	}

	// A Store reads its own commits at once, whatever its max age.
	s6 := ingest(t, reader, v, profileCSV(t, "f.csv", []int{1}, 6))
	if id, _, _ := reader.RecentSnapshot(ctx, v); id != s6 {
		t.Errorf("RecentSnapshot after own commit = %d, want %d", id, s6)
	}

	// A zero max age means the default; with a tiny one, current reads reload.
	quick := openSame(t, writer, Config{MetadataMaxAge: time.Millisecond})
	if quick.maxAge != time.Millisecond || reader.maxAge != time.Hour || writer.maxAge != DefaultMetadataMaxAge {
		t.Errorf("max ages %v %v %v", quick.maxAge, reader.maxAge, writer.maxAge)
	}
	lookupRows(t, quick, v, 0, "1")
	s7 := ingest(t, writer, v, profileCSV(t, "g.csv", []int{1}, 7))
	time.Sleep(5 * time.Millisecond)
	if got := lookupRows(t, quick, v, 0, "1"); len(got) != 7 {
		t.Errorf("current lookup after the max age: %d rows, want 7 (snapshot %d)", len(got), s7)
	}
}

// Lookups, refreshes and commits from many goroutines at once (run with -race).
func TestConcurrentLookupsAndCommits(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	s.maxAge = time.Millisecond
	v := view(t, "pricing", "user_profile")
	ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 100), 1))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	stop := make(chan struct{})
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := strconv.Itoa(1 + (g*7+i)%100)
				rdr, err := s.LookupScan(ctx, v, 0, []string{id})
				if err != nil {
					errs <- err
					return
				}
				n := 0
				for rdr.Next() {
					n += int(rdr.RecordBatch().NumRows())
				}
				rdr.Release()
				if n < 1 {
					errs <- fmt.Errorf("entity %s: %d rows", id, n)
					return
				}
				if g == 0 && i%5 == 0 {
					if _, err := s.RefreshTable(ctx, v); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for d := 2; d <= 4; d++ {
		ingest(t, s, v, profileCSV(t, fmt.Sprintf("%d.csv", d), seq(1, 100), d))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := lookupRows(t, s, v, 0, "5"); len(got) != 4 {
		t.Errorf("%d rows after the commits, want 4", len(got))
	}
}

// SnapshotAsOf and Snapshot are in the contract suite (offlinetest); this is
// how they treat a rollback.
func TestSnapshotAsOfAfterRollback(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	var ids []int64
	for d := 1; d <= 3; d++ {
		ids = append(ids, ingest(t, s, v, profileCSV(t, fmt.Sprintf("%d.csv", d), []int{1}, d)))
	}

	// Only the main branch's history counts: after a rollback to the first
	// snapshot, the later ones are no longer "as of" anything.
	tbl, err := s.LoadTable(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.RollbackToSnapshot(ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	s.InvalidateTable(v)
	if got, ok, _ := s.SnapshotAsOf(ctx, v, time.Now()); !ok || got.ID != ids[0] {
		t.Errorf("after a rollback: %d, want %d", got.ID, ids[0])
	}
	if got, err := s.Snapshot(ctx, v, ids[2]); err != nil || got.ID != ids[2] {
		t.Errorf("a rolled-back snapshot is still readable by id: %v", err)
	}
}

// Files whose key range cannot hold an id are not opened: three ingests of
// disjoint ranges, a lookup in one range reads one data file.
func TestLookupScanPrunesFilesByKeyRange(t *testing.T) {
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 100), 1))
	ingest(t, s, v, profileCSV(t, "b.csv", seq(101, 200), 1))
	ingest(t, s, v, profileCSV(t, "c.csv", seq(201, 300), 1))
	fc := &flakyCatalog{Catalog: s.cat}
	s.cat = fc
	s.InvalidateTable(v)
	for _, c := range []struct {
		ids   []string
		files int64
	}{
		{[]string{"150"}, 1},
		{[]string{"150", "160"}, 1},
		{[]string{"50", "250"}, 2},
		{[]string{"1000"}, 0},
	} {
		fc.reads.Store(0)
		got := lookupRows(t, s, v, 0, c.ids...)
		if n := fc.reads.Load(); n != c.files {
			t.Errorf("lookup of %v opened %d data files, want %d", c.ids, n, c.files)
		}
		if len(got) != len(c.ids) && c.files > 0 {
			t.Errorf("lookup of %v: %v", c.ids, got)
		}
	}
}

// The lookup fast path (footer cache, seeks to the matching rows) must return
// exactly what iceberg-go's reader returns, on tables that exercise it: tiny
// row groups so an entity's rows span several, lists and nulls, several files,
// a file written before a feature was added, and files with equality deletes
// (which take iceberg-go's reader).
func TestLookupFastPathMatchesIcebergReader(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		project, view, header string
		row                   func(i, id int) string
		id                    func(n int) string
	}{
		{"pricing", "user_behavior",
			"user_id,event_time,sessions_7d,purchases_30d,avg_order_value_30d,cart_abandon_rate_7d,price_sensitivity,is_premium,embedding",
			func(i, id int) string {
				emb := fmt.Sprintf("\"[%d,1,2,3]\"", i)
				if i%7 == 0 {
					emb = ""
				}
				nullable := strconv.Itoa(i % 11)
				if i%5 == 0 {
					nullable = ""
				}
				return fmt.Sprintf("%d,2024-05-01T00:%02d:%02dZ,%d,%s,%.2f,0.5,0.1,%t,%s", id, (i/60)%60, i%60, i, nullable, float64(i)/7, i%3 == 0, emb)
			},
			strconv.Itoa},
		{"fraud", "card_activity",
			"card_id,event_time,txn_count_1h,txn_count_24h,amount_sum_24h,amount_avg_30d,distinct_countries_7d,last_txn_at",
			func(i, id int) string {
				return fmt.Sprintf("card-%04d,2024-05-01T00:%02d:%02dZ,%d,0,%d.5,,1,", id, (i/60)%60, i%60, i, i)
			},
			func(n int) string { return fmt.Sprintf("card-%04d", n) }},
	} {
		t.Run(c.view, func(t *testing.T) {
			s := newStore(t)
			v := view(t, c.project, c.view)
			tbl, err := s.EnsureTable(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			tx := tbl.NewTransaction()
			if err := tx.SetProperties(iceberg.Properties{table.ParquetRowGroupLimitKey: "50"}); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			file := func(name string, ids []int, reps int) string {
				var b strings.Builder
				b.WriteString(c.header + "\n")
				i := 0
				for _, id := range ids {
					for range reps {
						b.WriteString(c.row(i, id) + "\n")
						i++
					}
				}
				return writeFile(t, name, b.String())
			}
			ingest(t, s, v, file("a.csv", seq(1, 200), 3))
			ingest(t, s, v, file("b.csv", []int{7, 150, 300}, 120)) // runs across row groups
			if _, err := s.IngestWithOptions(ctx, v, file("u.csv", []int{8, 9}, 2), IngestOptions{Mode: ModeUpsert}); err != nil {
				t.Fatal(err)
			}
			ingest(t, s, v, file("c.csv", seq(190, 260), 1))
			rng := rand.New(rand.NewPCG(7, 11))
			sets := [][]int{{7}, {150}, {300}, {8}, {9, 10}, {1, 200, 201, 999}, seq(1, 1500)}
			for range 30 {
				var ids []int
				for range 1 + rng.IntN(8) {
					ids = append(ids, 1+rng.IntN(320))
				}
				sets = append(sets, ids)
			}
			for _, set := range sets {
				ids := make([]string, len(set))
				for i, n := range set {
					ids[i] = c.id(n)
				}
				s.noFastPath = false
				fast := lookupRows(t, s, v, 0, ids...)
				s.noFastPath = true
				slow := lookupRows(t, s, v, 0, ids...)
				if !reflect.DeepEqual(fast, slow) {
					t.Fatalf("ids %v: fast path %d rows, iceberg-go %d rows\nfast %v\nslow %v", set, len(fast), len(slow), fast, slow)
				}
			}
		})
	}
}
