// Package fit computes the parameters of transform steps marked fitted: true from
// pinned Iceberg snapshots and writes them to lock files next to the specs
// (`floe fit`), so a retrain with the same lock is reproducible.
//
// # What a parameter is fitted on
//
// Every row of the view's table at the pinned snapshot is one observation (each
// version of each entity, as training data samples them), after the steps that
// precede the fitted one in the chain (so `fill_null` then a fitted `standardize`
// fits on the filled values). Nulls are skipped, and so are NaN and ±Inf for numeric
// fits.
//
// What each op fits (standardize: mean and population standard deviation, ...) is
// documented, and computed, in its file in the transform package (Fittable.Fit).
//
// A table with no snapshot, or a column with no usable value, is an error naming the
// spec file, line and feature: nothing is written then.
package fit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gopkg.in/yaml.v3"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// Source is the part of the offline store fitting reads (*offline.Store): the
// pinned or current snapshot of each table, and the fitted features' rows there.
type Source interface {
	// ScanFeatures streams the view's rows at a snapshot with the schema
	// offline.FeatureSchema(v, features): join key, event time, then the given
	// features (indexes into v.Features) in that order.
	ScanFeatures(ctx context.Context, v *registry.FeatureView, snapshotID int64, features []int) (array.RecordReader, error)
	// Snapshot describes snapshot id of v's table; the error wraps
	// offline.ErrNoSuchSnapshot when the table has no such snapshot.
	Snapshot(ctx context.Context, v *registry.FeatureView, id int64) (offline.Snapshot, error)
	// CurrentSnapshot returns the table's current snapshot id, and false when the
	// table has no snapshot yet.
	CurrentSnapshot(ctx context.Context, v *registry.FeatureView) (int64, bool, error)
}

var _ Source = (*offline.Store)(nil)

// ErrNothingToFit is returned when no step of any spec is marked fitted: true.
var ErrNothingToFit = errors.New("no transform step is marked fitted: true; nothing to fit")

// Options tunes a fit.
type Options struct {
	// Snapshots pins the snapshot read per table ("namespace.table"); tables left
	// out are read at their current snapshot, which the lock then records.
	Snapshots map[string]int64
	// Now stamps fitted_at; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is called as each table is read with the rows read so
	// far, for a progress display.
	Progress func(table string, rows int64)
}

// Param is the fitted parameters of one step, for reports.
type Param struct {
	Service, Output string
	// Step is the index of the step in the feature's chain.
	Step int
	// Fitted is the step with its parameters.
	Fitted transform.Step
	// Rows is the number of values the parameters were computed from.
	Rows int
}

// Lock is one lock file written (or, with Fit's write false, that would be).
type Lock struct {
	Path      string
	Content   []byte
	Snapshots map[string]int64
	Params    []Param
}

