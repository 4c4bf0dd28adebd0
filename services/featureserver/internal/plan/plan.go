// Package plan says what deploying a set of specs will change, before it is
// deployed: the differences between the registry a server runs and the one the
// specs compile to, judged by what they do to the models that read them. `floe plan`
// adds the Iceberg tables' side (offline.Store.PlanTable) and the lock files'.
package plan

import (
	"fmt"
	"slices"
	"strings"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
)

// Effect is what a change means for a deploy.
type Effect int

const (
	// Safe changes need nothing but the deploy.
	Safe Effect = iota
	// Rematerialize changes make the online store rewrite a view in full: the view's
	// rows are stored under a hash of its schema, so a new schema starts empty online
	// and is filled from Iceberg (misses are read from Iceberg meanwhile).
	Rematerialize
	// Breaking changes alter what an existing feature service returns, so a model
	// trained on it would receive other inputs. They are refused unless allowed:
	// publish the new contract under a new service name instead.
	Breaking
)

func (e Effect) String() string {
	switch e {
	case Rematerialize:
		return "rematerialize"
	case Breaking:
		return "breaking"
	}
	return "safe"
}

// Change is one difference between the deployed registry and the new one.
type Change struct {
	// Subject is what changes, e.g. `feature view user_behavior`.
	Subject string
	// What says how, e.g. `feature coupon_uses_30d added (int64)`.
	What   string
	Effect Effect
}

func (c Change) String() string { return fmt.Sprintf("%s: %s [%s]", c.Subject, c.What, c.Effect) }

// Registries compares the registry a server runs (from) with the one the specs
// compile to (to) and returns every change, views first, then services, each in
// name order.
func Registries(from, to *floev1.GetRegistryResponse) []Change {
	var out []Change
	oldViews := byName(from.GetFeatureViews(), (*floev1.FeatureView).GetName)
	newViews := byName(to.GetFeatureViews(), (*floev1.FeatureView).GetName)
	for _, name := range unionKeys(oldViews, newViews) {
		o, n := oldViews[name], newViews[name]
		subject := "feature view " + name
		switch {
		case o == nil:
			out = append(out, Change{subject, fmt.Sprintf("added (%d features from %s)", len(n.GetFeatures()), n.GetSourceTable()), Safe})
		case n == nil:
			out = append(out, Change{subject, "removed (its online rows are no longer read)", Safe})
		default:
			out = append(out, viewChanges(subject, o, n)...)
		}
	}
	oldSvcs := byName(from.GetFeatureServices(), (*floev1.FeatureService).GetName)
	newSvcs := byName(to.GetFeatureServices(), (*floev1.FeatureService).GetName)
	for _, name := range unionKeys(oldSvcs, newSvcs) {
		o, n := oldSvcs[name], newSvcs[name]
		subject := "feature service " + name
		switch {
		case o == nil:
			out = append(out, Change{subject, fmt.Sprintf("added (%d outputs)", len(n.GetOutputs())), Safe})
		case n == nil:
			out = append(out, Change{subject, "removed: models reading it would fail", Breaking})
		default:
			out = append(out, serviceChanges(subject, o, n)...)
		}
	}
	return out
}

func viewChanges(subject string, o, n *floev1.FeatureView) []Change {
	var out []Change
	if o.GetSourceTable() != n.GetSourceTable() {
		out = append(out, Change{subject, fmt.Sprintf("source table %s → %s", o.GetSourceTable(), n.GetSourceTable()), Rematerialize})
	}
	if o.GetEntity() != n.GetEntity() {
		out = append(out, Change{subject, fmt.Sprintf("entity %s → %s", o.GetEntity(), n.GetEntity()), Rematerialize})
	}
	if o.GetEventTimeColumn() != n.GetEventTimeColumn() {
		out = append(out, Change{subject, fmt.Sprintf("event time column %s → %s", o.GetEventTimeColumn(), n.GetEventTimeColumn()), Rematerialize})
	}
	if o.GetTtlSeconds() != n.GetTtlSeconds() {
		out = append(out, Change{subject, fmt.Sprintf("ttl %ds → %ds (values are judged by the new TTL at once)", o.GetTtlSeconds(), n.GetTtlSeconds()), Safe})
	}
	oldF := byName(o.GetFeatures(), (*floev1.Feature).GetName)
	newF := byName(n.GetFeatures(), (*floev1.Feature).GetName)
	for _, name := range unionKeys(oldF, newF) {
		of, nf := oldF[name], newF[name]
		switch {
		case of == nil:
			out = append(out, Change{subject, fmt.Sprintf("feature %s added (%s)", name, typeName(nf.GetValueType(), nf.GetDim())), Rematerialize})
		case nf == nil:
			out = append(out, Change{subject, fmt.Sprintf("feature %s removed", name), Rematerialize})
		case of.GetValueType() != nf.GetValueType() || of.GetDim() != nf.GetDim():
			out = append(out, Change{subject, fmt.Sprintf("feature %s retyped %s → %s", name, typeName(of.GetValueType(), of.GetDim()), typeName(nf.GetValueType(), nf.GetDim())), Rematerialize})
		}
	}
	if !slices.EqualFunc(o.GetFeatures(), n.GetFeatures(), func(a, b *floev1.Feature) bool { return a.GetName() == b.GetName() }) && len(oldF) == len(newF) && len(out) == 0 {
		out = append(out, Change{subject, "features reordered", Rematerialize})
	}
	return out
}

func serviceChanges(subject string, o, n *floev1.FeatureService) []Change {
	describe := func(outs []*floev1.ServiceOutput) []string {
		s := make([]string, len(outs))
		for i, x := range outs {
			s[i] = output(x)
		}
		return s
	}
	ol, nl := describe(o.GetOutputs()), describe(n.GetOutputs())
	if slices.Equal(ol, nl) {
		return nil
	}
	var what []string
	oldSet, newSet := map[string]bool{}, map[string]bool{}
	for _, s := range ol {
		oldSet[s] = true
	}
	for _, s := range nl {
		newSet[s] = true
	}
	for _, s := range nl {
		if !oldSet[s] {
			what = append(what, "+ "+s)
		}
	}
	for _, s := range ol {
		if !newSet[s] {
			what = append(what, "- "+s)
		}
	}
	if len(what) == 0 {
		what = append(what, "outputs reordered")
	}
	return []Change{{subject, "outputs change: " + strings.Join(what, "; ") + " — models trained on it would receive other inputs; publish it under a new name", Breaking}}
}

// output describes one output column as a model sees it: name, type and the
// transform steps with their parameters.
func output(o *floev1.ServiceOutput) string {
	s := o.GetName() + " " + typeName(o.GetValueType(), o.GetDim())
	if len(o.GetTransform()) > 0 {
		s += " = " + o.GetRef() + " | " + strings.Join(o.GetTransform(), " | ")
	}
	return s
}

func typeName(t floev1.ValueType, dim uint32) string {
	name := strings.ToLower(strings.TrimPrefix(t.String(), "VALUE_TYPE_"))
	if dim > 0 {
		name += fmt.Sprintf("[%d]", dim)
	}
	return name
}

func byName[T any](items []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(items))
	for _, it := range items {
		m[name(it)] = it
	}
	return m
}

func unionKeys[T any](a, b map[string]T) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
