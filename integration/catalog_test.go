package integration

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/testenv"
)

// TestRESTCatalogDownAndBack runs Floe on a real Iceberg REST catalog server and
// stops it: the online store keeps serving, /readyz reports the offline store down,
// and once the catalog is back, snapshots committed after it are all applied — an
// entity changed only in the first of two quick commits is updated too, so no
// snapshot was skipped.
func TestRESTCatalogDownAndBack(t *testing.T) {
	catalog := testenv.IcebergREST(t)
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, fmt.Sprintf("online: {type: memory}\ncatalog: {type: rest, uri: %q, warehouse: %q}\nmaterialize: {interval: 200ms}", catalog.URI(), catalog.Warehouse()))
	now := time.Now()
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v0.csv", now.Add(-time.Hour), 40, 1, 2))
	srv := p.serve()
	srv.waitReady()
	c := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
	agesOf := func(ids ...int64) ([]int64, *floev1.GetOnlineFeaturesResponse, error) {
		resp, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age"}}},
			Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: ids}}}},
		}))
		if err != nil {
			return nil, nil, err
		}
		return resp.Msg.Columns[0].GetInt64Values().Values, resp.Msg, nil
	}
	waitFor(t, "the first snapshot online", func() bool {
		a, resp, err := agesOf(1, 2)
		return err == nil && a[0] == 40 && a[1] == 40 && resp.Views[0].Tiers[0] == floev1.Tier_TIER_ONLINE
	})

	catalog.Stop(t)
	a, resp, err := agesOf(1, 2)
	if err != nil || a[0] != 40 || resp.Degraded {
		t.Fatalf("with the catalog down: ages %v degraded %v err %v; want the online values", a, resp.GetDegraded(), err)
	}
	code, body := srv.readyz()
	checks, _ := body["checks"].(map[string]any)
	if code != http.StatusOK || checks["offline_store"] == "ok" {
		t.Fatalf("/readyz with the catalog down = %d %v", code, body)
	}

	catalog.Restart(t)
	// Two commits in quick succession: user 2 changes only in the first.
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v1.csv", now.Add(-time.Minute), 41, 1, 2))
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v2.csv", now, 42, 1))
	waitFor(t, "both later snapshots applied", func() bool {
		a, resp, err := agesOf(1, 2)
		return err == nil && a[0] == 42 && a[1] == 41 && resp.Views[0].Tiers[1] == floev1.Tier_TIER_ONLINE
	})
	waitFor(t, "/readyz healthy again", func() bool { code, body := srv.readyz(); return code == http.StatusOK && body["degraded"] == false })
}
