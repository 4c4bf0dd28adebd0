package serving

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/offline"
)

// readAsOf answers a read at a past point from Iceberg: for each view the snapshot
// current then (or the one pinned), the latest row of each entity in it — exactly
// what materialization would have put online — with TTLs judged at that point.
func (r *Reader) readAsOf(ctx context.Context, p *plan, ids [][]string, n int, asOf *floev1.AsOf) (*floev1.GetOnlineFeaturesResponse, error) {
	if r.offline == nil {
		return nil, fmt.Errorf("%w: as_of reads need the offline store", errUnimplemented)
	}
	snaps, judge, err := r.resolveAsOf(ctx, p, asOf)
	if err != nil {
		return nil, err
	}
	rs := &rows{values: make([][]byte, len(p.views)*n), tiers: make([]floev1.Tier, len(p.views)*n)}
	var wg sync.WaitGroup
	errs := make([]error, len(p.views))
	for vi, pv := range p.views {
		if snaps[vi] == 0 {
			continue // the table had no snapshot then: every entity is absent
		}
		wg.Add(1)
		go func(vi int) {
			defer wg.Done()
			unique := map[string]bool{}
			var list []string
			for _, id := range ids[vi] {
				if !unique[id] {
					unique[id] = true
					list = append(list, id)
				}
			}
			latest, _, err := r.lookupLatest(ctx, pv.view, snaps[vi], list)
			if err != nil {
				errs[vi] = fmt.Errorf("as_of read of %s at snapshot %d: %w", pv.view.Name, snaps[vi], err)
				return
			}
			for row, id := range ids[vi] {
				if lr, ok := latest[id]; ok {
					rs.values[vi*n+row] = lr.Value
					rs.tiers[vi*n+row] = floev1.Tier_TIER_OFFLINE
				}
			}
		}(vi)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r.assemble(p, n, rs, judge.UnixMicro()), nil
}

// resolveAsOf returns the snapshot to read per plan view (0: none existed) and the
// instant TTLs are judged at.
func (r *Reader) resolveAsOf(ctx context.Context, p *plan, asOf *floev1.AsOf) ([]int64, time.Time, error) {
	snaps := make([]int64, len(p.views))
	switch point := asOf.GetPoint().(type) {
	case *floev1.AsOf_Time:
		if err := point.Time.CheckValid(); err != nil {
			return nil, time.Time{}, invalid("as_of.time: %v", err)
		}
		t := point.Time.AsTime()
		for vi, pv := range p.views {
			s, ok, err := r.offline.SnapshotAsOf(ctx, pv.view, t)
			if err != nil && !errors.Is(err, offline.ErrNoSuchTable) {
				return nil, time.Time{}, fmt.Errorf("as_of: snapshot of %s at %s: %w", pv.view.Name, t.Format(time.RFC3339), err)
			}
			if ok {
				snaps[vi] = s.ID
			}
		}
		return snaps, t, nil
	case *floev1.AsOf_Snapshots:
		pinned := point.Snapshots.GetSnapshotIds()
		var judge time.Time
		inPlan := map[string]bool{}
		for vi, pv := range p.views {
			inPlan[pv.view.Name] = true
			id, ok := pinned[pv.view.Name]
			if !ok {
				return nil, time.Time{}, invalid("as_of.snapshots: no snapshot id for feature view %q, which the request reads", pv.view.Name)
			}
			s, err := r.offline.Snapshot(ctx, pv.view, id)
			if errors.Is(err, offline.ErrNoSuchSnapshot) || errors.Is(err, offline.ErrNoSuchTable) {
				return nil, time.Time{}, invalid("as_of.snapshots[%q]: table of feature view %q has no snapshot %d", pv.view.Name, pv.view.Name, id)
			}
			if err != nil {
				return nil, time.Time{}, err
			}
			snaps[vi] = s.ID
			if s.Timestamp.After(judge) {
				judge = s.Timestamp
			}
		}
		for name := range pinned {
			if !inPlan[name] {
				return nil, time.Time{}, invalid("as_of.snapshots[%q]: the request reads no feature of this view", name)
			}
		}
		return snaps, judge, nil
	default:
		return nil, time.Time{}, invalid("as_of: set time or snapshots")
	}
}

// Diff answers DiffFeatures: the same single-entity read at two points.
func (r *Reader) Diff(ctx context.Context, req *floev1.DiffFeaturesRequest) (*floev1.DiffFeaturesResponse, error) {
	p, err := r.resolvePlan(req.GetFeatureService(), req.GetFeatures(), req.GetSelector() != nil)
	if err != nil {
		return nil, err
	}
	ids, n, err := r.entityIDs(p, req.GetEntities())
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, invalid("entities: a diff compares one entity, %d rows were given", n)
	}
	if req.GetFrom() == nil {
		return nil, invalid("from: set the earlier point (time or snapshots)")
	}
	to := req.GetTo()
	if to == nil {
		to = &floev1.AsOf{Point: &floev1.AsOf_Time{Time: timestamppb.New(r.now())}}
	}
	from, err := r.readAsOf(ctx, p, ids, n, req.GetFrom())
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	after, err := r.readAsOf(ctx, p, ids, n, to)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	out := &floev1.DiffFeaturesResponse{From: from, To: after}
	for i, c := range from.Columns {
		d := after.Columns[i]
		if c.Statuses[0] != d.Statuses[0] || !reflect.DeepEqual(JSONValue(c, 0), JSONValue(d, 0)) {
			out.Changed = append(out.Changed, c.Name)
		}
	}
	return out, nil
}
