package serving

import (
	"context"
	"math"
	"testing"
	"time"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

const transformSpecs = testSpecs + `
  - name: model_v2
    features:
      - {ref: behavior:score, name: score_z, transform: [{standardize: {mean: 0.5, std: 0.2}}]}
      - {ref: profile:age, name: age_bucket, transform: [{fill_null: {value: 0}}, {bucketize: {boundaries: [18, 40]}}]}
      - {ref: profile:city, name: city_onehot, transform: [{lookup: {vocabulary: [Lyon, Oslo]}}, {one_hot: {depth: 3}}]}
      - behavior:premium
`

func TestTransformWiring(t *testing.T) {
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(transformSpecs)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{reg: reg, store: online.NewMemory()}
	f.reader = NewReader(reg, f.store, WithClock(func() time.Time { return now }))
	f.put(t, "profile", "1", 11, now.Add(-time.Hour), online.Value{Int: 34}, online.Value{Str: "Oslo"}, online.Value{Vector: []float32{1, 2}})
	f.put(t, "behavior", "1", 22, now.Add(-time.Minute), online.Value{Float: 0.7}, online.Value{Bool: true}, online.Value{Int: 5})
	f.put(t, "profile", "2", 11, now.Add(-time.Hour), online.Value{Null: true}, online.Value{Str: "Paris"}, online.Value{Vector: []float32{3, 4}})
	resp, err := f.reader.Read(context.Background(), serviceReq("model_v2", users(1, 2, 3)))
	if err != nil {
		t.Fatal(err)
	}
	z, age, city := resp.Columns[0], resp.Columns[1], resp.Columns[2]
	if z.Name != "score_z" || math.Abs(z.GetDoubleValues().Values[0]-1) > 1e-12 || z.Statuses[1] != notFound {
		t.Errorf("score_z %v %v %v", z.Name, z.GetDoubleValues().Values, z.Statuses)
	}
	// User 2's age is null and user 3 has no profile: fill_null supplies 0 (bucket 0)
	// and says so, as training data holds the filled value for both.
	filled := floev1.FeatureStatus_FEATURE_STATUS_FILLED
	if a := age.GetInt64Values().Values; a[0] != 1 || a[1] != 0 || a[2] != 0 || age.Statuses[0] != present || age.Statuses[1] != filled || age.Statuses[2] != filled {
		t.Errorf("age %v %v", a, age.Statuses)
	}
	if v := city.GetFloatVectorValues(); v.Dim != 3 || v.Values[2] != 1 || v.Values[3] != 1 || v.Values[6]+v.Values[7]+v.Values[8] != 0 {
		t.Errorf("city %v", v)
	}
}

// An expired value is null to a chain, as in training data: a chain without
// fill_null returns no stale value and keeps EXPIRED, while a raw feature still
// carries the stale value.
func TestTransformExpiredIsNull(t *testing.T) {
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(transformSpecs)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{reg: reg, store: online.NewMemory()}
	f.reader = NewReader(reg, f.store, WithClock(func() time.Time { return now }))
	// behavior has a 1h TTL.
	f.put(t, "behavior", "1", 22, now.Add(-2*time.Hour), online.Value{Float: 0.7}, online.Value{Bool: true}, online.Value{Int: 5})
	resp, err := f.reader.Read(context.Background(), serviceReq("model_v2", users(1)))
	if err != nil {
		t.Fatal(err)
	}
	z, premium := resp.Columns[0], resp.Columns[3]
	if z.Statuses[0] != expired || z.GetDoubleValues().Values[0] != 0 {
		t.Errorf("transformed expired value: %v %v, want EXPIRED with no stale value", z.GetDoubleValues().Values, z.Statuses)
	}
	if premium.Statuses[0] != expired || !premium.GetBoolValues().Values[0] {
		t.Errorf("raw expired value: %v %v, want EXPIRED with the stale value", premium.GetBoolValues().Values, premium.Statuses)
	}
}
