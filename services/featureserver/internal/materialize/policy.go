package materialize

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Publisher is the one publishing policy: every process that writes snapshots to
// the online store (a server's follower, AdminService.Materialize, `floe
// materialize` with or without --follow) writes through one, so that on a store
// several processes share only the holder of the materialization lease writes.
//
// The lease covers the views a Publisher is built for: the registry's, whatever
// subset one call materializes, so that a subset can never be written next to a
// follower of the whole set. Followers of the same views under the same schemas
// share it (LeaseName); another version of the specs during a rolling upgrade has
// its own and publishes its own rows.
type Publisher struct {
	m     *Materializer
	views []*registry.FeatureView
	// leaser is nil when this process is the only writer of its store (the
	// in-process store) or the lease is turned off: it then writes freely.
	leaser online.Leaser
	name   string
	// holder is the id this process's follower holds the lease under.
	holder string
	ttl    time.Duration
}

// PublishOptions configures a Publisher (config.Materialize's lease settings).
type PublishOptions struct {
	// Lease makes the publishers of a shared store take turns through a lease in
	// it. Off, every publisher writes (duplicate, idempotent work).
	Lease bool
	// LeaseTTL is how long the lease outlives its holder's last renewal.
	LeaseTTL time.Duration
}

// ErrLeaseHeld is the cause of a materialization refused because another process
// holds the materialization lease: it follows the views' tables and publishes
// every new snapshot itself, and writing next to it could put an older snapshot's
// rows over a newer one's. The error names the holder.
var ErrLeaseHeld = errors.New("materialization lease held by another process")

// ErrPartialFollow is the cause of Follow refused for a subset of the views while
// the lease applies: holding the lease for every view while publishing some would
// leave the others to nobody.
var ErrPartialFollow = errors.New("following a subset of the views under the materialization lease")

// NewPublisher returns the Publisher of views (the registry's) from src to store.
func NewPublisher(src Source, store online.Store, views []*registry.FeatureView, o PublishOptions) *Publisher {
	p := &Publisher{m: New(src, store), views: views}
	if l := online.LeaserOf(store); l != nil && o.Lease {
		p.leaser, p.name, p.holder, p.ttl = l, LeaseName(views), NewHolderID(), o.LeaseTTL
	}
	return p
}

// Leased reports whether this Publisher writes only while it holds the lease.
func (p *Publisher) Leased() bool { return p.leaser != nil }

// Holder returns the id this process's follower holds the lease under ("" when
// there is no lease).
func (p *Publisher) Holder() string { return p.holder }

// Watermark returns the snapshot id view v was last materialized from (see
// Materializer.Watermark).
func (p *Publisher) Watermark(ctx context.Context, v *registry.FeatureView) (int64, bool, error) {
	return p.m.Watermark(ctx, v)
}

// Materialize brings views (all or some of the Publisher's) up to their tables'
// current snapshots once. Under the lease it first takes it, renews it while it
// writes and gives it back at the end; when another process holds it, nothing is
// written and the error wraps ErrLeaseHeld, naming the holder. When this
// process's own follower holds it, the two take turns in this process. A lease
// lost while writing stops the writes with ErrLeaseLost.
func (p *Publisher) Materialize(ctx context.Context, views []*registry.FeatureView, report func(Progress)) error {
	if p.leaser == nil {
		return p.m.Materialize(ctx, views, report)
	}
	holder := NewHolderID()
	held, by, err := p.leaser.Lease(ctx, p.name, holder, p.ttl)
	switch {
	case err != nil:
		return fmt.Errorf("take the materialization lease: %w", err)
	case !held && by == p.holder:
		// This process's follower leads; Materializer serializes its passes and
		// this one.
		return p.m.Materialize(ctx, views, report)
	case !held:
		return fmt.Errorf("%w: %s follows Iceberg and publishes every new snapshot; stop it to materialize from here, or wait for it (the lease is materialize.lease)", ErrLeaseHeld, by)
	}
	l := Lease{Leaser: p.leaser, Name: p.name, Holder: holder, TTL: p.ttl}
	defer l.release(ctx)
	return l.hold(ctx, func(ctx context.Context) error {
		return p.m.Materialize(ctx, views, report)
	})
}

// Follow keeps views at their tables' current snapshots until ctx ends (see
// Materializer.Follow): always without a lease, and only while it holds the lease
// with one. onRole, if not nil, is told whether this process leads and who does
// when that changes (see Lease.OnChange); it is not called without a lease.
// Under the lease, views must be all of the Publisher's (else ErrPartialFollow).
func (p *Publisher) Follow(ctx context.Context, views []*registry.FeatureView, interval time.Duration, report func(Progress), passDone func(error), onRole func(leader bool, holder string)) error {
	if p.leaser == nil {
		p.m.Follow(ctx, views, interval, report, passDone)
		return nil
	}
	if err := p.CanFollow(views); err != nil {
		return err
	}
	p.m.FollowLeased(ctx, Lease{Leaser: p.leaser, Name: p.name, Holder: p.holder, TTL: p.ttl, OnChange: onRole}, views, interval, report, passDone)
	return nil
}

// CanFollow returns the error Follow would refuse views with, nil if it would
// follow them.
func (p *Publisher) CanFollow(views []*registry.FeatureView) error {
	if p.leaser != nil && !sameViews(views, p.views) {
		return fmt.Errorf("%w: the lease covers every view of the specs (%d), %d were asked for", ErrPartialFollow, len(p.views), len(views))
	}
	return nil
}

func sameViews(a, b []*registry.FeatureView) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}
