package serving

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// fittedSpecs adds to transformSpecs a service whose parameters partly come from
// a lock file: a fitted standardize after a written clip, a fitted lookup before a
// written one_hot, and a raw feature.
const fittedSpecs = transformSpecs + `
  - name: model_fit
    features:
      - {ref: behavior:score, name: score_z, transform: [{clip: {min: 0, max: 1}}, {standardize: {fitted: true}}]}
      - {ref: profile:city, transform: [{lookup: {fitted: true, oov_buckets: 1}}, {one_hot: {depth: 4}}]}
      - profile:age
`

const fittedLock = `version: 1
spec_hash: "0"
fitted_at: "2026-11-21T10:00:00Z"
snapshots: {ns.behavior: 42, ns.profile: 7}
services:
  model_fit:
    score_z:
      - standardize: {mean: 0.5, std: 0.25}
    "profile:city":
      - lookup: {vocabulary: [Lyon, Oslo]}
`

func registryHandler(t *testing.T, lock string) *RegistryHandler {
	t.Helper()
	files := map[string][]byte{"specs/s.yaml": []byte(fittedSpecs)}
	hash, err := registry.LockHashOf(files, "specs/s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files["specs/s.lock.yaml"] = []byte(strings.Replace(lock, `spec_hash: "0"`, "spec_hash: "+hash, 1))
	reg, err := registry.Compile(files)
	if err != nil {
		t.Fatal(err)
	}
	return NewRegistryHandler(reg)
}

func getService(t *testing.T, h *RegistryHandler, name string) *floev1.FeatureService {
	t.Helper()
	res, err := h.GetFeatureService(context.Background(), connect.NewRequest(&floev1.GetFeatureServiceRequest{Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.FeatureService
}

func TestRegistryServiceOutputs(t *testing.T) {
	h := registryHandler(t, fittedLock)
	type output struct {
		name, ref string
		typ       floev1.ValueType
		dim       uint32
		transform []string
		fitted    []uint32
	}
	for _, tc := range []struct {
		service string
		want    []output
	}{
		{"model", []output{
			{"behavior:score", "behavior:score", floev1.ValueType_VALUE_TYPE_DOUBLE, 0, nil, nil},
			{"profile:age", "profile:age", floev1.ValueType_VALUE_TYPE_INT64, 0, nil, nil},
			{"profile:city", "profile:city", floev1.ValueType_VALUE_TYPE_STRING, 0, nil, nil},
			{"behavior:premium", "behavior:premium", floev1.ValueType_VALUE_TYPE_BOOL, 0, nil, nil},
		}},
		{"model_v2", []output{
			{"score_z", "behavior:score", floev1.ValueType_VALUE_TYPE_DOUBLE, 0, []string{"standardize(mean=0.5,std=0.2)"}, nil},
			{"age_bucket", "profile:age", floev1.ValueType_VALUE_TYPE_INT64, 0, []string{"fill_null(value=0)", "bucketize(boundaries=[18 40])"}, nil},
			{"city_onehot", "profile:city", floev1.ValueType_VALUE_TYPE_FLOAT_VECTOR, 3, []string{`lookup(vocabulary=["Lyon" "Oslo"],oov_buckets=1)`, "one_hot(depth=3)"}, nil},
			{"behavior:premium", "behavior:premium", floev1.ValueType_VALUE_TYPE_BOOL, 0, nil, nil},
		}},
		// The fitted steps carry the lock's parameters and are marked by index.
		{"model_fit", []output{
			{"score_z", "behavior:score", floev1.ValueType_VALUE_TYPE_DOUBLE, 0, []string{"clip(min=0,max=1)", "standardize(mean=0.5,std=0.25)"}, []uint32{1}},
			{"profile:city", "profile:city", floev1.ValueType_VALUE_TYPE_FLOAT_VECTOR, 4, []string{`lookup(vocabulary=["Lyon" "Oslo"],oov_buckets=1)`, "one_hot(depth=4)"}, []uint32{0}},
			{"profile:age", "profile:age", floev1.ValueType_VALUE_TYPE_INT64, 0, nil, nil},
		}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			svc := getService(t, h, tc.service)
			var got []output
			for _, o := range svc.Outputs {
				got = append(got, output{o.Name, o.Ref, o.ValueType, o.Dim, o.Transform, o.FittedSteps})
			}
			if !slices.EqualFunc(got, tc.want, func(a, b output) bool {
				return a.name == b.name && a.ref == b.ref && a.typ == b.typ && a.dim == b.dim && slices.Equal(a.transform, b.transform) && slices.Equal(a.fitted, b.fitted)
			}) {
				t.Errorf("outputs\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestRegistryServiceFit(t *testing.T) {
	h := registryHandler(t, fittedLock)
	fit := getService(t, h, "model_fit").GetFit()
	if fit == nil {
		t.Fatal("model_fit has fitted steps but no fit provenance")
	}
	if fit.LockFile != "specs/s.lock.yaml" {
		t.Errorf("lock file %q, want it as the server was given it", fit.LockFile)
	}
	if at := fit.FittedAt.AsTime(); !at.Equal(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("fitted at %v", at)
	}
	if want := map[string]int64{"ns.behavior": 42, "ns.profile": 7}; !maps.Equal(fit.Snapshots, want) {
		t.Errorf("snapshots %v, want %v", fit.Snapshots, want)
	}
	// Written parameters, transformed or not, have no provenance to show.
	for _, name := range []string{"model", "model_v2"} {
		if f := getService(t, h, name).GetFit(); f != nil {
			t.Errorf("%s has no fitted step but fit %v", name, f)
		}
	}

	// GetRegistry and ListFeatureServices carry the same message.
	all, err := h.GetRegistry(context.Background(), connect.NewRequest(&floev1.GetRegistryRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all.Msg.FeatureServices, func(s *floev1.FeatureService) bool { return s.Name == "model_fit" })
	if i < 0 || !proto.Equal(all.Msg.FeatureServices[i], getService(t, h, "model_fit")) {
		t.Errorf("GetRegistry's model_fit differs from GetFeatureService's")
	}

	// The loader does not check fitted_at; an unreadable one is left unset, the
	// rest of the provenance still served.
	h = registryHandler(t, strings.Replace(fittedLock, `"2026-11-21T10:00:00Z"`, "yesterday", 1))
	if fit := getService(t, h, "model_fit").GetFit(); fit == nil || fit.FittedAt != nil || fit.Snapshots["ns.behavior"] != 42 {
		t.Errorf("unreadable fitted_at: %v", fit)
	}
}

func TestRegistryServiceNotFound(t *testing.T) {
	h := registryHandler(t, fittedLock)
	_, err := h.GetFeatureService(context.Background(), connect.NewRequest(&floev1.GetFeatureServiceRequest{Name: "nope"}))
	if connect.CodeOf(err) != connect.CodeNotFound || !strings.Contains(err.Error(), "model_fit") {
		t.Errorf("unknown service: %v", err)
	}
}
