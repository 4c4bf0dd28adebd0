package offline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Snapshot is one committed version of a view's table.
type Snapshot struct {
	// ID is the Iceberg snapshot id, the value every online value is stamped with.
	ID int64
	// ParentID is the previous snapshot; zero for the table's first snapshot.
	ParentID int64
	// SequenceNumber orders snapshots as committed.
	SequenceNumber int64
	// Timestamp is when the snapshot was committed.
	Timestamp time.Time
	// Operation is Iceberg's: "append", "overwrite", "delete" or "replace".
	Operation string
	// AddedRecords is the summary's added-records (rows the snapshot added).
	AddedRecords int64
	// TotalRecords is the summary's total-records (rows live in the snapshot).
	TotalRecords int64
	// Summary is the full snapshot summary, including Floe's floe.source-file.
	Summary map[string]string
}

// CurrentSnapshot returns the id of the table's current snapshot as the catalog
// has it now; ok is false when the table does not exist or has no snapshot yet.
// Transient catalog errors are retried within the context's deadline; errors
// that remain wrap ErrUnavailable. The table's cached metadata is refreshed as a
// side effect, so a LookupScan of the id returned needs no catalog call.
func (s *Store) CurrentSnapshot(ctx context.Context, v *registry.FeatureView) (id int64, ok bool, err error) {
	var tbl *table.Table
	err = retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.freshTable(ctx, v)
		return err
	})
	if errors.Is(err, ErrNoSuchTable) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("current snapshot of view %s: %w", v.Name, err)
	}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, false, nil
	}
	return snap.SnapshotID, true, nil
}

// RecentSnapshot is CurrentSnapshot answered from the table cache: the current
// snapshot as of at most MetadataMaxAge ago, the one LookupScan and Scan read
// when given snapshot id 0. It costs no catalog call while the cache is fresh,
// which suits a per-request miss path; pollers that must see every commit
// promptly use CurrentSnapshot.
func (s *Store) RecentSnapshot(ctx context.Context, v *registry.FeatureView) (id int64, ok bool, err error) {
	var tbl *table.Table
	err = retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.tableAt(ctx, v, 0)
		return err
	})
	if errors.Is(err, ErrNoSuchTable) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("recent snapshot of view %s: %w", v.Name, err)
	}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, false, nil
	}
	return snap.SnapshotID, true, nil
}

// Snapshots lists the snapshots of the view's table, oldest first, as the
// catalog has them now. Errors wrap ErrNoSuchTable when the table does not exist.
func (s *Store) Snapshots(ctx context.Context, v *registry.FeatureView) ([]Snapshot, error) {
	var tbl *table.Table
	err := retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.freshTable(ctx, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshots of view %s: %w", v.Name, err)
	}
	snaps := tbl.Metadata().Snapshots()
	out := make([]Snapshot, 0, len(snaps))
	for _, sn := range snaps {
		out = append(out, toSnapshot(sn))
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		if c := cmp.Compare(a.SequenceNumber, b.SequenceNumber); c != 0 {
			return c
		}
		return a.Timestamp.Compare(b.Timestamp)
	})
	return out, nil
}

// toSnapshot converts iceberg-go's snapshot to the package's.
func toSnapshot(sn table.Snapshot) Snapshot {
	o := Snapshot{
		ID:             sn.SnapshotID,
		SequenceNumber: sn.SequenceNumber,
		Timestamp:      time.UnixMilli(sn.TimestampMs).UTC(),
		Summary:        map[string]string{},
	}
	if sn.ParentSnapshotID != nil {
		o.ParentID = *sn.ParentSnapshotID
	}
	if sn.Summary != nil {
		o.Operation = string(sn.Summary.Operation)
		for k, val := range sn.Summary.Properties {
			o.Summary[k] = val
		}
		o.AddedRecords, _ = strconv.ParseInt(sn.Summary.Properties["added-records"], 10, 64)
		o.TotalRecords, _ = strconv.ParseInt(sn.Summary.Properties["total-records"], 10, 64)
	}
	return o
}

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
