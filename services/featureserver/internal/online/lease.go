package online

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leaser is implemented by stores that several servers share (Redis, Redis
// Cluster): it grants a named lease to one holder at a time, so that one server
// follows the offline store and publishes its snapshots while the others stand by
// and take over when the lease runs out. A store private to one process (Memory)
// has no Leaser: its process always holds the lease.
type Leaser interface {
	// Lease takes the lease name for holder if nobody holds it, or extends it if
	// holder does, to ttl from now. It reports whether holder holds it and who does.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, by string, err error)
	// Release gives the lease up if holder holds it, so another can take it at once.
	Release(ctx context.Context, name, holder string) error
}

// LeaseKey returns the key of a lease in the store.
func LeaseKey(name string) string { return MetaKey("lease:" + name) }

// leaseScript takes or extends the lease in one step: two servers asking at once
// cannot both get it, and a holder never extends a lease another took meanwhile.
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return cur`)

// releaseScript deletes the lease only if holder still holds it.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Lease implements Leaser. The lease is one key, so it lives on one node of a
// cluster; its holder is whoever that node says.
func (r *Redis) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, error) {
	if holder == "" || ttl < time.Millisecond {
		return false, "", errors.New("redis lease: want a holder and a ttl of at least 1ms")
	}
	by, err := leaseScript.Run(ctx, r.client, []string{LeaseKey(name)}, holder, ttl.Milliseconds()).Text()
	if err != nil {
		return false, "", redisError(ctx, "lease", err)
	}
	return by == holder, by, nil
}

// Release implements Leaser.
func (r *Redis) Release(ctx context.Context, name, holder string) error {
	if err := releaseScript.Run(ctx, r.client, []string{LeaseKey(name)}, holder).Err(); err != nil {
		return redisError(ctx, "release lease", err)
	}
	return nil
}

// Lease implements Leaser when the shared tier does; the lease is never cached.
func (t *Tiered) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, error) {
	l, ok := t.l2.(Leaser)
	if !ok {
		return false, "", fmt.Errorf("lease: %T grants no leases", t.l2)
	}
	return l.Lease(ctx, name, holder, ttl)
}

// Release implements Leaser when the shared tier does.
func (t *Tiered) Release(ctx context.Context, name, holder string) error {
	l, ok := t.l2.(Leaser)
	if !ok {
		return fmt.Errorf("release lease: %T grants no leases", t.l2)
	}
	return l.Release(ctx, name, holder)
}

// LeaserOf returns the store's Leaser, or nil when the store is private to this
// process (Memory, or a Tiered over one) and needs none.
func LeaserOf(s Store) Leaser {
	if t, ok := s.(*Tiered); ok {
		if _, shared := t.l2.(Leaser); !shared {
			return nil
		}
		return t
	}
	l, _ := s.(Leaser)
	return l
}
