package materialize

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Follow keeps every view at its table's current snapshot until ctx ends: every
// interval it applies what changed since each view's watermark. Errors (a catalog
// or warehouse that is down, an online store that is down) are reported and the
// view is retried at the next tick from the same watermark, so no snapshot is
// skipped. passDone, if not nil, is called after every pass over all views with
// what failed in it (nil when every view is in step).
func (m *Materializer) Follow(ctx context.Context, views []*registry.FeatureView, interval time.Duration, report func(Progress), passDone func(error)) {
	if report == nil {
		report = func(Progress) {}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var errs []error
		for _, v := range views {
			if err := m.Sync(ctx, v, report); err != nil {
				if ctx.Err() != nil {
					return
				}
				errs = append(errs, err)
				slog.Warn("materialize: will retry at the next tick", "view", v.Name, "error", err)
			}
		}
		if passDone != nil {
			passDone(joinErrs(errs))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d views failed, first: %w", len(errs), errs[0])
}

// Sync brings one view from its watermark to its table's current snapshot. With no
// watermark (a new or flushed online store) it materializes the snapshot in full;
// otherwise it applies only the rows appended since, and re-reads the entities
// that overwrites and deletes touched. The watermark moves only after every write
// succeeded, so a failure leaves the range to be applied again (idempotently).
func (m *Materializer) Sync(ctx context.Context, v *registry.FeatureView, report func(Progress)) error {
	if report == nil {
		report = func(Progress) {}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.sync(ctx, v, report); err != nil {
		return fmt.Errorf("materialize %s: %w", v.Name, err)
	}
	return nil
}

func (m *Materializer) sync(ctx context.Context, v *registry.FeatureView, report func(Progress)) error {
	cur, ok, err := m.src.CurrentSnapshot(ctx, v)
	if err != nil {
		return err
	}
	if !ok {
		report(Progress{View: v.Name, Done: true, UpToDate: true})
		return nil
	}
	wm, found, err := m.Watermark(ctx, v)
	if err != nil {
		return err
	}
	switch {
	case found && wm == cur:
		report(Progress{View: v.Name, SnapshotID: cur, Done: true, UpToDate: true})
		return nil
	case !found:
		return m.full(ctx, v, cur, 0, report)
	}
	cs, err := m.src.Changes(ctx, v, wm, cur)
	if err != nil {
		return fmt.Errorf("changes %d..%d: %w", wm, cur, err)
	}
	if cs.Appended != nil {
		defer cs.Appended.Release()
	}
	if cs.FullRescan {
		return m.full(ctx, v, cur, wm, report)
	}
	return m.applyChanges(ctx, v, cur, cs, report)
}

func (m *Materializer) applyChanges(ctx context.Context, v *registry.FeatureView, cur int64, cs *offline.ChangeSet, report func(Progress)) error {
	p := Progress{View: v.Name, SnapshotID: cur}
	appended := map[string]columns.LatestRow{}
	if cs.Appended != nil {
		var err error
		if appended, p.RowsRead, err = columns.Latest(ctx, cs.Appended, v, cur, nil); err != nil {
			return err
		}
	}
	// An appended row is the entity's latest only if no row already online is newer
	// (late data). An entity that is not online (evicted, or never materialized)
	// cannot be compared and is re-read from the snapshot, like the affected ones.
	reread := map[string]bool{}
	for _, id := range cs.Affected {
		reread[id] = true
	}
	var candidates []string
	for id := range appended {
		if !reread[id] {
			candidates = append(candidates, id)
		}
	}
	var entries []online.Entry
	for start := 0; start < len(candidates); start += batchSize {
		chunk := candidates[start:min(start+batchSize, len(candidates))]
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = online.Key(v.Name, id)
		}
		existing, err := m.store.Get(ctx, keys)
		if err != nil {
			return err
		}
		for i, id := range chunk {
			h, _, err := online.DecodeHeader(existing[i])
			switch {
			case existing[i] == nil || err != nil || h.SchemaHash != v.SchemaHash:
				reread[id] = true
			case h.EventTime <= appended[id].EventTime:
				entries = append(entries, online.Entry{Key: keys[i], Value: appended[id].Value})
			}
		}
	}
	var removed []string
	if len(reread) > 0 {
		ids := make([]string, 0, len(reread))
		for id := range reread {
			ids = append(ids, id)
		}
		rdr, err := m.src.LookupScan(ctx, v, cur, ids)
		if err != nil {
			return err
		}
		latest, _, err := columns.Latest(ctx, rdr, v, cur, nil)
		rdr.Release()
		if err != nil {
			return err
		}
		for _, id := range ids {
			if row, ok := latest[id]; ok {
				entries = append(entries, online.Entry{Key: online.Key(v.Name, id), Value: row.Value})
			} else {
				removed = append(removed, online.Key(v.Name, id))
			}
		}
	}
	for start := 0; start < len(entries); start += batchSize {
		chunk := entries[start:min(start+batchSize, len(entries))]
		if err := m.store.Put(ctx, chunk); err != nil {
			return err
		}
		p.RowsWritten += int64(len(chunk))
		report(p)
	}
	if len(removed) > 0 {
		if err := m.store.Delete(ctx, removed); err != nil {
			return err
		}
	}
	if err := m.setWatermark(ctx, v, cur); err != nil {
		return err
	}
	p.Done = true
	report(p)
	return nil
}

func (m *Materializer) setWatermark(ctx context.Context, v *registry.FeatureView, snap int64) error {
	wm := binary.LittleEndian.AppendUint64(nil, uint64(snap))
	wm = binary.LittleEndian.AppendUint32(wm, v.SchemaHash)
	return m.store.Put(ctx, []online.Entry{{Key: watermarkKey(v), Value: wm}})
}
