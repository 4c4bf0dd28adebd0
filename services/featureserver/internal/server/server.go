// Package server assembles a running Floe server from a configuration: registry,
// stores, handlers, health, metrics and the HTTP listener that speaks Connect,
// gRPC, gRPC-Web and JSON on one port.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/config"
	"floe.dev/floe/services/featureserver/internal/console"
	"floe.dev/floe/services/featureserver/internal/materialize"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
	"floe.dev/floe/services/featureserver/internal/telemetry"
)

// Server is a configured Floe server. Build it with New, then Run it.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	reg     *registry.Registry
	offline *offline.Store
	online  online.Store
	// pub is how this server publishes snapshots: its follower and Admin
	// Materialize both go through it (and its lease).
	pub     *materialize.Publisher
	metrics *telemetry.Metrics
	handler http.Handler

	// warming is true until the start-up materialization has finished; /readyz
	// answers 503 meanwhile so a load balancer does not route reads to an empty store.
	warming atomic.Bool
	warmErr atomic.Pointer[error]
	// mat* is this server's part in publishing snapshots (Admin GetFreshness).
	matMu     sync.Mutex
	matStatus *floev1.MaterializerStatus
}

// materializer returns a copy of the materializer's status.
func (s *Server) materializer() *floev1.MaterializerStatus {
	s.matMu.Lock()
	defer s.matMu.Unlock()
	return proto.Clone(s.matStatus).(*floev1.MaterializerStatus)
}

// setMaterializer changes the materializer's status under its lock.
func (s *Server) setMaterializer(change func(*floev1.MaterializerStatus)) {
	s.matMu.Lock()
	defer s.matMu.Unlock()
	change(s.matStatus)
}

// New loads the registry, opens the stores and builds the handlers. A spec error
// is returned as is (it names file and line); store errors say which store failed.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	reg, err := registry.LoadDir(cfg.Specs)
	if err != nil {
		return nil, err
	}
	off, err := offline.Open(ctx, cfg.Catalog)
	if err != nil {
		return nil, fmt.Errorf("offline store: %w", err)
	}
	if err := ensureTables(ctx, reg, off, log); err != nil {
		off.Close()
		return nil, err
	}
	on, err := online.Open(ctx, cfg.Online)
	if err != nil {
		off.Close()
		return nil, fmt.Errorf("online store: %w", err)
	}
	s := &Server{cfg: cfg, log: log, reg: reg, offline: off, online: on, metrics: telemetry.NewMetrics(),
		matStatus: &floev1.MaterializerStatus{Role: floev1.MaterializerStatus_ROLE_OFF}}
	s.pub = materialize.NewPublisher(off, on, reg.FeatureViews, materialize.PublishOptions{Lease: cfg.Materialize.Lease, LeaseTTL: cfg.Materialize.LeaseTTL})
	s.handler = s.routes()
	log.Info("registry loaded", "specs", cfg.Specs, "version", reg.Version,
		"entities", len(reg.Entities), "feature_views", len(reg.FeatureViews), "feature_services", len(reg.FeatureServices))
	return s, nil
}

