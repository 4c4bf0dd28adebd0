package serving

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// gateSource is an offline store whose every view has one empty snapshot (id 1).
// Each scan announces itself on started and then waits until release is closed,
// so a test holds retrievals in flight for as long as it needs.
type gateSource struct {
	scans   atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (g *gateSource) ScanFeatures(ctx context.Context, v *registry.FeatureView, _ int64, features []int) (array.RecordReader, error) {
	g.scans.Add(1)
	select {
	case g.started <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return array.NewRecordReader(offline.FeatureSchema(v, features), nil)
}

func (g *gateSource) Snapshot(context.Context, *registry.FeatureView, int64) (offline.Snapshot, error) {
	return offline.Snapshot{ID: 1}, nil
}

func (g *gateSource) CurrentSnapshot(context.Context, *registry.FeatureView) (int64, bool, error) {
	return 1, true, nil
}

func entityRowsIPC(t *testing.T) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(now.UnixMicro()))
	rec := b.NewRecordBatch()
	defer rec.Release()
	var out bytes.Buffer
	w := ipc.NewWriter(&out, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// trainingClient serves h over HTTP for the test's duration.
func trainingClient(t *testing.T, h *TrainingHandler) floev1connect.TrainingServiceClient {
	mux := http.NewServeMux()
	mux.Handle(floev1connect.NewTrainingServiceHandler(h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return floev1connect.NewTrainingServiceClient(srv.Client(), srv.URL)
}

// Retrievals beyond the configured number wait for a running one to finish (they
// do not start scanning), and a waiting caller that gives up gets CANCELED.
func TestHistoricalRetrievalsWaitForASlot(t *testing.T) {
	f := newFixture(t)
	src := &gateSource{started: make(chan struct{}), release: make(chan struct{})}
	h := NewTrainingHandler(f.reg, src)
	client := trainingClient(t, h)
	rows := entityRowsIPC(t)
	// retrieve reads a whole answer; queued, if not nil, receives true when the
	// server says the call waits for a slot.
	retrieve := func(ctx context.Context, queued chan<- bool) error {
		stream, err := client.GetHistoricalFeatures(ctx, connect.NewRequest(&floev1.GetHistoricalFeaturesRequest{
			Selector:           &floev1.GetHistoricalFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"profile:age"}}},
			EntityRowsArrowIpc: rows,
		}))
		if err != nil {
			return err
		}
		defer stream.Close()
		manifest := false
		for stream.Receive() {
			manifest = manifest || stream.Msg().GetManifest() != nil
			if p := stream.Msg().GetProgress(); p.GetPhase() == floev1.RetrievalProgress_PHASE_QUEUED && queued != nil {
				queued <- true
			}
		}
		if err := stream.Err(); err != nil {
			return err
		}
		if !manifest {
			return errors.New("no manifest")
		}
		return nil
	}

	first := make(chan error, 1)
	go func() { first <- retrieve(context.Background(), nil) }()
	<-src.started // the first retrieval is scanning

	second := make(chan error, 1)
	secondQueued := make(chan bool, 1)
	go func() { second <- retrieve(context.Background(), secondQueued) }()
	<-secondQueued // the client was told it waits
	if n := src.scans.Load(); n != 1 {
		t.Fatalf("%d scans started while one retrieval may run", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	third := make(chan error, 1)
	thirdQueued := make(chan bool, 1)
	go func() { third <- retrieve(ctx, thirdQueued) }()
	<-thirdQueued
	cancel()
	if err := <-third; connect.CodeOf(err) != connect.CodeCanceled {
		t.Errorf("a waiting retrieval whose caller gave up: %v, want canceled", err)
	}

	// Let the first finish: the second gets its slot and scans. (The third's
	// server side may notice its caller left only after a slot came free, and
	// scan: a race with the network, so scans from now on are not counted.)
	drained := make(chan struct{})
	defer close(drained)
	go func() {
		for {
			select {
			case <-src.started:
			case <-drained:
				return
			}
		}
	}()
	close(src.release)
	if err := <-first; err != nil {
		t.Fatalf("first retrieval: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second retrieval: %v", err)
	}
}

// With room for two, a second retrieval starts while the first is still running.
func TestHistoricalRetrievalsRunConcurrentlyUpToTheLimit(t *testing.T) {
	f := newFixture(t)
	src := &gateSource{started: make(chan struct{}), release: make(chan struct{})}
	h := NewTrainingHandler(f.reg, src, WithMaxConcurrentRetrievals(2))
	client := trainingClient(t, h)
	rows := entityRowsIPC(t)
	done := make(chan error, 2)
	for range 2 {
		go func() {
			stream, err := client.GetHistoricalFeatures(context.Background(), connect.NewRequest(&floev1.GetHistoricalFeaturesRequest{
				Selector:           &floev1.GetHistoricalFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"profile:age"}}},
				EntityRowsArrowIpc: rows,
			}))
			if err != nil {
				done <- err
				return
			}
			defer stream.Close()
			for stream.Receive() {
				if stream.Msg().GetProgress().GetPhase() == floev1.RetrievalProgress_PHASE_QUEUED {
					t.Error("a retrieval waited although a slot was free")
				}
			}
			done <- stream.Err()
		}()
	}
	<-src.started
	<-src.started // both scan at once
	close(src.release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
