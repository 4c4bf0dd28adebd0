package registry

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"floe.dev/floe/services/featureserver/internal/transform"
	"gopkg.in/yaml.v3"
)

// LockVersion is the version of the lock file format this loader reads.
const LockVersion = 1

// LockPath returns the lock file of a spec file: pricing.yaml → pricing.lock.yaml.
func LockPath(specPath string) string {
	return strings.TrimSuffix(specPath, filepath.Ext(specPath)) + ".lock.yaml"
}

// IsLockPath reports whether path names a lock file rather than a spec.
func IsLockPath(path string) bool { return isLockPath(path) }

func isLockPath(path string) bool {
	return strings.HasSuffix(path, ".lock.yaml") || strings.HasSuffix(path, ".lock.yml")
}

// LockSnapshots returns the snapshot a lock file records per table
// ("namespace.table" → snapshot id), what `floe fit --check` refits from.
func LockSnapshots(content []byte) (map[string]int64, error) {
	var l lockFile
	if err := yaml.Unmarshal(content, &l); err != nil {
		return nil, err
	}
	return l.Snapshots, nil
}

// parsedLock is a decoded lock file.
type parsedLock struct {
	path string
	lock lockFile
	// used records the (service, output name) entries a fitted step consumed; the
	// others are stale.
	used map[[2]string]bool
	// defs are the definitions of the spec's fitted features (FitTarget.Definition),
	// whose LockHash the lock's spec_hash must equal.
	defs []string
}

func (c *compiler) parseLock(path string, root *yaml.Node) {
	var l lockFile
	decodeStrict(path, root, reflect.ValueOf(&l).Elem(), "", c.errs)
	if l.Version != LockVersion {
		c.errs.add(path, 1, "version", "lock file version %d is not supported (want %d); rerun floe fit", l.Version, LockVersion)
	}
	if c.locks == nil {
		c.locks = map[string]*parsedLock{}
	}
	c.locks[path] = &parsedLock{path: path, lock: l, used: map[[2]string]bool{}}
}

// checkLocks reports lock files without a spec and lock entries no fitted step used.
func (c *compiler) checkLocks(specs map[string]bool) {
	for _, path := range sortedKeys(c.locks) {
		pl := c.locks[path]
		if !specs[strings.TrimSuffix(strings.TrimSuffix(path, ".lock.yaml"), ".lock.yml")] {
			c.errs.add(path, 0, "", "lock file has no spec file next to it (expected %s.yaml)", strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".yaml"), ".lock"))
			continue
		}
		if want := LockHash(pl.defs); pl.lock.SpecHash != want {
			c.errs.add(path, 0, "spec_hash", "the lock is stale: the fitted features of its spec changed since floe fit wrote it (a fitted option, a step or the source of a fitted feature); rerun floe fit")
		}
		for _, svc := range sortedKeys(pl.lock.Services) {
			for _, out := range sortedKeys(pl.lock.Services[svc]) {
				if !pl.used[[2]string{svc, out}] {
					line := 0
					if steps := pl.lock.Services[svc][out]; len(steps) > 0 {
						line = steps[0].Line
					}
					c.errs.add(path, line, "services."+svc+"."+out, "no step of feature %q of feature service %q is marked fitted: true; rerun floe fit", out, svc)
				}
			}
		}
	}
}

// lockFor returns the lock of the spec file at path, nil when it has none.
func (c *compiler) lockFor(path string) *parsedLock {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	if l, ok := c.locks[base+".lock.yaml"]; ok {
		return l
	}
	return c.locks[base+".lock.yml"]
}

