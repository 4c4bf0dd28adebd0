package offline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"floe.dev/floe/services/featureserver/internal/exampledata"
	"floe.dev/floe/services/featureserver/internal/registry"
)

const examples = "../../../../specs/examples/"

// exampleData writes the sample CSVs of an example project (as floe
// example-data does) and returns view → file.
func exampleData(t testing.TB, project string, now time.Time, rows int) map[string]string {
	t.Helper()
	p, err := exampledata.Load(examples + project)
	if err != nil {
		t.Fatal(err)
	}
	files, err := p.Write(t.TempDir(), now, rows)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.View] = f.Path
	}
	return out
}

// newStore opens a SQL catalog on SQLite with a file:// warehouse, both in a
// fresh temporary directory.
func newStore(t testing.TB) *Store {
	t.Helper()
	dir := t.TempDir()
	// iceberg-go reads its config file at package init, before any test runs;
	// pointing GOICEBERG_HOME at an empty directory documents the intent and keeps
	// subprocesses, if any, from the developer's home.
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	s, err := Open(context.Background(), Config{
		URI:       "file:" + filepath.Join(dir, "catalog", "catalog.db"),
		Warehouse: "file://" + filepath.Join(dir, "warehouse"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func view(t testing.TB, project, name string) *registry.FeatureView {
	t.Helper()
	reg, err := registry.LoadDir(examples + project)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := reg.FeatureView(name)
	if !ok {
		t.Fatalf("no view %s in %s", name, project)
	}
	return v
}

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rowsOf reads every record of rdr as Go values: int64, float64, string, bool,
// time.Time (UTC), []float32, or nil for null. It also checks each record has the
// canonical schema.
func rowsOf(t testing.TB, rdr array.RecordReader, want *arrow.Schema) [][]any {
	t.Helper()
	defer rdr.Release()
	if !rdr.Schema().Equal(want) {
		t.Fatalf("reader schema:\n%s\nwant:\n%s", rdr.Schema(), want)
	}
	var rows [][]any
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if !rec.Schema().Equal(want) {
			t.Fatalf("record schema:\n%s\nwant:\n%s", rec.Schema(), want)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]any, rec.NumCols())
			for j, col := range rec.Columns() {
				if col.IsNull(i) {
					continue
				}
				switch a := col.(type) {
				case *array.Int64:
					row[j] = a.Value(i)
				case *array.Float64:
					row[j] = a.Value(i)
				case *array.String:
					row[j] = a.Value(i)
				case *array.Boolean:
					row[j] = a.Value(i)
				case *array.Timestamp:
					row[j] = time.UnixMicro(int64(a.Value(i))).UTC()
				case *array.List:
					start, end := a.ValueOffsets(i)
					row[j] = append([]float32(nil), a.ListValues().(*array.Float32).Float32Values()[start:end]...)
				default:
					t.Fatalf("unexpected column type %s", col.DataType())
				}
			}
			rows = append(rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

func scanRows(t testing.TB, s *Store, v *registry.FeatureView, snapshot int64) [][]any {
	t.Helper()
	rdr, err := s.Scan(context.Background(), v, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return rowsOf(t, rdr, ArrowSchema(v))
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func currentSnapshot(t testing.TB, s *Store, v *registry.FeatureView) int64 {
	t.Helper()
	id, _, err := s.CurrentSnapshot(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestArrowSchema(t *testing.T) {
	v := view(t, "pricing", "user_behavior")
	got := ArrowSchema(v).String()
	for _, want := range []string{
		"user_id: type=int64",
		"event_time: type=timestamp[us, tz=UTC]",
		"sessions_7d: type=int64, nullable",
		"avg_order_value_30d: type=float64, nullable",
		"is_premium: type=bool, nullable",
		"embedding: type=list<item: float32, nullable>, nullable",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ArrowSchema lacks %q:\n%s", want, got)
		}
	}
	fraud := ArrowSchema(view(t, "fraud", "card_activity"))
	if f := fraud.Field(0); f.Name != "card_id" || f.Type.ID() != arrow.STRING || f.Nullable {
		t.Errorf("card key field = %v", f)
	}
	if f := fraud.Field(fraud.NumFields() - 1); f.Name != "last_txn_at" || !arrow.TypeEqual(f.Type, arrow.FixedWidthTypes.Timestamp_us) {
		t.Errorf("timestamp feature = %v", f)
	}
}

func TestEnsureTableCreatesFromSpec(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")

	if _, ok, err := s.CurrentSnapshot(ctx, v); ok || err != nil {
		t.Fatalf("CurrentSnapshot before creation = ok %v, err %v", ok, err)
	}
	if _, err := s.Scan(ctx, v, 0); !errors.Is(err, ErrNoSuchTable) || !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("Scan of a missing table: %v", err)
	}

	tbl, err := s.EnsureTable(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	sc := tbl.Schema()
	want := map[string]struct {
		typ      string
		required bool
	}{
		"user_id":              {"long", true},
		"event_time":           {"timestamptz", true},
		"sessions_7d":          {"long", false},
		"avg_order_value_30d":  {"double", false},
		"cart_abandon_rate_7d": {"double", false},
		"is_premium":           {"boolean", false},
		"embedding":            {"list<float>", false},
	}
	for name, w := range want {
		f, ok := sc.FindFieldByName(name)
		if !ok {
			t.Errorf("table has no column %s", name)
			continue
		}
		if f.Type.String() != w.typ || f.Required != w.required {
			t.Errorf("column %s: %s required=%v, want %s required=%v", name, f.Type, f.Required, w.typ, w.required)
		}
	}
	if sc.Field(0).Name != "user_id" || sc.Field(1).Name != "event_time" {
		t.Errorf("column order: %s", sc)
	}
	order := tbl.SortOrder()
	if order.Len() != 2 {
		t.Fatalf("sort order %s, want join key then event time", order)
	}
	if id := order.Field(0).SourceID(); id != sc.Field(0).ID {
		t.Errorf("sort order starts with field %d, want the join key %d", id, sc.Field(0).ID)
	}
	if tbl.Properties()[propView] != "user_behavior" {
		t.Errorf("properties %v", tbl.Properties())
	}

	// Second call loads the same table.
	again, err := s.EnsureTable(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if again.Metadata().TableUUID() != tbl.Metadata().TableUUID() {
		t.Error("EnsureTable created a second table")
	}
	if _, ok, _ := s.CurrentSnapshot(ctx, v); ok {
		t.Error("an empty table has no snapshot")
	}
	rows := scanRows(t, s, v, 0)
	if len(rows) != 0 {
		t.Errorf("empty table scanned %d rows", len(rows))
	}
}

func TestEnsureTableRejectsIncompatibleTable(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	if err := s.Catalog().CreateNamespace(ctx, []string{"pricing"}, nil); err != nil {
		t.Fatal(err)
	}
	// A table someone else created: age is a string (no in-place change can fix
	// that), city is missing (Floe could add it), and an extra column (allowed)
	// is present.
	_, err := s.Catalog().CreateTable(ctx, Identifier(v), iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "user_id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "event_time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 3, Name: "age", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 4, Name: "last_updated", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 5, Name: "notes", Type: iceberg.PrimitiveTypes.String},
	))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.EnsureTable(ctx, v)
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("EnsureTable on an incompatible table: %v", err)
	}
	for _, want := range []string{`"age"`, "pricing.user_profile", "widen", "new name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "notes") || strings.Contains(err.Error(), `"last_updated"`) || strings.Contains(err.Error(), `"city"`) {
		t.Errorf("error names a compatible column: %v", err)
	}
	// Refused as a whole: the column Floe could have added was not.
	tbl, err := s.Catalog().LoadTable(ctx, Identifier(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tbl.Schema().FindFieldByName("city"); ok {
		t.Error("a refused evolution still added a column")
	}
	// Ingest refuses too, and commits nothing.
	path := writeFile(t, "p.csv", "user_id,event_time,age,city,last_updated\n1,2024-01-01T00:00:00Z,30,Paris,\n")
	if _, err := s.Ingest(ctx, v, path, nil); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("Ingest into an incompatible table: %v", err)
	}
	if _, ok, _ := s.CurrentSnapshot(ctx, v); ok {
		t.Error("something was committed")
	}
}

const behaviorCSV = `user_id,event_time,sessions_7d,purchases_30d,avg_order_value_30d,cart_abandon_rate_7d,price_sensitivity,is_premium,embedding
2,2024-05-01T12:00:00Z,10,2,55.5,0.25,0.5,true,"[0.1, 0.2, 0.3, 0.4]"
1,2024-05-01 13:00:00,3,,12.25,,0.9,false,1;2;3;4
2,2024-05-01T10:30:00.123456+02:00,8,1,40,0.5,0.4,FALSE,
1,2024-04-30,1,0,,0,0.95,0,"[-1,0,1,2.5]"
`

func TestIngestCSVAndScan(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	var seen []int64
	res, err := s.Ingest(ctx, v, writeFile(t, "behavior.csv", behaviorCSV), func(n int64) { seen = append(seen, n) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.SnapshotID == 0 || res.Table != "pricing.user_behavior" {
		t.Fatalf("result %+v", res)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 4 {
		t.Errorf("progress calls %v, want a final 4", seen)
	}
	if id := currentSnapshot(t, s, v); id != res.SnapshotID {
		t.Errorf("current snapshot %d, ingest said %d", id, res.SnapshotID)
	}

	// Sorted by user_id then event time; the +02:00 offset lands at 08:30:00.123456Z.
	want := [][]any{
		{int64(1), at("2024-04-30T00:00:00Z"), int64(1), int64(0), nil, 0.0, 0.95, false, []float32{-1, 0, 1, 2.5}},
		{int64(1), at("2024-05-01T13:00:00Z"), int64(3), nil, 12.25, nil, 0.9, false, []float32{1, 2, 3, 4}},
		{int64(2), at("2024-05-01T08:30:00.123456Z"), int64(8), int64(1), 40.0, 0.5, 0.4, false, nil},
		{int64(2), at("2024-05-01T12:00:00Z"), int64(10), int64(2), 55.5, 0.25, 0.5, true, []float32{0.1, 0.2, 0.3, 0.4}},
	}
	for _, snap := range []int64{0, res.SnapshotID} {
		got := scanRows(t, s, v, snap)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scan at %d:\n got %v\nwant %v", snap, got, want)
		}
	}
}

// ScanFeatures returns the key, the event time and the given features in the
// order given (a feature may repeat), and refuses an index the view lacks.
func TestScanFeaturesProjects(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	res, err := s.Ingest(ctx, v, writeFile(t, "behavior.csv", behaviorCSV), nil)
	if err != nil {
		t.Fatal(err)
	}
	features := []int{6, 0, 0}
	rdr, err := s.ScanFeatures(ctx, v, res.SnapshotID, features)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{int64(1), at("2024-04-30T00:00:00Z"), []float32{-1, 0, 1, 2.5}, int64(1), int64(1)},
		{int64(1), at("2024-05-01T13:00:00Z"), []float32{1, 2, 3, 4}, int64(3), int64(3)},
		{int64(2), at("2024-05-01T08:30:00.123456Z"), nil, int64(8), int64(8)},
		{int64(2), at("2024-05-01T12:00:00Z"), []float32{0.1, 0.2, 0.3, 0.4}, int64(10), int64(10)},
	}
	if got := rowsOf(t, rdr, FeatureSchema(v, features)); !reflect.DeepEqual(got, want) {
		t.Errorf("projected scan:\n got %v\nwant %v", got, want)
	}
	// No features: keys and times only.
	rdr, err = s.ScanFeatures(ctx, v, 0, []int{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, rdr, FeatureSchema(v, []int{})); len(got) != 4 || len(got[0]) != 2 {
		t.Errorf("scan of no features: %v", got)
	}
	if _, err := s.ScanFeatures(ctx, v, 0, []int{len(v.Features)}); err == nil || !strings.Contains(err.Error(), "no feature") {
		t.Errorf("out-of-range feature: err %v", err)
	}
}

func TestIngestStringKeyCSV(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "fraud", "card_activity")
	csv := "card_id,event_time,txn_count_1h,txn_count_24h,amount_sum_24h,amount_avg_30d,distinct_countries_7d,last_txn_at\n" +
		"card-0002,2024-05-01T00:00:00Z,1,2,10.5,5,1,2024-04-30T23:59:00Z\n" +
		"card-0001,2024-05-01T00:00:00Z,0,0,0,,1,\n"
	if _, err := s.Ingest(ctx, v, writeFile(t, "cards.csv", csv), nil); err != nil {
		t.Fatal(err)
	}
	got := scanRows(t, s, v, 0)
	if len(got) != 2 || got[0][0] != "card-0001" || got[1][0] != "card-0002" || got[1][7] != at("2024-04-30T23:59:00Z") || got[0][7] != nil {
		t.Errorf("rows %v", got)
	}
}

// writeParquet writes rec to a Parquet file with its Arrow schema stored, as
// pyarrow and Spark do, so the reader sees the original Arrow types.
func writeParquet(t testing.TB, name string, rec arrow.RecordBatch) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
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
	return path
}

func TestIngestParquetConvertsCompatibleTypes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)

	// Narrower and wider types than the canonical ones, in another column order,
	// with a pandas index column.
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "is_premium", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "sessions_7d", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "purchases_30d", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "avg_order_value_30d", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "cart_abandon_rate_7d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "price_sensitivity", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "embedding", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
		{Name: "__index_level_0__", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	b.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{
		arrow.Timestamp(at("2024-05-01T12:00:00.000001999Z").UnixNano()),
		arrow.Timestamp(at("2024-05-01T11:00:00Z").UnixNano()),
	}, nil)
	b.Field(2).(*array.Int32Builder).AppendValues([]int32{7, 3}, nil)
	b.Field(3).(*array.Int16Builder).AppendValues([]int16{5, 0}, []bool{true, false})
	b.Field(4).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(5).(*array.Float32Builder).AppendValues([]float32{1.5, 2.5}, nil)
	b.Field(6).(*array.Float64Builder).AppendValues([]float64{0.1, 0.2}, nil)
	b.Field(7).(*array.Float32Builder).AppendValues([]float32{0.5, 0.25}, nil)
	lb := b.Field(8).(*array.LargeListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.Float64Builder).AppendValues([]float64{1, 2, 3, 4}, nil)
	lb.AppendNull()
	b.Field(9).(*array.Int64Builder).AppendValues([]int64{0, 1}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	res, err := s.Ingest(ctx, v, writeParquet(t, "behavior.parquet", rec), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 2 {
		t.Fatalf("result %+v", res)
	}
	want := [][]any{
		{int64(3), at("2024-05-01T11:00:00Z"), nil, int64(2), 2.5, 0.2, 0.25, false, nil},
		{int64(7), at("2024-05-01T12:00:00.000001Z"), int64(5), int64(1), 1.5, 0.1, 0.5, true, []float32{1, 2, 3, 4}},
	}
	if got := scanRows(t, s, v, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("scan:\n got %v\nwant %v", got, want)
	}
}

func TestIngestParquetStringsAndDates(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	mem := memory.DefaultAllocator
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}},
		{Name: "age", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "city", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "last_updated", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(at("2024-05-01T12:00:00Z").UnixMilli()))
	b.Field(2).(*array.Uint8Builder).Append(42)
	b.Field(3).(*array.LargeStringBuilder).Append("Lisbon")
	b.Field(4).(*array.Date32Builder).Append(arrow.Date32FromTime(at("2024-03-02T00:00:00Z")))
	rec := b.NewRecordBatch()
	defer rec.Release()
	if _, err := s.Ingest(ctx, v, writeParquet(t, "profile.parquet", rec), nil); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(1), at("2024-05-01T12:00:00Z"), int64(42), "Lisbon", at("2024-03-02T00:00:00Z")}}
	if got := scanRows(t, s, v, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("scan:\n got %v\nwant %v", got, want)
	}
}

func TestIngestBadSchemaListsEveryColumnAndCommitsNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	first, err := s.Ingest(ctx, v, writeFile(t, "ok.csv", behaviorCSV), nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("csv", func(t *testing.T) {
		// Missing sessions_7d and embedding, unknown "color" and "size".
		bad := "user_id,event_time,color,purchases_30d,avg_order_value_30d,cart_abandon_rate_7d,price_sensitivity,is_premium,size\n" +
			"1,2024-05-01T00:00:00Z,red,1,1,1,1,true,XL\n"
		_, err := s.Ingest(ctx, v, writeFile(t, "bad.csv", bad), nil)
		if !errors.Is(err, ErrSchemaMismatch) {
			t.Fatalf("err = %v", err)
		}
		for _, name := range []string{"sessions_7d", "embedding", "color", "size"} {
			if !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
	})

	t.Run("parquet", func(t *testing.T) {
		// Wrong types for user_id (string) and is_premium (int64) and embedding
		// (list<string>), missing price_sensitivity, unknown "extra".
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "user_id", Type: arrow.BinaryTypes.String},
			{Name: "event_time", Type: arrow.FixedWidthTypes.Timestamp_us},
			{Name: "sessions_7d", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "purchases_30d", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "avg_order_value_30d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "cart_abandon_rate_7d", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "is_premium", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "embedding", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
			{Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		}, nil)
		b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer b.Release()
		rec := b.NewRecordBatch() // no rows: the schema alone must be rejected
		defer rec.Release()
		_, err := s.Ingest(ctx, v, writeParquet(t, "bad.parquet", rec), nil)
		if !errors.Is(err, ErrSchemaMismatch) {
			t.Fatalf("err = %v", err)
		}
		for _, name := range []string{"user_id", "is_premium", "embedding", "price_sensitivity", "extra"} {
			if !strings.Contains(err.Error(), `"`+name+`"`) {
				t.Errorf("error does not name %s: %v", name, err)
			}
		}
		if strings.Contains(err.Error(), `"sessions_7d"`) {
			t.Errorf("error names a good column: %v", err)
		}
	})

	if id := currentSnapshot(t, s, v); id != first.SnapshotID {
		t.Errorf("snapshot moved from %d to %d", first.SnapshotID, id)
	}
	if snaps, _ := s.Snapshots(ctx, v); len(snaps) != 1 {
		t.Errorf("%d snapshots, want 1", len(snaps))
	}
}

func TestIngestBadValuesReportLineAndColumnAndCommitNothing(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	first, err := s.Ingest(ctx, v, writeFile(t, "ok.csv", behaviorCSV), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := `user_id,event_time,sessions_7d,purchases_30d,avg_order_value_30d,cart_abandon_rate_7d,price_sensitivity,is_premium,embedding
1,2024-05-01T00:00:00Z,1,1,1,1,1,true,1;2;3;4
2,2024-05-01T00:00:00Z,1.5,1,1,1,1,true,1;2;3;4
3,2024-05-01T00:00:00Z,1,1,1,1,1,true,"[1, 2, 3]"
,2024-05-01T00:00:00Z,1,1,1,1,1,true,
5,yesterday,1,1,1,1,1,maybe,
`
	_, err = s.Ingest(ctx, v, writeFile(t, "bad.csv", bad), nil)
	if !errors.Is(err, ErrInvalidData) {
		t.Fatalf("err = %v", err)
	}
	var de *DataError
	if !errors.As(err, &de) || len(de.Problems) != 5 {
		t.Fatalf("want 5 problems, got %v", err)
	}
	for _, want := range []string{
		`line 3, column "sessions_7d": "1.5" is not an int64`,
		`line 4, column "embedding": "[1, 2, 3]" has 3 values, the feature's dim is 4`,
		`line 5, column "user_id"`,
		`line 6, column "event_time": "yesterday" is not a timestamp`,
		`line 6, column "is_premium": "maybe" is not a bool`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if id := currentSnapshot(t, s, v); id != first.SnapshotID {
		t.Errorf("snapshot moved from %d to %d", first.SnapshotID, id)
	}
}

func TestIngestListsAtMostTwentyProblems(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	var b strings.Builder
	b.WriteString("user_id,event_time,age,city,last_updated\n")
	for i := range 100 {
		fmt.Fprintf(&b, "%d,2024-05-01T00:00:00Z,old,Paris,\n", i+1)
	}
	_, err := s.Ingest(ctx, v, writeFile(t, "bad.csv", b.String()), nil)
	var de *DataError
	if !errors.As(err, &de) || len(de.Problems) != 20 || de.More != 80 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "100 invalid value(s)") || !strings.Contains(err.Error(), "and 80 more") {
		t.Errorf("message: %v", err)
	}
	if _, ok, _ := s.CurrentSnapshot(ctx, v); ok {
		t.Error("something was committed")
	}
}

func TestParquetBadValuesReportRows(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_behavior")
	sc := ArrowSchema(v)
	fields := sc.Fields()
	fields[0].Nullable, fields[1].Nullable = true, true // as most writers declare them
	sc = arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := range 3 {
		if i == 1 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
		}
		b.Field(1).(*array.TimestampBuilder).Append(0)
		for j := 2; j < 8; j++ {
			b.Field(j).AppendNull()
		}
		lb := b.Field(8).(*array.ListBuilder)
		lb.Append(true)
		n := 4
		if i == 2 {
			n = 2
		}
		for range n {
			lb.ValueBuilder().(*array.Float32Builder).Append(1)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	_, err := s.Ingest(ctx, v, writeParquet(t, "bad.parquet", rec), nil)
	if !errors.Is(err, ErrInvalidData) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`row 2, column "user_id"`, `row 3, column "embedding": has 2 values`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, ok, _ := s.CurrentSnapshot(ctx, v); ok {
		t.Error("something was committed")
	}
}

// Scans at a snapshot and the history are in the contract suite
// (offlinetest); what is Floe's own is the summary naming the ingested file.
func TestSnapshotSummaryNamesTheIngestedFile(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	res, err := s.Ingest(ctx, v, writeFile(t, "b.csv", "user_id,event_time,age,city,last_updated\n1,2024-05-02T00:00:00Z,31,Paris,\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sn, err := s.Snapshot(ctx, v, res.SnapshotID)
	if err != nil {
		t.Fatal(err)
	}
	if sn.Summary[summarySource] != "b.csv" {
		t.Errorf("summary %+v, want %s = b.csv", sn.Summary, summarySource)
	}
}

func TestOpenValidatesConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Type: "hive"}, "unknown catalog type"},
		{Config{Warehouse: "file://" + dir}, "needs a URI"},
		{Config{URI: "file:" + dir + "/c.db"}, "needs a warehouse"},
		{Config{URI: ":memory:", Warehouse: dir}, "must name a SQLite file"},
		{Config{Type: "rest", URI: "localhost:8181"}, "http(s) URI"},
		{Config{URI: "file:" + dir + "/c.db", Warehouse: dir, Properties: map[string]string{"sql.driver": "pgx"}}, "needs sql.dialect"},
	} {
		_, err := Open(ctx, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
}

func TestOpenRESTUnreachableIsUnavailable(t *testing.T) {
	// Port 1 on loopback refuses connections immediately.
	_, err := Open(context.Background(), Config{Type: "rest", URI: "http://127.0.0.1:1"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestOpenPlainPathsAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := Config{URI: filepath.Join(dir, "a", "b", "catalog.db"), Warehouse: filepath.Join(dir, "wh")}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v := view(t, "pricing", "user_profile")
	res, err := s.Ingest(ctx, v, writeFile(t, "p.csv", "user_id,event_time,age,city,last_updated\n1,2024-01-01,3,X,\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The same files opened again see the committed snapshot.
	s, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id := currentSnapshot(t, s, v); id != res.SnapshotID {
		t.Errorf("reopened store at snapshot %d, want %d", id, res.SnapshotID)
	}
	if _, err := os.Stat(filepath.Join(dir, "wh", "pricing.db", "user_profile", "metadata")); err != nil {
		t.Errorf("table not under the warehouse: %v", err)
	}
}

func TestParseValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01T12:00:00Z", at("2024-05-01T12:00:00Z")},
		{"2024-05-01T12:00:00.5+01:00", at("2024-05-01T11:00:00.5Z")},
		{"2024-05-01 12:00:00", at("2024-05-01T12:00:00Z")},
		{"2024-05-01", at("2024-05-01T00:00:00Z")},
	} {
		us, err := parseTimestamp(c.in)
		if err != nil || !time.UnixMicro(us).Equal(c.want) {
			t.Errorf("parseTimestamp(%q) = %v, %v", c.in, time.UnixMicro(us).UTC(), err)
		}
	}
	for _, bad := range []string{"05/01/2024", "2024-13-01", "1714564800"} {
		if _, err := parseTimestamp(bad); err == nil {
			t.Errorf("parseTimestamp(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"NaN", "inf", "0x1p-2", "1_000", "1,5", ""} {
		if _, err := parseDouble(bad, 64); err == nil {
			t.Errorf("parseDouble(%q) accepted", bad)
		}
	}
	if _, err := parseInt64("9223372036854775808"); err == nil || !strings.Contains(err.Error(), "range") {
		t.Errorf("int64 overflow: %v", err)
	}
	for in, want := range map[string][]float32{"[1, 2.5]": {1, 2.5}, "1;2.5": {1, 2.5}, " [ -1 ,0 ] ": {-1, 0}} {
		got, err := parseVector(in, 2, nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseVector(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"[]", "[1, 2", "1;2;3", "[1, x]", "1,2"} {
		if _, err := parseVector(bad, 2, nil); err == nil {
			t.Errorf("parseVector(%q) accepted", bad)
		}
	}
}

// iceberg-go decodes to large types when asked (arrow.use_large_types), names
// list elements "element" and may spell UTC differently; Scan must hide all of it.
func TestNormalizerHandlesLargeAndRenamedTypes(t *testing.T) {
	v := view(t, "pricing", "user_behavior")
	want := ArrowSchema(v)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	fields := want.Fields()
	fields[1].Type = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "+00:00"}
	fields[8].Type = arrow.LargeListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Float32, Nullable: true})
	got := arrow.NewSchema(append(fields, arrow.Field{Name: "city", Type: arrow.BinaryTypes.LargeString}), nil)
	b := array.NewRecordBuilder(mem, got)
	defer b.Release()
	for i := range 3 {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		for j := 2; j < 8; j++ {
			b.Field(j).AppendNull()
		}
		lb := b.Field(8).(*array.LargeListBuilder)
		if i == 1 {
			lb.AppendNull()
		} else {
			lb.Append(true)
			lb.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{float32(i), 1, 2, 3}, nil)
		}
		b.Field(9).(*array.LargeStringBuilder).Append("x")
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	sliced := rec.NewSlice(1, 3) // offsets must survive slicing
	defer sliced.Release()

	n, err := newNormalizer(context.Background(), got, want)
	if err != nil {
		t.Fatal(err)
	}
	out, err := n.apply(sliced)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := array.NewRecordReader(want, []arrow.RecordBatch{out})
	out.Release()
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(t, rdr, want)
	if len(rows) != 2 || rows[0][8] != nil || !reflect.DeepEqual(rows[1][8], []float32{2, 1, 2, 3}) || rows[1][0] != int64(2) {
		t.Errorf("rows %v", rows)
	}

	// A string column decoded as large_string is cast back to utf8.
	sv := view(t, "pricing", "user_profile")
	sw := ArrowSchema(sv)
	sf := sw.Fields()
	sf[3].Type = arrow.BinaryTypes.LargeString
	sn, err := newNormalizer(context.Background(), arrow.NewSchema(sf, nil), sw)
	if err != nil || sn.conv[3] == nil {
		t.Fatalf("normalizer for large_string: %v", err)
	}
	lsb := array.NewLargeStringBuilder(mem)
	lsb.AppendValues([]string{"Paris", ""}, []bool{true, false})
	ls := lsb.NewArray()
	lsb.Release()
	defer ls.Release()
	cast, err := sn.conv[3](ls)
	if err != nil {
		t.Fatal(err)
	}
	defer cast.Release()
	if s, ok := cast.(*array.String); !ok || s.Value(0) != "Paris" || !s.IsNull(1) {
		t.Errorf("cast %v", cast)
	}
}

// Tables created by other engines may order columns differently and carry
// optional columns Floe does not know; both are fine for ingest and scan.
func TestIngestIntoTableWithExtraColumns(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	if err := s.Catalog().CreateNamespace(ctx, []string{"pricing"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := s.Catalog().CreateTable(ctx, Identifier(v), iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "notes", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 2, Name: "city", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "user_id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 4, Name: "event_time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 5, Name: "age", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 6, Name: "last_updated", Type: iceberg.PrimitiveTypes.TimestampTz},
	))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, v, writeFile(t, "p.csv", "user_id,event_time,age,city,last_updated\n1,2024-01-01,3,X,\n"), nil); err != nil {
		t.Fatal(err)
	}
	want := [][]any{{int64(1), at("2024-01-01T00:00:00Z"), int64(3), "X", nil}}
	if got := scanRows(t, s, v, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("scan: %v", got)
	}
}

// A minimal REST endpoint checks the REST wiring: properties reach the catalog
// (header.* becomes a request header) and a catalog answering 503 makes Ping
// report ErrUnavailable.
func TestRESTCatalogWiring(t *testing.T) {
	var down atomic.Bool
	var sawHeader atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Floe-Test") == "yes" {
			sawHeader.Store(true)
		}
		w.Header().Set("Content-Type", "application/json")
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"message":"maintenance","type":"ServiceUnavailableException","code":503}}`)
			return
		}
		switch r.URL.Path {
		case "/v1/config":
			fmt.Fprint(w, `{"defaults":{},"overrides":{}}`)
		case "/v1/namespaces":
			fmt.Fprint(w, `{"namespaces":[]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"not found","type":"NoSuchTableException","code":404}}`)
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	s, err := Open(ctx, Config{Type: "rest", URI: srv.URL, Properties: map[string]string{"header.X-Floe-Test": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !sawHeader.Load() {
		t.Error("header.* property was not sent")
	}
	if _, ok, err := s.CurrentSnapshot(ctx, view(t, "pricing", "user_profile")); ok || err != nil {
		t.Errorf("CurrentSnapshot of a missing REST table: ok %v, err %v", ok, err)
	}
	down.Store(true)
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping of a catalog answering 503: %v", err)
	}
}

// Concurrent writers (a CLI ingest while the server commits pushed rows) must
// both land: iceberg-go retries a commit that lost the race on the catalog row.
func TestConcurrentIngestsBothCommit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	// No table yet: the writers also race to create the namespace and the table.
	header := "user_id,event_time,age,city,last_updated\n"
	paths := []string{
		writeFile(t, "a.csv", header+"1,2024-05-01T00:00:00Z,30,Paris,\n2,2024-05-01T00:00:00Z,31,Rome,\n"),
		writeFile(t, "b.csv", header+"3,2024-05-01T00:00:00Z,40,Oslo,\n"),
		writeFile(t, "c.csv", header+"4,2024-05-01T00:00:00Z,50,Bern,\n"),
	}
	errs := make(chan error, len(paths))
	for _, p := range paths {
		go func() {
			_, err := s.Ingest(ctx, v, p, nil)
			errs <- err
		}()
	}
	for range paths {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	snaps, err := s.Snapshots(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 || snaps[2].TotalRecords != 4 {
		t.Errorf("snapshots %+v", snaps)
	}
	if rows := scanRows(t, s, v, 0); len(rows) != 4 {
		t.Errorf("%d rows, want 4", len(rows))
	}
}
