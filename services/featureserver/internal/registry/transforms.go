package registry

import (
	"fmt"
	"maps"
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
		opts, good := c.fitOptions(file, sf, op, fitted, st)
		if !good {
			ok = false
			continue
		}
		t.Fitted = append(t.Fitted, fitted)
		t.Options = append(t.Options, opts)
		t.Lines = append(t.Lines, st.Line)
		if !fitted {
			s, good := c.stepParams(file, sf, op, st, false)
			steps[i], ok = s, ok && good
			t.Steps = append(t.Steps, s)
			continue
		}
		// The parameters the spec chooses for a fitted step (lookup's oov_buckets).
		base, _ := c.stepParams(file, sf, op, st, true)
		t.Steps = append(t.Steps, base)
		if !c.fittedAndWritten(file, sf, st) {
			ok = false
			continue
		}
		f, fittable := op.(transform.Fittable)
		if !fittable {
			c.errs.add(file, st.Line, sf+"."+op.Name()+".fitted", "%s has no fitted parameters; write them in the spec", op.Name())
			ok = false
			continue
		}
		k := nFitted
		nFitted++
		if c.fit {
			steps[i] = withArgs(base, f.Placeholder())
			continue
		}
		if k >= len(locked) {
			lockPath := LockPath(file)
			if lock != nil {
				lockPath = lock.path
			}
			c.errs.add(file, st.Line, sf+"."+op.Name()+".fitted", "fitted: true but %s has no parameters for this step (services.%s.%q, fitted step %d); run floe fit", filepath.Base(lockPath), svc, out, k)
			ok = false
			continue
		}
		lock.used[[2]string{svc, out}] = true
		ls := locked[k]
		lf := fmt.Sprintf("services.%s.%s[%d]", svc, out, k)
		lop, lfitted, ln := ls.which()
		if ln != 1 || lop != op || lfitted {
			c.errs.add(lock.path, ls.Line, lf, "expected the fitted parameters of a %s step (transform[%d] of %s in %s); rerun floe fit", op.Name(), i, out, filepath.Base(file))
			ok = false
			continue
		}
		s, good := c.stepParams(lock.path, lf, op, ls, false)
		steps[i], ok = withArgs(base, fittedArgs(op, s.Args)), ok && good
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
		c.errs.add(file, specs[se.Index].Line, fmt.Sprintf("%s[%d].%s", field, se.Index, steps[se.Index].Name()), "%s%s", se.Msg, where[se.Index])
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

func opList() string { return strings.Join(opNames(), ", ") }

// stepParams returns the step with the parameters written (defaults filled in),
// reporting required ones that are missing. With fitted set it returns only the
// parameters floe fit does not compute, and requires none. Value checks (std > 0,
// sorted boundaries, …) are the op's.
func (c *compiler) stepParams(file, field string, op transform.Op, st transformStepSpec, fitted bool) (transform.Step, bool) {
	args := transform.Args{}
	ok := true
	for _, p := range op.Params() {
		if fitted && p.Fitted {
			continue
		}
		v, has := st.args[p.Name]
		switch {
		case has:
			args[p.Name] = v
		case p.Default != nil:
			args[p.Name] = p.Default
		case p.Required && !fitted:
			msg := "is required"
			if p.Fitted {
				msg += " (or fitted: true to take it from the lock file)"
			}
			if len(p.Enum) > 0 {
				msg += ": one of " + strings.Join(p.Enum, ", ")
			}
			c.errs.add(file, st.pline, field+"."+op.Name()+"."+p.Name, "%s", msg)
			ok = false
		}
	}
	return transform.Step{Op: op, Args: args}, ok
}

// fittedArgs returns the parameters of args that floe fit computes for op.
func fittedArgs(op transform.Op, args transform.Args) transform.Args {
	out := transform.Args{}
	for _, p := range op.Params() {
		if v, ok := args[p.Name]; ok && p.Fitted {
			out[p.Name] = v
		}
	}
	return out
}

// withArgs returns s with more parameters.
func withArgs(s transform.Step, more transform.Args) transform.Step {
	args := maps.Clone(s.Args)
	maps.Copy(args, more)
	return transform.Step{Op: s.Op, Args: args}
}

// fittedAndWritten reports a step marked fitted that also writes parameters.
func (c *compiler) fittedAndWritten(file, field string, st transformStepSpec) bool {
	op, fitted, n := st.which()
	if n != 1 || !fitted {
		return true
	}
	if len(fittedArgs(op, st.args)) > 0 {
		c.errs.add(file, st.Line, field+"."+op.Name(), "fitted: true takes the parameters from the lock file; remove the ones written here")
		return false
	}
	return true
}
