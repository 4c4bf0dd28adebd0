package transform

import (
	"fmt"
	"math"
	"slices"
	"sync"
)

// Op is one kind of transform step (standardize, lookup, ...). Each op is defined in
// its own file, op_<name>.go, and registered in the table with register; the
// registry, floe fit, the JSON Schema of specs and the Python code generator iterate
// the table (Ops), so adding an op touches no other Go file. See the README's "how to
// add a transform".
type Op interface {
	// Name is the step's key in specs ("standardize"), lower_snake_case.
	Name() string
	// Doc is a one-line description of what the step computes, for the JSON Schema
	// and editors.
	Doc() string
	// Params describes the parameters a spec writes, in their canonical order (that
	// of Step.String and of the generated Python). An op without parameters may be
	// written as its bare name in a spec (- log1p).
	Params() []Param
	// Compile checks args (normalized to the kinds Params declares, defaults filled
	// in) against the shape of the step's input and returns the kernel that runs the
	// step and the shape of its output. Its error message names the problem without
	// the step's position ("std must be > 0, got 0"); NewChain adds that.
	Compile(args Args, in Shape) (Kernel, Shape, error)
}

// Fittable is an Op whose parameters floe fit can compute from data: a step of it
// marked fitted: true takes the parameters marked Fitted from the spec's lock file.
type Fittable interface {
	Op
	// FitOptions are the parameters a step marked fitted: true may write to tune the
	// fit (bucketize's num_buckets); a step with written parameters may not.
	FitOptions() []Param
	// Placeholder returns valid values of the Fitted parameters, to type-check a
	// chain whose parameters are not fitted yet.
	Placeholder() Args
	// Fit computes the Fitted parameters from the non-null values of c (the column
	// as it reaches the step) with the given options, and returns them with the
	// number of values they were computed from.
	Fit(c Column, options Args) (Args, int, error)
}

// Kernel is a compiled step: it runs on the read path, once per column.
type Kernel interface {
	// Apply returns the step's output column; c is not modified (the output may
	// share c's null mask and, when unchanged, its values).
	Apply(c Column) Column
}

// Shape is what a step knows of its input and tells of its output.
type Shape struct {
	Type Type
	// Dim is a float_vector's dimension, else 0.
	Dim int
	// Card is the number of distinct values an int64 index column can take
	// (indices 0..Card-1, after lookup, hash or bucketize), 0 when unbounded.
	Card int
}

// Kind is the kind of value a parameter takes, and the Go type it has in Args.
type Kind int

// The parameter kinds.
const (
	// Number is a float64.
	Number Kind = iota + 1
	// Integer is an int.
	Integer
	// String is a string.
	String
	// Numbers is a []float64.
	Numbers
	// Strings is a []string.
	Strings
	// Scalar is a float64, int64, string or bool, whose type the column decides
	// (fill_null's value).
	Scalar
)

// Param describes one parameter of an op: what the registry decodes from specs and
// lock files, what the JSON Schema of specs declares, and what the generators write.
// The schema constraints (Minimum, MinItems, ...) are for editors and for checking
// fitting options; an op's Compile checks the values of its parameters itself.
type Param struct {
	Name string
	Kind Kind
	// Doc describes the parameter (optional).
	Doc string
	// Required parameters must be written, unless Fitted and the step is marked
	// fitted: true.
	Required bool
	// Default is the value of an omitted optional parameter; nil for none.
	Default any
	// Fitted parameters are computed by floe fit when the step is marked fitted:
	// true (only for a Fittable op).
	Fitted bool
	// Enum lists the allowed values of a String parameter; nil for any.
	Enum []string
	// Minimum and ExclusiveMinimum bound a Number or Integer; nil for none.
	Minimum, ExclusiveMinimum *float64
	// MinItems and UniqueItems constrain a Numbers or Strings list.
	MinItems    int
	UniqueItems bool
}

// Args are a step's parameter values by name, of the Go types their Kind declares.
type Args map[string]any

// Float returns a Number parameter, 0 when absent.
func (a Args) Float(name string) float64 { v, _ := a[name].(float64); return v }

// Int returns an Integer parameter, 0 when absent.
func (a Args) Int(name string) int { v, _ := a[name].(int); return v }

// Str returns a String parameter, "" when absent.
func (a Args) Str(name string) string { v, _ := a[name].(string); return v }

