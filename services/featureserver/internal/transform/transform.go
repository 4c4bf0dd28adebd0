// Package transform is Floe's one implementation of the declarative feature transforms
// of specs (DESIGN.md, "One implementation of each transform"). Online serving, as_of
// reads and training-set generation all run a Chain from this package; copies in other
// languages (Keras preprocessing layers generated for the Python SDK) are proven equal
// by the shared vectors in specs/testdata/transforms.
//
// A Chain is compiled once per feature service feature (by the registry) and applied
// to whole columns: typed slices plus a null mask, never one value at a time.
//
// # Semantics
//
// Values and nulls are distinct. A null (missing, expired or null value) stays null
// through every step except fill_null, which replaces it; the value stored at a null
// position is unspecified (zero in practice) and must be ignored. NaN is a value, not a
// null: fill_null does not touch it.
//
//   - standardize {mean, std}: (x - mean) / std as double. NaN → NaN, ±Inf → ±Inf.
//   - min_max {min, max}: (x - min) / (max - min) as double, not clipped: values outside
//     [min, max] map outside [0, 1]. NaN → NaN, ±Inf → ±Inf.
//   - clip {min, max}: min(max(x, min), max) as double. NaN → NaN, -Inf → min, +Inf → max.
//   - log1p: ln(1 + x) as double (math.Log1p). x < -1 → NaN, x = -1 → -Inf,
//     +Inf → +Inf, NaN → NaN.
//   - bucketize {boundaries}: int64 bucket index i such that boundaries[i-1] <= x <
//     boundaries[i] (Keras Discretization / numpy digitize with right=False); a value
//     exactly on a boundary goes to the bucket above it. -Inf → 0, +Inf →
//     len(boundaries), and NaN → len(boundaries) (NaN compares false with every
//     boundary, as in Keras, TensorFlow and numpy). Indices run 0..len(boundaries).
//   - lookup {vocabulary, oov_buckets}: string → int64 (Keras StringLookup with
//     num_oov_indices=oov_buckets, mask_token=None). Out-of-vocabulary strings take
//     indices 0..oov_buckets-1, chosen by FarmHash Fingerprint64(s) mod oov_buckets;
//     vocabulary[i] takes index oov_buckets+i. Matching is byte-exact on UTF-8: no case
//     folding, trimming or Unicode normalization, so "É" (U+00C9) and "É" (E + U+0301)
//     differ. The empty string is an ordinary string: in the vocabulary if listed,
//     otherwise out of vocabulary.
//   - one_hot {depth}: int64 index → float_vector of dim depth with a 1 at the index.
//     An index outside [0, depth) gives all zeros (tf.one_hot).
//   - hash {bins, function: farmhash_fingerprint64}: string → int64 in [0, bins),
//     Fingerprint64(UTF-8 bytes) mod bins (Keras Hashing, salt=None). int64 input is
//     hashed as its decimal string, as Keras does.
//   - fill_null {value}: nulls become value; the column has no nulls after it.
//   - cast {to}: to double from int64, double or bool (true → 1); to int64 from int64,
//     bool or double (truncated toward zero; NaN, ±Inf and values outside the int64
//     range become null).
//
// Bool, timestamp and float_vector inputs are accepted only by fill_null and cast (bool),
// so a type mismatch is rejected when the chain is built, not when it runs.
package transform

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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

// Op names a step as spelled in specs.
type Op string

// The closed set of steps.
const (
	OpStandardize Op = "standardize"
	OpMinMax      Op = "min_max"
	OpClip        Op = "clip"
	OpLog1p       Op = "log1p"
	OpBucketize   Op = "bucketize"
	OpLookup      Op = "lookup"
	OpOneHot      Op = "one_hot"
	OpHash        Op = "hash"
	OpFillNull    Op = "fill_null"
	OpCast        Op = "cast"
)

