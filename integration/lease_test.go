package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/testenv"
)

// TestServersTakeTurnsMaterializing runs two servers on one Redis: one holds the
// materialization lease and publishes, the other stands by (ready, not degraded)
// naming it; when the first shuts down, the second takes over and publishes the
// next commit.
func TestServersTakeTurnsMaterializing(t *testing.T) {
	redis := testenv.Redis(t)
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, fmt.Sprintf("online: {type: redis, redis: {addrs: [%q]}}\nmaterialize: {interval: 100ms, lease_ttl: 2s}", redis.Addr()))
	now := time.Now()
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v0.csv", now.Add(-time.Hour), 40, 1))

	lease := func(s *server) (role, holder string) {
		_, body := s.readyz()
		l, _ := body["materialization_lease"].(map[string]any)
		role, _ = l["role"].(string)
		holder, _ = l["holder"].(string)
		return role, holder
	}
	a := p.serve()
	waitFor(t, "the first server to take the lease", func() bool { role, _ := lease(a); return role == "leader" })
	_, aID := lease(a)

	second := *p
	second.env = append(slices.Clone(p.env), fmt.Sprintf("FLOE_LISTEN=127.0.0.1:%d", freePort(t)))
	b := second.serve()
	waitFor(t, "the second server to stand by", func() bool { role, holder := lease(b); return role == "standby" && holder == aID })
	if code, body := b.readyz(); code != http.StatusOK || body["degraded"] != false {
		t.Fatalf("a standby server's /readyz = %d %v; want ready, not degraded", code, body)
	}
	// The console's freshness page shows the same through the Admin API.
	for _, tc := range []struct {
		srv  *server
		role floev1.MaterializerStatus_Role
	}{{a, floev1.MaterializerStatus_ROLE_LEADER}, {b, floev1.MaterializerStatus_ROLE_STANDBY}} {
		fresh, err := floev1connect.NewAdminServiceClient(http.DefaultClient, tc.srv.url).GetFreshness(context.Background(), connect.NewRequest(&floev1.GetFreshnessRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if m := fresh.Msg.Materializer; m.GetRole() != tc.role || m.GetLeader() != aID {
			t.Errorf("materializer status of %s: %v, want %v led by %s", tc.srv.url, m, tc.role, aID)
		}
	}

	a.stop() // releases the lease
	waitFor(t, "the second server to take over", func() bool { role, _ := lease(b); return role == "leader" })
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v1.csv", now, 41, 1))
	c := floev1connect.NewServingServiceClient(http.DefaultClient, b.url)
	waitFor(t, "the new commit published by the second server", func() bool {
		resp, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age"}}},
			Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1}}}}},
		}))
		return err == nil && ages(t, resp.Msg)[0] == 41 && resp.Msg.Views[0].Tiers[0] == floev1.Tier_TIER_ONLINE
	})
}

// TestMaterializeFollowTakesTurnsWithAServer runs `floe materialize --follow` next
// to a server on the same Redis: it stands by naming the server, and takes over
// when the server shuts down.
func TestMaterializeFollowTakesTurnsWithAServer(t *testing.T) {
	redis := testenv.Redis(t)
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, fmt.Sprintf("online: {type: redis, redis: {addrs: [%q]}}\nmaterialize: {interval: 100ms, lease_ttl: 2s}", redis.Addr()))
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v0.csv", time.Now().Add(-time.Hour), 40, 1))
	srv := p.serve()
	var holder string
	waitFor(t, "the server to take the lease", func() bool {
		_, body := srv.readyz()
		l, _ := body["materialization_lease"].(map[string]any)
		holder, _ = l["holder"].(string)
		return l["role"] == "leader"
	})

	cmd := exec.Command(floeBin, "materialize", "--config", p.config, "--follow")
	cmd.Env = append(os.Environ(), p.env...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		<-done
		if t.Failed() {
			t.Logf("floe materialize --follow printed:\n%s", out.String())
		}
	})
	waitFor(t, "floe materialize --follow to stand by", func() bool {
		return strings.Contains(out.String(), "standing by: "+holder+" holds the materialization lease")
	})
	srv.stop()
	waitFor(t, "floe materialize --follow to take over", func() bool {
		return strings.Contains(out.String(), "holding the materialization lease")
	})
}