// Fit reads the specs in files (path → content, as registry.ReadDir returns),
// fits every step marked fitted: true and returns one lock per spec file with
// such steps. With write set, each lock is written next to its spec (atomically);
// the specs and the new locks are compiled together first, so a lock that would
// not load is never written.
func Fit(ctx context.Context, files map[string][]byte, src Source, opts Options, write bool) ([]Lock, error) {
	_, targets, err := registry.CompileForFit(files)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, ErrNothingToFit
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	for table := range opts.Snapshots {
		found := false
		for _, t := range targets {
			found = found || t.Ref.View.Source.Identifier() == table
		}
		if !found {
			return nil, fmt.Errorf("a snapshot is pinned for table %s, which no fitted step reads", table)
		}
	}

	// Pin a snapshot per view and load the feature columns fitted steps read.
	type viewData struct {
		snapshot int64
		columns  map[int]arrow.Array // feature index → column
	}
	views := map[string]*viewData{}
	defer func() {
		for _, d := range views {
			for _, c := range d.columns {
				c.Release()
			}
		}
	}()
	for _, t := range targets {
		v := t.Ref.View
		d, ok := views[v.Name]
		if !ok {
			d = &viewData{columns: map[int]arrow.Array{}}
			table := v.Source.Identifier()
			if id, pinned := opts.Snapshots[table]; pinned {
				if _, err := src.Snapshot(ctx, v, id); err != nil {
					return nil, fmt.Errorf("table %s: %w", table, err)
				}
				d.snapshot = id
			} else {
				id, has, err := src.CurrentSnapshot(ctx, v)
				if err != nil {
					return nil, fmt.Errorf("table %s: %w", table, err)
				}
				if !has {
					return nil, fmt.Errorf("%s:%d: feature %q of feature service %q is fitted on view %s, whose table %s has no snapshot yet: ingest data first (floe ingest)", t.File, t.Lines[0], t.Output(), t.Service, v.Name, table)
				}
				d.snapshot = id
			}
			views[v.Name] = d
		}
		d.columns[t.Ref.Feature.Index] = nil
	}
	for name, d := range views {
		var v *registry.FeatureView
		for _, t := range targets {
			if t.Ref.View.Name == name {
				v = t.Ref.View
				break
			}
		}
		if err := load(ctx, src, v, d.snapshot, d.columns, opts.Progress); err != nil {
			return nil, err
		}
	}

	// Fit, grouped by spec file.
	byFile := map[string]*Lock{}
	defs := map[string][]string{}
	var order []string
	for _, t := range targets {
		l, ok := byFile[t.File]
		if !ok {
			l = &Lock{Path: registry.LockPath(t.File), Snapshots: map[string]int64{}}
			byFile[t.File] = l
			order = append(order, t.File)
		}
		d := views[t.Ref.View.Name]
		l.Snapshots[t.Ref.View.Source.Identifier()] = d.snapshot
		params, err := fitTarget(t, d.columns[t.Ref.Feature.Index])
		if err != nil {
			return nil, err
		}
		l.Params = append(l.Params, params...)
		defs[t.File] = append(defs[t.File], t.Definition())
	}

	locks := make([]Lock, 0, len(order))
	withLocks := map[string][]byte{}
	for p, b := range files {
		if !registry.IsLockPath(p) {
			withLocks[p] = b
		}
	}
	stamp := now().UTC().Format(time.RFC3339)
	for _, file := range order {
		l := byFile[file]
		l.Content = render(file, registry.LockHash(defs[file]), stamp, l)
		withLocks[l.Path] = l.Content
		locks = append(locks, *l)
	}
	if _, err := registry.Compile(withLocks); err != nil {
		return nil, fmt.Errorf("the fitted parameters do not load (a bug: please report it): %w", err)
	}
	if write {
		for _, l := range locks {
			if err := writeAtomic(l.Path, l.Content); err != nil {
				return nil, err
			}
		}
	}
	return locks, nil
}

// load reads the wanted feature columns of v at snapshot.
func load(ctx context.Context, src Source, v *registry.FeatureView, snapshot int64, want map[int]arrow.Array, progress func(string, int64)) error {
	features := slices.Sorted(maps.Keys(want))
	rdr, err := src.ScanFeatures(ctx, v, snapshot, features)
	if err != nil {
		return fmt.Errorf("reading %s at snapshot %d: %w", v.Source.Identifier(), snapshot, err)
	}
	defer rdr.Release()
	parts := map[int][]arrow.Array{}
	defer func() {
		for _, ps := range parts {
			for _, p := range ps {
				p.Release()
			}
		}
	}()
	var rows int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rows += rec.NumRows(); progress != nil {
			progress(v.Source.Identifier(), rows)
		}
		for i, f := range features {
			c := rec.Column(2 + i)
			c.Retain()
			parts[f] = append(parts[f], c)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := rdr.Err(); err != nil {
		return fmt.Errorf("reading %s at snapshot %d: %w", v.Source.Identifier(), snapshot, err)
	}
	for f := range want {
		if len(parts[f]) == 0 {
			want[f] = array.MakeArrayOfNull(memory.DefaultAllocator, offline.ArrowType(v.Features[f].Type), 0)
			continue
		}
		c, err := array.Concatenate(parts[f], memory.DefaultAllocator)
		if err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
		want[f] = c
	}
	return nil
}

// fitTarget runs the target's chain over the raw column, fitting each fitted step
// on the values that reach it.
func fitTarget(t registry.FitTarget, raw arrow.Array) ([]Param, error) {
	col, err := columns.FromArrow(raw, transform.Type(t.Ref.Feature.Type), t.Ref.Feature.Dim)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: feature %s: %w", t.File, t.Lines[0], t.Ref.Name(), err)
	}
	var out []Param
	dim := t.Ref.Feature.Dim
	for i, s := range t.Steps {
		if t.Fitted[i] {
			var n int
			s, n, err = fitStep(s, col, t.Options[i])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: feature service %s, feature %s, step %d (%s): %w", t.File, t.Lines[i], t.Service, t.Output(), i, s.Name(), err)
			}
			out = append(out, Param{Service: t.Service, Output: t.Output(), Step: i, Fitted: s, Rows: n})
		}
		ch, err := transform.NewChain(col.Type, dim, []transform.Step{s})
		if err != nil {
			return nil, fmt.Errorf("%s:%d: feature service %s, feature %s: fitted parameters are invalid: %w", t.File, t.Lines[i], t.Service, t.Output(), err)
		}
		if col, err = ch.Apply(col); err != nil {
			return nil, err
		}
		dim = ch.OutDim
	}
	return out, nil
}

