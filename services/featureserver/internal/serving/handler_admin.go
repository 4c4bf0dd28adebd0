package serving

import (
	"context"
	"fmt"
	"sync"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/materialize"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// AdminHandler implements floe.v1.AdminService.
type AdminHandler struct {
	floev1connect.UnimplementedAdminServiceHandler
	reg *registry.Registry
	mat *materialize.Materializer
	// mu serializes materializations: two at once would only race to write the
	// same rows.
	mu sync.Mutex
}

// NewAdminHandler returns the AdminService implementation.
func NewAdminHandler(reg *registry.Registry, mat *materialize.Materializer) *AdminHandler {
	return &AdminHandler{reg: reg, mat: mat}
}

// Materialize implements floe.v1.AdminService.Materialize, streaming progress.
func (h *AdminHandler) Materialize(ctx context.Context, req *connect.Request[floev1.MaterializeRequest], stream *connect.ServerStream[floev1.MaterializeResponse]) error {
	views, err := SelectViews(h.reg, req.Msg.GetViews())
	if err != nil {
		return toConnect(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var sendErr error
	err = h.mat.Materialize(ctx, views, func(p materialize.Progress) {
		if sendErr != nil {
			return
		}
		sendErr = stream.Send(&floev1.MaterializeResponse{
			View: p.View, SnapshotId: p.SnapshotID, RowsRead: p.RowsRead,
			RowsWritten: p.RowsWritten, Done: p.Done, UpToDate: p.UpToDate,
		})
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