// ensureTables creates each view's Iceberg table from its spec, or evolves it when
// the spec added features, so that any writer (Floe, Spark, pyiceberg) finds the
// table the spec describes. An incompatible spec change stops the server with the
// reason; an unreachable catalog does not (serving from the online store goes on,
// and ingest and materialization retry).
func ensureTables(ctx context.Context, reg *registry.Registry, off *offline.Store, log *slog.Logger) error {
	for _, v := range reg.FeatureViews {
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := off.EnsureTable(tctx, v)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, offline.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			log.Warn("offline store unreachable at start; the table will be checked at the next ingest", "view", v.Name, "error", err)
		default:
			return fmt.Errorf("feature view %s (%s): %w", v.Name, v.Location, err)
		}
	}
	return nil
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	reader := serving.NewReader(s.reg, s.online,
		serving.WithMaxEntities(s.cfg.Serving.MaxEntities),
		serving.WithServedObserver(s.metrics.Served),
		serving.WithOffline(s.offline, s.cfg.Serving.NegativeCacheTTL))
	opts := connect.WithInterceptors(telemetry.Interceptor(s.metrics, s.log, s.cfg.Serving.Timeout))
	mux := http.NewServeMux()
	// Online reads are not compressed unless huge: measured with make bench, gzip
	// more than doubled the server's CPU per 100-entity read (connect-go clients
	// ask for it by default), to save bytes on what is usually a local network.
	mux.Handle(floev1connect.NewServingServiceHandler(serving.NewServingHandler(reader), opts, connect.WithCompressMinBytes(1<<20)))
	mux.Handle(floev1connect.NewRegistryServiceHandler(serving.NewRegistryHandler(s.reg), opts))
	mux.Handle(floev1connect.NewTrainingServiceHandler(serving.NewTrainingHandler(s.reg, s.offline, serving.WithMaxConcurrentRetrievals(s.cfg.Training.MaxConcurrent)), opts))
	mux.Handle(floev1connect.NewAdminServiceHandler(serving.NewAdminHandler(s.reg, adminPublisher{s.pub}, s.offline, s.metrics.Stats, s.materializer), opts))
	reflector := grpcreflect.NewStaticReflector(
		floev1connect.ServingServiceName, floev1connect.RegistryServiceName, floev1connect.AdminServiceName,
		floev1connect.TrainingServiceName)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle("GET /v1/features/{entity}/{id}", serving.RESTHandler(reader))
	mux.Handle("GET /console/", console.Handler())
	mux.Handle("GET /{$}", http.RedirectHandler(console.Prefix, http.StatusFound))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.Handler())
	return mux
}

