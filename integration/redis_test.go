package integration

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/testenv"
)

// TestRedisOnlineStore runs the Redis deployment: ingest, `floe materialize` from the
// command line straight into Redis (no server involved), reads through the server,
// then Redis going down (reads answered from Iceberg, marked degraded) and coming
// back empty (used again and refilled, without a restart).
func TestRedisOnlineStore(t *testing.T) {
	for _, l1 := range []bool{false, true} {
		t.Run(fmt.Sprintf("l1=%v", l1), func(t *testing.T) {
			redis := testenv.Redis(t)
			specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
			p := newProject(t, specs, fmt.Sprintf("online: {type: redis, redis: {addrs: [%q]}, l1: {enabled: %v}}", redis.Addr(), l1))
			files := p.exampleData("pricing", 50)
			for _, view := range []string{"user_profile", "user_behavior"} {
				p.must("ingest", "--config", p.config, "--view", view, "--file", files[view])
			}
			out := p.must("materialize", "--config", p.config)
			if !strings.Contains(out, "user_profile: snapshot") {
				t.Fatalf("materialize printed %q", out)
			}
			srv := p.serve()
			srv.waitReady()

			c := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
			req := connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
				Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "pricing_agent_v1"},
				Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1, 2}}}}},
			})
			resp, err := c.GetOnlineFeatures(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if v := resp.Msg.Views[0]; v.SnapshotIds[0] == 0 || v.Tiers[0] != floev1.Tier_TIER_ONLINE {
				t.Fatalf("first read: snapshot %d tier %v", v.SnapshotIds[0], v.Tiers[0])
			}
			if l1 {
				again, err := c.GetOnlineFeatures(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if tier := again.Msg.Views[0].Tiers[0]; tier != floev1.Tier_TIER_L1 {
					t.Fatalf("second read with L1: tier %v, want L1", tier)
				}
			}

			redis.Stop(t)
			code, body := srv.readyz()
			checks, _ := body["checks"].(map[string]any)
			if code != http.StatusOK || body["degraded"] != true || checks["online_store"] == "ok" {
				t.Fatalf("/readyz with Redis down = %d %v, want 200, degraded, online_store failing", code, body)
			}
			// Users 3 and 4 were never read, so not even the L1 cache holds them:
			// they are answered from Iceberg, and the answer says so.
			uncached := connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
				Selector: req.Msg.Selector,
				Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{3, 4}}}}},
			})
			degraded, err := c.GetOnlineFeatures(context.Background(), uncached)
			if err != nil {
				t.Fatalf("read with Redis down: %v, want an answer from Iceberg", err)
			}
			if !degraded.Msg.Degraded || !strings.Contains(degraded.Msg.DegradedReason, "online store unavailable") {
				t.Fatalf("read with Redis down not marked degraded: %v %q", degraded.Msg.Degraded, degraded.Msg.DegradedReason)
			}
			profile := latestByUser(t, files["user_profile"])
			for _, v := range degraded.Msg.Views {
				if v.Tiers[0] != floev1.Tier_TIER_OFFLINE {
					t.Errorf("view %s tier %v, want OFFLINE", v.View, v.Tiers[0])
				}
			}
			if age := profile[3]["age"]; age != "" && strconv.FormatInt(degraded.Msg.Columns[0].GetInt64Values().Values[0], 10) != age {
				t.Errorf("user 3 age from Iceberg %d, CSV %s", degraded.Msg.Columns[0].GetInt64Values().Values[0], age)
			}

			// Redis comes back empty (no persistence): the server uses it again without
			// a restart and its follower rebuilds it from Iceberg.
			redis.Restart(t)
			waitFor(t, "reads served by Redis again", func() bool {
				resp, err := c.GetOnlineFeatures(context.Background(), uncached)
				return err == nil && !resp.Msg.Degraded && resp.Msg.Views[0].Tiers[0] == floev1.Tier_TIER_ONLINE
			})
			if code, body := srv.readyz(); code != http.StatusOK || body["degraded"] != false {
				t.Fatalf("/readyz after Redis came back = %d %v", code, body)
			}
		})
	}
}
