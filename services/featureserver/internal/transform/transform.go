// Package transform is Floe's one implementation of the declarative feature transforms
// of specs (DESIGN.md, "One implementation of each transform"). Online serving, as_of
// reads and training-set generation all run a Chain from this package; copies in other
// languages (Keras preprocessing layers generated for the Python SDK) are proven equal
// by the shared vectors in specs/testdata/transforms.
//
// A Chain is compiled once per feature service feature (by the registry) and applied
// to whole columns: typed slices plus a null mask, never one value at a time.
//
// # Ops
//
// Each kind of step is an Op, defined in one file of its own (op_<name>.go): its
// parameters, their validation, the compiled kernel that runs on columns, and, when
// floe fit can compute its parameters, its fitting. The file registers the op in the
// table (Ops, OpNamed) that everything else iterates: the registry's spec decoding
// and the JSON Schema of specs, floe fit, and the Python code generator. Each op's
// file documents its semantics; the package-level rules below hold for all of them.
//
// # Semantics
//
// Values and nulls are distinct. A null (missing, expired or null value) stays null
// through every step except fill_null, which replaces it; the value stored at a null
// position is unspecified (zero in practice) and must be ignored. NaN is a value, not a
// null: fill_null does not touch it. A step may turn a value it cannot represent into
// a null (cast of NaN to int64, abs of the smallest int64).
//
// Bool, timestamp and float_vector inputs are accepted only by the steps that say so
// (fill_null, cast), so a type mismatch is rejected when the chain is built, not when
// it runs.
package transform

import (
	"fmt"
	"strings"
)

// Type is a column type. Its values equal registry.Type's (and floe.v1.ValueType's), so
// converting between them is a plain conversion.
type Type int

// The column types.
const (
	TypeInt64       Type = 1
	TypeDouble      Type = 2
	TypeString      Type = 3
	TypeBool        Type = 4
	TypeTimestamp   Type = 5
	TypeFloatVector Type = 6
)

func (t Type) String() string {
	switch t {
	case TypeInt64:
		return "int64"
	case TypeDouble:
		return "double"
	case TypeString:
		return "string"
	case TypeBool:
		return "bool"
	case TypeTimestamp:
		return "timestamp"
	case TypeFloatVector:
		return "float_vector"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Step is one step of a chain: an op and its parameter values. A Step built by a
// caller is only a description; NewChain validates it and compiles its kernel.
type Step struct {
	Op   Op
	Args Args

	kernel Kernel
}

// Name is the step's op name as spelled in specs.
func (s Step) Name() string { return s.Op.Name() }

// Chain is a validated sequence of steps from an input type to an output type.
type Chain struct {
	In     Type
	InDim  int
	Out    Type
	OutDim int // dimension of a float_vector output (one_hot depth), else 0
	// Steps are the compiled steps, their Args normalized and defaults filled in.
	Steps []Step
}

// StepError is a step that cannot follow its predecessors or has invalid parameters.
// Index is the step's position in the chain, for the caller to locate it in a spec.
type StepError struct {
	Index int
	Msg   string
}

func (e *StepError) Error() string { return fmt.Sprintf("transform[%d]: %s", e.Index, e.Msg) }

// NewChain validates steps against the input type and returns the compiled chain. The
// first invalid step is reported as a *StepError; the type flows through the chain, so
// a step applied to the wrong type (log1p of a string) is an error here, never at run
// time.
func NewChain(in Type, inDim int, steps []Step) (*Chain, error) {
	c := &Chain{In: in, InDim: inDim, Steps: make([]Step, len(steps))}
	shape := Shape{Type: in, Dim: inDim}
	for i, s := range steps {
		if s.Op == nil {
			return nil, &StepError{Index: i, Msg: "step has no op"}
		}
		args, err := normalize(s.Op, s.Args)
		if err != nil {
			return nil, &StepError{Index: i, Msg: err.Error()}
		}
		k, out, err := s.Op.Compile(args, shape)
		if err != nil {
			return nil, &StepError{Index: i, Msg: err.Error()}
		}
		c.Steps[i] = Step{Op: s.Op, Args: args, kernel: k}
		shape = out
	}
	c.Out, c.OutDim = shape.Type, shape.Dim
	if c.Out != TypeFloatVector {
		c.OutDim = 0
	}
	return c, nil
}

// Apply runs the chain over in and returns a new column of type c.Out; in is not
// modified. It fails only when in is not of type c.In.
func (c *Chain) Apply(in Column) (Column, error) {
	if in.Type != c.In {
		return Column{}, fmt.Errorf("transform: input column is %s, chain expects %s", in.Type, c.In)
	}
	col := in
	for i := range c.Steps {
		col = c.Steps[i].kernel.Apply(col)
	}
	return col, nil
}

// String is the chain in a canonical form, for registry versions and messages.
func (c *Chain) String() string {
	if c == nil {
		return ""
	}
	parts := make([]string, len(c.Steps))
	for i, s := range c.Steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, " | ")
}

// String is the step and its parameters in a canonical form: name(p=v,...) with
// the parameters in the op's order, or the bare name for an op without parameters.
// Registry versions and lock hashes are computed from it, so it must not change for
// an existing op: a change would mark every lock file stale.
func (s Step) String() string {
	var parts []string
	for _, p := range s.Op.Params() {
		v, ok := s.Args[p.Name]
		if !ok {
			continue
		}
		parts = append(parts, p.Name+"="+p.Kind.format(v))
	}
	if len(parts) == 0 {
		return s.Op.Name()
	}
	return s.Op.Name() + "(" + strings.Join(parts, ",") + ")"
}