// readyz reports each dependency. The server is ready when it can answer reads:
// the in-process store has been filled once, and at least one of the online and
// offline stores answers. Anything less than every check passing is "degraded"
// (still 200): reads are served, slower or staler.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var onlineErr, offlineErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); onlineErr = s.online.Ping(ctx) }()
	go func() { defer wg.Done(); offlineErr = s.offline.Ping(ctx) }()
	wg.Wait()
	msg := func(err error) string {
		if err != nil {
			return err.Error()
		}
		return "ok"
	}
	checks := map[string]string{"online_store": msg(onlineErr), "offline_store": msg(offlineErr), "materialization": "ok"}
	switch {
	case s.warming.Load():
		checks["materialization"] = "initial materialization in progress"
	case s.warmErr.Load() != nil:
		checks["materialization"] = "failing, retried every interval: " + (*s.warmErr.Load()).Error()
	}
	ready := !s.warming.Load() && (onlineErr == nil || offlineErr == nil)
	degraded := false
	for _, c := range checks {
		degraded = degraded || c != "ok"
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"ready": ready, "degraded": degraded, "checks": checks, "registry_version": s.reg.Version}
	if m := s.materializer(); m.Role == floev1.MaterializerStatus_ROLE_LEADER || m.Role == floev1.MaterializerStatus_ROLE_STANDBY {
		role := "leader"
		if m.Role == floev1.MaterializerStatus_ROLE_STANDBY {
			role = "standby"
		}
		body["materialization_lease"] = map[string]string{"role": role, "holder": m.Leader}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// Run serves on cfg.Listen until ctx is cancelled, then shuts down gracefully:
// in-flight requests finish (up to 10 s) while the follower stops (handing its
// lease over), then the stores close. ready, if not nil,
// receives the bound address once the listener is open.
func (s *Server) Run(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen / FLOE_LISTEN): %w", s.cfg.Listen, err)
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	// gRPC clients speak HTTP/2 without TLS (h2c) to a plain-text port.
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           s.handler,
		Protocols:         protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// The follower's last act is to give its lease back, through the online
	// store: the stores close only after it has stopped.
	bgCtx, stopBg := context.WithCancel(ctx)
	var bg sync.WaitGroup
	closeAll := func() {
		stopBg()
		bg.Wait()
		s.close()
	}
	switch {
	case s.cfg.Materialize.Follow:
		// The in-process store starts empty; until the first pass has filled it,
		// /readyz says so. Redis keeps its state, so a replica is ready at once.
		s.warming.Store(s.cfg.Online.Type == "memory")
		bg.Go(func() { s.follow(bgCtx) })
	case s.cfg.Online.Type == "memory":
		s.warming.Store(true)
		bg.Go(func() { s.warmUp(bgCtx) })
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("floe serving", "addr", ln.Addr().String(), "online_store", s.cfg.Online.Type, "catalog", s.cfg.Catalog.Type)
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		closeAll()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	closeAll()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// follow publishes every new snapshot of every view until ctx ends: always with
// the in-process store, and while this server holds the materialization lease
// with a store several servers share (unless materialize.lease is off).
func (s *Server) follow(ctx context.Context) {
	start := time.Now()
	first := true
	passDone := func(err error) {
		if err != nil {
			s.warmErr.Store(&err)
		} else {
			s.warmErr.Store(nil)
		}
		s.setMaterializer(func(m *floev1.MaterializerStatus) {
			m.LastPassAt, m.LastError = timestamppb.Now(), ""
			if err != nil {
				m.LastError = err.Error()
			}
		})
		if first {
			first = false
			s.warming.Store(false)
			if err == nil {
				s.log.Info("online store in step with Iceberg", "duration", time.Since(start).Round(time.Millisecond))
			}
		}
	}
	if !s.pub.Leased() {
		s.setMaterializer(func(m *floev1.MaterializerStatus) { m.Role = floev1.MaterializerStatus_ROLE_FOLLOWER })
	}
	holder := s.pub.Holder()
	err := s.pub.Follow(ctx, s.reg.FeatureViews, s.cfg.Materialize.Interval, s.logProgress, passDone, func(leader bool, by string) {
		if leader {
			s.setMaterializer(func(m *floev1.MaterializerStatus) {
				m.Role, m.Leader = floev1.MaterializerStatus_ROLE_LEADER, holder
			})
			s.log.Info("materialization: this server follows Iceberg and publishes new snapshots", "holder", holder)
			return
		}
		// The leader's passes are its own to report.
		s.warmErr.Store(nil)
		s.setMaterializer(func(m *floev1.MaterializerStatus) {
			m.Role, m.Leader, m.LastPassAt, m.LastError = floev1.MaterializerStatus_ROLE_STANDBY, by, nil, ""
		})
		if by != "" {
			s.log.Info("materialization: standing by; another process publishes new snapshots", "leader", by, "lease_ttl", s.cfg.Materialize.LeaseTTL)
		}
	})
	if err != nil {
		s.log.Error("materialization: not following", "error", err)
	}
}

func (s *Server) logProgress(p materialize.Progress) {
	if p.Done && !p.UpToDate {
		s.log.Info("materialized", "view", p.View, "snapshot_id", p.SnapshotID, "rows_read", p.RowsRead, "entities_written", p.RowsWritten)
	}
}

func (s *Server) warmUp(ctx context.Context) {
	defer s.warming.Store(false)
	start := time.Now()
	var rows int64
	err := s.pub.Materialize(ctx, s.reg.FeatureViews, func(p materialize.Progress) {
		if p.Done {
			rows += p.RowsWritten
			s.log.Info("materialized", "view", p.View, "snapshot_id", p.SnapshotID, "rows_read", p.RowsRead, "entities_written", p.RowsWritten, "up_to_date", p.UpToDate)
		}
	})
	if err != nil {
		s.warmErr.Store(&err)
		s.log.Error("initial materialization failed", "error", err)
		return
	}
	s.log.Info("initial materialization done", "entities_written", rows, "duration", time.Since(start).Round(time.Millisecond))
}

func (s *Server) close() {
	if err := s.online.Close(); err != nil {
		s.log.Warn("closing online store", "error", err)
	}
	if err := s.offline.Close(); err != nil {
		s.log.Warn("closing offline store", "error", err)
	}
}
