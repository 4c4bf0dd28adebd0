package integration

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// TestSchemaEvolution adds a feature to a spec whose table already holds data: the
// server adds the column without rewriting data and old rows read it as null. A
// type change is refused at start with the reason.
func TestSchemaEvolution(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "specs", "examples", "pricing", "pricing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	specs := t.TempDir()
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(specs, "pricing.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(string(src))
	p := newProject(t, specs, "online: {type: memory}")
	files := p.exampleData("pricing", 20)
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", files["user_profile"])

	added := strings.Replace(string(src), "      - name: city\n        type: string\n", "      - name: city\n        type: string\n      - name: loyalty_tier\n        type: string\n", 1)
	if added == string(src) {
		t.Fatal("could not add a feature to the spec")
	}
	write(added)
	srv := p.serve()
	srv.waitReady()
	c := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
	resp, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:city", "user_profile:loyalty_tier"}}},
		Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1}}}}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s := resp.Msg.Columns[1].Statuses[0]; s != floev1.FeatureStatus_FEATURE_STATUS_NULL {
		t.Fatalf("new feature on an old row: status %v, want NULL", s)
	}
	if s := resp.Msg.Columns[0].Statuses[0]; s != floev1.FeatureStatus_FEATURE_STATUS_PRESENT {
		t.Fatalf("old feature after evolution: status %v", s)
	}
	srv.stop()

	// long → double is not a widening Iceberg allows in place.
	narrowed := strings.Replace(added, "      - name: age\n        type: int64\n", "      - name: age\n        type: double\n", 1)
	write(narrowed)
	_, errOut, err := p.run("serve", "--config", p.config)
	if err == nil {
		t.Fatal("serve accepted an incompatible type change")
	}
	if !strings.Contains(errOut, "age") || !strings.Contains(errOut, "user_profile") {
		t.Fatalf("refusal does not name the view and column:\n%s", errOut)
	}
	t.Logf("refusal: %s", strings.TrimSpace(errOut))
}
