package online

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxEntries is the bound of a Memory built without WithMaxEntries. At one
// compact blob per (view, entity) of a few hundred bytes it keeps the embedded store
// and the L1 cache within a few hundred MB.
const DefaultMaxEntries = 1_000_000

// maxShards caps the shard count: past a few dozen shards lock contention on two to
// a few dozen cores is gone, and more shards only cost memory and eviction accuracy.
const maxShards = 64

// minShardEntries keeps shards large enough that eviction, which is per shard,
// stays close to store-wide least-recently-used for small bounds.
const minShardEntries = 128

// Memory is the in-process online store: the embedded default store when no Redis is
// configured, and the L1 cache in front of Redis in Tiered. It is safe for concurrent
// use.
//
// It holds at most a fixed number of entries. Keys are spread over shards by a hash
// so that concurrent readers rarely meet on a lock; each shard evicts with the CLOCK
// algorithm (second chance), an approximation of least-recently-used in which a read
// only sets a reference bit under the shard's shared lock instead of reordering a
// list under an exclusive one. An entry whose ExpireAt has passed reads as absent and
// is reclaimed by the read that finds it, or by eviction, which takes it even if it
// was read recently; until then it counts towards the bound.
//
// Get hands out the stored slices themselves, without copying: callers must not
// modify them. Put copies the values it is given, so callers may reuse their buffers.
type Memory struct {
	seed   maphash.Seed
	shards []memShard
	mask   uint64
	now    func() time.Time
	max    int
}

// memShard is one lock's worth of the store.
//
// The read path touches as little memory as it can, since on a store larger than the
// CPU caches each touch is a cache miss: the value and its expiry sit in the map
// itself, and the one thing a read writes, the CLOCK reference bit, lives in a dense
// array of its own rather than beside the entry.
type memShard struct {
	mu    sync.RWMutex
	index map[string]memEntry
	// keys and refs describe the CLOCK's positions: the key held at each and its
	// reference bit (refUnset, refSet, or refFree for a position that holds nothing).
	// A read sets the bit atomically under the shared lock; the eviction hand clears
	// it under the exclusive one.
	keys []string
	refs []uint32
	free []uint32 // positions that hold nothing, reused before growing
	hand int      // the CLOCK hand: next position eviction looks at
	cap  int      // most entries the shard may hold
	live int
	// gen counts writes and deletions. Tiered reads it before asking L2 and fills L1
	// only if it has not moved, so a value read from L2 before a concurrent write can
	// never overwrite the newer one in L1. Written under mu, read without it.
	gen atomic.Uint64
	// Shards sit side by side in one slice; the padding keeps two shards' locks off
	// one cache line, so readers of different shards do not slow each other.
	_ [64]byte
}

// memEntry is one stored entry.
type memEntry struct {
	value    []byte
	expireAt int64  // Unix nanoseconds; 0 means never
	pos      uint32 // its CLOCK position
}

// Reference bit values.
const (
	refUnset uint32 = iota
	refSet
	refFree
)

// MemoryOption configures a Memory built by NewMemory.
type MemoryOption func(*memoryConfig)

// memoryConfig gathers the options, so defaults live in one place.
type memoryConfig struct {
	maxEntries int
	shards     int
	now        func() time.Time
}

// WithMaxEntries bounds the number of entries a Memory holds. n ≤ 0 keeps
// DefaultMaxEntries, so that an unset configuration field means the default rather
// than a store that holds nothing.
func WithMaxEntries(n int) MemoryOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.maxEntries = n
		}
	}
}

// WithShards sets the number of lock shards, rounded up to a power of two. By default
// a Memory picks up to 64 shards, fewer when the bound is small, so that every shard
// holds enough entries for eviction to stay close to least-recently-used. It is for
// benchmarks and tests that want one particular layout; n ≤ 0 keeps the default.
func WithShards(n int) MemoryOption {
	return func(c *memoryConfig) {
		if n > 0 {
			c.shards = n
		}
	}
}

// WithClock replaces time.Now as the source of the current time against which
// ExpireAt is checked. Tests use it to expire entries without waiting.
func WithClock(now func() time.Time) MemoryOption {
	return func(c *memoryConfig) { c.now = now }
}

