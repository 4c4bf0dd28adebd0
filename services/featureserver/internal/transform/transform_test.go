package transform

import (
	"math"
	"testing"
)

func TestApplyChecksInputType(t *testing.T) {
	c, err := NewChain(TypeDouble, 0, []Step{{Op: OpLog1p}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(Column{Type: TypeString, Strs: []string{"a"}}); err == nil {
		t.Fatal("string column accepted by a double chain")
	}
}

func TestApplyLeavesInputAlone(t *testing.T) {
	c, err := NewChain(TypeDouble, 0, []Step{{Op: OpFillNull, Fill: 2.0}, {Op: OpCast, To: TypeInt64}})
	if err != nil {
		t.Fatal(err)
	}
	in := Column{Type: TypeDouble, Floats: []float64{0, math.NaN(), 3.7}, Null: []bool{true, false, false}}
	out, err := c.Apply(in)
	if err != nil {
		t.Fatal(err)
	}
	if in.Floats[0] != 0 || !in.Null[0] || in.Null[1] {
		t.Fatalf("input modified: %+v", in)
	}
	if out.Type != TypeInt64 || out.Ints[0] != 2 || !out.IsNull(1) || out.Ints[2] != 3 || out.IsNull(2) {
		t.Fatalf("out: %+v", out)
	}
}

func TestChainTypes(t *testing.T) {
	c, err := NewChain(TypeString, 0, []Step{{Op: OpHash, Bins: 8, Function: HashFarmFingerprint64}, {Op: OpOneHot, Depth: 8}})
	if err != nil || c.Out != TypeFloatVector || c.OutDim != 8 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := NewChain(TypeString, 0, []Step{{Op: OpHash, Bins: 8, Function: HashFarmFingerprint64}, {Op: OpOneHot, Depth: 4}}); err == nil {
		t.Fatal("one_hot narrower than the hash bins accepted")
	}
	_, err = NewChain(TypeBool, 0, []Step{{Op: OpCast, To: TypeDouble}, {Op: OpStandardize, Mean: 0, Std: -1}})
	if e, ok := err.(*StepError); !ok || e.Index != 1 {
		t.Fatalf("want a StepError at 1, got %v", err)
	}
}

func BenchmarkStandardize1k(b *testing.B) {
	c, _ := NewChain(TypeDouble, 0, []Step{{Op: OpClip, Min: 0, Max: 100}, {Op: OpStandardize, Mean: 3, Std: 2}})
	in := Column{Type: TypeDouble, Floats: make([]float64, 1000)}
	for i := 0; i < b.N; i++ {
		_, _ = c.Apply(in)
	}
}