// Ops lists every step in the order specs document them.
var Ops = []Op{OpStandardize, OpMinMax, OpClip, OpLog1p, OpBucketize, OpLookup, OpOneHot, OpHash, OpFillNull, OpCast}

// HashFarmFingerprint64 is the only hash function today: FarmHash Fingerprint64, which
// Keras' Hashing layer reproduces.
const HashFarmFingerprint64 = "farmhash_fingerprint64"

// Step is one step with its parameters; only the fields of its Op are meaningful.
type Step struct {
	Op Op

	Mean, Std  float64   // standardize
	Min, Max   float64   // min_max, clip
	Boundaries []float64 // bucketize: strictly increasing
	Vocabulary []string  // lookup: distinct
	OOVBuckets int       // lookup: ≥ 1
	Depth      int       // one_hot: ≥ 1
	Bins       int       // hash: ≥ 1
	Function   string    // hash: HashFarmFingerprint64
	// Fill is fill_null's value: float64 or int64 for numeric columns (an integral
	// float64 is accepted for int64), string, or bool.
	Fill any
	To   Type // cast: TypeDouble or TypeInt64

	vocab         map[string]int64
	fillF         float64
	fillI         int64
	fillS         string
	fillB         bool
	in, out       Type
	outDim, cardi int
}

