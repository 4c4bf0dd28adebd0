package transform

import (
	"math"
	"testing"
)

// step builds a step of the op named name, for tests.
func step(t testing.TB, name string, args Args) Step {
	t.Helper()
	op, ok := OpNamed(name)
	if !ok {
		t.Fatalf("no op %q", name)
	}
	return Step{Op: op, Args: args}
}

func TestApplyChecksInputType(t *testing.T) {
	c, err := NewChain(TypeDouble, 0, []Step{step(t, "log1p", nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(Column{Type: TypeString, Strs: []string{"a"}}); err == nil {
		t.Fatal("string column accepted by a double chain")
	}
}

func TestApplyLeavesInputAlone(t *testing.T) {
	c, err := NewChain(TypeDouble, 0, []Step{step(t, "fill_null", Args{"value": 2.0}), step(t, "cast", Args{"to": "int64"})})
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
	hash8 := step(t, "hash", Args{"bins": 8, "function": HashFarmFingerprint64})
	c, err := NewChain(TypeString, 0, []Step{hash8, step(t, "one_hot", Args{"depth": 8})})
	if err != nil || c.Out != TypeFloatVector || c.OutDim != 8 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := NewChain(TypeString, 0, []Step{hash8, step(t, "one_hot", Args{"depth": 4})}); err == nil {
		t.Fatal("one_hot narrower than the hash bins accepted")
	}
	_, err = NewChain(TypeBool, 0, []Step{step(t, "cast", Args{"to": "double"}), step(t, "standardize", Args{"mean": 0.0, "std": -1.0})})
	if e, ok := err.(*StepError); !ok || e.Index != 1 {
		t.Fatalf("want a StepError at 1, got %v", err)
	}
	if _, err := NewChain(TypeDouble, 0, []Step{step(t, "clip", Args{"min": 0.0, "max": 1.0, "maximum": 2.0})}); err == nil {
		t.Fatal("an unknown parameter accepted")
	}
	if _, err := NewChain(TypeDouble, 0, []Step{step(t, "clip", Args{"min": "0", "max": 1.0})}); err == nil {
		t.Fatal("a string min accepted")
	}
}

// TestStepString pins the canonical form of every op: registry versions and the
// spec_hash of lock files are computed from it, so a change would mark existing locks
// stale.
func TestStepString(t *testing.T) {
	cases := []struct {
		in   Type
		step Step
		want string
	}{
		{TypeDouble, step(t, "standardize", Args{"mean": 3.5, "std": 2}), "standardize(mean=3.5,std=2)"},
		{TypeDouble, step(t, "min_max", Args{"min": -1, "max": 3.25}), "min_max(min=-1,max=3.25)"},
		{TypeDouble, step(t, "clip", Args{"min": 0.0, "max": 1e9}), "clip(min=0,max=1e+09)"},
		{TypeDouble, step(t, "log1p", nil), "log1p"},
		{TypeDouble, step(t, "abs", nil), "abs"},
		{TypeDouble, step(t, "bucketize", Args{"boundaries": []float64{0, 10, 100.5}}), "bucketize(boundaries=[0 10 100.5])"},
		{TypeString, step(t, "lookup", Args{"vocabulary": []string{"a", "b c"}}), `lookup(vocabulary=["a" "b c"],oov_buckets=1)`},
		{TypeInt64, step(t, "one_hot", Args{"depth": 3}), "one_hot(depth=3)"},
		{TypeString, step(t, "hash", Args{"bins": 8, "function": HashFarmFingerprint64}), "hash(bins=8,function=farmhash_fingerprint64)"},
		{TypeInt64, step(t, "fill_null", Args{"value": 0}), "fill_null(value=0)"},
		{TypeDouble, step(t, "fill_null", Args{"value": -1.5}), "fill_null(value=-1.5)"},
		{TypeString, step(t, "fill_null", Args{"value": "x"}), `fill_null(value="x")`},
		{TypeBool, step(t, "fill_null", Args{"value": false}), "fill_null(value=false)"},
		{TypeDouble, step(t, "cast", Args{"to": "int64"}), "cast(to=int64)"},
	}
	for _, c := range cases {
		ch, err := NewChain(c.in, 0, []Step{c.step})
		if err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		if got := ch.String(); got != c.want {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// TestAbs covers what the shared vectors cannot express: the sign of a zero.
func TestAbs(t *testing.T) {
	c, err := NewChain(TypeDouble, 0, []Step{step(t, "abs", nil)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := c.Apply(Column{Type: TypeDouble, Floats: []float64{math.Copysign(0, -1), -2.5, math.Inf(-1)}})
	if math.Signbit(out.Floats[0]) || out.Floats[1] != 2.5 || !math.IsInf(out.Floats[2], 1) {
		t.Fatalf("abs: %v", out.Floats)
	}
	c, err = NewChain(TypeInt64, 0, []Step{step(t, "abs", nil)})
	if err != nil || c.Out != TypeInt64 {
		t.Fatalf("%+v %v", c, err)
	}
	in := Column{Type: TypeInt64, Ints: []int64{math.MinInt64, -3, 0, math.MaxInt64}}
	out, _ = c.Apply(in)
	if !out.IsNull(0) || out.Ints[1] != 3 || out.IsNull(1) || out.Ints[3] != math.MaxInt64 || in.Null != nil {
		t.Fatalf("abs: %+v", out)
	}
	if _, err := NewChain(TypeString, 0, []Step{step(t, "abs", nil)}); err == nil {
		t.Fatal("abs of a string accepted")
	}
}

// TestOpTable checks what every op's file must declare for the table's users.
func TestOpTable(t *testing.T) {
	for _, op := range Ops() {
		if op.Doc() == "" {
			t.Errorf("%s has no Doc", op.Name())
		}
		params := op.Params()
		fitted := false
		for _, p := range params {
			if p.Kind < Number || p.Kind > Scalar {
				t.Errorf("%s.%s: no kind", op.Name(), p.Name)
			}
			fitted = fitted || p.Fitted
		}
		f, fittable := op.(Fittable)
		if fitted != fittable {
			t.Errorf("%s: Fitted parameters %v but Fittable %v", op.Name(), fitted, fittable)
		}
		if fittable {
			if _, err := normalize(op, f.Placeholder()); err != nil {
				t.Errorf("%s placeholder: %v", op.Name(), err)
			}
		}
	}
}

func BenchmarkStandardize1k(b *testing.B) {
	c, _ := NewChain(TypeDouble, 0, []Step{step(b, "clip", Args{"min": 0, "max": 100}), step(b, "standardize", Args{"mean": 3, "std": 2})})
	in := Column{Type: TypeDouble, Floats: make([]float64, 1000)}
	for i := 0; i < b.N; i++ {
		_, _ = c.Apply(in)
	}
}
