package registry

import (
	"bytes"
	"encoding/json"
	"flag"
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

	// The service feature mapping and the lock file; the steps are generated from
	// the transform table (TestJSONSchemaStepsMatchTable).
	var defs struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		t.Fatal(err)
	}
	check("service feature", keys(defs.Defs["service_feature"].Properties), fields(serviceFeatureSpec{}))
	check("lock file", keys(defs.Defs["lock_file"].Properties), fields(lockFile{}))
}

var update = flag.Bool("update", false, "rewrite the transform steps of specs/schema/floe-spec.schema.json from the transform table")

// TestJSONSchemaStepsMatchTable keeps the schema's transform steps ($defs.step_<op>,
// $defs.transform_step) equal to what the transform table generates: a new op, or a
// parameter added to one, fails here until the schema is regenerated with
//
//	go test ./services/featureserver/internal/registry -run TestJSONSchemaStepsMatchTable -update
func TestJSONSchemaStepsMatchTable(t *testing.T) {
	const path = "../../../../specs/schema/floe-spec.schema.json"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := readSchema(data)
	if err != nil {
		t.Fatal(err)
	}
	doc, err = withStepDefs(doc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := writeSchema(doc)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(data, want) {
		return
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is not what the transform table generates; run\n\tgo test ./services/featureserver/internal/registry -run TestJSONSchemaStepsMatchTable -update", path)
}
