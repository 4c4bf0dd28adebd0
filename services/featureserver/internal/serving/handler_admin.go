package serving

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// AdminHandler implements floe.v1.AdminService.
type AdminHandler struct {
	floev1connect.UnimplementedAdminServiceHandler
	reg *registry.Registry
	mat Publisher
	off SnapshotLister
	// stats returns the serving counters (telemetry.Metrics.Stats).
	stats func() (*floev1.GetServingStatsResponse, error)
	// materializer returns what this server's follower is doing; nil when unknown.
	materializer func() *floev1.MaterializerStatus
}

// SnapshotLister lists a view's Iceberg snapshots, oldest first (*offline.Store).
type SnapshotLister interface {
	Snapshots(ctx context.Context, v *registry.FeatureView) ([]offline.Snapshot, error)
}

// Publisher is what the admin service asks of the materializer, which publishes
// snapshots to the online store under the materialization lease; a refusal wraps
// ErrPublishRefused (another process holds the lease) or ErrPublishAborted. The server adapts its materializer to it, so
// serving, which only reports and relays, does not depend on how snapshots are
// published.
type Publisher interface {
	// Watermark returns the snapshot id view v was last published from, and
	// false if it never was (under its current schema).
	Watermark(ctx context.Context, v *registry.FeatureView) (int64, bool, error)
	// Materialize publishes the current snapshots of views, calling progress
	// with each step as the message Admin Materialize streams.
	Materialize(ctx context.Context, views []*registry.FeatureView, progress func(*floev1.MaterializeResponse)) error
}

// NewAdminHandler returns the AdminService implementation.
func NewAdminHandler(reg *registry.Registry, mat Publisher, off SnapshotLister, stats func() (*floev1.GetServingStatsResponse, error), materializer func() *floev1.MaterializerStatus) *AdminHandler {
	return &AdminHandler{reg: reg, mat: mat, off: off, stats: stats, materializer: materializer}
}

// GetServingStats implements floe.v1.AdminService.GetServingStats.
func (h *AdminHandler) GetServingStats(context.Context, *connect.Request[floev1.GetServingStatsRequest]) (*connect.Response[floev1.GetServingStatsResponse], error) {
	out, err := h.stats()
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(out), nil
}

// ListSnapshots implements floe.v1.AdminService.ListSnapshots.
func (h *AdminHandler) ListSnapshots(ctx context.Context, req *connect.Request[floev1.ListSnapshotsRequest]) (*connect.Response[floev1.ListSnapshotsResponse], error) {
	v, ok := h.reg.FeatureView(req.Msg.GetView())
	if !ok {
		return nil, toConnect(fmt.Errorf("%w: view: unknown feature view %q", ErrInvalidRequest, req.Msg.GetView()))
	}
	snaps, err := h.off.Snapshots(ctx, v)
	if err != nil && !errors.Is(err, offline.ErrNoSuchTable) {
		return nil, toConnect(err)
	}
	wm, _, err := h.mat.Watermark(ctx, v)
	if err != nil {
		return nil, toConnect(err)
	}
	limit := int(req.Msg.GetLimit())
	if limit == 0 {
		limit = 100
	}
	materialized := false
	out := &floev1.ListSnapshotsResponse{}
	// Snapshots come oldest first. Walking newest first, every snapshot from the
	// watermark on is covered by the materialized state.
	for i := len(snaps) - 1; i >= 0; i-- {
		if snaps[i].ID == wm {
			materialized = true
		}
		if len(out.Snapshots) < limit {
			out.Snapshots = append(out.Snapshots, snapshotProto(snaps[i], materialized))
		}
	}
	return connect.NewResponse(out), nil
}

// GetFreshness implements floe.v1.AdminService.GetFreshness.
func (h *AdminHandler) GetFreshness(ctx context.Context, _ *connect.Request[floev1.GetFreshnessRequest]) (*connect.Response[floev1.GetFreshnessResponse], error) {
	out := &floev1.GetFreshnessResponse{}
	if h.materializer != nil {
		out.Materializer = h.materializer()
	}
	for _, v := range h.reg.FeatureViews {
		snaps, err := h.off.Snapshots(ctx, v)
		if err != nil && !errors.Is(err, offline.ErrNoSuchTable) {
			return nil, toConnect(err)
		}
		wm, _, err := h.mat.Watermark(ctx, v)
		if err != nil {
			return nil, toConnect(err)
		}
		vf := &floev1.ViewFreshness{View: v.Name, MaterializedSnapshotId: wm}
		if len(snaps) > 0 {
			latest := snaps[len(snaps)-1]
			vf.Latest = snapshotProto(latest, latest.ID == wm)
			for _, s := range snaps {
				if s.ID == wm {
					vf.MaterializedCommittedAt = timestamppb.New(s.Timestamp)
					if latest.ID != wm {
						vf.LagSeconds = latest.Timestamp.Sub(s.Timestamp).Seconds()
					}
				}
			}
			if wm == 0 {
				vf.LagSeconds = time.Since(snaps[0].Timestamp).Seconds()
			}
		}
		out.Views = append(out.Views, vf)
	}
	return connect.NewResponse(out), nil
}

func snapshotProto(s offline.Snapshot, materialized bool) *floev1.Snapshot {
	return &floev1.Snapshot{
		SnapshotId: s.ID, ParentId: s.ParentID, CommittedAt: timestamppb.New(s.Timestamp),
		Operation: s.Operation, AddedRecords: s.AddedRecords, DeletedRecords: deletedRecords(s),
		Materialized: materialized,
	}
}

func deletedRecords(s offline.Snapshot) int64 {
	n, _ := strconv.ParseInt(s.Summary["deleted-records"], 10, 64)
	return n
}

// Materialize implements floe.v1.AdminService.Materialize, streaming progress.
// With a shared online store it takes the materialization lease, or is refused
// with FAILED_PRECONDITION naming the process that holds it (see
// materialize.Publisher); on the holder itself it goes ahead.
func (h *AdminHandler) Materialize(ctx context.Context, req *connect.Request[floev1.MaterializeRequest], stream *connect.ServerStream[floev1.MaterializeResponse]) error {
	views, err := SelectViews(h.reg, req.Msg.GetViews())
	if err != nil {
		return toConnect(err)
	}
	var sendErr error
	err = h.mat.Materialize(ctx, views, func(p *floev1.MaterializeResponse) {
		if sendErr != nil {
			return
		}
		sendErr = stream.Send(p)
	})
	if err == nil {
		err = sendErr
	}
	return toConnect(err)
}

// SelectViews resolves view names; no names means every view.
func SelectViews(reg *registry.Registry, names []string) ([]*registry.FeatureView, error) {
	if len(names) == 0 {
		return reg.FeatureViews, nil
	}
	views := make([]*registry.FeatureView, 0, len(names))
	for i, n := range names {
		v, ok := reg.FeatureView(n)
		if !ok {
			return nil, fmt.Errorf("%w: views[%d]: unknown feature view %q", ErrInvalidRequest, i, n)
		}
		views = append(views, v)
	}
	return views, nil
}
