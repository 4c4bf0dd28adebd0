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
	// Steps is the chain: written parameters as compiled, fitted steps with only
	// their Op (and, for lookup, the OOVBuckets the spec chose).
	Steps  []transform.Step
	Fitted []bool
	// NumBuckets and MaxTokens are the fitting options of each fitted bucketize and
	// lookup step (MaxTokens 0: no cap).
	NumBuckets []int
	MaxTokens  []int
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
		parts[i] = stepDefinition(s, t.Fitted[i], t.NumBuckets[i], t.MaxTokens[i])
	}
	return fitDefinition(t.Service, t.Output(), t.Ref.View.Source.Identifier(), t.Ref.Feature.Name, parts)
}

func stepDefinition(s transform.Step, fitted bool, numBuckets, maxTokens int) string {
	if !fitted {
		return s.String()
	}
	return fmt.Sprintf("%s(fitted,oov_buckets=%d,num_buckets=%d,max_tokens=%d)", s.Op, s.OOVBuckets, numBuckets, maxTokens)
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

// fitOptions checks the fitting options of a step: required and valid when the
// step is fitted, absent otherwise. It returns num_buckets and max_tokens.
func (c *compiler) fitOptions(file, field string, op transform.Op, fitted bool, st transformStepSpec) (numBuckets, maxTokens int, ok bool) {
	ok = true
	switch op {
	case transform.OpBucketize:
		p := st.Bucketize
		switch {
		case !fitted && p.NumBuckets != nil:
			c.errs.add(file, p.Line, field+".bucketize.num_buckets", "only applies with fitted: true (floe fit cuts that many buckets at quantiles); write boundaries or mark the step fitted")
			ok = false
		case fitted && p.NumBuckets == nil:
			c.errs.add(file, p.Line, field+".bucketize.num_buckets", "is required with fitted: true: how many buckets floe fit cuts at quantiles of the data")
			ok = false
		case fitted && *p.NumBuckets < 2:
			c.errs.add(file, p.Line, field+".bucketize.num_buckets", "is %d; it must be at least 2", *p.NumBuckets)
			ok = false
		case fitted:
			numBuckets = *p.NumBuckets
		}
	case transform.OpLookup:
		p := st.Lookup
		switch {
		case !fitted && p.MaxTokens != nil:
			c.errs.add(file, p.Line, field+".lookup.max_tokens", "only applies with fitted: true (it caps the vocabulary floe fit keeps); write the vocabulary or mark the step fitted")
			ok = false
		case fitted && p.MaxTokens != nil && *p.MaxTokens < 1:
			c.errs.add(file, p.Line, field+".lookup.max_tokens", "is %d; it must be at least 1", *p.MaxTokens)
			ok = false
		case fitted && p.MaxTokens != nil:
			maxTokens = *p.MaxTokens
		}
	}
	return numBuckets, maxTokens, ok
}

// placeholder gives a fitted step valid parameters, to type-check its chain.
func placeholder(s transform.Step) transform.Step {
	switch s.Op {
	case transform.OpStandardize:
		s.Mean, s.Std = 0, 1
	case transform.OpMinMax:
		s.Min, s.Max = 0, 1
	case transform.OpBucketize:
		s.Boundaries = []float64{0}
	case transform.OpLookup:
		s.Vocabulary = []string{""}
	}
	return s
}
