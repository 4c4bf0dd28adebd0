package registry

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadExamples(t *testing.T) {
	for _, dir := range []string{"pricing", "fraud"} {
		r, err := LoadDir("../../../../specs/examples/" + dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(r.FeatureServices) == 0 || len(r.FeatureViews) == 0 || r.Version == "" {
			t.Fatalf("%s: empty registry %+v", dir, r)
		}
	}
	r, _ := LoadDir("../../../../specs/examples/pricing")
	svc, ok := r.FeatureService("pricing_agent_v1")
	if !ok || svc.Features[0].Name() != "user_profile:age" || svc.Features[2].Name() != "user_behavior:sessions_7d" {
		t.Fatalf("feature service order not kept: %+v", svc)
	}
}

const validBase = `
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
sources:
  - {name: t, table: ns.t}
`

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings, each expected in the error
	}{
		{"unknown key", validBase + `
feature_views:
  - name: v
    entity: user
    source: t
    feautres: []
`, []string{"specs.yaml:12: feature_views[0].feautres: unknown field"}},
		{"unknown type and bad dim", validBase + `
feature_views:
  - name: v
    entity: user
    source: t
    features:
      - {name: a, type: flaot}
      - {name: e, type: float_vector}
`, []string{`specs.yaml:13: feature_views[0].features[0].type: unknown type "flaot"`, "specs.yaml:14: feature_views[0].features[1].dim: float_vector needs a positive dim"}},
		{"unknown entity and source", `
feature_views:
  - {name: v, entity: nobody, source: none, features: [{name: a, type: int64}]}
`, []string{`unknown entity "nobody"`, `unknown source "none"`}},
		{"bad ref in service", validBase + `
feature_views:
  - {name: v, entity: user, source: t, features: [{name: a, type: int64}]}
feature_services:
  - name: s
    features:
      - v:a
      - v:b
      - nocolon
`, []string{`specs.yaml:14: feature_services[0].features[1]: feature reference "v:b": feature view "v" has no feature "b"`, `"nocolon" is not of the form view:feature`}},
		{"bad ttl", validBase + `
feature_views:
  - {name: v, entity: user, source: t, ttl: 3 days, features: [{name: a, type: int64}]}
`, []string{`ttl: "3 days" is not a duration`}},
		{"wrong scalar type", validBase + `
feature_views:
  - {name: v, entity: user, source: t, features: [{name: a, type: float_vector, dim: many}]}
`, []string{`dim: expected an integer, found "many"`}},
		{"duplicate view", validBase + `
feature_views:
  - {name: v, entity: user, source: t, features: [{name: a, type: int64}]}
  - {name: v, entity: user, source: t, features: [{name: a, type: int64}]}
`, []string{`feature view "v" is defined twice`}},
		{"invalid yaml", "entities: [", []string{"specs.yaml", "not valid YAML"}},
		{"feature named like join key", validBase + `
feature_views:
  - {name: v, entity: user, source: t, features: [{name: user_id, type: int64}]}
`, []string{`has the name of the join key`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(map[string][]byte{"specs.yaml": []byte(tc.yaml)})
			if err == nil {
				t.Fatal("expected an error")
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("error does not wrap ErrInvalidSpec: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestVersionChangesWithSpec(t *testing.T) {
	base := validBase + "feature_views:\n  - {name: v, entity: user, source: t, features: [{name: a, type: int64}]}\n"
	a, err := Compile(map[string][]byte{"s.yaml": []byte(base)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Compile(map[string][]byte{"s.yaml": []byte(base)})
	c, err := Compile(map[string][]byte{"s.yaml": []byte(strings.Replace(base, "a, type: int64", "a, type: double", 1))})
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != b.Version || a.Version == c.Version {
		t.Fatalf("versions: same spec %s/%s, changed spec %s", a.Version, b.Version, c.Version)
	}
	va, _ := a.FeatureView("v")
	vc, _ := c.FeatureView("v")
	if va.SchemaHash == vc.SchemaHash {
		t.Fatal("schema hash did not change with a feature type")
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]string{"": "0s", "0": "0s", "30d": "720h0m0s", "90m": "1h30m0s"} {
		got, err := ParseTTL(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "-1h", "1.5d"} {
		if _, err := ParseTTL(bad); err == nil {
			t.Errorf("ParseTTL(%q) accepted", bad)
		}
	}
}