// fitStep computes s's fitted parameters from the non-null values of c.
func fitStep(s transform.Step, c transform.Column, options transform.Args) (transform.Step, int, error) {
	f, ok := s.Op.(transform.Fittable)
	if !ok {
		return s, 0, fmt.Errorf("%s has no fitted parameters", s.Name())
	}
	fitted, n, err := f.Fit(c, options)
	if err != nil {
		return s, 0, err
	}
	args := maps.Clone(s.Args)
	if args == nil {
		args = transform.Args{}
	}
	maps.Copy(args, fitted)
	return transform.Step{Op: s.Op, Args: args}, n, nil
}

// render writes a lock file: the parameters of each fitted step, keyed by service
// and output name, in chain order, and the data they came from.
func render(spec, specHash, fittedAt string, l *Lock) []byte {
	services := map[string]map[string][]map[string]any{}
	for _, p := range l.Params {
		if services[p.Service] == nil {
			services[p.Service] = map[string][]map[string]any{}
		}
		services[p.Service][p.Output] = append(services[p.Service][p.Output], stepYAML(p.Fitted))
	}
	doc := struct {
		Version   int                                    `yaml:"version"`
		SpecHash  string                                 `yaml:"spec_hash"`
		FittedAt  string                                 `yaml:"fitted_at"`
		Snapshots map[string]int64                       `yaml:"snapshots"`
		Services  map[string]map[string][]map[string]any `yaml:"services"`
	}{registry.LockVersion, specHash, fittedAt, l.Snapshots, services}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Written by floe fit from the Iceberg snapshots below: the parameters of every\n# transform step marked fitted: true in %s. Do not edit; rerun floe fit\n# (with --snapshot table=id to reproduce a fit).\n", filepath.Base(spec))
	var root yaml.Node
	if err := root.Encode(doc); err != nil {
		panic(err) // plain maps and scalars always encode
	}
	// Parameters read best inline: standardize: {mean: 1.5, std: 0.3}.
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "services" {
			flowLeaves(root.Content[i+1])
		}
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		panic(err)
	}
	enc.Close()
	return b.Bytes()
}

// flowLeaves puts sequences of scalars, and mappings of scalars and such
// sequences, in flow style; it reports whether n is now such a leaf.
func flowLeaves(n *yaml.Node) bool {
	leaf := n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode
	for i, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			continue
		}
		if !flowLeaves(c) || n.Kind == yaml.SequenceNode || i%2 == 0 {
			leaf = false
		}
	}
	if leaf {
		n.Style = yaml.FlowStyle
	}
	return leaf
}

// stepYAML is a fitted step as a lock file lists it: {op: {its fitted parameters}}.
func stepYAML(s transform.Step) map[string]any {
	params := map[string]any{}
	for _, p := range s.Op.Params() {
		if v, ok := s.Args[p.Name]; ok && p.Fitted {
			params[p.Name] = v
		}
	}
	if len(params) == 0 {
		panic(fmt.Sprintf("fit: %s has no fitted parameters", s.Name()))
	}
	return map[string]any{s.Name(): params}
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".floe-fit-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
