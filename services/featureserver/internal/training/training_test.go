package training

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func loadRegistry(t testing.TB) *registry.Registry {
	t.Helper()
	reg, err := registry.LoadDir("testdata/spec")
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func newStore(t testing.TB) *offline.Store {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	s, err := offline.Open(context.Background(), offline.Config{
		URI:       "file:" + filepath.Join(dir, "catalog", "catalog.db"),
		Warehouse: "file://" + filepath.Join(dir, "warehouse"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ingestRecord writes rec (canonical schema of v) to Parquet and ingests it as one
// snapshot, returning the snapshot id.
func ingestRecord(t testing.TB, s *offline.Store, v *registry.FeatureView, rec arrow.RecordBatch) int64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), v.Name+".parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Ingest(context.Background(), v, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

// genFeatures builds n random rows of view v: keys from keyOf, times from timeOf,
// features random with ~15% nulls.
func genFeatures(rng *rand.Rand, v *registry.FeatureView, n int, keyOf func() any, timeOf func() int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, offline.ArrowSchema(v))
	defer b.Release()
	for range n {
		switch k := keyOf().(type) {
		case int64:
			b.Field(0).(*array.Int64Builder).Append(k)
		case string:
			b.Field(0).(*array.StringBuilder).Append(k)
		}
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(timeOf()))
		for i, f := range v.Features {
			fb := b.Field(2 + i)
			if rng.IntN(100) < 15 {
				fb.AppendNull()
				continue
			}
			switch f.Type {
			case registry.TypeInt64:
				fb.(*array.Int64Builder).Append(rng.Int64N(1000))
			case registry.TypeDouble:
				// Ingest rejects NaN and ±Inf; TestNaNPassesThrough covers them.
				fb.(*array.Float64Builder).Append(rng.NormFloat64())
			case registry.TypeString:
				fb.(*array.StringBuilder).Append(fmt.Sprintf("s%d", rng.IntN(50)))
			case registry.TypeBool:
				fb.(*array.BooleanBuilder).Append(rng.IntN(2) == 0)
			case registry.TypeTimestamp:
				fb.(*array.TimestampBuilder).Append(arrow.Timestamp(rng.Int64N(1 << 50)))
			case registry.TypeFloatVector:
				lb := fb.(*array.ListBuilder)
				lb.Append(true)
				for range f.Dim {
					lb.ValueBuilder().(*array.Float32Builder).Append(rng.Float32())
				}
			}
		}
	}
	return b.NewRecordBatch()
}

// tick is the time grid: coarse, so equal event times (ties) are common.
const tick = int64(10 * time.Minute / time.Microsecond)

func gridTime(rng *rand.Rand, lo, hi int) int64 {
	return t0.UnixMicro() + int64(lo+rng.IntN(hi-lo))*tick
}

type scannedRow struct {
	key  string
	ts   int64
	vals []string // ValueStr of each feature, "(null)" for null
}

func scanAll(t testing.TB, s Source, v *registry.FeatureView, snap int64) []scannedRow {
	t.Helper()
	if snap == 0 {
		return nil
	}
	rdr, err := s.ScanFeatures(context.Background(), v, snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var out []scannedRow
	for rdr.Next() {
		rec := rdr.RecordBatch()
		ts := rec.Column(1).(*array.Timestamp)
		for i := 0; i < int(rec.NumRows()); i++ {
			r := scannedRow{key: rec.Column(0).ValueStr(i), ts: int64(ts.Value(i))}
			for c := 2; c < int(rec.NumCols()); c++ {
				r.vals = append(r.vals, valueStr(rec.Column(c), i))
			}
			out = append(out, r)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func valueStr(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "(null)"
	}
	return a.ValueStr(i)
}

// oracle is the brute-force join: for each entity row, scan every row of the view.
func oracle(rows []scannedRow, key string, keyValid bool, t int64, ttl time.Duration) int {
	best := -1
	if !keyValid {
		return -1
	}
	for i, r := range rows {
		if r.key != key || r.ts > t {
			continue
		}
		if ttl > 0 && r.ts <= t-ttl.Microseconds() {
			continue
		}
		if best < 0 || r.ts >= rows[best].ts { // ties: the later row in scan order
			best = i
		}
	}
	return best
}

type entityRows struct {
	rec arrow.RecordBatch
}

func entitySchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "row_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "merchant_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true},
	}, nil)
}

func genEntities(rng *rand.Rand, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, entitySchema())
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if rng.IntN(30) == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(rng.Int64N(10)) // 8, 9: unknown
		}
		if rng.IntN(30) == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("m%d", rng.IntN(6))) // m4, m5: unknown
		}
		ts := gridTime(rng, -5, 30) // before any data, on the grid (ties), after all data
		if rng.IntN(3) == 0 {
			ts += rng.Int64N(tick) // between grid points
		}
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
	}
	return b.NewRecordBatch()
}

