package integration

import (
	"bytes"
	"context"
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

// TestHistoricalFeatures asks the server for point-in-time training data over
// the real RPC and checks the join and that the manifest reproduces the bytes.
func TestHistoricalFeatures(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}")
	now := time.Now().UTC().Truncate(time.Second)
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v1.csv", now.Add(-3*time.Minute), 30, 1))
	p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", profileCSV(t, p.dir, "v2.csv", now.Add(-time.Minute), 31, 1))
	srv := p.serve()
	srv.waitReady()

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 1, 1, 99}, nil)
	for _, at := range []time.Time{now.Add(-4 * time.Minute), now.Add(-2 * time.Minute), now, now} {
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

	c := floev1connect.NewTrainingServiceClient(http.DefaultClient, srv.url)
	fetch := func(pins map[string]int64) ([]byte, *floev1.DatasetManifest) {
		stream, err := c.GetHistoricalFeatures(context.Background(), connect.NewRequest(&floev1.GetHistoricalFeaturesRequest{
			Selector:           &floev1.GetHistoricalFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age"}}},
			EntityRowsArrowIpc: in.Bytes(),
			SnapshotIds:        pins,
		}))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		var m *floev1.DatasetManifest
		for stream.Receive() {
			if chunk := stream.Msg().GetArrowIpcChunk(); chunk != nil {
				out.Write(chunk)
			}
			if mm := stream.Msg().GetManifest(); mm != nil {
				m = mm
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes(), m
	}
	data, manifest := fetch(nil)
	if manifest == nil || manifest.EntityRows != 4 || manifest.SnapshotIds["user_profile"] == 0 {
		t.Fatalf("manifest %v", manifest)
	}
	rdr, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	var ages []any
	for rdr.Next() {
		r := rdr.RecordBatch()
		for i, f := range r.Schema().Fields() {
			if f.Name == "user_profile__age" {
				col := r.Column(i).(*array.Int64)
				for j := 0; j < col.Len(); j++ {
					if col.IsNull(j) {
						ages = append(ages, nil)
					} else {
						ages = append(ages, col.Value(j))
					}
				}
			}
		}
	}
	// Before any value: null; between the commits' event times: the older; after: the newer; unknown: null.
	want := []any{nil, int64(30), int64(31), nil}
	for i := range want {
		if i >= len(ages) || ages[i] != want[i] {
			t.Fatalf("ages %v, want %v", ages, want)
		}
	}
	again, _ := fetch(manifest.SnapshotIds)
	if !bytes.Equal(again, data) {
		t.Fatal("the same request with the manifest's snapshots returned different bytes")
	}
}
