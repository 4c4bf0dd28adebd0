// Package online holds the online store: a derived, disposable copy of the latest
// feature values of every entity, keyed by (feature view, entity key). Iceberg is the
// truth; everything here can be rebuilt by materialization.
//
// Store is the interface every backend implements (the in-process store, Redis,
// Redis Cluster, and the tiered L1-in-front-of-L2 composition); onlinetest is the
// conformance suite they all pass. Values are opaque bytes produced by the codec in
// this package, one compact blob per (view, entity), never a hash of field names.
package online

import (
	"context"
	"errors"
	"time"
)

// ErrUnavailable wraps every error caused by a backend that cannot be reached.
// Serving maps it to the UNAVAILABLE RPC code; check it with errors.Is.
var ErrUnavailable = errors.New("online store unavailable")

// Entry is one value to write.
type Entry struct {
	Key   string
	Value []byte
	// ExpireAt, when not zero, is the instant after which the store may drop the
	// entry. A read after it returns nothing.
	ExpireAt time.Time
	// IfAbsent writes the entry only when the key holds no value. Cache fills from
	// the offline store set it: a fill read from an older snapshot must never
	// overwrite what materialization wrote meanwhile.
	IfAbsent bool
}

// Store is an online store backend.
type Store interface {
	// Get returns the value of every key, nil where a key is absent, in one network
	// round trip whatever the number of keys. The returned slice has len(keys)
	// entries. Values must not be modified by the caller.
	Get(ctx context.Context, keys []string) ([][]byte, error)
	// Put writes entries, replacing existing values.
	Put(ctx context.Context, entries []Entry) error
	// Delete removes keys; absent keys are not an error.
	Delete(ctx context.Context, keys []string) error
	// Ping reports whether the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Key returns the online key of an entity in a view. entity is the canonical
// encoding of the join key value (decimal for int64 keys, the string itself for
// string keys). View names are lower_snake_case, so the ':' separator is unambiguous;
// in Redis Cluster keys spread over slots by their whole name.
func Key(view, entity string) string {
	return "floe:" + view + ":" + entity
}

// MetaKey returns the key of a piece of store metadata, such as the snapshot a view
// was last materialized from. Metadata lives in the store it describes, so a flushed
// store also forgets what it had materialized and is rebuilt in full.
func MetaKey(name string) string {
	return "floe-meta:" + name
}
