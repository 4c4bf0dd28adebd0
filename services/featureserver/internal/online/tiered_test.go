package online_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/online/onlinetest"
	"floe.dev/floe/services/featureserver/testenv"
)

// conformanceTTL is the L1 lifetime of the conformance runs. Tiered serves an L1 hit
// until ttl even if the entry's ExpireAt has passed (L2 does not say when its entries
// expire), and the suite's near-expiry case waits for the entry to vanish, so the
// runs keep ttl short.
const conformanceTTL = 100 * time.Millisecond

func TestTieredConformance(t *testing.T) {
	srv := testenv.Redis(t)
	onlinetest.Run(t, func(t *testing.T) online.Store {
		l2 := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}})
		return online.NewTiered(online.NewMemory(), l2, conformanceTTL)
	})
}

func TestTieredOverMemoryConformance(t *testing.T) {
	onlinetest.Run(t, func(t *testing.T) online.Store {
		return online.NewTiered(online.NewMemory(), online.NewMemory(), conformanceTTL)
	})
}

// spyStore wraps a Store, recording the keys of every Get and failing on demand.
type spyStore struct {
	online.Store
	mu   sync.Mutex
	gets [][]string
	fail error // returned by every call while set
	// afterRead, if set, runs between reading the inner store and returning: the
	// window in which a concurrent write makes the read stale.
	afterRead func()
}

func (s *spyStore) Get(ctx context.Context, keys []string) ([][]byte, error) {
	s.mu.Lock()
	s.gets = append(s.gets, slices.Clone(keys))
	fail, after := s.fail, s.afterRead
	s.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	values, err := s.Store.Get(ctx, keys)
	if after != nil {
		after()
	}
	return values, err
}

func (s *spyStore) Put(ctx context.Context, entries []online.Entry) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Store.Put(ctx, entries)
}

func (s *spyStore) takeGets() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	gets := s.gets
	s.gets = nil
	return gets
}