// chain compiles the transform of one feature service feature. lock is the spec
// file's lock (nil when none); svc and ref.OutputName() key the feature's entry in
// it. When a step is fitted it also returns the feature's FitTarget: what floe fit
// needs, and what the lock's hash covers. In fit mode (CompileForFit) fitted
// steps take placeholder parameters, so the chain is only type-checked.
func (c *compiler) chain(file, field string, specs []transformStepSpec, ref FeatureRef, lock *parsedLock, svc string) (*transform.Chain, *FitTarget) {
	out := ref.OutputName()
	steps := make([]transform.Step, len(specs))
	// where[i] locates the parameters of step i, for messages about their values.
	where := make([]string, len(specs))
	ok := true
	var locked []transformStepSpec
	if lock != nil {
		locked = lock.lock.Services[svc][out]
	}
	t := &FitTarget{File: file, Service: svc, Ref: ref}
	nFitted := 0
	for i, st := range specs {
		sf := fmt.Sprintf("%s[%d]", field, i)
		op, fitted, known := c.stepOp(file, sf, st)
		if !known {
			ok = false
			continue
		}
		nb, mt, good := c.fitOptions(file, sf, op, fitted, st)
		if !good {
			ok = false
			continue
		}
		t.Fitted = append(t.Fitted, fitted)
		t.NumBuckets = append(t.NumBuckets, nb)
		t.MaxTokens = append(t.MaxTokens, mt)
		t.Lines = append(t.Lines, st.Line)
		if !fitted {
			s, good := c.stepParams(file, sf, op, st)
			steps[i], ok = s, ok && good
			t.Steps = append(t.Steps, s)
			continue
		}
		base := transform.Step{Op: op}
		if op == transform.OpLookup {
			base.OOVBuckets = 1 // a choice in the spec, not a fitted value
			if st.Lookup.OOVBuckets != nil {
				base.OOVBuckets = *st.Lookup.OOVBuckets
			}
		}
		t.Steps = append(t.Steps, base)
		if !c.fittedAndWritten(file, sf, st) {
			ok = false
			continue
		}
		if !fittable(op) {
			c.errs.add(file, st.Line, sf+"."+string(op)+".fitted", "%s has no fitted parameters; write them in the spec", op)
			ok = false
			continue
		}
		k := nFitted
		nFitted++
		if c.fit {
			steps[i] = placeholder(base)
			continue
		}
		if k >= len(locked) {
			lockPath := LockPath(file)
			if lock != nil {
				lockPath = lock.path
			}
			c.errs.add(file, st.Line, sf+"."+string(op)+".fitted", "fitted: true but %s has no parameters for this step (services.%s.%q, fitted step %d); run floe fit", filepath.Base(lockPath), svc, out, k)
			ok = false
			continue
		}
		lock.used[[2]string{svc, out}] = true
		ls := locked[k]
		lf := fmt.Sprintf("services.%s.%s[%d]", svc, out, k)
		lop, lfitted, ln := ls.which()
		if ln != 1 || lop != op || lfitted {
			c.errs.add(lock.path, ls.Line, lf, "expected the fitted parameters of a %s step (transform[%d] of %s in %s); rerun floe fit", op, i, out, filepath.Base(file))
			ok = false
			continue
		}
		s, good := c.stepParams(lock.path, lf, op, ls)
		s.OOVBuckets = base.OOVBuckets
		steps[i], ok = s, ok && good
		where[i] = fmt.Sprintf(" (fitted parameters from %s:%d)", lock.path, ls.Line)
	}
	if nFitted == 0 {
		t = nil
	}
	if lock != nil && nFitted < len(locked) {
		ls := locked[nFitted]
		c.errs.add(lock.path, ls.Line, fmt.Sprintf("services.%s.%s[%d]", svc, out, nFitted), "%d fitted steps in the lock but %d in the spec; rerun floe fit", len(locked), nFitted)
		ok = false
	}
	if !ok {
		return nil, t
	}
	ch, err := transform.NewChain(transform.Type(ref.Feature.Type), ref.Feature.Dim, steps)
	if err != nil {
		se := err.(*transform.StepError)
		c.errs.add(file, specs[se.Index].Line, fmt.Sprintf("%s[%d].%s", field, se.Index, steps[se.Index].Op), "%s%s", se.Msg, where[se.Index])
		return nil, t
	}
	return ch, t
}

// stepOp returns a step's op and whether it is marked fitted, reporting a step
// that names no op or several.
func (c *compiler) stepOp(file, field string, st transformStepSpec) (op transform.Op, fitted, ok bool) {
	op, fitted, n := st.which()
	if n == 1 {
		return op, fitted, true
	}
	if st.short != "" {
		c.errs.add(file, st.Line, field, "unknown step %q (steps: %s; a step with parameters is a mapping, e.g. {clip: {min: 0, max: 1}})", st.short, opList())
	} else {
		c.errs.add(file, st.Line, field, "a step is a mapping with exactly one of %s", opList())
	}
	return op, fitted, false
}

func opList() string {
	names := make([]string, len(transform.Ops))
	for i, op := range transform.Ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}

func fittable(op transform.Op) bool {
	switch op {
	case transform.OpStandardize, transform.OpMinMax, transform.OpBucketize, transform.OpLookup:
		return true
	}
	return false
}

