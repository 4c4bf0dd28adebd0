package online_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/online/onlinetest"
)

func TestMemoryConformance(t *testing.T) {
	onlinetest.Run(t, func(*testing.T) online.Store { return online.NewMemory() })
}

// TestMemoryConformanceOneShard runs the suite on a layout where every key shares a
// lock and an eviction clock, the opposite extreme of the default.
func TestMemoryConformanceOneShard(t *testing.T) {
	onlinetest.Run(t, func(*testing.T) online.Store { return online.NewMemory(online.WithShards(1)) })
}

// putN writes n entries key-0 … key-(n-1) of view, one Put each.
func putN(t *testing.T, m *online.Memory, view string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		e := online.Entry{Key: online.Key(view, fmt.Sprint(i)), Value: []byte{byte(i)}}
		if err := m.Put(t.Context(), []online.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
}

// present returns which of keys view:from … view:to-1 are present.
func present(t *testing.T, m *online.Memory, view string, from, to int) []bool {
	t.Helper()
	keys := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		keys = append(keys, online.Key(view, fmt.Sprint(i)))
	}
	values, err := m.Get(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]bool, len(values))
	for i, v := range values {
		out[i] = v != nil
	}
	return out
}

func TestMemoryEvictionBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int
		opts []online.MemoryOption
	}{
		{"default shards", 1000, nil},
		{"one shard", 1000, []online.MemoryOption{online.WithShards(1)}},
		{"more shards than entries", 10, []online.MemoryOption{online.WithShards(64)}},
		{"uneven split", 1001, []online.MemoryOption{online.WithShards(8)}},
		{"one entry", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := online.NewMemory(append(tc.opts, online.WithMaxEntries(tc.max))...)
			if m.MaxEntries() != tc.max {
				t.Fatalf("MaxEntries() = %d, want %d", m.MaxEntries(), tc.max)
			}
			for round := range 10 {
				putN(t, m, "v", round*tc.max, (round+1)*tc.max)
				if n := m.Len(); n > tc.max {
					t.Fatalf("after writing %d keys: Len() = %d, above the bound %d", (round+1)*tc.max, n, tc.max)
				}
			}
			// The bound is a bound, not a target, but a full store must not hold far
			// less than it: every shard fills up before it evicts.
			if n := m.Len(); n != tc.max {
				t.Errorf("after writing %d keys: Len() = %d, want %d (shards should fill before evicting)", 10*tc.max, n, tc.max)
			}
			// The newest writes are there.
			got := present(t, m, "v", 10*tc.max-1, 10*tc.max)
			if !got[0] {
				t.Errorf("the last key written is absent")
			}
		})
	}
}

func TestMemoryDefaultBound(t *testing.T) {
	for _, opts := range [][]online.MemoryOption{nil, {online.WithMaxEntries(0)}, {online.WithMaxEntries(-5)}} {
		if got := online.NewMemory(opts...).MaxEntries(); got != online.DefaultMaxEntries {
			t.Errorf("MaxEntries() = %d, want the default %d", got, online.DefaultMaxEntries)
		}
	}
}

