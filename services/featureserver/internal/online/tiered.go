package online

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Tiered is a Store that answers from an in-process L1 cache (a Memory) in front of a
// shared L2 store (Redis), so that hot entities cost no network round trip.
//
// Reads fill L1 with what L2 returned, for ttl: L1 is not told of writes made by other
// processes, so ttl bounds how stale a served value can be. Writes go to L2 first and
// then invalidate the keys in L1 rather than filling it: a materialization writes
// millions of entries that nobody may read, and filling L1 with them would evict the
// entries readers do want. A read that raced with a write through this Tiered never
// leaves the older value in L1 (see Memory.fill).
//
// Absent keys are not cached: a miss costs an L2 round trip each time. Negative
// caching of entities that exist nowhere belongs to serving, which knows whether the
// offline store was asked too.
type Tiered struct {
	l1  *Memory
	l2  Store
	ttl time.Duration
}

// NewTiered returns a Store that caches l2's values in l1 for ttl. A ttl of zero or
// less keeps them until they are evicted or written through this Tiered, which is
// only right when this process is l2's only writer. Close closes both tiers.
func NewTiered(l1 *Memory, l2 Store, ttl time.Duration) *Tiered {
	return &Tiered{l1: l1, l2: l2, ttl: ttl}
}

// Get returns the value of every key: hits from L1, misses from L2 in one call. If
// some key misses L1 and L2 fails, Get fails with L2's error (which wraps
// ErrUnavailable when L2 cannot be reached) rather than answering with L1's part:
// serving decides how to degrade. When every key hits L1, L2 is not asked.
func (t *Tiered) Get(ctx context.Context, keys []string) ([][]byte, error) {
	values, _, err := t.get(ctx, keys, false)
	return values, err
}

// GetTiered is Get that also reports, in fromL1[i], whether values[i] was served from
// L1; false means it came from L2 or is absent. Serving uses it for cache metrics and
// to report the staleness bound of each value.
func (t *Tiered) GetTiered(ctx context.Context, keys []string) (values [][]byte, fromL1 []bool, err error) {
	return t.get(ctx, keys, true)
}

// get implements Get and GetTiered; Get does not pay for fromL1.
func (t *Tiered) get(ctx context.Context, keys []string, withSource bool) ([][]byte, []bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("tiered get: %w", err)
	}
	now := t.l1.nowNanos()
	values := make([][]byte, len(keys))
	hits := t.l1.lookup(keys, values, now)
	var fromL1 []bool
	if withSource {
		fromL1 = make([]bool, len(keys))
		for i, v := range values {
			fromL1[i] = v != nil
		}
	}
	if hits == len(keys) {
		return values, fromL1, nil
	}

	// misses[j] is the index in keys of missKeys[j]; gens[j] is its L1 shard's write
	// count before L2 is asked, so that the fill can tell whether a write overtook it.
	n := len(keys) - hits
	missKeys := make([]string, 0, n)
	misses := make([]int, 0, n)
	gens := make([]uint64, 0, n)
	for i, v := range values {
		if v == nil {
			missKeys = append(missKeys, keys[i])
			misses = append(misses, i)
			gens = append(gens, t.l1.generation(keys[i]))
		}
	}
	got, err := t.l2.Get(ctx, missKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("tiered get from L2: %w", err)
	}
	if len(got) != len(missKeys) {
		return nil, nil, fmt.Errorf("tiered get from L2: %d values for %d keys", len(got), len(missKeys))
	}

	var expireAt int64
	if t.ttl > 0 {
		expireAt = now + int64(t.ttl)
	}
	for j, v := range got {
		if v == nil {
			continue
		}
		values[misses[j]] = v
		// L1 keeps L2's slice: the Store contract forbids callers to modify it, and
		// L2 returns slices nobody else holds.
		// The key is cloned: callers may pass keys that share one request-sized
		// buffer, which an L1 entry must not keep alive.
		t.l1.fill(strings.Clone(missKeys[j]), v, expireAt, now, gens[j])
	}
	return values, fromL1, nil
}

// Put writes entries to L2, then invalidates their keys in L1. It invalidates them
// even when L2 fails, since L2 may then hold some of the new values.
func (t *Tiered) Put(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tiered put: %w", err)
	}
	err := t.l2.Put(ctx, entries)
	keys := make([]string, len(entries))
	for i := range entries {
		keys[i] = entries[i].Key
	}
	t.l1.invalidate(keys)
	if err != nil {
		return fmt.Errorf("tiered put to L2: %w", err)
	}
	return nil
}

// Delete removes keys from L2, then from L1 (also when L2 fails, as Put does).
func (t *Tiered) Delete(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tiered delete: %w", err)
	}
	err := t.l2.Delete(ctx, keys)
	t.l1.invalidate(keys)
	if err != nil {
		return fmt.Errorf("tiered delete from L2: %w", err)
	}
	return nil
}

// Ping reports whether L2 answers; L1 always does.
func (t *Tiered) Ping(ctx context.Context) error {
	if err := t.l2.Ping(ctx); err != nil {
		return fmt.Errorf("tiered ping L2: %w", err)
	}
	return nil
}

// Close closes both tiers.
func (t *Tiered) Close() error {
	return errors.Join(t.l1.Close(), t.l2.Close())
}

// Tiered is a Store.
var _ Store = (*Tiered)(nil)
