// Package materialize publishes Iceberg snapshots to the online store: for each
// feature view it reads a committed snapshot, keeps the latest row of every entity,
// and writes it to the online store stamped with the snapshot id and event time.
// Nothing reaches the online store that was not first committed to Iceberg.
package materialize

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/errgroup"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// batchSize is the number of entries written to the online store per Put: large
// enough to amortize round trips, small enough to keep pipelines modest.
const batchSize = 2000

// Progress reports one step of a view's materialization.
type Progress struct {
	View        string
	SnapshotID  int64
	RowsRead    int64
	RowsWritten int64
	Done        bool
	// UpToDate is set when the snapshot was already materialized.
	UpToDate bool
}

// Source is the part of the offline store materialization reads.
type Source interface {
	CurrentSnapshot(ctx context.Context, v *registry.FeatureView) (int64, bool, error)
	Scan(ctx context.Context, v *registry.FeatureView, snapshotID int64) (array.RecordReader, error)
	// Changes says what changed between two snapshots (see offline.ChangeSet).
	Changes(ctx context.Context, v *registry.FeatureView, fromExclusive, to int64) (*offline.ChangeSet, error)
	LookupScan(ctx context.Context, v *registry.FeatureView, snapshotID int64, ids []string) (array.RecordReader, error)
}

var _ Source = (*offline.Store)(nil)

// Materializer copies Iceberg snapshots into an online store.
type Materializer struct {
	src   Source
	store online.Store
	// mu serializes Sync: the server's follower and an operator's Materialize call
	// must not interleave, or one could write an older snapshot's rows (and
	// watermark) after the other wrote a newer one.
	mu sync.Mutex
}

// New returns a Materializer reading src and writing store.
func New(src Source, store online.Store) *Materializer {
	return &Materializer{src: src, store: store}
}

// watermarkKey is where the snapshot a view was last materialized from is kept: in
// the online store itself, so a flushed store is rebuilt in full.
func watermarkKey(v *registry.FeatureView) string {
	return online.MetaKey("materialized:" + v.Name)
}

// Watermark returns the snapshot id view v was last materialized from, and false if
// it never was (or was under another schema).
func (m *Materializer) Watermark(ctx context.Context, v *registry.FeatureView) (int64, bool, error) {
	vals, err := m.store.Get(ctx, []string{watermarkKey(v)})
	if err != nil {
		return 0, false, err
	}
	b := vals[0]
	if len(b) != 12 || binary.LittleEndian.Uint32(b[8:]) != v.SchemaHash {
		return 0, false, nil
	}
	return int64(binary.LittleEndian.Uint64(b)), true, nil
}

// Materialize brings every view in views up to its table's current snapshot,
// reporting progress through report (which may be nil). Views already at their
// current snapshot are skipped.
func (m *Materializer) Materialize(ctx context.Context, views []*registry.FeatureView, report func(Progress)) error {
	if report == nil {
		report = func(Progress) {}
	}
	for _, v := range views {
		if err := m.Sync(ctx, v, report); err != nil {
			return err
		}
	}
	return nil
}

// full materializes snapshot snap of v in full. prev, when not 0, is the snapshot
// the online store holds now: entities it had that snap no longer has are deleted.
func (m *Materializer) full(ctx context.Context, v *registry.FeatureView, snap, prev int64, report func(Progress)) error {
	latest, read, err := m.latestRows(ctx, v, snap, report)
	if err != nil {
		return err
	}
	p := Progress{View: v.Name, SnapshotID: snap, RowsRead: read}
	if err := m.putAll(ctx, v, latest, func(written int64) {
		p.RowsWritten = written
		report(p)
	}); err != nil {
		return err
	}
	if prev != 0 {
		if err := m.deleteVanished(ctx, v, prev, latest); err != nil {
			return err
		}
	}
	// The watermark is written last: a crash before it leaves the view to be
	// materialized again, which rewrites the same values.
	if err := m.setWatermark(ctx, v, snap); err != nil {
		return err
	}
	p.Done = true
	report(p)
	return nil
}

// putWriters is the number of Put batches in flight during a full
// materialization: one batch at a time leaves the store idle while Floe builds the
// next, and the store's answer idle while Floe waits (measured with make bench).
const putWriters = 4

// putAll writes every latest row to the online store, putWriters batches at a time,
// reporting the running count of entries written.
func (m *Materializer) putAll(ctx context.Context, v *registry.FeatureView, latest map[string]columns.LatestRow, written func(int64)) error {
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []online.Entry, putWriters)
	var mu sync.Mutex
	var total int64
	for i := 0; i < putWriters; i++ {
		g.Go(func() error {
			for batch := range batches {
				if err := m.store.Put(gctx, batch); err != nil {
					return err
				}
				mu.Lock()
				total += int64(len(batch))
				written(total)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(batches)
		batch := make([]online.Entry, 0, batchSize)
		for id, row := range latest {
			batch = append(batch, online.Entry{Key: online.Key(v.Name, id), Value: row.Value})
			if len(batch) == batchSize {
				select {
				case batches <- batch:
				case <-gctx.Done():
					return gctx.Err()
				}
				batch = make([]online.Entry, 0, batchSize)
			}
		}
		if len(batch) > 0 {
			select {
			case batches <- batch:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	return g.Wait()
}

// deleteVanished removes the online entries of entities that snapshot prev had and
// the new state (latest) does not: rows deleted or overwritten away in between.
func (m *Materializer) deleteVanished(ctx context.Context, v *registry.FeatureView, prev int64, latest map[string]columns.LatestRow) error {
	rdr, err := m.src.Scan(ctx, v, prev)
	if err != nil {
		return err
	}
	defer rdr.Release()
	var gone []string
	seen := map[string]bool{}
	for rdr.Next() {
		ids, err := columns.KeyStrings(rdr.RecordBatch().Column(0))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := latest[id]; !ok && !seen[id] {
				seen[id] = true
				gone = append(gone, online.Key(v.Name, id))
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return err
	}
	for start := 0; start < len(gone); start += batchSize {
		if err := m.store.Delete(ctx, gone[start:min(start+batchSize, len(gone))]); err != nil {
			return err
		}
	}
	return nil
}

func (m *Materializer) latestRows(ctx context.Context, v *registry.FeatureView, snap int64, report func(Progress)) (map[string]columns.LatestRow, int64, error) {
	rdr, err := m.src.Scan(ctx, v, snap)
	if err != nil {
		return nil, 0, err
	}
	defer rdr.Release()
	return columns.Latest(ctx, rdr, v, snap, func(read int64) {
		report(Progress{View: v.Name, SnapshotID: snap, RowsRead: read})
	})
}