// Chain is a validated sequence of steps from an input type to an output type.
type Chain struct {
	In     Type
	InDim  int
	Out    Type
	OutDim int // dimension of a float_vector output (one_hot depth), else 0
	Steps  []Step
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
	t, dim, card := in, inDim, 0
	for i, s := range steps {
		if err := s.compile(t, card); err != "" {
			return nil, &StepError{Index: i, Msg: err}
		}
		c.Steps[i] = s
		t, dim, card = s.out, s.outDim, s.cardi
	}
	if t != TypeFloatVector {
		dim = 0
	}
	c.Out, c.OutDim = t, dim
	return c, nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func numeric(t Type) bool { return t == TypeInt64 || t == TypeDouble }

// compile checks s against its input type (and the number of categories the input
// can take, 0 when unbounded) and fills its derived fields. It returns "" when valid.
func (s *Step) compile(in Type, card int) string {
	s.in = in
	needNumeric := func() string {
		if !numeric(in) {
			return fmt.Sprintf("%s needs an int64 or double input, got %s", s.Op, in)
		}
		return ""
	}
	switch s.Op {
	case OpStandardize:
		if e := needNumeric(); e != "" {
			return e
		}
		if !finite(s.Mean, s.Std) {
			return "mean and std must be finite"
		}
		if s.Std <= 0 {
			return fmt.Sprintf("std must be > 0, got %v", s.Std)
		}
		s.out = TypeDouble
	case OpMinMax, OpClip:
		if e := needNumeric(); e != "" {
			return e
		}
		if !finite(s.Min, s.Max) {
			return "min and max must be finite"
		}
		if s.Min >= s.Max {
			return fmt.Sprintf("min (%v) must be < max (%v)", s.Min, s.Max)
		}
		s.out = TypeDouble
	case OpLog1p:
		if e := needNumeric(); e != "" {
			return e
		}
		s.out = TypeDouble
	case OpBucketize:
		if e := needNumeric(); e != "" {
			return e
		}
		if len(s.Boundaries) == 0 {
			return "boundaries must not be empty"
		}
		for i, b := range s.Boundaries {
			if !finite(b) {
				return fmt.Sprintf("boundaries[%d] must be finite", i)
			}
			if i > 0 && b <= s.Boundaries[i-1] {
				return fmt.Sprintf("boundaries must be strictly increasing: boundaries[%d] = %v follows %v", i, b, s.Boundaries[i-1])
			}
		}
		s.out, s.cardi = TypeInt64, len(s.Boundaries)+1
	case OpLookup:
		if in != TypeString {
			return fmt.Sprintf("lookup needs a string input, got %s", in)
		}
		if len(s.Vocabulary) == 0 {
			return "vocabulary must not be empty"
		}
		if s.OOVBuckets < 1 {
			return fmt.Sprintf("oov_buckets must be ≥ 1, got %d", s.OOVBuckets)
		}
		s.vocab = make(map[string]int64, len(s.Vocabulary))
		for i, v := range s.Vocabulary {
			if _, dup := s.vocab[v]; dup {
				return fmt.Sprintf("vocabulary lists %q twice", v)
			}
			s.vocab[v] = int64(s.OOVBuckets + i)
		}
		s.out, s.cardi = TypeInt64, s.OOVBuckets+len(s.Vocabulary)
	case OpOneHot:
		if in != TypeInt64 {
			return fmt.Sprintf("one_hot needs an int64 index input (from lookup, hash or bucketize), got %s", in)
		}
		if s.Depth < 1 {
			return fmt.Sprintf("depth must be ≥ 1, got %d", s.Depth)
		}
		if card > 0 && s.Depth < card {
			return fmt.Sprintf("depth %d is less than the %d indices the previous step produces", s.Depth, card)
		}
		s.out, s.outDim = TypeFloatVector, s.Depth
	case OpHash:
		if in != TypeString && in != TypeInt64 {
			return fmt.Sprintf("hash needs a string or int64 input, got %s", in)
		}
		if s.Bins < 1 {
			return fmt.Sprintf("bins must be ≥ 1, got %d", s.Bins)
		}
		if s.Function != HashFarmFingerprint64 {
			return fmt.Sprintf("function %q is not supported (use %s)", s.Function, HashFarmFingerprint64)
		}
		s.out, s.cardi = TypeInt64, s.Bins
	case OpFillNull:
		s.out, s.cardi = in, card
		switch v := s.Fill.(type) {
		case float64:
			switch {
			case in == TypeDouble:
				s.fillF = v
			case in == TypeInt64 && v == math.Trunc(v) && math.Abs(v) < 1<<63:
				s.fillI = int64(v)
			default:
				return fmt.Sprintf("value %v does not fit a %s input", v, in)
			}
		case int64:
			switch in {
			case TypeInt64:
				s.fillI = v
			case TypeDouble:
				s.fillF = float64(v)
			default:
				return fmt.Sprintf("value %v does not fit a %s input", v, in)
			}
		case int:
			s.Fill = int64(v)
			return s.compile(in, card)
		case string:
			if in != TypeString {
				return fmt.Sprintf("value %q does not fit a %s input", v, in)
			}
			s.fillS = v
		case bool:
			if in != TypeBool {
				return fmt.Sprintf("value %v does not fit a %s input", v, in)
			}
			s.fillB = v
		case nil:
			return "value is required"
		default:
			return fmt.Sprintf("value %v is not a number, string or bool", v)
		}
		if in == TypeTimestamp || in == TypeFloatVector {
			return fmt.Sprintf("fill_null does not apply to %s inputs", in)
		}
	case OpCast:
		if s.To != TypeDouble && s.To != TypeInt64 {
			return fmt.Sprintf("cast to %s is not supported (use double or int64)", s.To)
		}
		if !numeric(in) && in != TypeBool {
			return fmt.Sprintf("cast needs an int64, double or bool input, got %s", in)
		}
		s.out = s.To
		if in == TypeInt64 && s.To == TypeInt64 {
			s.cardi = card
		}
	default:
		return fmt.Sprintf("unknown step %q", s.Op)
	}
	return ""
}

// Column is a typed column of n values with a null mask. Exactly one value slice is
// set, by Type: Ints (int64, timestamp), Floats (double), Strs (string), Bools (bool)
// or Vec (float_vector, n*Dim values, row-major). Null is nil when no value is null,
// else has length n with true at each null.
type Column struct {
	Type   Type
	Ints   []int64
	Floats []float64
	Strs   []string
	Bools  []bool
	Vec    []float32
	Dim    int
	Null   []bool
}

// Len returns the number of values.
func (c *Column) Len() int {
	switch c.Type {
	case TypeInt64, TypeTimestamp:
		return len(c.Ints)
	case TypeDouble:
		return len(c.Floats)
	case TypeString:
		return len(c.Strs)
	case TypeBool:
		return len(c.Bools)
	case TypeFloatVector:
		if c.Dim == 0 {
			return 0
		}
		return len(c.Vec) / c.Dim
	}
	return 0
}

// IsNull reports whether value i is null.
func (c *Column) IsNull(i int) bool { return c.Null != nil && c.Null[i] }

// Apply runs the chain over in and returns a new column of type c.Out; in is not
// modified. It fails only when in is not of type c.In.
func (c *Chain) Apply(in Column) (Column, error) {
	if in.Type != c.In {
		return Column{}, fmt.Errorf("transform: input column is %s, chain expects %s", in.Type, c.In)
	}
	col := in
	for i := range c.Steps {
		col = c.Steps[i].apply(col)
	}
	return col, nil
}

// asFloats returns a numeric column's values as float64.
func asFloats(c Column) []float64 {
	if c.Type == TypeDouble {
		return c.Floats
	}
	out := make([]float64, len(c.Ints))
	for i, v := range c.Ints {
		out[i] = float64(v)
	}
	return out
}

// floatsIn returns a numeric column's values as float64 and a fresh output slice of
// the same length. An int64 input is converted into the output slice, which the
// caller then overwrites in place.
func floatsIn(c Column) (in, out []float64) {
	if c.Type == TypeDouble {
		return c.Floats, make([]float64, len(c.Floats))
	}
	out = asFloats(c)
	return out, out
}

func mapFloats(c Column, f func(float64) float64) Column {
	xs := asFloats(c)
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return Column{Type: TypeDouble, Floats: out, Null: c.Null}
}

func (s *Step) apply(c Column) Column {
	switch s.Op {
	case OpStandardize:
		xs, out := floatsIn(c)
		mean, std := s.Mean, s.Std
		for i, x := range xs {
			out[i] = (x - mean) / std
		}
		return Column{Type: TypeDouble, Floats: out, Null: c.Null}
	case OpMinMax:
		xs, out := floatsIn(c)
		lo, span := s.Min, s.Max-s.Min
		for i, x := range xs {
			out[i] = (x - lo) / span
		}
		return Column{Type: TypeDouble, Floats: out, Null: c.Null}
	case OpClip:
		xs, out := floatsIn(c)
		lo, hi := s.Min, s.Max
		for i, x := range xs {
			switch {
			case x < lo:
				x = lo
			case x > hi:
				x = hi
			}
			out[i] = x // NaN compares false both ways and passes through
		}
		return Column{Type: TypeDouble, Floats: out, Null: c.Null}
	case OpLog1p:
		return mapFloats(c, math.Log1p)
	case OpBucketize:
		xs := asFloats(c)
		out := make([]int64, len(xs))
		for i, x := range xs {
			if math.IsNaN(x) {
				out[i] = int64(len(s.Boundaries))
				continue
			}
			// number of boundaries <= x
			out[i] = int64(sortSearch(s.Boundaries, x))
		}
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	case OpLookup:
		out := make([]int64, len(c.Strs))
		for i, v := range c.Strs {
			if c.IsNull(i) {
				continue
			}
			if idx, ok := s.vocab[v]; ok {
				out[i] = idx
			} else if s.OOVBuckets > 1 {
				out[i] = int64(FarmHashFingerprint64([]byte(v)) % uint64(s.OOVBuckets))
			}
		}
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	case OpOneHot:
		n := len(c.Ints)
		out := make([]float32, n*s.Depth)
		for i, v := range c.Ints {
			if !c.IsNull(i) && v >= 0 && v < int64(s.Depth) {
				out[i*s.Depth+int(v)] = 1
			}
		}
		return Column{Type: TypeFloatVector, Vec: out, Dim: s.Depth, Null: c.Null}
	case OpHash:
		bins := uint64(s.Bins)
		var out []int64
		if c.Type == TypeString {
			out = make([]int64, len(c.Strs))
			for i, v := range c.Strs {
				if !c.IsNull(i) {
					out[i] = int64(FarmHashFingerprint64([]byte(v)) % bins)
				}
			}
		} else {
			out = make([]int64, len(c.Ints))
			var buf []byte
			for i, v := range c.Ints {
				if !c.IsNull(i) {
					buf = strconv.AppendInt(buf[:0], v, 10)
					out[i] = int64(FarmHashFingerprint64(buf) % bins)
				}
			}
		}
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	case OpFillNull:
		out := Column{Type: c.Type, Dim: c.Dim}
		switch c.Type {
		case TypeInt64:
			out.Ints = slices.Clone(c.Ints)
		case TypeDouble:
			out.Floats = slices.Clone(c.Floats)
		case TypeString:
			out.Strs = slices.Clone(c.Strs)
		case TypeBool:
			out.Bools = slices.Clone(c.Bools)
		}
		for i, null := range c.Null {
			if !null {
				continue
			}
			switch c.Type {
			case TypeInt64:
				out.Ints[i] = s.fillI
			case TypeDouble:
				out.Floats[i] = s.fillF
			case TypeString:
				out.Strs[i] = s.fillS
			case TypeBool:
				out.Bools[i] = s.fillB
			}
		}
		return out
	case OpCast:
		return s.cast(c)
	}
	panic("transform: unknown step " + string(s.Op))
}

func sortSearch(bounds []float64, x float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (s *Step) cast(c Column) Column {
	n := c.Len()
	if s.To == TypeDouble {
		if c.Type == TypeBool {
			out := make([]float64, n)
			for i, b := range c.Bools {
				if b {
					out[i] = 1
				}
			}
			return Column{Type: TypeDouble, Floats: out, Null: c.Null}
		}
		return Column{Type: TypeDouble, Floats: slices.Clone(asFloats(c)), Null: c.Null}
	}
	out := make([]int64, n)
	switch c.Type {
	case TypeInt64:
		copy(out, c.Ints)
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	case TypeBool:
		for i, b := range c.Bools {
			if b {
				out[i] = 1
			}
		}
		return Column{Type: TypeInt64, Ints: out, Null: c.Null}
	}
	var null []bool
	for i, x := range c.Floats {
		t := math.Trunc(x)
		// float64(1<<63) is exactly 2^63, the first value past the int64 range.
		if math.IsNaN(x) || t >= 1<<63 || t < -(1<<63) {
			if null == nil {
				null = make([]bool, n)
				copy(null, c.Null)
			}
			null[i] = true
			continue
		}
		out[i] = int64(t)
	}
	if null == nil {
		null = c.Null
	}
	return Column{Type: TypeInt64, Ints: out, Null: null}
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

// String is the step and its parameters in a canonical form.
func (s Step) String() string {
	switch s.Op {
	case OpStandardize:
		return fmt.Sprintf("standardize(mean=%v,std=%v)", s.Mean, s.Std)
	case OpMinMax, OpClip:
		return fmt.Sprintf("%s(min=%v,max=%v)", s.Op, s.Min, s.Max)
	case OpBucketize:
		return fmt.Sprintf("bucketize(boundaries=%v)", s.Boundaries)
	case OpLookup:
		return fmt.Sprintf("lookup(vocabulary=%q,oov_buckets=%d)", s.Vocabulary, s.OOVBuckets)
	case OpOneHot:
		return fmt.Sprintf("one_hot(depth=%d)", s.Depth)
	case OpHash:
		return fmt.Sprintf("hash(bins=%d,function=%s)", s.Bins, s.Function)
	case OpFillNull:
		return fmt.Sprintf("fill_null(value=%#v)", s.Fill)
	case OpCast:
		return fmt.Sprintf("cast(to=%s)", s.To)
	}
	return string(s.Op)
}
