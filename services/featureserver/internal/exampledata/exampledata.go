// Package exampledata writes sample CSV files for an example project's feature
// views (`floe example-data`, `make demo`, the end-to-end tests). The columns come
// from the project's specs, so a feature added to an example spec gets values
// without a Go change; the ranges those values are drawn from live beside the
// specs, in example-data/values.yaml (see Hint), and a feature without an entry
// there gets a default range for its type.
package exampledata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// HintsFile is where, under a project's spec directory, the value ranges of its
// example data are described. It sits in a subdirectory so that spec loading,
// which reads the directory's own *.yaml files, does not take it for a spec.
const HintsFile = "example-data/values.yaml"

// File is one generated CSV file and the feature view it is for.
type File struct {
	// View is the feature view the file's columns follow.
	View string
	// Path is where the file was written.
	Path string
}

// Hint says what values a feature's example column holds. Every field is
// optional; the defaults are chosen per type.
type Hint struct {
	// Min and Max bound int64 and double values (defaults 0 and 100 for int64,
	// 0 and 1 for double) and float_vector elements (defaults -1 and 1).
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Decimals is the number of digits a double is written with (default 3).
	Decimals *int `yaml:"decimals"`
	// Values are the strings a string feature draws from (default
	// "<feature>-0" to "<feature>-4").
	Values []string `yaml:"values"`
	// TrueRate is how often a bool feature is true (default 0.5).
	TrueRate *float64 `yaml:"true_rate"`
	// MaxAge is how long before the row's event time a timestamp feature may
	// lie, as a Go duration (default 24h).
	MaxAge string `yaml:"max_age"`
	// Layout is the Go time layout a timestamp is written in (default RFC 3339).
	Layout string `yaml:"layout"`
	// Nulls, when false, keeps the column free of nulls; otherwise about one
	// value in 50 is null.
	Nulls *bool `yaml:"nulls"`
}

// Hints are the hints of a project: view name → feature name → hint.
type Hints map[string]map[string]Hint

// Project is an example project ready to generate data for.
type Project struct {
	// Name seeds the generator, with each view's name.
	Name string
	// Registry holds the project's compiled specs.
	Registry *registry.Registry
	// Hints shape the values; nil means defaults everywhere.
	Hints Hints
}