// TestMemoryEvictsUnreadFirst checks the least-recently-used approximation: entries
// read since the eviction clock last passed them outlive entries nobody read.
func TestMemoryEvictsUnreadFirst(t *testing.T) {
	const n = 100
	m := online.NewMemory(online.WithMaxEntries(n), online.WithShards(1))
	putN(t, m, "v", 0, n)
	present(t, m, "v", 0, n/2) // read the first half
	putN(t, m, "w", 0, n/2)    // evict half
	for i, ok := range present(t, m, "v", 0, n) {
		if want := i < n/2; ok != want {
			t.Errorf("key %d: present %t, want %t (the read half should survive)", i, ok, want)
		}
	}
	for i, ok := range present(t, m, "w", 0, n/2) {
		if !ok {
			t.Errorf("new key %d absent", i)
		}
	}
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct{ now atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.now.Store(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time               { return time.Unix(0, c.now.Load()) }
func (c *fakeClock) Advance(d time.Duration)      { c.now.Add(int64(d)) }
func (c *fakeClock) At(d time.Duration) time.Time { return c.Now().Add(d) }

func TestMemoryExpiry(t *testing.T) {
	clock := newFakeClock()
	m := online.NewMemory(online.WithClock(clock.Now))
	ctx := t.Context()
	err := m.Put(ctx, []online.Entry{
		{Key: "a", Value: []byte("a"), ExpireAt: clock.At(time.Minute)},
		{Key: "b", Value: []byte("b"), ExpireAt: clock.At(time.Hour)},
		{Key: "c", Value: []byte("c")},
		{Key: "d", Value: []byte("d"), ExpireAt: clock.At(0)}, // expires the instant it is written
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want string) {
		t.Helper()
		values, err := m.Get(ctx, []string{"a", "b", "c", "d"})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, v := range values {
			if v == nil {
				got += "-"
			} else {
				got += string(v)
			}
		}
		if got != want {
			t.Errorf("%s: got %q, want %q (- is absent)", when, got, want)
		}
	}
	check("at once", "abc-")
	if n := m.Len(); n != 3 {
		t.Errorf("Len() = %d, want 3: an entry written expired is not stored", n)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	check("just before a's expiry", "abc-")
	clock.Advance(time.Nanosecond)
	check("at a's expiry", "-bc-")
	if n := m.Len(); n != 2 {
		t.Errorf("Len() = %d after reading expired a, want 2: the read reclaims it", n)
	}
	clock.Advance(time.Hour)
	check("after b's expiry", "--c-")
	if n := m.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
}

// TestMemoryEvictionReclaimsExpired checks that an expired entry nobody reads does
// not keep a live one out: eviction takes it even if it was read before expiring.
func TestMemoryEvictionReclaimsExpired(t *testing.T) {
	clock := newFakeClock()
	m := online.NewMemory(online.WithClock(clock.Now), online.WithMaxEntries(2), online.WithShards(1))
	ctx := t.Context()
	if err := m.Put(ctx, []online.Entry{
		{Key: "short", Value: []byte("s"), ExpireAt: clock.At(time.Second)},
		{Key: "long", Value: []byte("l")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, []string{"short", "long"}); err != nil { // both referenced
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if err := m.Put(ctx, []online.Entry{{Key: "new", Value: []byte("n")}}); err != nil {
		t.Fatal(err)
	}
	values, err := m.Get(ctx, []string{"long", "new"})
	if err != nil {
		t.Fatal(err)
	}
	if values[0] == nil || values[1] == nil {
		t.Errorf("got long=%q new=%q; evicting the expired entry should have kept both", values[0], values[1])
	}
}

// TestMemoryConcurrentEviction races writers that overflow the bound against readers,
// for the race detector, and checks the bound afterwards.
func TestMemoryConcurrentEviction(t *testing.T) {
	const bound = 500
	m := online.NewMemory(online.WithMaxEntries(bound), online.WithShards(4))
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				key := fmt.Sprintf("w%d-%d", w, i)
				if err := m.Put(ctx, []online.Entry{{Key: key, Value: []byte(key)}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			keys := make([]string, 50)
			for i := range 200 {
				for j := range keys {
					keys[j] = fmt.Sprintf("w%d-%d", (w+j)%4, i*10+j)
				}
				values, err := m.Get(ctx, keys)
				if err != nil {
					t.Error(err)
					return
				}
				for j, v := range values {
					if v != nil && string(v) != keys[j] {
						t.Errorf("%s = %q", keys[j], v)
						return
					}
				}
				_ = m.Delete(ctx, keys[:5])
			}
		}()
	}
	wg.Wait()
	if n := m.Len(); n > bound {
		t.Errorf("Len() = %d, above the bound %d", n, bound)
	}
}

// TestMemoryGetAllocations pins the read path's cost: the returned slice and nothing
// per key, hits, misses and expired entries alike.
func TestMemoryGetAllocations(t *testing.T) {
	m := online.NewMemory()
	keys := benchKeys(100)
	entries := make([]online.Entry, 0, len(keys))
	for i, k := range keys {
		if i%10 != 0 { // leave some misses
			entries = append(entries, online.Entry{Key: k, Value: make([]byte, 160)})
		}
	}
	ctx := context.Background()
	if err := m.Put(ctx, entries); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Get(ctx, keys); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("Get of %d keys: %v allocations, want 1 (the result)", len(keys), allocs)
	}
}

func TestMemoryCloseEmpties(t *testing.T) {
	m := online.NewMemory()
	putN(t, m, "v", 0, 10)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := m.Len(); n != 0 {
		t.Errorf("Len() after Close = %d, want 0", n)
	}
	putN(t, m, "v", 0, 1) // still usable
	if got := present(t, m, "v", 0, 1); !got[0] {
		t.Error("a Put after Close is not readable")
	}
}

// benchKeys returns n keys shaped like real ones.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = online.Key("driver_hourly_stats", fmt.Sprint(1_000_000+i*7919))
	}
	return keys
}

// BenchmarkMemoryGet measures the read path on stores of 160-byte values (one blob of
// ~10 features per entity, FACTS), serially and from every core. stored=1k fits in
// the CPU caches, like the hot set of an L1; stored=100k does not, and measures the
// cache misses of a random key (the map group, the key's bytes for the comparison).
func BenchmarkMemoryGet(b *testing.B) {
	for _, stored := range []int{1_000, 100_000} {
		m := online.NewMemory()
		keys := benchKeys(stored)
		entries := make([]online.Entry, len(keys))
		for i, k := range keys {
			entries[i] = online.Entry{Key: k, Value: make([]byte, 160)}
		}
		ctx := context.Background()
		if err := m.Put(ctx, entries); err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 100} {
			batch := func(i int) []string {
				start := (i * n) % (stored - n)
				return keys[start : start+n]
			}
			name := fmt.Sprintf("stored=%dk/keys=%d", stored/1000, n)
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := m.Get(ctx, batch(i)); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				b.ReportAllocs()
				var seq atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := int(seq.Add(1)) * 7919
					for pb.Next() {
						if _, err := m.Get(ctx, batch(i)); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		}
	}
}