// which returns the step's op, whether it is marked fitted, and how many steps the
// mapping names (exactly one when valid).
func (s *transformStepSpec) which() (op transform.Op, fitted bool, n int) {
	set := func(o transform.Op, f bool) {
		op, fitted = o, f
		n++
	}
	if s.Standardize != nil {
		set(transform.OpStandardize, s.Standardize.Fitted)
	}
	if s.MinMax != nil {
		set(transform.OpMinMax, s.MinMax.Fitted)
	}
	if s.Clip != nil {
		set(transform.OpClip, false)
	}
	if s.Log1p != nil {
		set(transform.OpLog1p, false)
	}
	if s.Bucketize != nil {
		set(transform.OpBucketize, s.Bucketize.Fitted)
	}
	if s.Lookup != nil {
		set(transform.OpLookup, s.Lookup.Fitted)
	}
	if s.OneHot != nil {
		set(transform.OpOneHot, false)
	}
	if s.Hash != nil {
		set(transform.OpHash, false)
	}
	if s.FillNull != nil {
		set(transform.OpFillNull, false)
	}
	if s.Cast != nil {
		set(transform.OpCast, false)
	}
	return op, fitted, n
}

// stepParams converts written (not fitted) parameters, checking that the required
// ones are present. Value checks (std > 0, sorted boundaries, …) are transform's.
func (c *compiler) stepParams(file, field string, op transform.Op, st transformStepSpec) (transform.Step, bool) {
	s := transform.Step{Op: op}
	ok := true
	pf := field + "." + string(op)
	need := func(line int, name string, present bool) {
		if !present {
			c.errs.add(file, line, pf+"."+name, "is required (or fitted: true to take it from the lock file)")
			ok = false
		}
	}
	switch op {
	case transform.OpStandardize:
		p := st.Standardize
		need(p.Line, "mean", p.Mean != nil)
		need(p.Line, "std", p.Std != nil)
		if ok {
			s.Mean, s.Std = *p.Mean, *p.Std
		}
	case transform.OpMinMax:
		p := st.MinMax
		need(p.Line, "min", p.Min != nil)
		need(p.Line, "max", p.Max != nil)
		if ok {
			s.Min, s.Max = *p.Min, *p.Max
		}
	case transform.OpClip:
		p := st.Clip
		if p.Min == nil || p.Max == nil {
			c.errs.add(file, p.Line, pf, "min and max are both required")
			return s, false
		}
		s.Min, s.Max = *p.Min, *p.Max
	case transform.OpBucketize:
		s.Boundaries = st.Bucketize.Boundaries
	case transform.OpLookup:
		p := st.Lookup
		s.Vocabulary, s.OOVBuckets = p.Vocabulary, 1
		if p.OOVBuckets != nil {
			s.OOVBuckets = *p.OOVBuckets
		}
	case transform.OpOneHot:
		s.Depth = st.OneHot.Depth
	case transform.OpHash:
		s.Bins, s.Function = st.Hash.Bins, st.Hash.Function
		if s.Function == "" {
			c.errs.add(file, st.Hash.Line, pf+".function", "is required: name the hash function (%s)", transform.HashFarmFingerprint64)
			ok = false
		}
	case transform.OpFillNull:
		s.Fill = st.FillNull.Value
	case transform.OpCast:
		t, known := ParseType(st.Cast.To)
		if !known {
			c.errs.add(file, st.Cast.Line, pf+".to", "unknown type %q (use double or int64)", st.Cast.To)
			ok = false
		}
		s.To = transform.Type(t)
	}
	return s, ok
}

// fittedAndWritten reports a step marked fitted that also writes parameters.
func (c *compiler) fittedAndWritten(file, field string, st transformStepSpec) bool {
	op, fitted, n := st.which()
	if n != 1 || !fitted {
		return true
	}
	written := false
	switch op {
	case transform.OpStandardize:
		written = st.Standardize.Mean != nil || st.Standardize.Std != nil
	case transform.OpMinMax:
		written = st.MinMax.Min != nil || st.MinMax.Max != nil
	case transform.OpBucketize:
		written = st.Bucketize.Boundaries != nil
	case transform.OpLookup:
		written = st.Lookup.Vocabulary != nil
	}
	if written {
		c.errs.add(file, st.Line, field+"."+string(op), "fitted: true takes the parameters from the lock file; remove the ones written here")
		return false
	}
	return true
}
