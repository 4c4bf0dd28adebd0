package transform

import "fmt"

// one_hot {depth}: int64 index → float_vector of dim depth with a 1 at the index. An
// index outside [0, depth) gives all zeros (tf.one_hot).
type oneHotOp struct{}

func init() { register(oneHotOp{}) }

func (oneHotOp) Name() string { return "one_hot" }

func (oneHotOp) Doc() string { return "int64 index → float_vector of dim depth." }

func (oneHotOp) Params() []Param {
	return []Param{{Name: "depth", Kind: Integer, Required: true, Minimum: Float64(1)}}
}

func (oneHotOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if in.Type != TypeInt64 {
		return nil, Shape{}, fmt.Errorf("one_hot needs an int64 index input (from lookup, hash or bucketize), got %s", in.Type)
	}
	depth := a.Int("depth")
	if depth < 1 {
		return nil, Shape{}, fmt.Errorf("depth must be ≥ 1, got %d", depth)
	}
	if in.Card > 0 && depth < in.Card {
		return nil, Shape{}, fmt.Errorf("depth %d is less than the %d indices the previous step produces", depth, in.Card)
	}
	return oneHot{depth}, Shape{Type: TypeFloatVector, Dim: depth}, nil
}

type oneHot struct{ depth int }

func (k oneHot) Apply(c Column) Column {
	n := len(c.Ints)
	out := make([]float32, n*k.depth)
	for i, v := range c.Ints {
		if !c.IsNull(i) && v >= 0 && v < int64(k.depth) {
			out[i*k.depth+int(v)] = 1
		}
	}
	return Column{Type: TypeFloatVector, Vec: out, Dim: k.depth, Null: c.Null}
}