func readerOf(t testing.TB, rec arrow.RecordBatch, chunk int) array.RecordReader {
	t.Helper()
	var recs []arrow.RecordBatch
	for off := int64(0); off < rec.NumRows(); off += int64(chunk) {
		recs = append(recs, rec.NewSlice(off, min(off+int64(chunk), rec.NumRows())))
	}
	rdr, err := array.NewRecordReader(rec.Schema(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		r.Release()
	}
	return rdr
}

func retrieve(t testing.TB, src Source, req Request) ([]byte, *Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := Retrieve(context.Background(), src, req, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func readOutput(t testing.TB, b []byte) arrow.RecordBatch {
	t.Helper()
	rdr, err := ipc.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var recs []arrow.RecordBatch
	for rdr.Next() {
		r := rdr.RecordBatch()
		r.Retain()
		recs = append(recs, r)
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	tbl := array.NewTableFromRecords(rdr.Schema(), recs)
	defer tbl.Release()
	out, err := concatTable(tbl)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func concatTable(tbl arrow.Table) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, tbl.NumCols())
	for i := range cols {
		chunks := tbl.Column(i).Data().Chunks()
		if len(chunks) == 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, tbl.Schema().Field(i).Type, 0)
			continue
		}
		c, err := array.Concatenate(chunks, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecordBatch(tbl.Schema(), cols, tbl.NumRows()), nil
}

// TestRetrieveMatchesOracle compares Retrieve with the brute-force oracle on
// randomized data: two snapshots per view, keys with and without data, nulls,
// ties at equal event times, TTLs, rows before any data.
func TestRetrieveMatchesOracle(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			s := newStore(t)
			snaps := map[string][]int64{}
			for _, v := range reg.FeatureViews {
				keyOf := func() any { return rng.Int64N(8) }
				if v.Entity.Key().Type == registry.TypeString {
					keyOf = func() any { return fmt.Sprintf("m%d", rng.IntN(4)) }
				}
				for range 2 {
					rec := genFeatures(rng, v, 20+rng.IntN(60), keyOf, func() int64 { return gridTime(rng, 0, 25) })
					snaps[v.Name] = append(snaps[v.Name], ingestRecord(t, s, v, rec))
					rec.Release()
				}
			}
			ent := genEntities(rng, 300)
			defer ent.Release()

			for _, pin := range []map[string]int64{
				nil, // current snapshots
				{"user_stats": snaps["user_stats"][0], "merchant_risk": snaps["merchant_risk"][0]},
			} {
				rdr := readerOf(t, ent, 64)
				out, m := retrieve(t, s, Request{Service: svc, RegistryVersion: reg.Version, Entities: rdr, Snapshots: pin, BatchSize: 100})
				rdr.Release()
				if m.EntityRows != ent.NumRows() {
					t.Errorf("manifest rows %d, want %d", m.EntityRows, ent.NumRows())
				}
				got := readOutput(t, out)
				checkAgainstOracle(t, s, svc, ent, got, m)
				got.Release()

				// Same manifest, same bytes.
				rdr = readerOf(t, ent, 37)
				again, m2 := retrieve(t, s, Request{Service: svc, RegistryVersion: reg.Version, Entities: rdr, Snapshots: m.Snapshots, BatchSize: 100})
				rdr.Release()
				if !bytes.Equal(out, again) {
					t.Errorf("same manifest %v gave different bytes", m.Snapshots)
				}
				if m2.SpecHash != m.SpecHash {
					t.Errorf("spec hash changed")
				}
			}
		})
	}
}