// NewMemory returns an empty in-process store.
func NewMemory(opts ...MemoryOption) *Memory {
	cfg := memoryConfig{maxEntries: DefaultMaxEntries, now: time.Now}
	for _, opt := range opts {
		opt(&cfg)
	}
	n := cfg.shards
	if n == 0 {
		n = maxShards
		for n > 1 && cfg.maxEntries/n < minShardEntries {
			n /= 2
		}
	}
	n = ceilPow2(n)
	for n > cfg.maxEntries {
		n /= 2
	}
	m := &Memory{
		seed:   maphash.MakeSeed(),
		shards: make([]memShard, n),
		mask:   uint64(n - 1),
		now:    cfg.now,
		max:    cfg.maxEntries,
	}
	// Spread the bound so that the shards together hold exactly maxEntries; there are
	// no more shards than entries, so each holds at least one.
	base, extra := cfg.maxEntries/n, cfg.maxEntries%n
	for i := range m.shards {
		s := &m.shards[i]
		s.cap = base
		if i < extra {
			s.cap++
		}
		s.index = make(map[string]memEntry)
	}
	return m
}

// ceilPow2 returns the smallest power of two not below n (n ≥ 1).
func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// shard returns the shard that owns key.
func (m *Memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)&m.mask]
}

// nowNanos is the current time in the unit entries store expiry in.
func (m *Memory) nowNanos() int64 {
	return m.now().UnixNano()
}

// expireNanos converts an Entry's ExpireAt to the slot representation.
func expireNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	// An expiry before 1970 is as expired as one a second ago; 0 must stay "never".
	return max(t.UnixNano(), 1)
}

// expired reports whether an entry expiring at expireAt reads as absent at now.
func expired(expireAt, now int64) bool {
	return expireAt != 0 && expireAt <= now
}

// Get returns the value of every key, nil where a key is absent or expired. It does
// not allocate beyond the returned slice.
func (m *Memory) Get(ctx context.Context, keys []string) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory get: %w", err)
	}
	values := make([][]byte, len(keys))
	m.lookup(keys, values, m.nowNanos())
	return values, nil
}

// lookup stores in values[i] the value of keys[i] where it is present, leaves the
// other elements alone, and returns the number of keys found.
func (m *Memory) lookup(keys []string, values [][]byte, now int64) int {
	hits := 0
	for i, key := range keys {
		s := m.shard(key)
		stale := false
		s.mu.RLock()
		if e, ok := s.index[key]; ok {
			if expired(e.expireAt, now) {
				stale = true
			} else {
				values[i] = e.value
				hits++
				// Skipping the store when the bit is already set keeps hot entries'
				// cache lines shared between cores instead of bouncing.
				if ref := &s.refs[e.pos]; atomic.LoadUint32(ref) == refUnset {
					atomic.StoreUint32(ref, refSet)
				}
			}
		}
		s.mu.RUnlock()
		if stale {
			s.mu.Lock()
			s.reclaimExpired(key, now)
			s.mu.Unlock()
		}
	}
	return hits
}

// Put writes entries, copying their values. An entry whose ExpireAt has already
// passed removes the key, as writing it and reading it back would.
func (m *Memory) Put(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory put: %w", err)
	}
	now := m.nowNanos()
	for i := range entries {
		e := &entries[i]
		// append to a non-nil empty slice keeps an empty value non-nil, so that it
		// reads back as present.
		value := append([]byte{}, e.Value...)
		s := m.shard(e.Key)
		s.mu.Lock()
		if e.IfAbsent {
			if cur, ok := s.index[e.Key]; ok && !expired(cur.expireAt, now) {
				s.mu.Unlock()
				continue
			}
		}
		s.set(e.Key, value, expireNanos(e.ExpireAt), now)
		s.gen.Add(1)
		s.mu.Unlock()
	}
	return nil
}

// Delete removes keys; absent keys are not an error.
func (m *Memory) Delete(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory delete: %w", err)
	}
	m.invalidate(keys)
	return nil
}

