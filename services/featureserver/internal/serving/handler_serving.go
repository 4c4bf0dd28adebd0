package serving

import (
	"context"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// ServingHandler implements floe.v1.ServingService over a Reader.
type ServingHandler struct {
	floev1connect.UnimplementedServingServiceHandler
	reader *Reader
}

// NewServingHandler returns the ServingService implementation.
func NewServingHandler(r *Reader) *ServingHandler { return &ServingHandler{reader: r} }

// GetOnlineFeatures implements floe.v1.ServingService.GetOnlineFeatures.
func (h *ServingHandler) GetOnlineFeatures(ctx context.Context, req *connect.Request[floev1.GetOnlineFeaturesRequest]) (*connect.Response[floev1.GetOnlineFeaturesResponse], error) {
	resp, err := h.reader.Read(ctx, req.Msg)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(resp), nil
}

// DiffFeatures implements floe.v1.ServingService.DiffFeatures.
func (h *ServingHandler) DiffFeatures(ctx context.Context, req *connect.Request[floev1.DiffFeaturesRequest]) (*connect.Response[floev1.DiffFeaturesResponse], error) {
	resp, err := h.reader.Diff(ctx, req.Msg)
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(resp), nil
}