// Floats returns a Numbers parameter, nil when absent.
func (a Args) Floats(name string) []float64 { v, _ := a[name].([]float64); return v }

// Strs returns a Strings parameter, nil when absent.
func (a Args) Strs(name string) []string { v, _ := a[name].([]string); return v }

var table = struct {
	sync.Mutex
	byName map[string]Op
	sorted []Op
}{byName: map[string]Op{}}

// register adds op to the table; each op's file calls it from init. Registering a
// name twice is a programming error.
func register(op Op) {
	table.Lock()
	defer table.Unlock()
	if _, dup := table.byName[op.Name()]; dup {
		panic("transform: op " + op.Name() + " registered twice")
	}
	table.byName[op.Name()] = op
	table.sorted = append(table.sorted, op)
	slices.SortFunc(table.sorted, func(a, b Op) int {
		switch {
		case a.Name() < b.Name():
			return -1
		case a.Name() > b.Name():
			return 1
		}
		return 0
	})
}

// Ops returns every op, sorted by name.
func Ops() []Op {
	table.Lock()
	defer table.Unlock()
	return slices.Clone(table.sorted)
}

// OpNamed returns the op spelled name in specs.
func OpNamed(name string) (Op, bool) {
	table.Lock()
	defer table.Unlock()
	op, ok := table.byName[name]
	return op, ok
}

// normalize checks that args names only op's parameters, with values of their kinds,
// and returns a copy with Integer and Number values converted to int and float64 and
// defaults filled in.
func normalize(op Op, args Args) (Args, error) {
	params := op.Params()
	out := make(Args, len(params))
	for name := range args {
		if !slices.ContainsFunc(params, func(p Param) bool { return p.Name == name }) {
			return nil, fmt.Errorf("%s has no parameter %q", op.Name(), name)
		}
	}
	for _, p := range params {
		v, ok := args[p.Name]
		if !ok || v == nil {
			if p.Default == nil {
				continue
			}
			v = p.Default
		}
		nv, ok := p.Kind.convert(v)
		if !ok {
			return nil, fmt.Errorf("%s %v is not %s", p.Name, v, p.Kind)
		}
		out[p.Name] = nv
	}
	return out, nil
}

// String is the kind as messages name it.
func (k Kind) String() string {
	switch k {
	case Number:
		return "a number"
	case Integer:
		return "an integer"
	case String:
		return "a string"
	case Numbers:
		return "a list of numbers"
	case Strings:
		return "a list of strings"
	case Scalar:
		return "a number, string or bool"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// convert returns v as the Go type of the kind, reporting whether it is of the kind.
func (k Kind) convert(v any) (any, bool) {
	switch k {
	case Number:
		switch x := v.(type) {
		case float64:
			return x, true
		case int:
			return float64(x), true
		case int64:
			return float64(x), true
		}
	case Integer:
		switch x := v.(type) {
		case int:
			return x, true
		case int64:
			return int(x), true
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), true
			}
		}
	case String:
		x, ok := v.(string)
		return x, ok
	case Numbers:
		switch x := v.(type) {
		case []float64:
			return x, true
		case []int:
			out := make([]float64, len(x))
			for i, n := range x {
				out[i] = float64(n)
			}
			return out, true
		}
	case Strings:
		x, ok := v.([]string)
		return x, ok
	case Scalar:
		switch x := v.(type) {
		case float64, int64, string, bool:
			return x, true
		case int:
			return int64(x), true
		}
	}
	return nil, false
}

// format writes a value of the kind as Step.String does.
func (k Kind) format(v any) string {
	switch k {
	case Integer:
		return fmt.Sprintf("%d", v)
	case String:
		return fmt.Sprintf("%s", v)
	case Strings:
		return fmt.Sprintf("%q", v)
	case Scalar:
		return fmt.Sprintf("%#v", v)
	}
	return fmt.Sprintf("%v", v)
}

// Float64 returns a pointer to x, for Param's bounds.
func Float64(x float64) *float64 { return &x }

// needNumeric is the check of ops that take an int64 or double input.
func needNumeric(op string, t Type) error {
	if !numeric(t) {
		return fmt.Errorf("%s needs an int64 or double input, got %s", op, t)
	}
	return nil
}

func numeric(t Type) bool { return t == TypeInt64 || t == TypeDouble }

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
