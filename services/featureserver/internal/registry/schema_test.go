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

	// Transforms: the service feature mapping, the step mapping, every step's
	// parameters and the lock file.
	var defs struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			OneOf      []struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"oneOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		t.Fatal(err)
	}
	check("service feature", keys(defs.Defs["service_feature"].Properties), fields(serviceFeatureSpec{}))
	var stepKeys string
	for _, alt := range defs.Defs["transform_step"].OneOf {
		if alt.Properties != nil {
			stepKeys = keys(alt.Properties)
		}
	}
	check("transform step", stepKeys, fields(transformStepSpec{}))
	st := reflect.TypeOf(transformStepSpec{})
	for i := 0; i < st.NumField(); i++ {
		tag := st.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		params := st.Field(i).Type.Elem()
		def, ok := defs.Defs["step_"+tag]
		if !ok {
			t.Errorf("schema has no $defs.step_%s", tag)
			continue
		}
		got := keys(def.Properties)
		if def.Properties == nil {
			got = ""
		}
		check("step "+tag, got, strings.Join(sortedKeys(yamlFields(params)), ","))
	}
	check("lock file", keys(defs.Defs["lock_file"].Properties), fields(lockFile{}))
}
