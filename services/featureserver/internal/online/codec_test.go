package online

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"floe.dev/floe/services/featureserver/internal/registry"
)

func testView(t testing.TB) *registry.FeatureView {
	t.Helper()
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(`
entities: [{name: user, join_keys: [{name: user_id, type: int64}]}]
sources: [{name: t, table: ns.t}]
feature_views:
  - name: v
    entity: user
    source: t
    features:
      - {name: i, type: int64}
      - {name: d, type: double}
      - {name: s, type: string}
      - {name: b, type: bool}
      - {name: ts, type: timestamp}
      - {name: e, type: float_vector, dim: 3}
      - {name: n1, type: int64}
      - {name: n2, type: string}
      - {name: n3, type: double}
`)})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := reg.FeatureView("v")
	return v
}

type recordingSink struct{ got []any }

func (r *recordingSink) Null(int)               { r.got = append(r.got, nil) }
func (r *recordingSink) Int(_ int, v int64)     { r.got = append(r.got, v) }
func (r *recordingSink) Float(_ int, v float64) { r.got = append(r.got, v) }
func (r *recordingSink) Bool(_ int, v bool)     { r.got = append(r.got, v) }
func (r *recordingSink) String(_ int, v []byte) { r.got = append(r.got, string(v)) }
func (r *recordingSink) Vector(_ int, v []byte) {
	out := make([]float32, len(v)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(v[i*4:]))
	}
	r.got = append(r.got, out)
}

func TestCodecRoundTrip(t *testing.T) {
	v := testView(t)
	enc := NewRowEncoder(v)
	values := []Value{
		{Int: -42}, {Float: math.Inf(-1)}, {Str: "Zürich, 北京"}, {Bool: true}, {Int: 1_700_000_000_000_000},
		{Vector: []float32{0.5, -1, float32(math.NaN())}}, {Null: true}, {Null: true}, {Float: 0},
	}
	b, err := enc.Encode(123456789012345, -5, values)
	if err != nil {
		t.Fatal(err)
	}
	h, off, err := DecodeHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.SnapshotID != 123456789012345 || h.EventTime != -5 || h.SchemaHash != v.SchemaHash {
		t.Fatalf("header %+v", h)
	}
	var sink recordingSink
	if err := DecodeRow(v, b, off, len(v.Features), &sink); err != nil {
		t.Fatal(err)
	}
	vec := sink.got[5].([]float32)
	if vec[0] != 0.5 || vec[1] != -1 || !math.IsNaN(float64(vec[2])) {
		t.Fatalf("vector %v", vec)
	}
	sink.got[5] = nil
	want := []any{int64(-42), math.Inf(-1), "Zürich, 北京", true, int64(1_700_000_000_000_000), nil, nil, nil, 0.0}
	if !reflect.DeepEqual(sink.got, want) {
		t.Fatalf("decoded %#v\nwant %#v", sink.got, want)
	}
}

func TestCodecRejects(t *testing.T) {
	v := testView(t)
	enc := NewRowEncoder(v)
	if _, err := enc.Encode(1, 1, make([]Value, 2)); err == nil {
		t.Error("encoded a row with too few values")
	}
	values := make([]Value, len(v.Features))
	values[5] = Value{Vector: []float32{1}}
	if _, err := enc.Encode(1, 1, values); err == nil {
		t.Error("encoded a vector of the wrong dimension")
	}
	values[5] = Value{Vector: []float32{1, 2, 3}}
	b, err := enc.Encode(1, 1, values)
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation of a valid row must be reported, never read past its end.
	for n := 0; n < len(b); n++ {
		h, off, err := DecodeHeader(b[:n])
		if err == nil {
			err = DecodeRow(v, b[:n], off, len(v.Features), &recordingSink{})
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes (header %+v): err = %v", n, h, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	v := testView(f)
	values := make([]Value, len(v.Features))
	values[5] = Value{Vector: []float32{1, 2, 3}}
	b, _ := NewRowEncoder(v).Encode(7, 7, values)
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, off, err := DecodeHeader(b); err == nil {
			_ = DecodeRow(v, b, off, len(v.Features), &recordingSink{})
		}
	})
}
