package exampledata

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
)

const examples = "../../../../specs/examples/"

// TestExamplesIngestCleanly: every example project's data ingests without a
// problem, has one file per view with every entity, event times in the last
// six hours, some nulls, and the same bytes on every run.
func TestExamplesIngestCleanly(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	entries, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			p, err := Load(examples + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			if p.Hints == nil {
				t.Errorf("no %s for %s", HintsFile, e.Name())
			}
			files, err := p.Write(t.TempDir(), now, 300)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != len(p.Registry.FeatureViews) {
				t.Fatalf("%d files for %d views", len(files), len(p.Registry.FeatureViews))
			}
			s := openStore(t)
			for _, f := range files {
				v, ok := p.Registry.FeatureView(f.View)
				if !ok {
					t.Fatalf("file for unknown view %s", f.View)
				}
				data, err := os.ReadFile(f.Path)
				if err != nil {
					t.Fatal(err)
				}
				lines := int64(strings.Count(string(data), "\n") - 1)
				res, err := s.Ingest(ctx, v, f.Path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != lines || lines <= 300 {
					t.Errorf("%s: ingested %d rows, file has %d", f.View, res.Rows, lines)
				}
				rdr, err := s.Scan(ctx, v, res.SnapshotID)
				if err != nil {
					t.Fatal(err)
				}
				entities, nulls, read := map[string]bool{}, 0, int64(0)
				for rdr.Next() {
					rec := rdr.RecordBatch()
					ids, err := columns.KeyStrings(rec.Column(0))
					if err != nil {
						t.Fatal(err)
					}
					ts := rec.Column(1).(*array.Timestamp)
					for i, id := range ids {
						entities[id] = true
						et := time.UnixMicro(int64(ts.Value(i))).UTC()
						if et.After(now) || now.Sub(et) > 6*time.Hour || (v.TTL > 0 && now.Sub(et) > v.TTL) {
							t.Errorf("%s: event time %v outside the last six hours before %v", f.View, et, now)
						}
					}
					for _, c := range rec.Columns()[2:] {
						nulls += c.NullN()
					}
					read += rec.NumRows()
				}
				if err := rdr.Err(); err != nil {
					t.Fatal(err)
				}
				rdr.Release()
				if read != lines || len(entities) != 300 {
					t.Errorf("%s: scanned %d rows of %d entities, want %d rows of 300", f.View, read, len(entities), lines)
				}
				if nulls == 0 {
					t.Errorf("%s: no nulls", f.View)
				}
				if n := nullsOfFirst(t, f.Path, completeEntities); n != 0 {
					t.Errorf("%s: %d nulls among entities 1 to %d, want none", f.View, n, completeEntities)
				}
			}
			again, err := p.Write(t.TempDir(), now, 300)
			if err != nil {
				t.Fatal(err)
			}
			for i := range files {
				x, _ := os.ReadFile(files[i].Path)
				y, _ := os.ReadFile(again[i].Path)
				if string(x) != string(y) {
					t.Errorf("%s: example data is not deterministic", files[i].View)
				}
			}
		})
	}
}

// TestNewFeatureNeedsNoHint: a feature added to a spec gets a column of values
// without any other change, and the other columns keep their values.
func TestNewFeatureNeedsNoHint(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(examples + "pricing/pricing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	added := strings.Replace(string(src), "      - name: city\n        type: string\n", "      - name: city\n        type: string\n      - name: loyalty_points\n        type: double\n", 1)
	if added == string(src) {
		t.Fatal("the pricing spec no longer has the city feature this test extends")
	}
	if err := os.WriteFile(filepath.Join(dir, "pricing.yaml"), []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := p.Write(t.TempDir(), time.Now(), 5)
	if err != nil {
		t.Fatal(err)
	}
	var profile string
	for _, f := range files {
		if f.View == "user_profile" {
			profile = f.Path
		}
	}
	data, err := os.ReadFile(profile)
	if err != nil {
		t.Fatal(err)
	}
	if header, _, _ := strings.Cut(string(data), "\n"); header != "user_id,event_time,age,city,loyalty_points,last_updated" {
		t.Errorf("header %q", header)
	}
}

func TestLoadRefusesStaleHints(t *testing.T) {
	for _, tc := range []struct{ hints, want string }{
		{"user_profile: {agee: {min: 1}}\n", `no feature "agee"`},
		{"profiles: {age: {min: 1}}\n", `no feature view "profiles"`},
		{"user_profile: {age: {min: 9, max: 1}}\n", "above max"},
		{"user_profile: {age: {minimum: 1}}\n", "minimum"},
	} {
		dir := t.TempDir()
		src, err := os.ReadFile(examples + "pricing/pricing.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pricing.yaml"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(HintsFile)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, HintsFile), []byte(tc.hints), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("hints %q: Load error %v, want one saying %q", tc.hints, err, tc.want)
		}
	}
}

func TestFindSpecs(t *testing.T) {
	t.Chdir(examples + "fraud")
	dir, err := FindSpecs("pricing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pricing.yaml")); err != nil {
		t.Errorf("FindSpecs = %s: %v", dir, err)
	}
	if _, err := FindSpecs("nope"); err == nil || !strings.Contains(err.Error(), "fraud, pricing") {
		t.Errorf("FindSpecs of an unknown project: %v, want the known ones listed", err)
	}
}

func openStore(t *testing.T) *offline.Store {
	t.Helper()
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	dir := t.TempDir()
	s, err := offline.Open(context.Background(), offline.Config{
		URI:       "file:" + filepath.Join(dir, "catalog.db"),
		Warehouse: "file://" + filepath.Join(dir, "warehouse"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// nullsOfFirst counts the empty cells of the rows of entities 1..n in a CSV
// file written by Write.
func nullsOfFirst(t *testing.T, path string, n int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	nulls := 0
	for _, r := range records[1:] {
		key := r[0][strings.LastIndexByte(r[0], '-')+1:]
		id, err := strconv.Atoi(key)
		if err != nil {
			t.Fatalf("key %q: %v", r[0], err)
		}
		if id > n {
			continue
		}
		for _, c := range r[2:] {
			if c == "" {
				nulls++
			}
		}
	}
	return nulls
}
