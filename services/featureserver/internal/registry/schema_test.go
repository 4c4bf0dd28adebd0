package registry

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestJSONSchemaMatchesLoader keeps the editor schema and the loader in step: every
// key the loader accepts is in the schema and the schema has no key the loader
// would reject.
func TestJSONSchemaMatchesLoader(t *testing.T) {
	data, err := os.ReadFile("../../../../specs/schema/floe-spec.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]struct {
				Items struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(m any) string {
		v := reflect.ValueOf(m)
		var out []string
		for _, k := range v.MapKeys() {
			out = append(out, k.String())
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	fields := func(v any) string {
		return strings.Join(sortedKeys(yamlFields(reflect.TypeOf(v))), ",")
	}
	check := func(what, inSchema, inLoader string) {
		if inSchema != inLoader {
			t.Errorf("%s: schema has [%s], loader accepts [%s]", what, inSchema, inLoader)
		}
	}
	check("file", keys(schema.Properties), fields(specFile{}))
	check("entity", keys(schema.Defs["entity"].Properties), fields(entitySpec{}))
	check("join key", keys(schema.Defs["entity"].Properties["join_keys"].Items.Properties), fields(joinKeySpec{}))
	check("source", keys(schema.Defs["source"].Properties), fields(sourceSpec{}))
	check("feature view", keys(schema.Defs["feature_view"].Properties), fields(featureViewSpec{}))
	check("feature", keys(schema.Defs["feature"].Properties), fields(featureSpec{}))
	check("feature service", keys(schema.Defs["feature_service"].Properties), fields(featureServiceSpec{}))
}
