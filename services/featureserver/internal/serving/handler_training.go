package serving

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/training"
)

// chunkSize bounds one streamed message of Arrow IPC bytes, well under the 4 MiB
// message limit gRPC clients apply by default.
const chunkSize = 1 << 20

// DefaultMaxConcurrentRetrievals is how many historical retrievals a server runs
// at once unless told otherwise (WithMaxConcurrentRetrievals).
const DefaultMaxConcurrentRetrievals = 1

// TrainingHandler implements floe.v1.TrainingService over training.Retrieve.
type TrainingHandler struct {
	floev1connect.UnimplementedTrainingServiceHandler
	reg *registry.Registry
	src training.Source
	// slots holds a token per retrieval running: a retrieval holds the entity rows
	// and the requested columns of every view in memory and keeps cores busy, so
	// the ones beyond its capacity wait their turn instead of taking memory and CPU
	// from each other and from online reads.
	slots chan struct{}
}

// TrainingOption configures a TrainingHandler.
type TrainingOption func(*TrainingHandler)

// WithMaxConcurrentRetrievals sets how many historical retrievals run at once
// (at least one); more wait, in arrival order, until one finishes or their
// caller gives up.
func WithMaxConcurrentRetrievals(n int) TrainingOption {
	return func(h *TrainingHandler) { h.slots = make(chan struct{}, max(n, 1)) }
}

// TableSource reads Iceberg tables that are not feature views: entity rows for
// training data. offline.Store implements it.
type TableSource interface {
	ScanTable(ctx context.Context, identifier string, snapshotID int64) (array.RecordReader, int64, error)
}

var _ TableSource = (*offline.Store)(nil)

// NewTrainingHandler returns the TrainingService implementation.
func NewTrainingHandler(reg *registry.Registry, src training.Source, opts ...TrainingOption) *TrainingHandler {
	h := &TrainingHandler{reg: reg, src: src, slots: make(chan struct{}, DefaultMaxConcurrentRetrievals)}
	for _, o := range opts {
		o(h)
	}
	return h
}

// acquire takes a retrieval slot, waiting for one if all are taken (after
// calling queued); the caller must call the returned release.
func (h *TrainingHandler) acquire(ctx context.Context, queued func()) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	default:
	}
	slog.InfoContext(ctx, "historical features: waiting for a running retrieval to finish", "max_concurrent", cap(h.slots))
	queued()
	select {
	case h.slots <- struct{}{}:
		if ctx.Err() == nil {
			return func() { <-h.slots }, nil
		}
		<-h.slots // the caller left as the slot came free: pass it on
	case <-ctx.Done():
	}
	return nil, fmt.Errorf("gave up waiting for one of the %d historical retrievals running to finish: %w", cap(h.slots), ctx.Err())
}

