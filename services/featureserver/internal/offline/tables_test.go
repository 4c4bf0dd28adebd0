package offline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// profileSpec compiles a one-view spec on the table pricing.user_profile, as a
// spec edited over time would read; features are "name: type" lines.
func profileSpec(t testing.TB, key, keyType, eventTime string, features ...string) *registry.FeatureView {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `entities:
  - name: user
    join_keys:
      - name: %s
        type: %s
sources:
  - name: profiles
    table: pricing.user_profile
feature_views:
  - name: user_profile
    entity: user
    source: profiles
    event_time: %s
    features:
`, key, keyType, eventTime)
	for _, f := range features {
		name, typ, _ := strings.Cut(f, ": ")
		fmt.Fprintf(&b, "      - name: %s\n        type: %s\n", name, typ)
		if typ == "float_vector" {
			b.WriteString("        dim: 2\n")
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.LoadDir(dir)
	if err != nil {
		t.Fatalf("spec:\n%s\n%v", b.String(), err)
	}
	v, ok := reg.FeatureView("user_profile")
	if !ok {
		t.Fatal("no view")
	}
	return v
}

func TestEnsureTableAddsFeaturesWithoutRewritingData(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v1 := profileSpec(t, "user_id", "int64", "event_time", "age: int64", "city: string")
	s1 := ingest(t, s, v1, writeFile(t, "a.csv", "user_id,event_time,age,city\n1,2024-05-01,30,Paris\n2,2024-05-01,40,Rome\n"))
	before, err := s.LoadTable(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}

	// The spec gains two features.
	v2 := profileSpec(t, "user_id", "int64", "event_time", "age: int64", "city: string", "score: double", "vec: float_vector")
	tbl, err := s.EnsureTable(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"score", "vec"} {
		f, ok := tbl.Schema().FindFieldByName(name)
		if !ok || f.Required {
			t.Errorf("column %s: %+v (found %v)", name, f, ok)
		}
	}
	if tbl.Schema().ID == before.Schema().ID {
		t.Error("schema id did not change")
	}
	if current(t, tbl) != s1 || len(tbl.Metadata().Snapshots()) != 1 {
		t.Error("adding columns committed a snapshot")
	}
	// Again: nothing to do.
	again, err := s.EnsureTable(ctx, v2)
	if err != nil || again.Schema().ID != tbl.Schema().ID {
		t.Fatalf("second EnsureTable: %v", err)
	}

	// Old rows read as null, at the current snapshot and at the old one.
	want := [][]any{
		{int64(1), at("2024-05-01T00:00:00Z"), int64(30), "Paris", nil, nil},
		{int64(2), at("2024-05-01T00:00:00Z"), int64(40), "Rome", nil, nil},
	}
	for _, snap := range []int64{0, s1} {
		if got := scanRows(t, s, v2, snap); !reflect.DeepEqual(got, want) {
			t.Errorf("scan at %d:\n got %v\nwant %v", snap, got, want)
		}
		if got := lookupRows(t, s, v2, snap, "2"); !reflect.DeepEqual(got, want[1:]) {
			t.Errorf("lookup at %d: %v", snap, got)
		}
	}
	// A projection of a feature the old snapshot lacks reads it as null too.
	rdr, err := s.ScanFeatures(ctx, v2, s1, []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, rdr, FeatureSchema(v2, []int{2, 0})); !reflect.DeepEqual(got, [][]any{
		{int64(1), at("2024-05-01T00:00:00Z"), nil, int64(30)},
		{int64(2), at("2024-05-01T00:00:00Z"), nil, int64(40)},
	}) {
		t.Errorf("projected scan at %d: %v", s1, got)
	}
	// New rows carry the new features; the old spec still reads the table.
	s2 := ingest(t, s, v2, writeFile(t, "b.csv", "user_id,event_time,age,city,score,vec\n2,2024-05-02,41,Rome,0.5,\"[1,2]\"\n"))
	got := lookupRows(t, s, v2, s2, "2")
	if len(got) != 2 || got[0][4] != nil || got[1][4] != 0.5 || !reflect.DeepEqual(got[1][5], []float32{1, 2}) {
		t.Errorf("rows after ingesting with the new spec: %v", got)
	}
	if got := scanRows(t, s, v1, 0); len(got) != 3 || len(got[0]) != 4 {
		t.Errorf("old spec scan: %v", got)
	}
	// Changes across the schema change see the appended row.
	cs, rows := changes(t, s, v2, s1, s2)
	if len(rows) != 1 || rows[0][4] != 0.5 || len(cs.Affected) != 0 {
		t.Errorf("changes across the schema change: %+v %v", cs, rows)
	}
}

func TestEnsureTableWidensAndRelaxesFeatureColumns(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := profileSpec(t, "user_id", "int64", "event_time", "age: int64", "score: double")
	if err := s.Catalog().CreateNamespace(ctx, []string{"pricing"}, nil); err != nil {
		t.Fatal(err)
	}
	// Created by another engine with narrower types, age required.
	tbl, err := s.Catalog().CreateTable(ctx, Identifier(v), iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "user_id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "event_time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 3, Name: "age", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: 4, Name: "score", Type: iceberg.PrimitiveTypes.Float32},
	))
	if err != nil {
		t.Fatal(err)
	}
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "age", Type: arrow.PrimitiveTypes.Int32},
		{Name: "score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(at("2024-05-01T00:00:00Z").UnixMicro()))
	b.Field(2).(*array.Int32Builder).Append(30)
	b.Field(3).(*array.Float32Builder).Append(0.5)
	rec := b.NewRecordBatch()
	b.Release()
	rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	rec.Release()
	if _, err := tbl.Append(ctx, rdr, nil); err != nil {
		t.Fatal(err)
	}
	rdr.Release()

	// Reading before any evolution already converts the narrower types.
	want := [][]any{{int64(1), at("2024-05-01T00:00:00Z"), int64(30), 0.5}}
	if got := scanRows(t, s, v, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("scan of narrow columns: %v", got)
	}
	tbl, err = s.EnsureTable(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]iceberg.Type{"age": iceberg.PrimitiveTypes.Int64, "score": iceberg.PrimitiveTypes.Float64} {
		f, _ := tbl.Schema().FindFieldByName(name)
		if !f.Type.Equals(typ) || f.Required {
			t.Errorf("column %s is %s required=%v after EnsureTable", name, f.Type, f.Required)
		}
	}
	if got := scanRows(t, s, v, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("scan after widening: %v", got)
	}
	// Floe can now write nulls into age.
	ingest(t, s, v, writeFile(t, "a.csv", "user_id,event_time,age,score\n2,2024-05-01,,1.5\n"))
	if got := lookupRows(t, s, v, 0, "2"); len(got) != 1 || got[0][2] != nil {
		t.Errorf("row with a null age: %v", got)
	}
}

