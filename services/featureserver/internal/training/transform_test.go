package training

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// TestTransformedService checks that historical retrieval of a service with
// transforms returns, per row, the service's chain applied to the raw value the
// same join picks — nulls (no row, expired, null value) included, which fill_null
// fills — under the service's output names, and says so in the metadata.
func TestTransformedService(t *testing.T) {
	reg := loadRegistry(t)
	raw, _ := reg.FeatureService("trainer")
	svc, _ := reg.FeatureService("trainer_transformed")
	rng := rand.New(rand.NewPCG(5, 5))
	s := newStore(t)
	for _, v := range reg.FeatureViews {
		keyOf := func() any { return rng.Int64N(8) }
		if v.Entity.Key().Type == registry.TypeString {
			keyOf = func() any { return []string{"m0", "m1", "m2", "m3"}[rng.IntN(4)] }
		}
		rec := genFeatures(rng, v, 200, keyOf, func() int64 { return gridTime(rng, 0, 25) })
		ingestRecord(t, s, v, rec)
		rec.Release()
	}
	ent := genEntities(rng, 400)
	defer ent.Release()

	rawOut, _ := retrieve(t, s, Request{Service: raw, Entities: readerOf(t, ent, 100)})
	out, m := retrieve(t, s, Request{Service: svc, Entities: readerOf(t, ent, 100), BatchSize: 128})
	want := readOutput(t, rawOut)
	defer want.Release()
	got := readOutput(t, out)
	defer got.Release()

	cols := []string{"x_z", "s_index", "rate_bucket", "n_raw", "user_profile__emb"}
	if !slices.Equal(m.Columns, cols) {
		t.Errorf("manifest columns %q, want %q", m.Columns, cols)
	}
	var meta []string
	if v, ok := got.Schema().Metadata().GetValue("floe.feature_columns"); !ok || json.Unmarshal([]byte(v), &meta) != nil || !slices.Equal(meta, cols) {
		t.Errorf("floe.feature_columns metadata %q, want %q", v, cols)
	}
	// The vector column says its dimension; the others carry no field metadata.
	for _, f := range got.Schema().Fields() {
		dim, ok := f.Metadata.GetValue(VectorDimKey)
		if want := f.Name == "user_profile__emb"; ok != want || (want && dim != "2") {
			t.Errorf("column %s: %s metadata %q (set %v)", f.Name, VectorDimKey, dim, ok)
		}
	}
	byName := func(name string) int {
		idx := got.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q in %v", name, got.Schema())
		}
		return idx[0]
	}
	rawCol := func(name string) int {
		idx := want.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q in the raw output", name)
		}
		return idx[0]
	}
	x := want.Column(rawCol("user_stats__x")).(*array.Float64)
	xz := got.Column(byName("x_z")).(*array.Float64)
	str := want.Column(rawCol("user_stats__s")).(*array.String)
	sIdx := got.Column(byName("s_index")).(*array.Int64)
	rate := want.Column(rawCol("merchant_risk__rate")).(*array.Float64)
	bucket := got.Column(byName("rate_bucket")).(*array.Int64)
	n := want.Column(rawCol("user_stats__n")).(*array.Int64)
	nRaw := got.Column(byName("n_raw")).(*array.Int64)
	filled := 0
	for r := 0; r < int(got.NumRows()); r++ {
		// fill_null 0, then standardize (mean 1, std 2): a missing x is -0.5.
		wantX := -0.5
		if x.IsValid(r) {
			wantX = (x.Value(r) - 1) / 2
		} else {
			filled++
		}
		if xz.IsNull(r) || math.Abs(xz.Value(r)-wantX) > 1e-12 {
			t.Errorf("row %d: x_z %v (null %v), want %v from x %v", r, xz.Value(r), xz.IsNull(r), wantX, x.Value(r))
		}
		// lookup [s1, s2] with one OOV bucket: s1 → 1, s2 → 2, others → 0; null stays null.
		if str.IsNull(r) != sIdx.IsNull(r) {
			t.Errorf("row %d: s_index null %v, raw s null %v", r, sIdx.IsNull(r), str.IsNull(r))
		} else if str.IsValid(r) {
			wantIdx := map[string]int64{"s1": 1, "s2": 2}[str.Value(r)]
			if sIdx.Value(r) != wantIdx {
				t.Errorf("row %d: s_index %d for %q, want %d", r, sIdx.Value(r), str.Value(r), wantIdx)
			}
		}
		// bucketize [0.5]: below → 0, at or above → 1.
		if rate.IsNull(r) != bucket.IsNull(r) {
			t.Errorf("row %d: rate_bucket null %v, raw rate null %v", r, bucket.IsNull(r), rate.IsNull(r))
		} else if rate.IsValid(r) {
			wantB := int64(0)
			if rate.Value(r) >= 0.5 {
				wantB = 1
			}
			if bucket.Value(r) != wantB {
				t.Errorf("row %d: rate_bucket %d for %v, want %d", r, bucket.Value(r), rate.Value(r), wantB)
			}
		}
		if n.IsNull(r) != nRaw.IsNull(r) || (n.IsValid(r) && n.Value(r) != nRaw.Value(r)) {
			t.Errorf("row %d: renamed raw n_raw differs from user_stats__n", r)
		}
	}
	if filled == 0 {
		t.Error("no row had a missing x: the fill_null case was not exercised")
	}
	if !array.Equal(got.Column(byName("user_profile__emb")), want.Column(rawCol("user_profile__emb"))) {
		t.Error("raw float_vector column differs between the two services")
	}
}
