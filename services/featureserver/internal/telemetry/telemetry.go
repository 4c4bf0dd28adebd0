// Package telemetry holds the server's Prometheus metrics, request ids and the
// logging interceptor. Metrics are registered on a registry owned by the server so
// tests can run several servers in one process.
package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
)

// Metrics are the server's Prometheus collectors.
type Metrics struct {
	Registry *prometheus.Registry

	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	served   [5]prometheus.Counter // indexed by floev1.Tier
}

// NewMetrics creates and registers the server's collectors.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "floe_rpc_duration_seconds",
		Help: "Latency of RPCs by method, from request received to response written.",
		// Online reads take from tens of microseconds to a few milliseconds; the
		// default buckets start at 5 ms and would put them all in one bucket.
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_rpc_errors_total",
		Help: "RPCs that failed, by method and RPC code.",
	}, []string{"method", "code"})
	served := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "floe_values_served_total",
		Help: "Feature values answered by online reads, by the tier they came from (none = not found).",
	}, []string{"tier"})
	for tier, name := range map[floev1.Tier]string{
		floev1.Tier_TIER_L1: "l1", floev1.Tier_TIER_ONLINE: "online",
		floev1.Tier_TIER_OFFLINE: "offline", floev1.Tier_TIER_NONE: "none",
	} {
		m.served[tier] = served.WithLabelValues(name)
	}
	m.Registry.MustRegister(m.duration, m.errors, served,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Served counts values served from a tier.
func (m *Metrics) Served(tier floev1.Tier, values int) {
	if int(tier) < len(m.served) && m.served[tier] != nil {
		m.served[tier].Add(float64(values))
	}
}

// ObserveRPC records one RPC's latency and, if it failed, its code.
func (m *Metrics) ObserveRPC(method string, d time.Duration, err error) {
	m.duration.WithLabelValues(method).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(method, connect.CodeOf(err).String()).Inc()
	}
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

type requestIDKey struct{}

// RequestIDHeader carries the request id; a caller's value is kept so ids follow a
// request across services.
const RequestIDHeader = "X-Request-Id"

// NewRequestID returns a random 16-hex-digit id.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithRequestID stores a request id in ctx.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Interceptor assigns each RPC a request id (echoed in the response header),
// records metrics, applies the default deadline and logs failures. Successful reads
// are logged at debug level only: the hot path must not pay for a log line.
func Interceptor(m *Metrics, log *slog.Logger, defaultTimeout time.Duration) connect.Interceptor {
	return &interceptor{m: m, log: log, timeout: defaultTimeout}
}

type interceptor struct {
	m       *Metrics
	log     *slog.Logger
	timeout time.Duration
}

func (i *interceptor) begin(ctx context.Context, h http.Header) (context.Context, string) {
	id := h.Get(RequestIDHeader)
	if id == "" || len(id) > 128 {
		id = NewRequestID()
	}
	return WithRequestID(ctx, id), id
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		ctx, id := i.begin(ctx, req.Header())
		if _, ok := ctx.Deadline(); !ok && i.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, i.timeout)
			defer cancel()
		}
		resp, err := next(ctx, req)
		method := req.Spec().Procedure
		i.m.ObserveRPC(method, time.Since(start), err)
		if err != nil {
			i.logFailure(ctx, method, id, err)
			var ce *connect.Error
			if errors.As(err, &ce) {
				ce.Meta().Set(RequestIDHeader, id)
			}
			return nil, err
		}
		resp.Header().Set(RequestIDHeader, id)
		if i.log.Enabled(ctx, slog.LevelDebug) {
			i.log.DebugContext(ctx, "rpc", "method", method, "request_id", id, "duration", time.Since(start))
		}
		return resp, nil
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		ctx, id := i.begin(ctx, conn.RequestHeader())
		conn.ResponseHeader().Set(RequestIDHeader, id)
		err := next(ctx, conn)
		method := conn.Spec().Procedure
		i.m.ObserveRPC(method, time.Since(start), err)
		if err != nil {
			i.logFailure(ctx, method, id, err)
		} else {
			i.log.InfoContext(ctx, "rpc", "method", method, "request_id", id, "duration", time.Since(start))
		}
		return err
	}
}

func (i *interceptor) logFailure(ctx context.Context, method, id string, err error) {
	level := slog.LevelWarn
	switch connect.CodeOf(err) {
	case connect.CodeInternal, connect.CodeUnavailable, connect.CodeUnknown, connect.CodeDataLoss:
		level = slog.LevelError
	}
	i.log.Log(ctx, level, "rpc failed", "method", method, "request_id", id, "code", connect.CodeOf(err).String(), "error", err)
}

// Stats returns the cumulative serving counters in API form, gathered from the
// same collectors /metrics exposes, so the console and Prometheus never disagree.
func (m *Metrics) Stats() (*floev1.GetServingStatsResponse, error) {
	families, err := m.Registry.Gather()
	if err != nil {
		return nil, err
	}
	out := &floev1.GetServingStatsResponse{At: timestamppb.Now(), ValuesByTier: map[string]uint64{}}
	methods := map[string]*floev1.MethodStats{}
	method := func(name string) *floev1.MethodStats {
		ms, ok := methods[name]
		if !ok {
			ms = &floev1.MethodStats{Method: name, ErrorsByCode: map[string]uint64{}}
			methods[name] = ms
		}
		return ms
	}
	label := func(metric *dto.Metric, name string) string {
		for _, l := range metric.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			switch f.GetName() {
			case "floe_rpc_duration_seconds":
				ms := method(label(metric, "method"))
				h := metric.GetHistogram()
				ms.Count = h.GetSampleCount()
				for _, b := range h.GetBucket() {
					ms.BucketUpperBounds = append(ms.BucketUpperBounds, b.GetUpperBound())
					ms.BucketCounts = append(ms.BucketCounts, b.GetCumulativeCount())
				}
				ms.BucketUpperBounds = append(ms.BucketUpperBounds, math.Inf(1))
				ms.BucketCounts = append(ms.BucketCounts, h.GetSampleCount())
			case "floe_rpc_errors_total":
				method(label(metric, "method")).ErrorsByCode[label(metric, "code")] = uint64(metric.GetCounter().GetValue())
			case "floe_values_served_total":
				out.ValuesByTier[label(metric, "tier")] = uint64(metric.GetCounter().GetValue())
			}
		}
	}
	names := make([]string, 0, len(methods))
	for n := range methods {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.Methods = append(out.Methods, methods[n])
	}
	return out, nil
}