func checkAgainstOracle(t *testing.T, s Source, svc *registry.FeatureService, ent, got arrow.RecordBatch, m *Manifest) {
	t.Helper()
	if got.NumRows() != ent.NumRows() {
		t.Fatalf("got %d rows, want %d", got.NumRows(), ent.NumRows())
	}
	rows := map[string][]scannedRow{}
	for _, r := range svc.Features {
		if _, ok := rows[r.View.Name]; !ok {
			rows[r.View.Name] = scanAll(t, s, r.View, m.Snapshots[r.View.Name])
		}
	}
	col := func(name string) arrow.Array {
		idx := got.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no output column %s in %s", name, got.Schema())
		}
		return got.Column(idx[0])
	}
	for i := 0; i < 4; i++ { // entity columns pass through
		for r := 0; r < int(ent.NumRows()); r++ {
			if a, b := valueStr(ent.Column(i), r), valueStr(got.Column(i), r); a != b {
				t.Fatalf("entity column %d row %d: %s, want %s", i, r, b, a)
			}
		}
	}
	ts := ent.Column(3).(*array.Timestamp)
	fails := 0
	for r := 0; r < int(ent.NumRows()); r++ {
		for _, ref := range svc.Features {
			v := ref.View
			keyCol := ent.Column(ent.Schema().FieldIndices(v.Entity.Key().Name)[0])
			vr := rows[v.Name]
			best := oracle(vr, valueStr(keyCol, r), keyCol.IsValid(r), int64(ts.Value(r)), v.TTL)
			want, wantTS := "(null)", "(null)"
			if best >= 0 {
				want = vr[best].vals[ref.Feature.Index]
				wantTS = fmt.Sprint(vr[best].ts)
			}
			gotV := valueStr(col(v.Name+"__"+ref.Feature.Name), r)
			gotTS := "(null)"
			if tc := col(v.Name + "__event_time").(*array.Timestamp); tc.IsValid(r) {
				gotTS = fmt.Sprint(int64(tc.Value(r)))
			}
			if gotV != want || gotTS != wantTS {
				fails++
				if fails < 10 {
					t.Errorf("row %d (key %s, t %s) %s: got %s @ %s, want %s @ %s", r, valueStr(keyCol, r), valueStr(ts, r), ref.Name(), gotV, gotTS, want, wantTS)
				}
			}
		}
	}
}

func TestNullEventTimeIsAnErrorNamingTheRow(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	s := newStore(t)
	b := array.NewRecordBuilder(memory.DefaultAllocator, entitySchema())
	for i := range 3 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.Int64Builder).Append(1)
		b.Field(2).(*array.StringBuilder).Append("m1")
		if i == 2 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixMicro()))
		}
	}
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	rdr := readerOf(t, rec, 2)
	defer rdr.Release()
	var buf bytes.Buffer
	_, err := Retrieve(context.Background(), s, Request{Service: svc, Entities: rdr}, &buf)
	if !errors.Is(err, ErrBadRequest) || err == nil || !bytes.Contains([]byte(err.Error()), []byte("entity row 2 ")) {
		t.Fatalf("err %v, want a bad request naming entity row 2", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes before failing", buf.Len())
	}
}