func TestEnsureTableRefusesIncompatibleChanges(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	base := profileSpec(t, "user_id", "int64", "event_time", "age: int64", "city: string")
	ingest(t, s, base, writeFile(t, "a.csv", "user_id,event_time,age,city\n1,2024-05-01,30,Paris\n"))
	schemaID := func() int {
		tbl, err := s.LoadTable(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		return tbl.Schema().ID
	}
	id := schemaID()
	for _, c := range []struct {
		name string
		v    *registry.FeatureView
		want []string
	}{
		{"join key renamed", profileSpec(t, "customer_id", "int64", "event_time", "age: int64", "city: string"),
			[]string{`join key "customer_id"`, "cannot be renamed", "RENAME COLUMN", "new source table"}},
		{"join key retyped", profileSpec(t, "user_id", "string", "event_time", "age: int64", "city: string"),
			[]string{`join key "user_id"`, "the table has long", "cannot change type"}},
		{"event time renamed", profileSpec(t, "user_id", "int64", "ts", "age: int64", "city: string"),
			[]string{`event time "ts"`, "required", "RENAME COLUMN"}},
		{"feature retyped", profileSpec(t, "user_id", "int64", "event_time", "age: string", "city: string"),
			[]string{`feature "age"`, "the table has long, the spec says string", "only to widen", "new name"}},
		{"long to double is not a widening", profileSpec(t, "user_id", "int64", "event_time", "age: double", "city: string"),
			[]string{`feature "age"`, "the table has long, the spec says double"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.EnsureTable(ctx, c.v)
			var se *SchemaError
			if !errors.Is(err, ErrSchemaMismatch) || !errors.As(err, &se) {
				t.Fatalf("EnsureTable: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if len(se.Problems) != 1 {
				t.Errorf("problems %q", se.Problems)
			}
			if schemaID() != id {
				t.Error("a refused change altered the table's schema")
			}
			// Ingest refuses the same way and commits nothing.
			if _, err := s.Ingest(ctx, c.v, writeFile(t, "x.csv", "user_id,event_time,age,city\n"), nil); !errors.Is(err, ErrSchemaMismatch) {
				t.Errorf("ingest: %v", err)
			}
		})
	}
	// A feature removed from the spec leaves its column alone.
	if _, err := s.EnsureTable(ctx, profileSpec(t, "user_id", "int64", "event_time", "age: int64")); err != nil {
		t.Errorf("dropping a feature from the spec: %v", err)
	}
	if schemaID() != id {
		t.Error("dropping a feature from the spec changed the table")
	}
}

// Iceberg names are case-sensitive: a column spelled differently by another
// engine is not silently duplicated.
func TestPlanEvolutionRefusesCaseVariants(t *testing.T) {
	v := profileSpec(t, "user_id", "int64", "event_time", "age: int64")
	_, err := planEvolution(v, iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "user_id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "event_time", Type: iceberg.PrimitiveTypes.TimestampTz, Required: true},
		iceberg.NestedField{ID: 3, Name: "Age", Type: iceberg.PrimitiveTypes.Int64},
	))
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), `spells the column "Age"`) {
		t.Errorf("err = %v", err)
	}
}