func (s *spyStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// newSpied returns a Tiered over a spied Memory L2, with an L1 on clock.
func newSpied(t *testing.T, clock *fakeClock, ttl time.Duration) (*online.Tiered, *spyStore) {
	t.Helper()
	l2 := &spyStore{Store: online.NewMemory()}
	tiered := online.NewTiered(online.NewMemory(online.WithClock(clock.Now)), l2, ttl)
	t.Cleanup(func() { tiered.Close() })
	return tiered, l2
}

// sources formats GetTiered's answer as one letter a key: 1 from L1, 2 from L2,
// - absent.
func sources(values [][]byte, fromL1 []bool) string {
	out := make([]byte, len(values))
	for i, v := range values {
		switch {
		case v == nil:
			out[i] = '-'
		case fromL1[i]:
			out[i] = '1'
		default:
			out[i] = '2'
		}
	}
	return string(out)
}

func TestTieredServesHitsFromL1(t *testing.T) {
	tiered, l2 := newSpied(t, newFakeClock(), time.Minute)
	ctx := t.Context()
	if err := tiered.Put(ctx, []online.Entry{
		{Key: "a", Value: []byte("A")}, {Key: "b", Value: []byte("B")}, {Key: "c", Value: []byte("C")},
	}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		keys    []string
		sources string     // see sources
		l2Gets  [][]string // what L2 was asked
	}{
		{[]string{"a", "b"}, "22", [][]string{{"a", "b"}}},
		{[]string{"a", "b"}, "11", nil},                                // no L2 call at all
		{[]string{"a", "c", "x", "b"}, "12-1", [][]string{{"c", "x"}}}, // only the misses, in one call
		{[]string{"x", "c"}, "-1", [][]string{{"x"}}},                  // absences are not cached
		{[]string{}, "", nil},
	} {
		values, fromL1, err := tiered.GetTiered(ctx, step.keys)
		if err != nil {
			t.Fatalf("GetTiered(%q): %v", step.keys, err)
		}
		if got := sources(values, fromL1); got != step.sources {
			t.Errorf("GetTiered(%q) sources %q, want %q", step.keys, got, step.sources)
		}
		if got := l2.takeGets(); fmt.Sprint(got) != fmt.Sprint(step.l2Gets) {
			t.Errorf("GetTiered(%q) asked L2 for %q, want %q", step.keys, got, step.l2Gets)
		}
		for i, v := range values {
			if v != nil && string(v) != string(rune(step.keys[i][0]-'a'+'A')) {
				t.Errorf("%s = %q", step.keys[i], v)
			}
		}
	}
}

func TestTieredTTL(t *testing.T) {
	clock := newFakeClock()
	tiered, l2 := newSpied(t, clock, time.Minute)
	ctx := t.Context()
	if err := tiered.Put(ctx, []online.Entry{{Key: "a", Value: []byte("A")}}); err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		values, fromL1, err := tiered.GetTiered(ctx, []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		return sources(values, fromL1)
	}
	read()
	clock.Advance(time.Minute - time.Nanosecond)
	if got := read(); got != "1" {
		t.Errorf("just before ttl: served %q, want from L1", got)
	}
	clock.Advance(time.Nanosecond)
	if got := read(); got != "2" {
		t.Errorf("at ttl: served %q, want from L2 again", got)
	}
	l2.takeGets()
}

func TestTieredL2Unavailable(t *testing.T) {
	tiered, l2 := newSpied(t, newFakeClock(), time.Minute)
	ctx := t.Context()
	if err := tiered.Put(ctx, []online.Entry{{Key: "a", Value: []byte("A")}, {Key: "b", Value: []byte("B")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tiered.Get(ctx, []string{"a"}); err != nil { // a is now in L1
		t.Fatal(err)
	}
	l2.setFail(fmt.Errorf("redis get: %w: connection refused", online.ErrUnavailable))

	// A miss needs L2: the whole read fails, without serving L1's part.
	values, fromL1, err := tiered.GetTiered(ctx, []string{"a", "b"})
	if !errors.Is(err, online.ErrUnavailable) {
		t.Errorf("GetTiered with L2 down and a miss: %v, want ErrUnavailable", err)
	}
	if values != nil || fromL1 != nil {
		t.Errorf("GetTiered failed but returned values %q, fromL1 %v", values, fromL1)
	}
	// Every key in L1: L2 is not needed.
	if _, err := tiered.Get(ctx, []string{"a"}); err != nil {
		t.Errorf("Get of an L1 hit with L2 down: %v", err)
	}

	// A failed write still invalidates L1: L2 may hold the new value.
	if err := tiered.Put(ctx, []online.Entry{{Key: "a", Value: []byte("A2")}}); !errors.Is(err, online.ErrUnavailable) {
		t.Errorf("Put with L2 down: %v, want ErrUnavailable", err)
	}
	if _, err := tiered.Get(ctx, []string{"a"}); !errors.Is(err, online.ErrUnavailable) {
		t.Errorf("Get after a failed Put: %v; want ErrUnavailable, since a must have left L1", err)
	}
}

// TestTieredReadRacingWrite replays the cache-aside race deterministically: a read
// fetches the old value from L2, a write replaces it and invalidates L1, and then
// the read fills L1. Without the write-generation check L1 would keep the old value
// for a whole ttl.
func TestTieredReadRacingWrite(t *testing.T) {
	tiered, l2 := newSpied(t, newFakeClock(), time.Hour)
	ctx := t.Context()
	if err := tiered.Put(ctx, []online.Entry{{Key: "k", Value: []byte("old")}}); err != nil {
		t.Fatal(err)
	}
	l2.afterRead = func() {
		l2.afterRead = nil // only this read; the write below reads nothing
		if err := tiered.Put(ctx, []online.Entry{{Key: "k", Value: []byte("new")}}); err != nil {
			t.Error(err)
		}
	}
	values, err := tiered.Get(ctx, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	if string(values[0]) != "old" { // read before the write: old is right for it
		t.Errorf("racing read = %q, want %q", values[0], "old")
	}
	values, fromL1, err := tiered.GetTiered(ctx, []string{"k"})
	if err != nil {
		t.Fatal(err)
	}
	if string(values[0]) != "new" || fromL1[0] {
		t.Errorf("read after the write = %q (from L1 %t), want %q from L2", values[0], fromL1[0], "new")
	}
}

// BenchmarkTieredGet measures the L1-hit path serving takes for hot entities.
func BenchmarkTieredGet(b *testing.B) {
	tiered := online.NewTiered(online.NewMemory(), online.NewMemory(), time.Hour)
	ctx := context.Background()
	keys := benchKeys(1000)
	entries := make([]online.Entry, len(keys))
	for i, k := range keys {
		entries[i] = online.Entry{Key: k, Value: make([]byte, 160)}
	}
	if err := tiered.Put(ctx, entries); err != nil {
		b.Fatal(err)
	}
	if _, err := tiered.Get(ctx, keys); err != nil { // fill L1
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("keys=%d/hits", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := tiered.GetTiered(ctx, keys[:n]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