func TestEmptyTablesGiveNullsAndPinZero(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	s := newStore(t)
	ent := genEntities(rand.New(rand.NewPCG(1, 2)), 10)
	defer ent.Release()
	rdr := readerOf(t, ent, 4)
	defer rdr.Release()
	out, m := retrieve(t, s, Request{Service: svc, Entities: rdr})
	for v, id := range m.Snapshots {
		if id != 0 {
			t.Errorf("view %s pinned %d, want 0", v, id)
		}
	}
	got := readOutput(t, out)
	defer got.Release()
	for c := 4; c < int(got.NumCols()); c++ {
		if got.Column(c).NullN() != 10 {
			t.Errorf("column %s has %d nulls, want 10", got.Schema().Field(c).Name, got.Column(c).NullN())
		}
	}
}

func TestBadRequests(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	s := newStore(t)
	noTime := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "merchant_id", Type: arrow.BinaryTypes.String}}, nil)
	wrongKey := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.BinaryTypes.String}, {Name: "merchant_id", Type: arrow.BinaryTypes.String}, {Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)
	noKey := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)
	for _, sc := range []*arrow.Schema{noTime, wrongKey, noKey} {
		rdr, _ := array.NewRecordReader(sc, nil)
		_, err := Retrieve(context.Background(), s, Request{Service: svc, Entities: rdr}, io_discard{})
		if !errors.Is(err, ErrBadRequest) {
			t.Errorf("schema %s: err %v, want ErrBadRequest", sc, err)
		}
	}
	rdr, _ := array.NewRecordReader(entitySchema(), nil)
	_, err := Retrieve(context.Background(), s, Request{Service: svc, Entities: rdr, Snapshots: map[string]int64{"nope": 1}}, io_discard{})
	if !errors.Is(err, ErrBadRequest) {
		t.Errorf("unknown pinned view: err %v", err)
	}
	rdr, _ = array.NewRecordReader(entitySchema(), nil)
	_, err = Retrieve(context.Background(), s, Request{Service: svc, Entities: rdr, Snapshots: map[string]int64{"user_stats": 12345}}, io_discard{})
	if !errors.Is(err, offline.ErrNoSuchSnapshot) && !errors.Is(err, offline.ErrNoSuchTable) {
		t.Errorf("unknown snapshot: err %v", err)
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

// memSource serves canned canonical records, one snapshot per view (id 1).
type memSource map[string]arrow.RecordBatch

func (m memSource) ScanFeatures(_ context.Context, v *registry.FeatureView, snap int64, features []int) (array.RecordReader, error) {
	rec, ok := m[v.Name]
	if !ok || snap != 1 {
		return nil, offline.ErrNoSuchSnapshot
	}
	rec = project(v, rec, features)
	defer rec.Release()
	return array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
}

// project narrows a canonical record of v to offline.FeatureSchema(v, features),
// as the offline store's ScanFeatures does.
func project(v *registry.FeatureView, rec arrow.RecordBatch, features []int) arrow.RecordBatch {
	if features == nil {
		rec.Retain()
		return rec
	}
	cols := []arrow.Array{rec.Column(0), rec.Column(1)}
	for _, f := range features {
		cols = append(cols, rec.Column(2+f))
	}
	return array.NewRecordBatch(offline.FeatureSchema(v, features), cols, rec.NumRows())
}

func (m memSource) Snapshot(_ context.Context, v *registry.FeatureView, id int64) (offline.Snapshot, error) {
	if _, ok := m[v.Name]; !ok || id != 1 {
		return offline.Snapshot{}, offline.ErrNoSuchSnapshot
	}
	return offline.Snapshot{ID: 1}, nil
}

func (m memSource) CurrentSnapshot(_ context.Context, v *registry.FeatureView) (int64, bool, error) {
	_, ok := m[v.Name]
	return 1, ok, nil
}

// TestNaNPassesThrough: NaN and ±Inf feature values (which Ingest rejects, but
// other writers of the table may not) are returned as they are.
func TestNaNPassesThrough(t *testing.T) {
	reg := loadRegistry(t)
	v, _ := reg.FeatureView("merchant_risk")
	ref, err := reg.ResolveRef("merchant_risk:rate")
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, offline.ArrowSchema(v))
	vals := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for i, x := range vals {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("m%d", i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixMicro()))
		b.Field(2).(*array.Float64Builder).Append(x)
	}
	feat := b.NewRecordBatch()
	b.Release()
	defer feat.Release()

	sc := arrow.NewSchema([]arrow.Field{{Name: "merchant_id", Type: arrow.BinaryTypes.String}, {Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)
	eb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	for i := range vals {
		eb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("m%d", i))
		eb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t0.UnixMicro()))
	}
	ent := eb.NewRecordBatch()
	eb.Release()
	defer ent.Release()
	rdr := readerOf(t, ent, 10)
	defer rdr.Release()
	out, _ := retrieve(t, memSource{"merchant_risk": feat}, Request{Features: []registry.FeatureRef{ref}, Entities: rdr})
	got := readOutput(t, out)
	defer got.Release()
	col := got.Column(2).(*array.Float64)
	if !math.IsNaN(col.Value(0)) || !math.IsInf(col.Value(1), 1) || !math.IsInf(col.Value(2), -1) || col.NullN() != 0 {
		t.Errorf("got %v, want [NaN +Inf -Inf]", col)
	}
}

