package serving

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// RegistryHandler implements floe.v1.RegistryService. The registry is immutable, so
// its protobuf form is built once.
type RegistryHandler struct {
	floev1connect.UnimplementedRegistryServiceHandler
	full     *floev1.GetRegistryResponse
	entities map[string]*floev1.Entity
	views    map[string]*floev1.FeatureView
	services map[string]*floev1.FeatureService
}

// NewRegistryHandler returns the RegistryService implementation for reg.
func NewRegistryHandler(reg *registry.Registry) *RegistryHandler {
	h := &RegistryHandler{
		full:     RegistryProto(reg),
		entities: map[string]*floev1.Entity{},
		views:    map[string]*floev1.FeatureView{},
		services: map[string]*floev1.FeatureService{},
	}
	for _, e := range h.full.Entities {
		h.entities[e.Name] = e
	}
	for _, v := range h.full.FeatureViews {
		h.views[v.Name] = v
	}
	for _, s := range h.full.FeatureServices {
		h.services[s.Name] = s
	}
	return h
}

// RegistryProto converts a compiled registry to its API form.
func RegistryProto(reg *registry.Registry) *floev1.GetRegistryResponse {
	out := &floev1.GetRegistryResponse{Version: reg.Version}
	loc := func(l registry.Location) *floev1.SpecLocation {
		return &floev1.SpecLocation{File: l.File, Line: uint32(l.Line)}
	}
	for _, e := range reg.Entities {
		pe := &floev1.Entity{Name: e.Name, Description: e.Description, Location: loc(e.Location)}
		for _, k := range e.JoinKeys {
			pe.JoinKeys = append(pe.JoinKeys, &floev1.JoinKey{Name: k.Name, ValueType: floev1.ValueType(k.Type)})
		}
		out.Entities = append(out.Entities, pe)
	}
	for _, v := range reg.FeatureViews {
		pv := &floev1.FeatureView{
			Name:            v.Name,
			Description:     v.Description,
			Entity:          v.Entity.Name,
			SourceTable:     v.Source.Identifier(),
			EventTimeColumn: v.EventTime,
			TtlSeconds:      int64(v.TTL / time.Second),
			Location:        loc(v.Location),
		}
		for _, f := range v.Features {
			pv.Features = append(pv.Features, &floev1.Feature{Name: f.Name, ValueType: floev1.ValueType(f.Type), Dim: uint32(f.Dim), Description: f.Description})
		}
		out.FeatureViews = append(out.FeatureViews, pv)
	}
	for _, s := range reg.FeatureServices {
		ps := &floev1.FeatureService{Name: s.Name, Description: s.Description, Location: loc(s.Location)}
		for _, f := range s.Features {
			ps.Features = append(ps.Features, f.Name())
			t, dim := f.Output()
			out := &floev1.ServiceOutput{Name: f.OutputName(), Ref: f.Name(), ValueType: floev1.ValueType(t), Dim: uint32(dim)}
			if f.Transform != nil {
				for _, step := range f.Transform.Steps {
					out.Transform = append(out.Transform, step.String())
				}
				for _, i := range f.FittedSteps {
					out.FittedSteps = append(out.FittedSteps, uint32(i))
				}
			}
			ps.Outputs = append(ps.Outputs, out)
		}
		ps.Fit = fitProto(s.Fit)
		out.FeatureServices = append(out.FeatureServices, ps)
	}
	return out
}

// fitProto converts a service's fit provenance; nil when no step is fitted. The
// loader does not check the lock's fitted_at (nothing depends on it), so a time
// that does not parse is left unset rather than guessed.
func fitProto(fit *registry.FitInfo) *floev1.FitInfo {
	if fit == nil {
		return nil
	}
	pf := &floev1.FitInfo{LockFile: fit.LockFile, Snapshots: maps.Clone(fit.Snapshots)}
	if at, err := time.Parse(time.RFC3339, fit.FittedAt); err == nil {
		pf.FittedAt = timestamppb.New(at)
	}
	return pf
}

func lookup[T any](m map[string]T, kind, name string) (T, error) {
	v, ok := m[name]
	if !ok {
		var zero T
		names := make([]string, 0, len(m))
		for n := range m {
			names = append(names, n)
		}
		sort.Strings(names)
		return zero, fmt.Errorf("%w: %s %q is not defined (defined: %s)", errNotFound, kind, name, strings.Join(names, ", "))
	}
	return v, nil
}

// GetRegistry implements floe.v1.RegistryService.GetRegistry.
func (h *RegistryHandler) GetRegistry(context.Context, *connect.Request[floev1.GetRegistryRequest]) (*connect.Response[floev1.GetRegistryResponse], error) {
	return connect.NewResponse(h.full), nil
}

// ListEntities implements floe.v1.RegistryService.ListEntities.
func (h *RegistryHandler) ListEntities(context.Context, *connect.Request[floev1.ListEntitiesRequest]) (*connect.Response[floev1.ListEntitiesResponse], error) {
	return connect.NewResponse(&floev1.ListEntitiesResponse{Version: h.full.Version, Entities: h.full.Entities}), nil
}

// GetEntity implements floe.v1.RegistryService.GetEntity.
func (h *RegistryHandler) GetEntity(_ context.Context, req *connect.Request[floev1.GetEntityRequest]) (*connect.Response[floev1.GetEntityResponse], error) {
	e, err := lookup(h.entities, "entity", req.Msg.GetName())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&floev1.GetEntityResponse{Version: h.full.Version, Entity: e}), nil
}

// ListFeatureViews implements floe.v1.RegistryService.ListFeatureViews.
func (h *RegistryHandler) ListFeatureViews(context.Context, *connect.Request[floev1.ListFeatureViewsRequest]) (*connect.Response[floev1.ListFeatureViewsResponse], error) {
	return connect.NewResponse(&floev1.ListFeatureViewsResponse{Version: h.full.Version, FeatureViews: h.full.FeatureViews}), nil
}

// GetFeatureView implements floe.v1.RegistryService.GetFeatureView.
func (h *RegistryHandler) GetFeatureView(_ context.Context, req *connect.Request[floev1.GetFeatureViewRequest]) (*connect.Response[floev1.GetFeatureViewResponse], error) {
	v, err := lookup(h.views, "feature view", req.Msg.GetName())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&floev1.GetFeatureViewResponse{Version: h.full.Version, FeatureView: v}), nil
}

// ListFeatureServices implements floe.v1.RegistryService.ListFeatureServices.
func (h *RegistryHandler) ListFeatureServices(context.Context, *connect.Request[floev1.ListFeatureServicesRequest]) (*connect.Response[floev1.ListFeatureServicesResponse], error) {
	return connect.NewResponse(&floev1.ListFeatureServicesResponse{Version: h.full.Version, FeatureServices: h.full.FeatureServices}), nil
}

// GetFeatureService implements floe.v1.RegistryService.GetFeatureService.
func (h *RegistryHandler) GetFeatureService(_ context.Context, req *connect.Request[floev1.GetFeatureServiceRequest]) (*connect.Response[floev1.GetFeatureServiceResponse], error) {
	s, err := lookup(h.services, "feature service", req.Msg.GetName())
	if err != nil {
		return nil, toConnect(err)
	}
	return connect.NewResponse(&floev1.GetFeatureServiceResponse{Version: h.full.Version, FeatureService: s}), nil
}
