package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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
	if strings.Contains(a.log.String(), "could not release the lease") {
		t.Errorf("the first server did not give the lease back as it stopped:\n%s", a.log.String())
	}
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

// TestOneShotMaterializeRespectsTheLease pauses the server that holds the
// materialization lease (as a long GC pause or a frozen VM would) and commits a new
// snapshot: a one-shot `floe materialize`, for every view or a --view subset, and
// the Admin Materialize call of a standby server must not publish next to the
// holder. They are refused, naming it, and the online store keeps what the holder
// published; the holder's own Admin Materialize goes ahead.
func TestOneShotMaterializeRespectsTheLease(t *testing.T) {
	redis := testenv.Redis(t)
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	// A lease that outlasts the pause: the holder renews it every third of its TTL.
	p := newProject(t, specs, fmt.Sprintf("online: {type: redis, redis: {addrs: [%q]}}\nmaterialize: {interval: 100ms, lease_ttl: 5m}", redis.Addr()))
	now := time.Now()
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v0.csv", now.Add(-time.Hour), 40, 1))

	lease := func(s *server) (role, holder string) {
		_, body := s.readyz()
		l, _ := body["materialization_lease"].(map[string]any)
		role, _ = l["role"].(string)
		holder, _ = l["holder"].(string)
		return role, holder
	}
	read := func(s *server) (int64, floev1.Tier) {
		resp, err := floev1connect.NewServingServiceClient(http.DefaultClient, s.url).GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age"}}},
			Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1}}}}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		return ages(t, resp.Msg)[0], resp.Msg.Views[0].Tiers[0]
	}
	a := p.serve()
	waitFor(t, "the first server to take the lease", func() bool { role, _ := lease(a); return role == "leader" })
	_, holder := lease(a)
	waitFor(t, "the first commit published", func() bool { age, tier := read(a); return age == 40 && tier == floev1.Tier_TIER_ONLINE })
	second := *p
	second.env = append(slices.Clone(p.env), fmt.Sprintf("FLOE_LISTEN=127.0.0.1:%d", freePort(t)))
	b := second.serve()
	waitFor(t, "the second server to stand by", func() bool { role, by := lease(b); return role == "standby" && by == holder })

	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = a.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume) // before the server's own cleanup stops it
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v1.csv", now, 41, 1))

	for _, args := range [][]string{
		{"materialize", "--config", p.config},
		{"materialize", "--config", p.config, "--view", "user_profile"},
		{"materialize", "--server", b.url},
	} {
		out, errOut, err := p.run(args...)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(errOut, holder) || !strings.Contains(errOut, "materialization lease") {
			t.Errorf("floe %s while %s holds the lease: %v\nstdout:\n%s\nstderr:\n%s\nwant it refused naming the holder", strings.Join(args, " "), holder, err, out, errOut)
		}
		if strings.Contains(out, "entities written") {
			t.Errorf("floe %s published next to the holder:\n%s", strings.Join(args, " "), out)
		}
	}
	if _, errOut, _ := p.run("materialize", "--server", b.url); !strings.Contains(errOut, "failed_precondition") {
		t.Errorf("a standby's Admin Materialize: %s, want FAILED_PRECONDITION", errOut)
	}
	if age, tier := read(b); age != 40 || tier != floev1.Tier_TIER_ONLINE {
		t.Errorf("online after the refused materializations: age %d from %v, want 40 as the holder published it", age, tier)
	}

	// The holder resumes, and materializes when asked through its Admin API.
	resume()
	out := p.must("materialize", "--server", a.url)
	if !strings.Contains(out, "user_profile: ") || !strings.Contains(out, "materialized in") {
		t.Errorf("the holder's Admin Materialize printed %q", out)
	}
	waitFor(t, "the second commit published", func() bool { age, tier := read(b); return age == 41 && tier == floev1.Tier_TIER_ONLINE })
}
