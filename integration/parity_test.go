package integration

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// TestTrainingOnlineParity reads the transformed feature service pricing_agent_v2
// online and as training data at the same moment, for known and unknown users,
// and requires the same value, bit for bit, wherever online has a usable value
// (PRESENT or FILLED) and a null in training data wherever it has not.
func TestTrainingOnlineParity(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}")
	files := p.exampleData("pricing", 300)
	srv := p.serve()
	srv.waitReady()
	for _, view := range []string{"user_profile", "user_behavior"} {
		p.must("ingest", "--config", p.config, "--view", view, "--file", files[view])
	}
	p.must("materialize", "--config", p.config, "--server", srv.url)
	at := time.Now().UTC()

	ids := []int64{999_999} // unknown: every value missing, fill_null fills some
	for i := int64(0); i < 300; i += 3 {
		ids = append(ids, i)
	}
	serving := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
	online, err := serving.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "pricing_agent_v2"},
		Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: ids}}}},
	}))
	if err != nil {
		t.Fatal(err)
	}

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(at.UnixMicro()))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var in bytes.Buffer
	w := ipc.NewWriter(&in, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	training := floev1connect.NewTrainingServiceClient(http.DefaultClient, srv.url)
	stream, err := training.GetHistoricalFeatures(context.Background(), connect.NewRequest(&floev1.GetHistoricalFeaturesRequest{
		Selector:           &floev1.GetHistoricalFeaturesRequest_FeatureService{FeatureService: "pricing_agent_v2"},
		EntityRowsArrowIpc: in.Bytes(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var data bytes.Buffer
	var manifest *floev1.DatasetManifest
	for stream.Receive() {
		data.Write(stream.Msg().GetArrowIpcChunk())
		if m := stream.Msg().GetManifest(); m != nil {
			manifest = m
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	rdr, err := ipc.NewReader(bytes.NewReader(data.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if !rdr.Next() {
		t.Fatal("no record batch")
	}
	got := rdr.RecordBatch()

	cols := online.Msg.Columns
	if len(manifest.Columns) != len(cols) {
		t.Fatalf("manifest columns %q, online columns %d", manifest.Columns, len(cols))
	}
	usableN, filledN := 0, 0
	for i, oc := range cols {
		name := manifest.Columns[i]
		if want := oc.Name; name != want && name != flatName(want) {
			t.Errorf("column %d: training %q, online %q", i, name, want)
		}
		idx := got.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("training data has no column %q", name)
		}
		tc := got.Column(idx[0])
		for r := range ids {
			st := oc.Statuses[r]
			usable := st == floev1.FeatureStatus_FEATURE_STATUS_PRESENT || st == floev1.FeatureStatus_FEATURE_STATUS_FILLED
			if st == floev1.FeatureStatus_FEATURE_STATUS_FILLED {
				filledN++
			}
			if !usable {
				if tc.IsValid(r) {
					t.Errorf("%s, user %d: online %v, training has a value", name, ids[r], st)
				}
				continue
			}
			usableN++
			if tc.IsNull(r) {
				t.Errorf("%s, user %d: online %v, training null", name, ids[r], st)
				continue
			}
			var same bool
			var onlineValue any
			switch c := tc.(type) {
			case *array.Int64:
				onlineValue = oc.GetInt64Values().Values[r]
				same = c.Value(r) == onlineValue
			case *array.Float64:
				v := oc.GetDoubleValues().Values[r]
				onlineValue = v
				same = math.Float64bits(c.Value(r)) == math.Float64bits(v)
			default:
				t.Fatalf("%s: unexpected training type %s", name, tc.DataType())
			}
			if !same {
				t.Errorf("%s, user %d: training %s, online %v", name, ids[r], tc.ValueStr(r), onlineValue)
			}
		}
	}
	if usableN < len(ids)*len(cols)/2 || filledN == 0 {
		t.Errorf("%d usable and %d filled values: the comparison did not exercise enough", usableN, filledN)
	}
}

// flatName maps an online "view:feature" output name to training's "view__feature".
func flatName(s string) string {
	for i := range s {
		if s[i] == ':' {
			return s[:i] + "__" + s[i+1:]
		}
	}
	return s
}
