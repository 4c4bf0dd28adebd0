package materialize

import (
	"context"
	"os"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/testenv"
)

// role is one OnChange notification.
type role struct {
	leader bool
	by     string
}

// follower runs FollowLeased in the background over its own Redis client.
type follower struct {
	name   string
	store  *online.Redis
	roles  chan role
	synced chan int64 // snapshots this follower materialized
	stop   context.CancelFunc
	done   chan struct{}
}

func startFollower(t *testing.T, e *env, addr, name, lease string, ttl time.Duration) *follower {
	t.Helper()
	store, err := online.NewRedisFromOptions(online.RedisOptions{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	f := &follower{name: name, store: store, roles: make(chan role, 16), synced: make(chan int64, 16), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = func() { cancel(); <-f.done }
	t.Cleanup(f.stop)
	l := Lease{Leaser: store, Name: lease, Holder: name, TTL: ttl, OnChange: func(leader bool, by string) { f.roles <- role{leader, by} }}
	go func() {
		defer close(f.done)
		New(e.off, store).FollowLeased(ctx, l, []*registry.FeatureView{e.v}, 20*time.Millisecond, func(p Progress) {
			if p.Done && !p.UpToDate {
				f.synced <- p.SnapshotID
			}
		}, nil)
	}()
	return f
}

// waitRole waits for f's next notification and checks it.
func (f *follower) waitRole(t *testing.T, leader bool, by string) {
	t.Helper()
	select {
	case r := <-f.roles:
		if r.leader != leader || (by != "" && r.by != by) {
			t.Fatalf("%s: role %+v, want leader %v by %q", f.name, r, leader, by)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no role change within 30s (want leader %v)", f.name, leader)
	}
}

// TestFollowersTakeTurns runs two followers of one Redis: one publishes, the other
// stands by and publishes nothing; when the first stops, the second takes over
// and publishes the next snapshot; when another process takes the lease, the
// follower that had it stops.
func TestFollowersTakeTurns(t *testing.T) {
	if os.Getenv(testenv.EnvRedisAddr) != "" {
		t.Skipf("the followers' view and watermark keys must not be on the shared server %s names", testenv.EnvRedisAddr)
	}
	e := newEnv(t)
	srv := testenv.Redis(t)
	lease := "materialize:test-" + t.Name() + "-" + NewHolderID()
	first := e.commit(offline.ModeAppend, "1:10@0", "2:20@0")

	a := startFollower(t, e, srv.Addr(), "a", lease, 3*time.Second)
	a.waitRole(t, true, "a")
	if got := <-a.synced; got != first {
		t.Fatalf("a materialized snapshot %d, want %d", got, first)
	}
	b := startFollower(t, e, srv.Addr(), "b", lease, 3*time.Second)
	b.waitRole(t, false, "a")

	a.stop() // releases the lease
	b.waitRole(t, true, "b")
	second := e.commit(offline.ModeAppend, "1:11@1")
	for got := int64(0); got != second; {
		select {
		case got = <-b.synced:
		case <-time.After(30 * time.Second):
			t.Fatalf("b did not materialize snapshot %d within 30s", second)
		}
	}
	select {
	case got := <-a.synced:
		t.Fatalf("a materialized snapshot %d after it stopped", got)
	default:
	}
	// b read the watermark a left: it applied the new snapshot incrementally, and
	// the online store holds both commits.
	scores, snaps := e.onlineIn(b.store, 1, 2)
	if scores[1] != 11 || scores[2] != 20 || snaps[1] != second || snaps[2] != first {
		t.Fatalf("online after the handover: scores %v snapshots %v", scores, snaps)
	}

	// Another process takes the lease (as if b's had run out): b stops following.
	other, err := online.NewRedisFromOptions(online.RedisOptions{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// One write, so b cannot renew in between.
	if err := other.Put(context.Background(), []online.Entry{{Key: online.LeaseKey(lease), Value: []byte("c"), ExpireAt: time.Now().Add(time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	b.waitRole(t, false, "")  // lost at its next renewal
	b.waitRole(t, false, "c") // and standing by for c
	t.Cleanup(func() { _ = other.Release(context.Background(), lease, "c") })
}

// Followers of the same views under the same schemas share a lease, whatever
// else differs; another schema or another set of views gets its own.
func TestLeaseName(t *testing.T) {
	compile := func(desc, scoreType string) *registry.Registry {
		t.Helper()
		reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(`
entities: [{name: user, join_keys: [{name: user_id, type: int64}]}]
sources: [{name: t, table: ns.t}, {name: u, table: ns.u}]
feature_views:
  - {name: a, entity: user, source: t, description: "` + desc + `", features: [{name: score, type: ` + scoreType + `}]}
  - {name: b, entity: user, source: u, features: [{name: n, type: int64}]}
`)})
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	base := compile("one", "int64")
	name := LeaseName(base.FeatureViews)
	if got := LeaseName([]*registry.FeatureView{base.FeatureViews[1], base.FeatureViews[0]}); got != name {
		t.Errorf("the views' order changed the lease: %s vs %s", got, name)
	}
	if got := LeaseName(compile("another description", "int64").FeatureViews); got != name {
		t.Errorf("a description changed the lease: %s vs %s", got, name)
	}
	if got := LeaseName(compile("one", "double").FeatureViews); got == name {
		t.Error("another schema shares the lease")
	}
	if got := LeaseName(base.FeatureViews[:1]); got == name {
		t.Error("a subset of the views shares the lease")
	}
}
