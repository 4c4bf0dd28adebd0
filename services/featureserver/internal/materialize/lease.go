package materialize

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Lease makes several followers of one online store take turns: only the holder of
// the lease follows; the others stand by, asking for it every interval, and one of
// them takes over when the holder lets it go (on shutdown) or stops renewing it (a
// crash, a partition) within TTL.
// Publisher builds one for each follower and each one-shot run.
type Lease struct {
	Leaser online.Leaser
	// Name identifies the followers that take turns (LeaseName): those of the
	// same views under the same schemas, so that during a rolling upgrade that
	// changes a view each version keeps its rows published.
	Name string
	// Holder identifies this process to the others (NewHolderID).
	Holder string
	// TTL is how long the lease outlives its holder's last renewal; the holder
	// renews it every TTL/3.
	TTL time.Duration
	// OnChange, if set, is called with whether this process now leads and who does
	// whenever that changes, once at the start, and after the lease could not be
	// asked for (the store was down).
	OnChange func(leader bool, holder string)
}

// ErrLeaseLost is the cause of a pass cut short because another follower took
// the lease (or this one could not renew it).
var ErrLeaseLost = errors.New("materialization lease lost")

// LeaseName returns the name of the lease the followers of views share: a hash of
// the views' names and schema hashes, which what a row holds depends on (and not,
// say, on a description).
func LeaseName(views []*registry.FeatureView) string {
	names := make([]string, len(views))
	for i, v := range views {
		names[i] = fmt.Sprintf("%s:%08x", v.Name, v.SchemaHash)
	}
	slices.Sort(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return "materialize:" + hex.EncodeToString(sum[:8])
}

// NewHolderID returns an id for this process: host, pid and random bytes.
func NewHolderID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

// FollowLeased is Follow run only while this process holds l. While it stands by,
// passDone is not called: another process does the passes. It gives l back when
// ctx ends, before it returns. Processes follow through Publisher.Follow.
func (m *Materializer) FollowLeased(ctx context.Context, l Lease, views []*registry.FeatureView, interval time.Duration, report func(Progress), passDone func(error)) {
	if l.OnChange == nil {
		l.OnChange = func(bool, string) {}
	}
	defer l.release(ctx)
	known, wasLeader := false, false
	change := func(leader bool, by string) {
		if !known || leader != wasLeader {
			known, wasLeader = true, leader
			l.OnChange(leader, by)
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		held, by, err := l.Leaser.Lease(ctx, l.Name, l.Holder, l.TTL)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if passDone != nil {
				passDone(fmt.Errorf("take the materialization lease: %w", err))
			}
			known = false // the next answer is reported, also when the role is the same
		case !held:
			change(false, by)
		default:
			change(true, l.Holder)
			lost := m.lead(ctx, l, views, interval, report, passDone)
			if ctx.Err() != nil {
				return
			}
			slog.Warn("materialize: stopped following", "cause", lost)
			l.OnChange(false, "")
			known = false // who leads now is reported with the next answer
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// lead follows until ctx ends or the lease is lost, which it returns.
func (m *Materializer) lead(ctx context.Context, l Lease, views []*registry.FeatureView, interval time.Duration, report func(Progress), passDone func(error)) error {
	return l.hold(ctx, func(ctx context.Context) error {
		m.Follow(ctx, views, interval, report, passDone)
		return nil
	})
}

// hold runs write, which l.Holder has just been granted l for, renewing l every
// TTL/3 meanwhile. If l is lost (or cannot be renewed) the context write runs
// under is cancelled with ErrLeaseLost as its cause, and hold returns that cause;
// otherwise what write returned. Every write to the online store under the lease
// runs inside a hold: the place that knows the lease's term while writing.
func (l Lease) hold(ctx context.Context, write func(ctx context.Context) error) error {
	leadCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(max(l.TTL/3, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-leadCtx.Done():
				return
			case <-t.C:
			}
			held, by, err := l.Leaser.Lease(leadCtx, l.Name, l.Holder, l.TTL)
			switch {
			case leadCtx.Err() != nil:
				return
			case err != nil:
				// The lease may still be ours, but it cannot be known: stop rather
				// than risk two publishers writing at once.
				stop(fmt.Errorf("%w: renew: %w", ErrLeaseLost, err))
				return
			case !held:
				stop(fmt.Errorf("%w to %s", ErrLeaseLost, by))
				return
			}
		}
	}()
	err := write(leadCtx)
	stop(nil)
	<-renewed
	if cause := context.Cause(leadCtx); errors.Is(cause, ErrLeaseLost) {
		return cause
	}
	return err
}

// release gives l up so that a standby takes over now rather than after TTL, also
// when ctx has ended (the process is stopping).
func (l Lease) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := l.Leaser.Release(rctx, l.Name, l.Holder); err != nil {
		slog.Warn("materialize: could not release the lease; another process takes over when it runs out", "ttl", l.TTL, "error", err)
	}
}
