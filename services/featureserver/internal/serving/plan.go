// Package serving implements Floe's RPC handlers: thin adapters that validate a
// request, resolve it against the registry, read the stores and shape the answer.
// Stores know nothing of RPC; handlers own the mapping of errors to RPC codes.
package serving

import (
	"fmt"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// plan is a resolved feature selection: which views to read and where each of their
// features lands in the response. Plans of feature services are built once per
// registry; plans of explicit feature references are built per request.
type plan struct {
	columns []planColumn
	views   []planView
}

type planColumn struct {
	ref  registry.FeatureRef
	view int // index into plan.views
}

type planView struct {
	view *registry.FeatureView
	// out maps a feature's index in the view to its response column, -1 when the
	// request does not select it.
	out []int
	// decode is the number of leading features of a stored row to decode: one past
	// the last selected feature.
	decode int
	// selected is the number of the view's features the request selects.
	selected int
}

func newPlan(refs []registry.FeatureRef) *plan {
	p := &plan{}
	viewIdx := map[string]int{}
	for i, ref := range refs {
		vi, ok := viewIdx[ref.View.Name]
		if !ok {
			vi = len(p.views)
			viewIdx[ref.View.Name] = vi
			out := make([]int, len(ref.View.Features))
			for j := range out {
				out[j] = -1
			}
			p.views = append(p.views, planView{view: ref.View, out: out})
		}
		pv := &p.views[vi]
		pv.out[ref.Feature.Index] = i
		pv.decode = max(pv.decode, ref.Feature.Index+1)
		pv.selected++
		p.columns = append(p.columns, planColumn{ref: ref, view: vi})
	}
	return p
}

// planFromRefs resolves explicit references, rejecting unknown and repeated ones.
func planFromRefs(reg *registry.Registry, refs []string) (*plan, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("features.refs: list at least one feature as view:feature")
	}
	resolved := make([]registry.FeatureRef, 0, len(refs))
	seen := make(map[string]bool, len(refs))
	for i, s := range refs {
		if seen[s] {
			return nil, fmt.Errorf("features.refs[%d]: %q is requested twice", i, s)
		}
		seen[s] = true
		r, err := reg.ResolveRef(s)
		if err != nil {
			return nil, fmt.Errorf("features.refs[%d]: %w", i, err)
		}
		resolved = append(resolved, r)
	}
	return newPlan(resolved), nil
}
