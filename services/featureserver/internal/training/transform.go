package training

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// ColumnName is the name of ref's feature column in training data: the output name
// when the feature service gives one (every transformed feature has one), else
// "<view>__<feature>".
func ColumnName(r registry.FeatureRef) string {
	if r.Alias != "" {
		return r.Alias
	}
	return r.View.Name + "__" + r.Feature.Name
}

// columnType is the Arrow type of ref's feature column: the view's canonical type
// when served raw, the chain's output type when transformed.
func columnType(r registry.FeatureRef) arrow.DataType {
	if r.Transform == nil {
		return offline.ArrowSchema(r.View).Field(2 + r.Feature.Index).Type
	}
	t, _ := r.Output()
	return offline.ArrowType(t)
}

// applyChain runs ref's transform over the joined raw values. A row with no joined
// view row (unknown entity, before any data, older than the TTL) is null, exactly as
// an online read sees a missing or expired value: fill_null fills both.
func applyChain(r registry.FeatureRef, raw arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	in, err := columns.FromArrow(raw, transform.Type(r.Feature.Type), r.Feature.Dim)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %w", r.Name(), err)
	}
	out, err := r.Transform.Apply(in)
	if err != nil {
		return nil, fmt.Errorf("feature %s: %w", r.Name(), err)
	}
	return columns.ToArrow(out, mem), nil
}
