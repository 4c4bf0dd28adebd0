package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"floe.dev/floe/services/featureserver/internal/transform"
)

// FitTarget is a feature service feature whose transform has steps marked
// fitted: true, as CompileForFit finds it: everything floe fit needs to compute
// their parameters and write them to the spec's lock file.
type FitTarget struct {
	// File is the spec file declaring the service; its lock is LockPath(File).
	File    string
	Service string
	// Ref is the feature (its Transform is nil: the chain is incomplete).
	Ref FeatureRef
	// Steps is the chain: written parameters as written (defaults filled in),
	// fitted steps with only the parameters the spec chooses (lookup's
	// oov_buckets).
	Steps  []transform.Step
	Fitted []bool
	// Options are the fitting options of each step (bucketize's num_buckets), empty
	// for a step that is not fitted.
	Options []transform.Args
	// Lines locates each step in File.
	Lines []int
}

// Output is the feature's output name, its key in the lock file.
func (t FitTarget) Output() string { return t.Ref.OutputName() }

// Definition is what the fitted parameters of the feature depend on: service,
// output, source table and column, and every step of the chain (written steps
// with their parameters, fitted ones with their options). LockHash hashes it.
func (t FitTarget) Definition() string {
	parts := make([]string, len(t.Steps))
	for i, s := range t.Steps {
		parts[i] = stepDefinition(s, t.Fitted[i], t.Options[i])
	}
	return fitDefinition(t.Service, t.Output(), t.Ref.View.Source.Identifier(), t.Ref.Feature.Name, parts)
}

// stepDefinition is a step in a FitTarget's Definition. A fitted step is written
// op(fitted,oov_buckets=…,num_buckets=…,max_tokens=…), the form lock files were
// first hashed with (0 for what the op does not take), followed by any other
// parameter the spec chooses or fitting option, in the op's order. Changing the form
// would mark every lock file stale.
func stepDefinition(s transform.Step, fitted bool, options transform.Args) string {
	if !fitted {
		return s.String()
	}
	legacy := []string{"oov_buckets", "num_buckets", "max_tokens"}
	num := func(a transform.Args, name string) int { n, _ := a[name].(int); return n }
	def := fmt.Sprintf("%s(fitted,oov_buckets=%d,num_buckets=%d,max_tokens=%d", s.Name(), num(s.Args, "oov_buckets"), num(options, "num_buckets"), num(options, "max_tokens"))
	var params []transform.Param
	params = append(params, s.Op.Params()...)
	if f, ok := s.Op.(transform.Fittable); ok {
		params = append(params, f.FitOptions()...)
	}
	for _, p := range params {
		if slices.Contains(legacy, p.Name) {
			continue
		}
		if v, ok := s.Args[p.Name]; ok && !p.Fitted {
			def += fmt.Sprintf(",%s=%v", p.Name, v)
		} else if v, ok := options[p.Name]; ok {
			def += fmt.Sprintf(",%s=%v", p.Name, v)
		}
	}
	return def + ")"
}

func fitDefinition(svc, out, table, feature string, steps []string) string {
	return strings.Join([]string{svc, out, table, feature, strings.Join(steps, " | ")}, "\x00")
}

// LockHash is the spec_hash a lock file records: a hash of the Definition of
// every fitted feature of its spec file. A lock whose hash no longer matches the
// spec (a step before a fitted one changed, a fitted option changed) is stale:
// the server refuses it rather than serve parameters fitted for another chain.
// Edits elsewhere in the spec (descriptions, other features) leave it valid.
func LockHash(definitions []string) string {
	defs := slices.Clone(definitions)
	slices.Sort(defs)
	h := sha256.New()
	for _, d := range defs {
		h.Write([]byte(d))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LockHashOf returns the LockHash for the spec file specPath among files, for
// tools and tests that write lock files by hand.
func LockHashOf(files map[string][]byte, specPath string) (string, error) {
	_, targets, err := CompileForFit(files)
	if err != nil {
		return "", err
	}
	var defs []string
	for _, t := range targets {
		if t.File == specPath {
			defs = append(defs, t.Definition())
		}
	}
	return LockHash(defs), nil
}

// CompileForFit compiles specs like Compile but ignores lock files and, instead of
// requiring parameters for steps marked fitted: true, returns those features as
// targets. Their chains are still type-checked (with placeholder parameters), so
// a fitted standardize of a string is reported here with file:line, before any
// data is read.
func CompileForFit(files map[string][]byte) (*Registry, []FitTarget, error) {
	c := compiler{errs: &ErrorList{}, fit: true}
	reg, err := c.run(files)
	if err != nil {
		return nil, nil, err
	}
	return reg, c.targets, nil
}

// LoadDirForData loads specs for commands that read and write feature data but
// never run a transform (ingest, materialize, snapshots, fit): steps marked
// fitted: true need no lock file, so data can be ingested before the first
// floe fit. The features of such steps have no Transform.
func LoadDirForData(dir string) (*Registry, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	reg, _, err := CompileForFit(files)
	return reg, err
}

// fittedSteps returns the positions of the fitted steps in the chain; nil for a
// feature without any (t is nil then).
func (t *FitTarget) fittedSteps() []int {
	if t == nil {
		return nil
	}
	var idx []int
	for i, fitted := range t.Fitted {
		if fitted {
			idx = append(idx, i)
		}
	}
	return idx
}

// fitOptions checks the fitting options of a step: allowed only when the step is
// fitted, then required and bounded as the op declares. It returns those written.
func (c *compiler) fitOptions(file, field string, op transform.Op, fitted bool, st transformStepSpec) (transform.Args, bool) {
	f, ok := op.(transform.Fittable)
	if !ok {
		return nil, true
	}
	opts := transform.Args{}
	ok = true
	for _, o := range f.FitOptions() {
		v, has := st.options[o.Name]
		at := field + "." + op.Name() + "." + o.Name
		switch {
		case !fitted && has:
			c.errs.add(file, st.pline, at, "only applies with fitted: true (%s); write the parameters or mark the step fitted", o.Doc)
			ok = false
		case fitted && !has && o.Required:
			c.errs.add(file, st.pline, at, "is required with fitted: true: %s", o.Doc)
			ok = false
		case fitted && has && o.Minimum != nil && toFloat(v) < *o.Minimum:
			c.errs.add(file, st.pline, at, "is %v; it must be at least %v", v, *o.Minimum)
			ok = false
		case fitted && has:
			opts[o.Name] = v
		}
	}
	return opts, ok
}

// toFloat returns a numeric option as float64, to compare with its bounds.
func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