// TestBoundaries pins the edges with hand-written rows: an event time equal to
// the row time is taken, one a microsecond later is not; one exactly TTL old is
// expired, one a microsecond younger is not; of rows with equal event times the
// later one in scan order wins, even when an earlier-read row is more recent.
func TestBoundaries(t *testing.T) {
	reg := loadRegistry(t)
	v, _ := reg.FeatureView("user_stats") // TTL 2h
	ref, _ := reg.ResolveRef("user_stats:n")
	us := func(d time.Duration) int64 { return t0.Add(d).UnixMicro() }
	type row struct {
		key, n int64
		at     int64
	}
	data := []row{
		{1, 10, us(0)},
		{1, 11, us(time.Hour)},
		{1, 12, us(time.Hour)}, // tie: later in scan order, wins
		{2, 20, us(3 * time.Hour)},
		{2, 21, us(time.Hour)}, // read after a later row
		{3, 30, us(0)},
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, offline.ArrowSchema(v))
	for _, r := range data {
		b.Field(0).(*array.Int64Builder).Append(r.key)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.at))
		b.Field(2).(*array.Int64Builder).Append(r.n)
		for i := 3; i < 6; i++ {
			b.Field(i).AppendNull()
		}
	}
	feat := b.NewRecordBatch()
	b.Release()
	defer feat.Release()

	cases := []struct {
		key  int64
		at   int64
		want any
	}{
		{1, us(time.Hour), int64(12)},       // equal time: taken; tie → later row
		{1, us(time.Hour) - 1, int64(10)},   // a microsecond before
		{1, us(-time.Minute), nil},          // before any data
		{1, us(3 * time.Hour), nil},         // exactly TTL old: expired
		{1, us(3*time.Hour) - 1, int64(12)}, // a microsecond younger
		{2, us(2 * time.Hour), int64(21)},   // never the later row
		{2, us(4 * time.Hour), int64(20)},   // the later row once it is due
		{3, us(time.Minute), int64(30)},
		{4, us(time.Hour), nil}, // unknown entity
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us}}, nil)
	eb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	for _, c := range cases {
		eb.Field(0).(*array.Int64Builder).Append(c.key)
		eb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(c.at))
	}
	ent := eb.NewRecordBatch()
	eb.Release()
	defer ent.Release()
	rdr := readerOf(t, ent, 4)
	defer rdr.Release()
	out, m := retrieve(t, memSource{"user_stats": feat}, Request{Features: []registry.FeatureRef{ref}, Entities: rdr})
	if m.Snapshots["user_stats"] != 1 {
		t.Errorf("manifest snapshots %v", m.Snapshots)
	}
	got := readOutput(t, out)
	defer got.Release()
	if names := []string{got.Schema().Field(2).Name, got.Schema().Field(3).Name}; names[0] != "user_stats__n" || names[1] != "user_stats__event_time" {
		t.Errorf("output columns %v", names)
	}
	col := got.Column(2).(*array.Int64)
	for i, c := range cases {
		var g any
		if col.IsValid(i) {
			g = col.Value(i)
		}
		if g != c.want {
			t.Errorf("case %d (key %d at %s): got %v, want %v", i, c.key, time.UnixMicro(c.at).UTC(), g, c.want)
		}
	}
}

