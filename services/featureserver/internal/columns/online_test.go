package columns

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// TestLatestKeyTypes: Latest reads every join key type change detection reads
// (materialization once refused int32 and large_string keys that change
// detection accepted).
func TestLatestKeyTypes(t *testing.T) {
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(`
entities: [{name: user, join_keys: [{name: user_id, type: string}]}]
sources: [{name: t, table: ns.t}]
feature_views: [{name: v, entity: user, source: t, features: [{name: score, type: int64}]}]
`)})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := reg.FeatureView("v")
	mem := memory.NewGoAllocator()
	for _, key := range []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.LargeString} {
		t.Run(key.String(), func(t *testing.T) {
			kb := array.NewBuilder(mem, key)
			switch b := kb.(type) {
			case *array.Int32Builder:
				b.Append(7)
			case *array.LargeStringBuilder:
				b.Append("7")
			}
			tb := array.NewTimestampBuilder(mem, arrow.FixedWidthTypes.Timestamp_us.(*arrow.TimestampType))
			tb.Append(1)
			sb := array.NewInt64Builder(mem)
			sb.Append(3)
			sc := arrow.NewSchema([]arrow.Field{{Name: "user_id", Type: key}, {Name: "event_time", Type: tb.Type()}, {Name: "score", Type: arrow.PrimitiveTypes.Int64}}, nil)
			rec := array.NewRecordBatch(sc, []arrow.Array{kb.NewArray(), tb.NewArray(), sb.NewArray()}, 1)
			rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
			if err != nil {
				t.Fatal(err)
			}
			latest, _, err := Latest(context.Background(), rdr, v, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := latest["7"]; !ok {
				t.Fatalf("latest = %v, want entity 7", latest)
			}
		})
	}
}
