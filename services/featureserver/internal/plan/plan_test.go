package plan

import (
	"strings"
	"testing"

	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
)

const base = `
entities:
  - name: user
    join_keys: [{name: user_id, type: int64}]
sources:
  - {name: t, table: ns.t}
feature_views:
  - name: stats
    entity: user
    source: t
    ttl: 1d
    features:
      - {name: a, type: int64}
      - {name: b, type: double}
feature_services:
  - name: model_v1
    features: [stats:a, stats:b]
`

func compile(t *testing.T, yaml string) *registry.Registry {
	t.Helper()
	reg, err := registry.Compile(map[string][]byte{"/p/specs/p.yaml": []byte(yaml)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestRegistries(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
		want []string // the changes, as Change.String
	}{
		{"unchanged", func(s string) string { return s }, nil},
		{"description only", func(s string) string {
			return strings.Replace(s, "name: stats\n", "name: stats\n    description: New words.\n", 1)
		}, nil},
		{"feature added, service untouched", func(s string) string {
			return strings.Replace(s, "      - {name: b, type: double}\n", "      - {name: b, type: double}\n      - {name: c, type: string}\n", 1)
		}, []string{"feature view stats: feature c added (string) [rematerialize]"}},
		{"feature retyped, read by the service", func(s string) string {
			return strings.Replace(s, "{name: b, type: double}", "{name: b, type: int64}", 1)
		}, []string{
			"feature view stats: feature b retyped double → int64 [rematerialize]",
			"feature service model_v1: outputs change: + stats:b int64; - stats:b double — models trained on it would receive other inputs; publish it under a new name [breaking]",
		}},
		{"transform added to an output", func(s string) string {
			return strings.Replace(s, "features: [stats:a, stats:b]", "features: [stats:a, {ref: stats:b, transform: [log1p]}]", 1)
		}, []string{"feature service model_v1: outputs change: + stats:b double = stats:b | log1p; - stats:b double — models trained on it would receive other inputs; publish it under a new name [breaking]"}},
		{"service added, ttl changed", func(s string) string {
			return strings.Replace(s, "ttl: 1d", "ttl: 2d", 1) + "  - name: model_v2\n    features: [stats:a]\n"
		}, []string{
			"feature view stats: ttl 86400s → 172800s (values are judged by the new TTL at once) [safe]",
			"feature service model_v2: added (1 outputs) [safe]",
		}},
		{"service removed", func(s string) string {
			return strings.Replace(s, "feature_services:\n  - name: model_v1\n    features: [stats:a, stats:b]\n", "", 1)
		}, []string{"feature service model_v1: removed: models reading it would fail [breaking]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := serving.RegistryProto(compile(t, base))
			to := serving.RegistryProto(compile(t, tc.edit(base)))
			var got []string
			for _, c := range Registries(from, to) {
				got = append(got, c.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
