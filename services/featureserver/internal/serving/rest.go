package serving

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// RESTHandler serves GET /v1/features/{entity}/{id}: a human-friendly read of every
// feature of an entity (or of one feature service's, with ?service=NAME) as a flat
// JSON object {"view:feature": value}. It is a thin route over the same Reader as
// GetOnlineFeatures. Missing and null values are JSON null; an id no view knows is 404.
func RESTHandler(r *Reader) http.Handler {
	entityPlans := map[string]*plan{}
	for _, e := range r.reg.Entities {
		var refs []registry.FeatureRef
		for _, v := range r.reg.FeatureViews {
			if v.Entity == e {
				for _, f := range v.Features {
					refs = append(refs, registry.FeatureRef{View: v, Feature: f})
				}
			}
		}
		if len(refs) > 0 {
			entityPlans[e.Name] = newPlan(refs)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		entityName, rawID := req.PathValue("entity"), req.PathValue("id")
		e, ok := r.reg.Entity(entityName)
		if !ok {
			writeError(w, fmt.Errorf("%w: unknown entity %q", errNotFound, entityName))
			return
		}
		p := entityPlans[e.Name]
		if svc := req.URL.Query().Get("service"); svc != "" {
			sp, ok := r.services[svc]
			if !ok {
				writeError(w, invalid("unknown feature service %q", svc))
				return
			}
			p = sp
		}
		if p == nil {
			writeError(w, fmt.Errorf("%w: entity %q has no feature views", errNotFound, entityName))
			return
		}
		key := e.Key()
		col := &floev1.EntityColumn{JoinKey: key.Name}
		if key.Type == registry.TypeInt64 {
			id, err := strconv.ParseInt(rawID, 10, 64)
			if err != nil {
				writeError(w, invalid("id %q is not an int64, the type of join key %q", rawID, key.Name))
				return
			}
			col.Values = &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{id}}}
		} else {
			col.Values = &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{rawID}}}
		}
		ids, n, err := r.entityIDs(p, []*floev1.EntityColumn{col})
		if err == nil {
			var resp *floev1.GetOnlineFeaturesResponse
			if resp, err = r.read(req.Context(), p, ids, n); err == nil {
				writeRow(w, resp, entityName, rawID)
				return
			}
		}
		writeError(w, err)
	})
}

func writeRow(w http.ResponseWriter, resp *floev1.GetOnlineFeaturesResponse, entity, id string) {
	found := false
	for _, v := range resp.Views {
		if v.Tiers[0] != floev1.Tier_TIER_NONE {
			found = true
		}
	}
	if !found {
		writeError(w, fmt.Errorf("%w: %s %s is in no feature view", errNotFound, entity, id))
		return
	}
	out := make(map[string]any, len(resp.Columns))
	for _, c := range resp.Columns {
		out[c.Name] = JSONValue(c, 0)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// JSONValue returns row i of a column as a JSON-friendly value: nil unless the
// value is present or expired, timestamps as RFC 3339 strings.
func JSONValue(c *floev1.FeatureColumn, i int) any {
	switch c.Statuses[i] {
	case floev1.FeatureStatus_FEATURE_STATUS_PRESENT, floev1.FeatureStatus_FEATURE_STATUS_EXPIRED:
	default:
		return nil
	}
	switch v := c.Values.(type) {
	case *floev1.FeatureColumn_Int64Values:
		return v.Int64Values.Values[i]
	case *floev1.FeatureColumn_DoubleValues:
		return v.DoubleValues.Values[i]
	case *floev1.FeatureColumn_StringValues:
		return v.StringValues.Values[i]
	case *floev1.FeatureColumn_BoolValues:
		return v.BoolValues.Values[i]
	case *floev1.FeatureColumn_TimestampValues:
		return time.UnixMicro(v.TimestampValues.UnixMicros[i]).UTC().Format(time.RFC3339Nano)
	case *floev1.FeatureColumn_FloatVectorValues:
		d := int(v.FloatVectorValues.Dim)
		return v.FloatVectorValues.Values[i*d : (i+1)*d]
	}
	return nil
}
