package fit

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

const spec = `entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
sources:
  - {name: s, table: fit.stats}
  - {name: e, table: fit.empty}
feature_views:
  - name: stats
    entity: user
    source: s
    event_time: event_time
    features:
      - {name: spend, type: double}
      - {name: visits, type: int64}
      - {name: city, type: string}
  - name: empty
    entity: user
    source: e
    event_time: event_time
    features: [{name: x, type: double}]
feature_services:
  - name: model
    features:
      - ref: stats:spend
        name: spend_z
        transform:
          - fill_null: {value: 0}
          - standardize: {fitted: true}
      - ref: stats:visits
        name: visits_bucket
        transform:
          - bucketize: {fitted: true, num_buckets: 4}
      - ref: stats:city
        name: city_index
        transform:
          - lookup: {fitted: true, oov_buckets: 2, max_tokens: 2}
`

var at = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// setup writes the spec to a directory and ingests one snapshot of stats.
func setup(t *testing.T) (dir string, st *offline.Store, reg *registry.Registry, first int64) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	st, err = offline.Open(context.Background(), offline.Config{
		URI:       "file:" + filepath.Join(t.TempDir(), "catalog.db"),
		Warehouse: "file://" + t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, _, err = registry.CompileForFit(map[string][]byte{"model.yaml": []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	// spend: 1, 2, 3, null (filled with 0 before standardize), 0 ×4; visits
	// 1..8 → quartile boundaries 3, 5, 7;
	// city: Oslo ×3, Rome ×2, Lyon ×2 (Lyon before Rome on the tie), max 2.
	first = ingest(t, st, reg, "stats", `user_id,event_time,spend,visits,city
1,2026-10-01T00:00:00Z,1,1,Oslo
2,2026-10-01T00:00:00Z,2,2,Oslo
3,2026-10-01T00:00:00Z,3,3,Oslo
4,2026-10-01T00:00:00Z,,4,Rome
5,2026-10-01T00:00:00Z,0,5,Rome
6,2026-10-01T00:00:00Z,0,6,Lyon
7,2026-10-01T00:00:00Z,0,7,Lyon
8,2026-10-01T00:00:00Z,0,8,
`)
	return dir, st, reg, first
}

func ingest(t *testing.T, st *offline.Store, reg *registry.Registry, view, csv string) int64 {
	t.Helper()
	v, _ := reg.FeatureView(view)
	path := filepath.Join(t.TempDir(), view+".csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := st.Ingest(context.Background(), v, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.SnapshotID
}

func fitDir(t *testing.T, dir string, st *offline.Store, opts Options, write bool) ([]Lock, error) {
	t.Helper()
	files, err := registry.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return at }
	}
	return Fit(context.Background(), files, st, opts, write)
}

func TestFitWritesALockTheRegistryLoads(t *testing.T) {
	dir, st, _, first := setup(t)
	read := map[string]int64{}
	locks, err := fitDir(t, dir, st, Options{Progress: func(table string, rows int64) { read[table] = rows }}, true)
	if err != nil {
		t.Fatal(err)
	}
	if read["fit.stats"] != 8 || len(read) != 1 {
		t.Errorf("progress reported %v, want fit.stats: 8 rows", read)
	}
	if len(locks) != 1 || locks[0].Path != filepath.Join(dir, "model.lock.yaml") || locks[0].Snapshots["fit.stats"] != first {
		t.Fatalf("locks %+v", locks)
	}
	reg, err := registry.LoadDir(dir)
	if err != nil {
		t.Fatalf("the written lock does not load: %v", err)
	}
	svc, _ := reg.FeatureService("model")
	if svc.Fit == nil || svc.Fit.Snapshots["fit.stats"] != first || svc.Fit.FittedAt != at.Format(time.RFC3339) {
		t.Errorf("service fit info %+v", svc.Fit)
	}
	spend := svc.Features[0].Transform.Steps[1].Args
	// Values 1, 2, 3, 0 (the filled null), 0, 0, 0, 0: mean 0.75.
	wantMean := 0.75
	wantStd := math.Sqrt((0.0625 + 1.5625 + 5.0625 + 5*0.5625) / 8)
	if math.Abs(spend.Float("mean")-wantMean) > 1e-12 || math.Abs(spend.Float("std")-wantStd) > 1e-12 {
		t.Errorf("standardize fitted to mean %v std %v, want %v %v", spend["mean"], spend["std"], wantMean, wantStd)
	}
	if b := svc.Features[1].Transform.Steps[0].Args.Floats("boundaries"); !slices.Equal(b, []float64{3, 5, 7}) {
		t.Errorf("bucketize boundaries %v, want [3 5 7]", b)
	}
	lookup := svc.Features[2].Transform.Steps[0].Args
	if !slices.Equal(lookup.Strs("vocabulary"), []string{"Oslo", "Lyon"}) || lookup.Int("oov_buckets") != 2 {
		t.Errorf("lookup vocabulary %q oov %d, want [Oslo Lyon] (most frequent, ties in byte order, max 2) and 2", lookup.Strs("vocabulary"), lookup.Int("oov_buckets"))
	}
}

func TestFitIsReproducibleFromPinnedSnapshots(t *testing.T) {
	dir, st, reg, first := setup(t)
	before, err := fitDir(t, dir, st, Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	// New data changes a fresh fit, but not one pinned to the first snapshot.
	ingest(t, st, reg, "stats", "user_id,event_time,spend,visits,city\n9,2026-10-02T00:00:00Z,100,100,Paris\n")
	fresh, err := fitDir(t, dir, st, Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh[0].Content) == string(before[0].Content) {
		t.Error("a fit at the new snapshot gave the same lock")
	}
	pinned, err := fitDir(t, dir, st, Options{Snapshots: map[string]int64{"fit.stats": first}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(pinned[0].Content) != string(before[0].Content) {
		t.Errorf("pinned fit differs:\n%s\nvs\n%s", pinned[0].Content, before[0].Content)
	}
	if _, err := fitDir(t, dir, st, Options{Snapshots: map[string]int64{"fit.nope": 1}}, false); err == nil || !strings.Contains(err.Error(), "fit.nope") {
		t.Errorf("pinning an unrelated table: %v", err)
	}
}

func TestFitErrors(t *testing.T) {
	dir, st, reg, _ := setup(t)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A constant column cannot be standardized: the error names file, line, step.
	ingest(t, st, reg, "empty", "user_id,event_time,x\n1,2026-10-01T00:00:00Z,5\n2,2026-10-01T00:00:00Z,5\n")
	write(spec + `  - name: flat
    features:
      - ref: empty:x
        name: x_z
        transform: [{standardize: {fitted: true}}]
`)
	_, err := fitDir(t, dir, st, Options{}, true)
	if err == nil || !strings.Contains(err.Error(), "model.yaml:40") || !strings.Contains(err.Error(), "constant") {
		t.Errorf("constant column: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "model.lock.yaml")); !errors.Is(statErr, os.ErrNotExist) {
		t.Error("a failed fit wrote a lock file")
	}
	// num_buckets is required with fitted: true, at load, with file:line.
	write(strings.Replace(spec, "{fitted: true, num_buckets: 4}", "{fitted: true}", 1))
	_, err = fitDir(t, dir, st, Options{}, false)
	if err == nil || !strings.Contains(err.Error(), "model.yaml:31") || !strings.Contains(err.Error(), "num_buckets") {
		t.Errorf("missing num_buckets: %v", err)
	}
	// A fitted step on the wrong type is rejected before reading data.
	write(strings.Replace(spec, "- lookup: {fitted: true, oov_buckets: 2, max_tokens: 2}", "- standardize: {fitted: true}", 1))
	_, err = fitDir(t, dir, st, Options{}, false)
	if err == nil || !strings.Contains(err.Error(), "model.yaml:35") {
		t.Errorf("standardize of a string: %v", err)
	}
	// Nothing fitted.
	write(strings.Split(spec, "feature_services:")[0])
	if _, err := fitDir(t, dir, st, Options{}, false); !errors.Is(err, ErrNothingToFit) {
		t.Errorf("no fitted step: %v", err)
	}
}

func TestFitNeedsData(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := offline.Open(context.Background(), offline.Config{URI: "file:" + filepath.Join(t.TempDir(), "c.db"), Warehouse: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = fitDir(t, dir, st, Options{}, false)
	if err == nil || !strings.Contains(err.Error(), "no snapshot yet") {
		t.Errorf("fit on an empty table: %v", err)
	}
}