// TestRetrieveMatchesOracleInMemory is TestRetrieveMatchesOracle on rows the
// sort-merge join (order.go, join.go) finds hardest, served unsorted and in
// batches of odd sizes, as no Iceberg table written by Ingest is: keys with
// runs longer than insertion sorts take, keys across the whole int64 range
// (every radix pass) or a narrow one, the empty string and long strings as
// keys, view keys no entity row has, duplicate (key, time) rows, and entity
// rows exactly at a view row's time and exactly at (and a microsecond inside)
// its TTL boundary.
func TestRetrieveMatchesOracleInMemory(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			ints := []int64{0, 1, 2, 3, 5, 8, 13, 1 << 20}
			if seed%2 == 1 {
				ints = append(ints, math.MinInt64, math.MaxInt64, -1, -(1 << 50), 1<<40)
			}
			strs := []string{"", "m0", "m1", "m2", "a-merchant-id-longer-than-a-word-0", "a-merchant-id-longer-than-a-word-1"}
			// Skewed: the first key gets a third of the rows, a run of dozens.
			pick := func(n int) int {
				if rng.IntN(3) == 0 {
					return 0
				}
				return rng.IntN(n)
			}
			src := chunkedSource{memSource: memSource{}, chunk: 1 + rng.IntN(97)}
			var viewRows []struct {
				key any
				ts  int64
			}
			for _, v := range reg.FeatureViews {
				keyOf := func() any { return ints[pick(len(ints))] }
				if v.Entity.Key().Type == registry.TypeString {
					keyOf = func() any { return strs[pick(len(strs))] }
				}
				n := 300 + rng.IntN(700)
				var key any
				rec := genFeatures(rng, v, n, func() any {
					key = keyOf()
					return key
				}, func() int64 {
					ts := gridTime(rng, 0, 25)
					viewRows = append(viewRows, struct {
						key any
						ts  int64
					}{key, ts})
					return ts
				})
				src.memSource[v.Name] = rec
				defer rec.Release()
			}

			b := array.NewRecordBuilder(memory.DefaultAllocator, entitySchema())
			for i := range 500 {
				b.Field(0).(*array.Int64Builder).Append(int64(i))
				switch rng.IntN(12) {
				case 0:
					b.Field(1).AppendNull()
				case 1:
					b.Field(1).(*array.Int64Builder).Append(math.MinInt64 + 1) // in no view
				default:
					b.Field(1).(*array.Int64Builder).Append(ints[pick(len(ints)-1)]) // the last key: in no entity row
				}
				switch rng.IntN(12) {
				case 0:
					b.Field(2).AppendNull()
				case 1:
					b.Field(2).(*array.StringBuilder).Append("m9") // in no view
				default:
					b.Field(2).(*array.StringBuilder).Append(strs[pick(len(strs)-1)])
				}
				var ts int64
				switch r := viewRows[rng.IntN(len(viewRows))]; rng.IntN(6) {
				case 0:
					ts = r.ts // exactly a row's time: ties
				case 1:
					ts = r.ts + (2 * time.Hour).Microseconds() // user_stats' TTL: expired
				case 2:
					ts = r.ts + (2 * time.Hour).Microseconds() - 1
				case 3:
					ts = r.ts + time.Hour.Microseconds() // merchant_risk's TTL: expired
				case 4:
					ts = r.ts + time.Hour.Microseconds() - 1
				default:
					ts = gridTime(rng, -5, 30) + rng.Int64N(tick) // before, between, after
				}
				b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(ts))
			}
			ent := b.NewRecordBatch()
			b.Release()
			defer ent.Release()

			rdr := readerOf(t, ent, 1+rng.IntN(200))
			out, m := retrieve(t, src, Request{Service: svc, RegistryVersion: reg.Version, Entities: rdr, BatchSize: 1 + rng.IntN(300)})
			rdr.Release()
			got := readOutput(t, out)
			defer got.Release()
			checkAgainstOracle(t, src, svc, ent, got, m)
		})
	}
}

