package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// TestFitWorkflow runs what a user does with fitted parameters on a spec that has
// no lock yet: ingest works, serve refuses with "run floe fit", floe fit writes the
// lock from the current snapshots, and the server then serves the fitted chain.
func TestFitWorkflow(t *testing.T) {
	specs := t.TempDir()
	spec, err := os.ReadFile(filepath.Join(repoRoot(t), "specs", "examples", "fraud", "fraud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specs, "fraud.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProject(t, specs, "online: {type: memory}")
	files := p.exampleData("fraud", 200)
	for _, view := range []string{"card_activity", "merchant_risk"} {
		p.must("ingest", "--config", p.config, "--view", view, "--file", files[view])
	}

	_, errOut, err := p.run("serve", "--config", p.config)
	if err == nil || !strings.Contains(errOut, "run floe fit") || !strings.Contains(errOut, "fraud.yaml:") {
		t.Fatalf("serve without a lock: err %v, stderr:\n%s", err, errOut)
	}

	out := p.must("fit", "--config", p.config, "--dry-run")
	if _, err := os.Stat(filepath.Join(specs, "fraud.lock.yaml")); !os.IsNotExist(err) {
		t.Fatalf("--dry-run wrote the lock (stat: %v)", err)
	}
	if !strings.Contains(out, "would write") || !strings.Contains(out, "amount_avg_30d_z") {
		t.Errorf("fit --dry-run printed:\n%s", out)
	}
	out = p.must("fit", "--config", p.config)
	lock, err := os.ReadFile(filepath.Join(specs, "fraud.lock.yaml"))
	if err != nil {
		t.Fatalf("fit printed %q and wrote no lock: %v", out, err)
	}
	for _, want := range []string{"fraud.card_activity:", "fraud.merchant_risk:", "standardize:", "bucketize:", "min_max:", "lookup:"} {
		if !strings.Contains(string(lock), want) {
			t.Errorf("lock lacks %q:\n%s", want, lock)
		}
	}

	srv := p.serve()
	srv.waitReady()
	p.must("materialize", "--config", p.config, "--server", srv.url)
	reg, err := floev1connect.NewRegistryServiceClient(http.DefaultClient, srv.url).GetRegistry(context.Background(), connect.NewRequest(&floev1.GetRegistryRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var v2 *floev1.FeatureService
	for _, s := range reg.Msg.FeatureServices {
		if s.Name == "fraud_detector_v2" {
			v2 = s
		}
	}
	if v2 == nil || len(v2.Outputs) != 8 {
		t.Fatalf("fraud_detector_v2 not served: %v", v2)
	}
	// The registry says where the fitted parameters came from: the lock just
	// written and the snapshots it pinned.
	if fit := v2.GetFit(); fit == nil || fit.LockFile != filepath.Join(specs, "fraud.lock.yaml") || fit.FittedAt == nil ||
		fit.Snapshots["fraud.card_activity"] == 0 || fit.Snapshots["fraud.merchant_risk"] == 0 ||
		!strings.Contains(string(lock), fmt.Sprintf("fraud.card_activity: %d", fit.Snapshots["fraud.card_activity"])) {
		t.Errorf("fraud_detector_v2 fit provenance %v, lock:\n%s", fit, lock)
	}
	for _, o := range v2.Outputs {
		if o.Name == "amount_avg_30d_z" && (len(o.FittedSteps) != 1 || !strings.HasPrefix(o.Transform[o.FittedSteps[0]], "standardize(")) {
			t.Errorf("amount_avg_30d_z: fitted steps %v of %v", o.FittedSteps, o.Transform)
		}
	}
	res, err := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url).GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "fraud_detector_v2"},
		Entities: []*floev1.EntityColumn{
			{JoinKey: "card_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"card-0001", "card-0002", "card-0003"}}}},
			{JoinKey: "merchant_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1, 2, 3}}}},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	present := 0
	for _, c := range res.Msg.Columns {
		for _, st := range c.Statuses {
			if st == floev1.FeatureStatus_FEATURE_STATUS_PRESENT {
				present++
			}
		}
	}
	if present == 0 {
		t.Errorf("no transformed value served: %v", res.Msg.Columns)
	}

	// --check refits from the snapshots the lock records, not the current ones:
	// after another commit the lock still reproduces.
	lockPath := filepath.Join(specs, "fraud.lock.yaml")
	p.must("ingest", "--config", p.config, "--view", "card_activity", "--file", files["card_activity"])
	if out := p.must("fit", "--config", p.config, "--check"); !strings.Contains(out, "ok "+lockPath+": reproduced from") {
		t.Errorf("fit --check printed:\n%s", out)
	}
	// A hand-edited parameter, and a snapshot that no longer exists, fail it.
	for _, tc := range []struct {
		name    string
		pattern *regexp.Regexp
		new     string
		want    []string
	}{
		{"edited", regexp.MustCompile(`standardize: \{mean: `), "standardize: {mean: 1", []string{"differs from a refit", "- ", "+ ", "standardize"}},
		{"snapshot gone", regexp.MustCompile(`fraud\.card_activity: \d+`), "fraud.card_activity: 12345", []string{"cannot be reproduced"}},
	} {
		if !tc.pattern.Match(lock) {
			t.Fatalf("%s: lock lacks %s", tc.name, tc.pattern)
		}
		if err := os.WriteFile(lockPath, tc.pattern.ReplaceAll(lock, []byte(tc.new)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := p.run("fit", "--config", p.config, "--check")
		if err == nil {
			t.Errorf("%s: fit --check passed", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: fit --check stderr lacks %q:\n%s", tc.name, w, errOut)
			}
		}
	}
	if err := os.WriteFile(lockPath, lock, 0o644); err != nil {
		t.Fatal(err)
	}
}