// invalidate removes keys and marks their shards written, so that no fill begun
// before it lands (see memShard.gen).
func (m *Memory) invalidate(keys []string) {
	for _, key := range keys {
		s := m.shard(key)
		s.mu.Lock()
		if e, ok := s.index[key]; ok {
			s.remove(key, e.pos)
		}
		s.gen.Add(1)
		s.mu.Unlock()
	}
}

// generation returns the write count of key's shard, for a later fill.
func (m *Memory) generation(key string) uint64 {
	return m.shard(key).gen.Load()
}

// fill stores a value read from a slower tier without copying it, unless key's shard
// has been written since generation returned gen: the value may then be older than
// what the write left.
func (m *Memory) fill(key string, value []byte, expireAt, now int64, gen uint64) {
	s := m.shard(key)
	s.mu.Lock()
	if s.gen.Load() == gen {
		s.set(key, value, expireAt, now)
	}
	s.mu.Unlock()
}

// Ping reports that the store answers, which it always does.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory ping: %w", err)
	}
	return nil
}

// Close drops every entry to release memory. The Memory stays usable, empty.
func (m *Memory) Close() error {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.index = make(map[string]memEntry)
		s.keys, s.refs, s.free = nil, nil, nil
		s.hand, s.live = 0, 0
		s.gen.Add(1)
		s.mu.Unlock()
	}
	return nil
}

// Len returns the number of entries held, counting expired ones not yet reclaimed.
// It is for metrics and tests.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += s.live
		s.mu.RUnlock()
	}
	return n
}

// MaxEntries returns the bound on the number of entries.
func (m *Memory) MaxEntries() int {
	return m.max
}

// set stores value under key. The caller holds s.mu exclusively.
func (s *memShard) set(key string, value []byte, expireAt, now int64) {
	e, ok := s.index[key]
	if expired(expireAt, now) {
		if ok {
			s.remove(key, e.pos)
		}
		return
	}
	if ok {
		e.value, e.expireAt = value, expireAt
		s.index[key] = e
		return
	}
	if s.live >= s.cap {
		s.evict(now)
	}
	var pos uint32
	if n := len(s.free); n > 0 {
		pos = s.free[n-1]
		s.free = s.free[:n-1]
		s.keys[pos] = key
	} else {
		pos = uint32(len(s.keys))
		s.keys = append(s.keys, key)
		s.refs = append(s.refs, refFree)
	}
	// A new entry starts unreferenced: it earns its second chance by being read.
	atomic.StoreUint32(&s.refs[pos], refUnset)
	s.index[key] = memEntry{value: value, expireAt: expireAt, pos: pos}
	s.live++
}

// evict removes one entry: the first unreferenced or expired one under the CLOCK
// hand, clearing reference bits as it passes. It ends within two turns of the clock,
// since the first turn clears every bit. The caller holds s.mu exclusively.
func (s *memShard) evict(now int64) {
	for {
		if s.hand >= len(s.keys) {
			s.hand = 0
		}
		pos := uint32(s.hand)
		s.hand++
		switch atomic.LoadUint32(&s.refs[pos]) {
		case refFree:
		case refUnset:
			s.remove(s.keys[pos], pos)
			return
		default:
			// Only referenced entries cost a map lookup here, and each at most once
			// per turn of the clock.
			key := s.keys[pos]
			if expired(s.index[key].expireAt, now) {
				s.remove(key, pos)
				return
			}
			atomic.StoreUint32(&s.refs[pos], refUnset)
		}
	}
}

// reclaimExpired removes key if it is still expired at now; a write may have renewed
// it between the read that found it expired and this call. The caller holds s.mu
// exclusively.
func (s *memShard) reclaimExpired(key string, now int64) {
	if e, ok := s.index[key]; ok && expired(e.expireAt, now) {
		s.remove(key, e.pos)
	}
}

// remove deletes key, held at pos. The caller holds s.mu exclusively.
func (s *memShard) remove(key string, pos uint32) {
	delete(s.index, key)
	// Dropping the key lets the collector free it now rather than when the position
	// is reused; the map entry held the only reference to the value.
	s.keys[pos] = ""
	atomic.StoreUint32(&s.refs[pos], refFree)
	s.free = append(s.free, pos)
	s.live--
}

// Memory is a Store.
var _ Store = (*Memory)(nil)