// chunkedSource is memSource scanned in batches of chunk rows.
type chunkedSource struct {
	memSource
	chunk int
}

func (c chunkedSource) ScanFeatures(_ context.Context, v *registry.FeatureView, snap int64, features []int) (array.RecordReader, error) {
	rec, ok := c.memSource[v.Name]
	if !ok || snap != 1 {
		return nil, offline.ErrNoSuchSnapshot
	}
	rec = project(v, rec, features)
	defer rec.Release()
	var recs []arrow.RecordBatch
	for off := int64(0); off < rec.NumRows(); off += int64(c.chunk) {
		recs = append(recs, rec.NewSlice(off, min(off+int64(c.chunk), rec.NumRows())))
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return array.NewRecordReader(rec.Schema(), recs)
}

// Retrieve reports each view's rows as they are read, then the rows written, in
// order and ending with every row.
func TestRetrieveReportsProgress(t *testing.T) {
	reg := loadRegistry(t)
	svc, _ := reg.FeatureService("trainer")
	rng := rand.New(rand.NewPCG(3, 3))
	src := chunkedSource{memSource: memSource{}, chunk: 100}
	sizes := map[string]int64{}
	for _, v := range reg.FeatureViews {
		keyOf := func() any { return rng.Int64N(8) }
		if v.Entity.Key().Type == registry.TypeString {
			keyOf = func() any { return fmt.Sprintf("m%d", rng.IntN(4)) }
		}
		rec := genFeatures(rng, v, 250, keyOf, func() int64 { return gridTime(rng, 0, 25) })
		defer rec.Release()
		src.memSource[v.Name] = rec
		sizes[v.Name] = rec.NumRows()
	}
	ent := genEntities(rng, 300)
	defer ent.Release()
	var events []Progress
	retrieve(t, src, Request{Service: svc, Entities: readerOf(t, ent, 64), BatchSize: 128, Snapshots: map[string]int64{"user_stats": 1, "user_profile": 1, "merchant_risk": 1},
		Progress: func(p Progress) { events = append(events, p) }})

	read := map[string]int64{}
	var written []int64
	for _, p := range events {
		switch p.Phase {
		case PhaseReading:
			if len(written) > 0 {
				t.Fatalf("read %s after writing began: %v", p.View, events)
			}
			if p.Rows <= read[p.View] {
				t.Fatalf("%s: rows read went from %d to %d", p.View, read[p.View], p.Rows)
			}
			read[p.View] = p.Rows
		case PhaseWriting:
			if p.Total != 300 {
				t.Fatalf("writing: total %d, want 300", p.Total)
			}
			written = append(written, p.Rows)
		default:
			t.Fatalf("unknown phase in %+v", p)
		}
	}
	if !maps.Equal(read, sizes) {
		t.Errorf("rows read per view %v, want %v", read, sizes)
	}
	if !slices.Equal(written, []int64{128, 256, 300}) {
		t.Errorf("rows written %v, want [128 256 300]", written)
	}
}
