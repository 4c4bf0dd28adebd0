package serving

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// flakyStore fails every Get while down is set: the injected fault.
type flakyStore struct {
	online.Store
	down atomic.Bool
	gets atomic.Int32
}

func (s *flakyStore) Get(ctx context.Context, keys []string) ([][]byte, error) {
	s.gets.Add(1)
	if s.down.Load() {
		return nil, errors.Join(online.ErrUnavailable, errors.New("connection refused"))
	}
	return s.Store.Get(ctx, keys)
}

// emptyOffline is an offline store whose tables have no snapshot yet: every
// entity is absent, and it never fails.
type emptyOffline struct{ lookups atomic.Int32 }

func (o *emptyOffline) RecentSnapshot(context.Context, *registry.FeatureView) (int64, bool, error) {
	o.lookups.Add(1)
	return 0, false, nil
}

func (*emptyOffline) Snapshot(context.Context, *registry.FeatureView, int64) (offline.Snapshot, error) {
	return offline.Snapshot{}, offline.ErrNoSuchSnapshot
}

func (*emptyOffline) SnapshotAsOf(context.Context, *registry.FeatureView, time.Time) (offline.Snapshot, bool, error) {
	return offline.Snapshot{}, false, nil
}

func (*emptyOffline) LookupScan(context.Context, *registry.FeatureView, int64, []string) (array.RecordReader, error) {
	return nil, errors.New("no table")
}

func TestBreakerSkipsDeadStoreThenRetries(t *testing.T) {
	reg, _ := registry.Compile(map[string][]byte{"s.yaml": []byte(testSpecs)})
	store := &flakyStore{Store: online.NewMemory()}
	clock := now
	r := NewReader(reg, store, WithClock(func() time.Time { return clock }), WithOffline(&emptyOffline{}, 0))
	read := func() *floev1.GetOnlineFeaturesResponse {
		t.Helper()
		resp, err := r.Read(context.Background(), serviceReq("model", users(1)))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	store.down.Store(true)
	if resp := read(); !resp.Degraded || resp.DegradedReason == "" {
		t.Fatalf("store down: degraded=%v %q", resp.Degraded, resp.DegradedReason)
	}
	// Within the cooldown the dead store is not asked again.
	read()
	if n := store.gets.Load(); n != 1 {
		t.Fatalf("%d gets within the cooldown, want 1", n)
	}
	// After it, the store is tried again; once it answers, reads are not degraded.
	store.down.Store(false)
	clock = clock.Add(breakerCooldown + time.Millisecond)
	if resp := read(); resp.Degraded {
		t.Fatalf("store back: still degraded: %q", resp.DegradedReason)
	}
	if n := store.gets.Load(); n != 2 {
		t.Fatalf("%d gets, want 2", n)
	}
}

func TestNegativeCacheCollapsesRepeatedMisses(t *testing.T) {
	reg, _ := registry.Compile(map[string][]byte{"s.yaml": []byte(testSpecs)})
	off := &emptyOffline{}
	r := NewReader(reg, online.NewMemory(), WithOffline(off, time.Minute))
	for i := 0; i < 5; i++ {
		resp, err := r.Read(context.Background(), serviceReq("model", users(404)))
		if err != nil {
			t.Fatal(err)
		}
		if s := resp.Columns[0].Statuses[0]; s != floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND {
			t.Fatalf("status %v", s)
		}
	}
	// One lookup per view for the first read; the next four are answered by the
	// negative cache.
	if n := off.lookups.Load(); n != 2 {
		t.Fatalf("%d offline lookups for 5 reads of an absent entity, want 2", n)
	}
}
