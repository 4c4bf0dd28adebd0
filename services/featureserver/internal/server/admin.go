package server

import (
	"context"
	"errors"
	"fmt"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/materialize"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
)

// adminPublisher is the server's publisher as the admin service sees it
// (serving.Publisher): progress steps become the messages the RPC streams, and the
// lease's refusals become serving's sentinels.
type adminPublisher struct {
	*materialize.Publisher
}

var _ serving.Publisher = adminPublisher{}

// Materialize implements serving.Publisher.
func (p adminPublisher) Materialize(ctx context.Context, views []*registry.FeatureView, progress func(*floev1.MaterializeResponse)) error {
	err := p.Publisher.Materialize(ctx, views, func(s materialize.Progress) {
		progress(&floev1.MaterializeResponse{
			View: s.View, SnapshotId: s.SnapshotID, RowsRead: s.RowsRead,
			RowsWritten: s.RowsWritten, Done: s.Done, UpToDate: s.UpToDate,
		})
	})
	switch {
	case errors.Is(err, materialize.ErrLeaseHeld):
		return fmt.Errorf("%w: %w", serving.ErrPublishRefused, err)
	case errors.Is(err, materialize.ErrLeaseLost):
		return fmt.Errorf("%w: %w", serving.ErrPublishAborted, err)
	}
	return err
}
