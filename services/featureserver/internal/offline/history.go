package offline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Snapshot returns the snapshot id of the view's table. Cached metadata that
// holds it is used; otherwise the table is reloaded once. Errors wrap
// ErrNoSuchSnapshot when the table has no such snapshot (never had, or expired
// it), ErrNoSuchTable or ErrUnavailable.
func (s *Store) Snapshot(ctx context.Context, v *registry.FeatureView, id int64) (Snapshot, error) {
	var snap *table.Snapshot
	err := retry(ctx, func(ctx context.Context) error {
		tbl, err := s.tableAt(ctx, v, id)
		if err != nil {
			return err
		}
		if snap = tbl.SnapshotByID(id); snap == nil {
			return fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, v.Source.Identifier(), id)
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("snapshot %d of view %s: %w", id, v.Name, err)
	}
	return toSnapshot(*snap), nil
}

// SnapshotAsOf returns the snapshot that was current at t: the latest snapshot
// committed at or before t (to the millisecond, Iceberg's precision) along the
// main branch's history, that is among the current snapshot and its ancestors.
// A snapshot that a rollback took out of that history is not returned even if it
// was current at t; every read through the returned id is reproducible.
//
// ok is false when the table does not exist, has no snapshot yet, or has none
// as old as t (all expired, or t precedes the first commit). The metadata is
// the cached table's when it was confirmed current within MetadataMaxAge, so a
// commit made by another process in that window may not be seen yet. Errors wrap
// ErrUnavailable.
func (s *Store) SnapshotAsOf(ctx context.Context, v *registry.FeatureView, t time.Time) (Snapshot, bool, error) {
	var tbl *table.Table
	err := retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.tableAt(ctx, v, 0)
		return err
	})
	if errors.Is(err, ErrNoSuchTable) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("snapshot of view %s as of %s: %w", v.Name, t.UTC().Format(time.RFC3339Nano), err)
	}
	snap := snapshotAsOf(tbl.Metadata(), t)
	if snap == nil {
		return Snapshot{}, false, nil
	}
	return toSnapshot(*snap), true, nil
}

// snapshotAsOf walks the main branch from its head back to the first snapshot
// committed at or before t.
func snapshotAsOf(meta table.Metadata, t time.Time) *table.Snapshot {
	cur := meta.CurrentSnapshot()
	if cur == nil {
		return nil
	}
	ms := t.UnixMilli()
	for _, sn := range table.AncestorsOf(cur.SnapshotID, meta.SnapshotByID) {
		if sn.TimestampMs <= ms {
			return meta.SnapshotByID(sn.SnapshotID)
		}
	}
	return nil
}