// Load reads the project whose specs are in dir: its specs, and its hints when
// dir has a HintsFile. A hint naming a view or a feature the specs lack is an
// error, so a renamed feature does not silently lose its range.
func Load(dir string) (*Project, error) {
	reg, err := registry.LoadDirForData(dir)
	if err != nil {
		return nil, fmt.Errorf("example data: %w", err)
	}
	p := &Project{Name: filepath.Base(filepath.Clean(dir)), Registry: reg}
	b, err := os.ReadFile(filepath.Join(dir, HintsFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("example data: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p.Hints); err != nil {
		return nil, fmt.Errorf("example data: %s: %w", HintsFile, err)
	}
	for view, features := range p.Hints {
		v, ok := reg.FeatureView(view)
		if !ok {
			return nil, fmt.Errorf("example data: %s: no feature view %q in the specs", HintsFile, view)
		}
		for name, h := range features {
			if !slices.ContainsFunc(v.Features, func(f *registry.Feature) bool { return f.Name == name }) {
				return nil, fmt.Errorf("example data: %s: feature view %q has no feature %q", HintsFile, view, name)
			}
			if _, err := h.maxAge(); err != nil {
				return nil, fmt.Errorf("example data: %s: %s.%s: %w", HintsFile, view, name, err)
			}
			if h.Min != nil && h.Max != nil && *h.Min > *h.Max {
				return nil, fmt.Errorf("example data: %s: %s.%s: min %v is above max %v", HintsFile, view, name, *h.Min, *h.Max)
			}
		}
	}
	return p, nil
}

// completeEntities is how many entities, from 1, have every value present, so
// that documentation and tests can name an entity and find all its features.
const completeEntities = 100

// Write writes one CSV file per feature view into dir, named <view>.csv, with the
// view's join key, event time and features as columns. Entities are numbered
// 1..rows (a string key is "<entity>-0001"); about a third of them get two or
// three rows with different event times so "latest value per entity" is visible.
// Event times fall in the six hours before now, inside every example view's TTL.
// Entities 1 to 100 have every value present; from 101 on, about one value in 50
// is null (unless a hint says nulls: false). The same arguments always produce
// the same bytes.
func (p *Project) Write(dir string, now time.Time, rows int) ([]File, error) {
	if rows <= 0 {
		return nil, fmt.Errorf("example data: rows must be positive, got %d", rows)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("example data: %w", err)
	}
	now = now.UTC().Truncate(time.Second)
	var files []File
	for _, v := range p.Registry.FeatureViews {
		path := filepath.Join(dir, v.Name+".csv")
		// A seed per view keeps each file stable when another view changes.
		h := fnv.New64a()
		h.Write([]byte(p.Name + "/" + v.Name))
		rng := rand.New(rand.NewPCG(h.Sum64(), 0x9E3779B97F4A7C15))
		if err := writeCSV(path, v, p.Hints[v.Name], rng, now, rows); err != nil {
			return nil, fmt.Errorf("example data %s: %w", v.Name, err)
		}
		files = append(files, File{View: v.Name, Path: path})
	}
	return files, nil
}

func writeCSV(path string, v *registry.FeatureView, hints map[string]Hint, rng *rand.Rand, now time.Time, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	key := v.Entity.Key()
	header := []string{key.Name, v.EventTime}
	cols := make([]func(rng *rand.Rand, id int, eventTime time.Time) string, len(v.Features))
	for i, ft := range v.Features {
		header = append(header, ft.Name)
		cols[i] = column(ft, hints[ft.Name])
	}
	if err := w.Write(header); err != nil {
		_ = f.Close()
		return err
	}
	record := make([]string, len(header))
	for id := 1; id <= rows; id++ {
		// 1 row for two thirds of entities, 2 or 3 for the rest, at distinct times.
		n := 1
		if r := rng.IntN(6); r >= 4 {
			n = r - 2
		}
		offsets := make([]int, n)
		for j := range offsets {
			offsets[j] = 60 + rng.IntN(6*3600-60)
		}
		slices.Sort(offsets)
		offsets = slices.Compact(offsets)
		for _, off := range slices.Backward(offsets) {
			et := now.Add(-time.Duration(off) * time.Second)
			record[0] = strconv.Itoa(id)
			if key.Type == registry.TypeString {
				record[0] = fmt.Sprintf("%s-%04d", v.Entity.Name, id)
			}
			record[1] = et.Format(time.RFC3339)
			for i, c := range cols {
				record[2+i] = c(rng, id, et)
			}
			if err := w.Write(record); err != nil {
				_ = f.Close()
				return err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// column returns the generator of a feature's CSV cells.
func column(ft *registry.Feature, h Hint) func(rng *rand.Rand, id int, eventTime time.Time) string {
	value := cell(ft, h)
	nulls := h.Nulls == nil || *h.Nulls
	return func(rng *rand.Rand, id int, et time.Time) string {
		s := value(rng, et)
		// The draw happens for every entity, so the values of the others do
		// not depend on where the complete ones end.
		if rng.IntN(50) == 0 && nulls && id > completeEntities {
			return "" // a null cell
		}
		return s
	}
}

func cell(ft *registry.Feature, h Hint) func(*rand.Rand, time.Time) string {
	bound := func(p *float64, def float64) float64 {
		if p != nil {
			return *p
		}
		return def
	}
	switch ft.Type {
	case registry.TypeInt64:
		lo, hi := int64(bound(h.Min, 0)), int64(bound(h.Max, 100))
		return func(rng *rand.Rand, _ time.Time) string {
			return strconv.FormatInt(lo+rng.Int64N(hi-lo+1), 10)
		}
	case registry.TypeDouble:
		lo, hi := bound(h.Min, 0), bound(h.Max, 1)
		dec := 3
		if h.Decimals != nil {
			dec = *h.Decimals
		}
		return func(rng *rand.Rand, _ time.Time) string {
			return strconv.FormatFloat(lo+rng.Float64()*(hi-lo), 'f', dec, 64)
		}
	case registry.TypeString:
		values := h.Values
		if len(values) == 0 {
			for k := range 5 {
				values = append(values, fmt.Sprintf("%s-%d", ft.Name, k))
			}
		}
		return func(rng *rand.Rand, _ time.Time) string { return values[rng.IntN(len(values))] }
	case registry.TypeBool:
		rate := 0.5
		if h.TrueRate != nil {
			rate = *h.TrueRate
		}
		return func(rng *rand.Rand, _ time.Time) string { return strconv.FormatBool(rng.Float64() < rate) }
	case registry.TypeTimestamp:
		age, _ := h.maxAge()
		layout := h.Layout
		if layout == "" {
			layout = time.RFC3339
		}
		return func(rng *rand.Rand, et time.Time) string {
			return et.Add(-time.Duration(rng.Int64N(int64(age/time.Second))) * time.Second).Format(layout)
		}
	case registry.TypeFloatVector:
		lo, hi := bound(h.Min, -1), bound(h.Max, 1)
		return func(rng *rand.Rand, _ time.Time) string {
			parts := make([]string, ft.Dim)
			for i := range parts {
				parts[i] = strconv.FormatFloat(lo+rng.Float64()*(hi-lo), 'f', 4, 64)
			}
			return "[" + strings.Join(parts, ", ") + "]"
		}
	}
	panic(fmt.Sprintf("example data: no generator for %s", ft.Type))
}

// maxAge is the hint's MaxAge, 24h by default.
func (h Hint) maxAge() (time.Duration, error) {
	if h.MaxAge == "" {
		return 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(h.MaxAge)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("max_age %q: want a duration of at least 1s, like 24h", h.MaxAge)
	}
	return d, nil
}

// FindSpecs returns the spec directory of example project name:
// specs/examples/<name> in the working directory or the nearest parent that has
// one, which is where `floe example-data` looks unless told.
func FindSpecs(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return "", fmt.Errorf("example data: %q is not a project name", name)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("example data: %w", err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		examples := filepath.Join(dir, "specs", "examples")
		if st, err := os.Stat(examples); err == nil && st.IsDir() {
			p := filepath.Join(examples, name)
			if st, err := os.Stat(p); err != nil || !st.IsDir() {
				return "", fmt.Errorf("example data: unknown project %q (known: %s)", name, strings.Join(projects(examples), ", "))
			}
			return p, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("example data: no specs/examples directory in %s or its parents; give --specs", wd)
		}
	}
}

// projects lists the example projects under examples.
func projects(examples string) []string {
	entries, _ := os.ReadDir(examples)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
