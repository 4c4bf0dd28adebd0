package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"floe.dev/floe/services/featureserver/internal/transform"
	"gopkg.in/yaml.v3"
)

const vectorsDir = "../../../../specs/testdata/transforms"

type vectorColumn struct {
	Type   string `json:"type"`
	Dim    int    `json:"dim"`
	Values []any  `json:"values"`
}

type vectorFile struct {
	Op        string `json:"op"`
	Tolerance struct {
		Rtol float64 `json:"rtol"`
		Atol float64 `json:"atol"`
	} `json:"tolerance"`
	Cases []struct {
		Name      string          `json:"name"`
		Transform json.RawMessage `json:"transform"`
		Input     vectorColumn    `json:"input"`
		Output    vectorColumn    `json:"output"`
	} `json:"cases"`
}

// compileVectorChain compiles a transform written as in a spec, through the same
// decoder and checks as spec files.
func compileVectorChain(transformJSON []byte, in Type) (*transform.Chain, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(transformJSON, &node); err != nil {
		return nil, err
	}
	var errs ErrorList
	var steps []transformStepSpec
	decodeStrict("vector", &node, reflect.ValueOf(&steps).Elem(), "transform", &errs)
	c := compiler{errs: &errs}
	var ch *transform.Chain
	if len(errs) == 0 {
		ch, _ = c.chain("vector", "transform", steps, FeatureRef{View: &FeatureView{Name: "v"}, Feature: &Feature{Name: "x", Type: in}}, nil, "svc")
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return ch, nil
}

func decodeFloat(v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, fmt.Errorf("not a float: %#v", v)
}

func toColumn(vc vectorColumn) (transform.Column, error) {
	t, ok := ParseType(vc.Type)
	if !ok {
		return transform.Column{}, fmt.Errorf("unknown type %q", vc.Type)
	}
	n := len(vc.Values)
	col := transform.Column{Type: transform.Type(t), Null: make([]bool, n), Dim: vc.Dim}
	for i, v := range vc.Values {
		if v == nil {
			col.Null[i] = true
		}
	}
	var err error
	switch t {
	case TypeDouble:
		col.Floats = make([]float64, n)
		for i, v := range vc.Values {
			if v != nil {
				if col.Floats[i], err = decodeFloat(v); err != nil {
					return col, err
				}
			}
		}
	case TypeInt64:
		col.Ints = make([]int64, n)
		for i, v := range vc.Values {
			if v != nil {
				if col.Ints[i], err = v.(json.Number).Int64(); err != nil {
					return col, err
				}
			}
		}
	case TypeString:
		col.Strs = make([]string, n)
		for i, v := range vc.Values {
			if v != nil {
				col.Strs[i] = v.(string)
			}
		}
	case TypeBool:
		col.Bools = make([]bool, n)
		for i, v := range vc.Values {
			if v != nil {
				col.Bools[i] = v.(bool)
			}
		}
	case TypeFloatVector:
		col.Vec = make([]float32, n*vc.Dim)
		for i, v := range vc.Values {
			if v == nil {
				continue
			}
			for j, x := range v.([]any) {
				f, err := decodeFloat(x)
				if err != nil {
					return col, err
				}
				col.Vec[i*vc.Dim+j] = float32(f)
			}
		}
	default:
		return col, fmt.Errorf("type %s not used in vectors", t)
	}
	return col, nil
}

func closeEnough(got, want, rtol, atol float64) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// TestSharedTransformVectors asserts every case of specs/testdata/transforms/*.json,
// the vectors the Python SDK's generated Keras layers assert too.
func TestSharedTransformVectors(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no vectors in %s: %v", vectorsDir, err)
	}
	ops := map[string]bool{}
	for _, path := range paths {
		if filepath.Base(path) == "invalid.json" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var vf vectorFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&vf); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ops[vf.Op] = true
		if vf.Tolerance.Rtol <= 0 || vf.Tolerance.Rtol > 1e-6 || vf.Tolerance.Atol > 1e-6 {
			t.Errorf("%s: tolerance %+v is not the stated 1e-6", path, vf.Tolerance)
		}
		for _, c := range vf.Cases {
			t.Run(vf.Op+"/"+c.Name, func(t *testing.T) {
				in, err := toColumn(c.Input)
				if err != nil {
					t.Fatalf("input: %v", err)
				}
				want, err := toColumn(c.Output)
				if err != nil {
					t.Fatalf("output: %v", err)
				}
				ch, err := compileVectorChain(c.Transform, Type(in.Type))
				if err != nil {
					t.Fatalf("compile %s: %v", c.Transform, err)
				}
				if ch.Out != want.Type || ch.OutDim != want.Dim {
					t.Fatalf("chain output %s dim %d, vectors say %s dim %d", ch.Out, ch.OutDim, want.Type, want.Dim)
				}
				got, err := ch.Apply(in)
				if err != nil {
					t.Fatal(err)
				}
				if got.Len() != want.Len() {
					t.Fatalf("got %d values, want %d", got.Len(), want.Len())
				}
				for i := 0; i < want.Len(); i++ {
					if got.IsNull(i) != want.IsNull(i) {
						t.Errorf("[%d] null = %v, want %v (input %v)", i, got.IsNull(i), want.IsNull(i), c.Input.Values[i])
						continue
					}
					if want.IsNull(i) {
						continue
					}
					ok := true
					var g, w any
					switch want.Type {
					case transform.TypeDouble:
						g, w = got.Floats[i], want.Floats[i]
						ok = closeEnough(got.Floats[i], want.Floats[i], vf.Tolerance.Rtol, vf.Tolerance.Atol)
					case transform.TypeInt64:
						g, w = got.Ints[i], want.Ints[i]
						ok = g == w
					case transform.TypeString:
						g, w = got.Strs[i], want.Strs[i]
						ok = g == w
					case transform.TypeBool:
						g, w = got.Bools[i], want.Bools[i]
						ok = g == w
					case transform.TypeFloatVector:
						gv, wv := got.Vec[i*want.Dim:(i+1)*want.Dim], want.Vec[i*want.Dim:(i+1)*want.Dim]
						g, w = gv, wv
						for j := range wv {
							ok = ok && closeEnough(float64(gv[j]), float64(wv[j]), vf.Tolerance.Rtol, vf.Tolerance.Atol)
						}
					}
					if !ok {
						t.Errorf("[%d] input %v: got %v, want %v", i, c.Input.Values[i], g, w)
					}
				}
			})
		}
	}
	for _, op := range transform.Ops() {
		if !ops[op.Name()] {
			t.Errorf("no shared vectors for step %s", op.Name())
		}
	}
}

// TestSharedInvalidTransforms asserts the chains every implementation must reject.
func TestSharedInvalidTransforms(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vectorsDir, "invalid.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name      string          `json:"name"`
			InputType string          `json:"input_type"`
			Transform json.RawMessage `json:"transform"`
			Error     string          `json:"error"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			in, _ := ParseType(c.InputType)
			_, err := compileVectorChain(c.Transform, in)
			if err == nil || !strings.Contains(err.Error(), c.Error) {
				t.Fatalf("got %v, want an error containing %q", err, c.Error)
			}
		})
	}
}
