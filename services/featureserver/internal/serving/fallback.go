package serving

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/singleflight"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Offline is what serving reads from the offline store: the cache-aside miss path,
// as-of reads and diffs. *offline.Store implements it.
type Offline interface {
	// RecentSnapshot is the current snapshot as of a moment ago, from a cache: the
	// miss path must not cost a catalog call per request.
	RecentSnapshot(ctx context.Context, v *registry.FeatureView) (int64, bool, error)
	Snapshot(ctx context.Context, v *registry.FeatureView, id int64) (offline.Snapshot, error)
	SnapshotAsOf(ctx context.Context, v *registry.FeatureView, t time.Time) (offline.Snapshot, bool, error)
	LookupScan(ctx context.Context, v *registry.FeatureView, snapshotID int64, ids []string) (array.RecordReader, error)
}

// WithOffline enables the cache-aside miss path and as-of reads: online misses are
// looked up in Iceberg, written back to the online store (never over a newer value)
// and absences remembered for negativeTTL — which is also the longest a newly
// materialized entity can still read as NOT_FOUND on a server that looked it up
// just before.
func WithOffline(off Offline, negativeTTL time.Duration) ReaderOption {
	return func(r *Reader) {
		r.offline = off
		r.fills = &fills{negative: online.NewMemory(online.WithMaxEntries(100_000)), negativeTTL: negativeTTL}
	}
}

// fills is the state of the miss path.
type fills struct {
	group singleflight.Group
	// negative remembers entities confirmed absent from a view's current snapshot,
	// keyed by online key, so a stream of reads for an unknown id does not become a
	// stream of Iceberg scans.
	negative    *online.Memory
	negativeTTL time.Duration
	// writeBacks bounds the fills written back to the online store at once; a miss
	// storm must not become a write storm.
	writeBacks atomic.Int32
}

const maxWriteBacks = 64

// fillMisses looks up, in the offline store, every key the online store did not
// have, one lookup per view, views in parallel.
func (r *Reader) fillMisses(ctx context.Context, p *plan, ids [][]string, n int, keys []string, rs *rows) error {
	var wg sync.WaitGroup
	var errs []error // allocated on the first miss that the negative cache does not answer
	for vi, pv := range p.views {
		var missing map[string][]int // entity id → key indexes
		for row := 0; row < n; row++ {
			k := vi*n + row
			if rs.values[k] != nil {
				continue
			}
			if hit, _ := r.fills.negative.Get(ctx, keys[k:k+1]); hit[0] != nil {
				continue
			}
			if missing == nil {
				missing = map[string][]int{}
			}
			missing[ids[vi][row]] = append(missing[ids[vi][row]], k)
		}
		if len(missing) == 0 {
			continue
		}
		if errs == nil {
			errs = make([]error, len(p.views))
		}
		wg.Add(1)
		go func(vi int, v *registry.FeatureView, missing map[string][]int) {
			defer wg.Done()
			errs[vi] = r.fillView(ctx, v, missing, rs, rs.degraded == "")
		}(vi, pv.view, missing)
	}
	wg.Wait()
	for vi, err := range errs {
		if err == nil {
			continue
		}
		if rs.degraded != "" {
			// Neither store answered: the call as a whole cannot be served.
			return errors.Join(err, errors.New(rs.degraded))
		}
		// The online store answered; what it missed is unknown rather than absent.
		slog.WarnContext(ctx, "offline lookup failed", "view", p.views[vi].view.Name, "error", err)
		if rs.unavailable == nil {
			rs.unavailable = make([]bool, len(keys))
		}
		for row := 0; row < n; row++ {
			if k := vi*n + row; rs.values[k] == nil {
				rs.unavailable[k] = true
			}
		}
	}
	return nil
}

// fillView reads the latest rows of the missing entities from the view's current
// snapshot. Concurrent lookups of the same entities collapse into one.
func (r *Reader) fillView(ctx context.Context, v *registry.FeatureView, missing map[string][]int, rs *rows, writeBack bool) error {
	idList := make([]string, 0, len(missing))
	for id := range missing {
		idList = append(idList, id)
	}
	sort.Strings(idList)
	flightKey := v.Name + "\x00" + strings.Join(idList, "\x00")
	res, err, _ := r.fills.group.Do(flightKey, func() (any, error) {
		latest, _, err := r.lookupLatest(ctx, v, 0, idList)
		return latest, err
	})
	if err != nil {
		return err
	}
	latest := res.(map[string]columns.LatestRow)
	var found []online.Entry
	var absent []online.Entry
	expire := time.Now().Add(r.fills.negativeTTL)
	for id, ks := range missing {
		row, ok := latest[id]
		if !ok {
			absent = append(absent, online.Entry{Key: online.Key(v.Name, id), Value: []byte{}, ExpireAt: expire})
			continue
		}
		for _, k := range ks {
			rs.values[k] = row.Value
			rs.tiers[k] = floev1.Tier_TIER_OFFLINE
		}
		found = append(found, online.Entry{Key: online.Key(v.Name, id), Value: row.Value, IfAbsent: true})
	}
	if len(absent) > 0 && r.fills.negativeTTL > 0 {
		_ = r.fills.negative.Put(ctx, absent)
	}
	if writeBack && len(found) > 0 {
		r.writeBack(found)
	}
	return nil
}

// writeBack stores filled rows in the online store in the background, so the miss
// that found them does not wait on it. IfAbsent keeps a fill from an older snapshot
// from overwriting what materialization wrote meanwhile.
func (r *Reader) writeBack(entries []online.Entry) {
	if r.fills.writeBacks.Add(1) > maxWriteBacks {
		r.fills.writeBacks.Add(-1)
		return
	}
	go func() {
		defer r.fills.writeBacks.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.store.Put(ctx, entries); err != nil {
			slog.Debug("cache write-back failed", "entries", len(entries), "error", err)
		}
	}()
}

// lookupLatest returns the latest row of each id in the given snapshot (0: the
// current one), encoded as online values, and the snapshot id read.
func (r *Reader) lookupLatest(ctx context.Context, v *registry.FeatureView, snap int64, ids []string) (map[string]columns.LatestRow, int64, error) {
	if snap == 0 {
		cur, ok, err := r.offline.RecentSnapshot(ctx, v)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			return map[string]columns.LatestRow{}, 0, nil
		}
		snap = cur
	}
	rdr, err := r.offline.LookupScan(ctx, v, snap, ids)
	if err != nil {
		return nil, 0, err
	}
	defer rdr.Release()
	latest, _, err := columns.Latest(ctx, rdr, v, snap, nil)
	return latest, snap, err
}

// breakerCooldown is how long reads skip an online store that failed as
// unreachable before trying it again. Without it every degraded read would first
// spend its dial timeout on the dead store.
const breakerCooldown = time.Second

// breaker remembers that the online store was unreachable.
type breaker struct {
	until atomic.Int64 // unix nanos until which the store is skipped
	err   atomic.Pointer[error]
}

func (b *breaker) open(now time.Time) bool { return now.UnixNano() < b.until.Load() }

func (b *breaker) reason() error {
	if p := b.err.Load(); p != nil {
		return *p
	}
	return online.ErrUnavailable
}

func (b *breaker) trip(now time.Time, err error) {
	b.err.Store(&err)
	b.until.Store(now.Add(breakerCooldown).UnixNano())
}