// GetHistoricalFeatures implements floe.v1.TrainingService.GetHistoricalFeatures.
func (h *TrainingHandler) GetHistoricalFeatures(ctx context.Context, req *connect.Request[floev1.GetHistoricalFeaturesRequest], stream *connect.ServerStream[floev1.GetHistoricalFeaturesResponse]) error {
	tr := training.Request{RegistryVersion: h.reg.Version, Snapshots: req.Msg.GetSnapshotIds()}
	switch sel := req.Msg.GetSelector().(type) {
	case *floev1.GetHistoricalFeaturesRequest_FeatureService:
		svc, ok := h.reg.FeatureService(sel.FeatureService)
		if !ok {
			return toConnect(invalid("feature_service: unknown feature service %q", sel.FeatureService))
		}
		tr.Service = svc
	case *floev1.GetHistoricalFeaturesRequest_Features:
		p, err := planFromRefs(h.reg, sel.Features.GetRefs())
		if err != nil {
			return toConnect(invalid("%v", err))
		}
		for _, c := range p.columns {
			tr.Features = append(tr.Features, c.ref)
		}
	default:
		return toConnect(invalid("selector: set feature_service or features"))
	}
	if req.Msg.GetEntityTable() != nil && len(req.Msg.GetEntityRowsArrowIpc()) > 0 {
		return toConnect(invalid("set entity_rows_arrow_ipc or entity_table, not both"))
	}
	// Chunks and progress go out from Retrieve's goroutine, progress also from its
	// view readers; one at a time.
	var sendMu sync.Mutex
	send := func(m *floev1.GetHistoricalFeaturesResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return stream.Send(m)
	}
	progress := newProgressSender(send)
	tr.Progress = progress.report
	// The request is well formed so far: wait for a slot before opening anything.
	release, err := h.acquire(ctx, func() {
		progress.send(&floev1.RetrievalProgress{Phase: floev1.RetrievalProgress_PHASE_QUEUED})
	})
	if err != nil {
		return toConnect(err)
	}
	defer release()
	var entityTable *floev1.EntityTable
	switch et := req.Msg.GetEntityTable(); {
	case et != nil:
		ts, ok := h.src.(TableSource)
		if !ok {
			return toConnect(fmt.Errorf("%w: entity_table: this server's offline store cannot read other tables", errUnimplemented))
		}
		rdr, snap, err := ts.ScanTable(ctx, et.GetTable(), et.GetSnapshotId())
		if errors.Is(err, offline.ErrNoSuchTable) || errors.Is(err, offline.ErrNoSuchSnapshot) {
			return toConnect(invalid("entity_table: %v", err))
		}
		if err != nil {
			return toConnect(fmt.Errorf("entity_table: %w", err))
		}
		defer rdr.Release()
		tr.Entities = rdr
		entityTable = &floev1.EntityTable{Table: et.GetTable(), SnapshotId: snap}
	default:
		rdr, err := ipc.NewReader(bytes.NewReader(req.Msg.GetEntityRowsArrowIpc()))
		if err != nil {
			return toConnect(invalid("entity_rows_arrow_ipc: not an Arrow IPC stream (or set entity_table): %v", err))
		}
		defer rdr.Release()
		tr.Entities = rdr
	}
	w := &chunkWriter{send: func(b []byte) error {
		return send(&floev1.GetHistoricalFeaturesResponse{Payload: &floev1.GetHistoricalFeaturesResponse_ArrowIpcChunk{ArrowIpcChunk: b}})
	}}
	m, err := training.Retrieve(ctx, h.src, tr, w)
	if err == nil {
		err = w.flush()
	}
	if errors.Is(err, training.ErrBadRequest) {
		return toConnect(invalid("%v", err))
	}
	if err != nil {
		return toConnect(fmt.Errorf("historical features: %w", err))
	}
	return send(&floev1.GetHistoricalFeaturesResponse{Payload: &floev1.GetHistoricalFeaturesResponse_Manifest{Manifest: &floev1.DatasetManifest{
		SnapshotIds: m.Snapshots, SpecHash: m.SpecHash, RegistryVersion: m.RegistryVersion,
		FeatureService: m.FeatureService, Features: m.Features, Columns: m.Columns, EntityRows: m.EntityRows,
		EntityTable: entityTable,
		CreatedAt:   timestamppb.New(m.CreatedAt),
	}}})
}

// chunkWriter turns a byte stream into messages of at most chunkSize bytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(chunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = nil // the sent slice now belongs to the message
	return err
}

// progressEvery is the least time between two progress messages of one phase (and
// view): enough for a progress bar, a negligible part of the stream.
const progressEvery = 250 * time.Millisecond

// progressSender turns Retrieve's progress reports into messages, throttled.
type progressSender struct {
	sendMsg func(*floev1.GetHistoricalFeaturesResponse) error
	mu      sync.Mutex
	last    map[string]time.Time // by phase and view
}

func newProgressSender(send func(*floev1.GetHistoricalFeaturesResponse) error) *progressSender {
	return &progressSender{sendMsg: send, last: map[string]time.Time{}}
}

// send sends p. A failed send is not reported: the stream's next chunk fails the
// same way, and that error is the call's.
func (s *progressSender) send(p *floev1.RetrievalProgress) {
	_ = s.sendMsg(&floev1.GetHistoricalFeaturesResponse{Payload: &floev1.GetHistoricalFeaturesResponse_Progress{Progress: p}})
}

func (s *progressSender) report(p training.Progress) {
	msg := &floev1.RetrievalProgress{View: p.View, Rows: p.Rows, TotalRows: p.Total}
	switch p.Phase {
	case training.PhaseReading:
		msg.Phase = floev1.RetrievalProgress_PHASE_READING
	case training.PhaseWriting:
		msg.Phase = floev1.RetrievalProgress_PHASE_WRITING
	default:
		return
	}
	key := msg.Phase.String() + "/" + p.View
	now := time.Now()
	s.mu.Lock()
	final := p.Phase == training.PhaseWriting && p.Rows == p.Total
	if last, ok := s.last[key]; ok && now.Sub(last) < progressEvery && !final {
		s.mu.Unlock()
		return
	}
	s.last[key] = now
	s.mu.Unlock()
	s.send(msg)
}
