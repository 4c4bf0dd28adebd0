package serving

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// DefaultMaxEntities is the largest number of entity rows one read may ask for
// unless configured otherwise. It bounds the work and memory of a single call.
const DefaultMaxEntities = 1000

// ErrInvalidRequest wraps every error caused by the request itself; handlers map it
// to INVALID_ARGUMENT. Other errors are the stores' (UNAVAILABLE and friends).
var ErrInvalidRequest = errors.New("invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// TieredGetter is implemented by online stores that can tell which keys were served
// from the in-process L1 cache, so responses can report the tier of each row.
type TieredGetter interface {
	GetTiered(ctx context.Context, keys []string) (values [][]byte, fromL1 []bool, err error)
}

// Reader answers online reads from the online store. The Connect handler and the
// JSON route share it, so both behave identically.
type Reader struct {
	reg         *registry.Registry
	store       online.Store
	tiered      TieredGetter
	offline     Offline
	fills       *fills
	breaker     breaker
	services    map[string]*plan
	maxEntities int
	now         func() time.Time
	observe     func(tier floev1.Tier, values int)
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithMaxEntities sets the largest number of entity rows a read may ask for.
func WithMaxEntities(n int) ReaderOption { return func(r *Reader) { r.maxEntities = n } }

// WithClock replaces time.Now, for TTL tests.
func WithClock(now func() time.Time) ReaderOption { return func(r *Reader) { r.now = now } }

// WithServedObserver registers a callback counting values served per tier (metrics).
func WithServedObserver(f func(tier floev1.Tier, values int)) ReaderOption {
	return func(r *Reader) { r.observe = f }
}

// NewReader returns a Reader over reg and store. Plans of every feature service are
// resolved here, once, so the read path does no registry lookups for them.
func NewReader(reg *registry.Registry, store online.Store, opts ...ReaderOption) *Reader {
	r := &Reader{
		reg:         reg,
		store:       store,
		services:    make(map[string]*plan, len(reg.FeatureServices)),
		maxEntities: DefaultMaxEntities,
		now:         time.Now,
		observe:     func(floev1.Tier, int) {},
	}
	if t, ok := store.(TieredGetter); ok {
		r.tiered = t
	}
	for _, s := range reg.FeatureServices {
		r.services[s.Name] = newPlan(s.Features)
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Registry returns the registry the reader resolves requests against.
func (r *Reader) Registry() *registry.Registry { return r.reg }

// Read answers a GetOnlineFeatures request.
func (r *Reader) Read(ctx context.Context, req *floev1.GetOnlineFeaturesRequest) (*floev1.GetOnlineFeaturesResponse, error) {
	p, err := r.resolvePlan(req.GetFeatureService(), req.GetFeatures(), req.GetSelector() != nil)
	if err != nil {
		return nil, err
	}
	ids, n, err := r.entityIDs(p, req.GetEntities())
	if err != nil {
		return nil, err
	}
	if req.GetAsOf() != nil {
		return r.readAsOf(ctx, p, ids, n, req.GetAsOf())
	}
	return r.read(ctx, p, ids, n)
}

// resolvePlan returns the plan of a feature service or of explicit references.
func (r *Reader) resolvePlan(service string, refs *floev1.FeatureRefs, set bool) (*plan, error) {
	switch {
	case !set:
		return nil, invalid("selector: set feature_service or features")
	case refs != nil:
		p, err := planFromRefs(r.reg, refs.GetRefs())
		if err != nil {
			return nil, invalid("%v", err)
		}
		return p, nil
	default:
		p, ok := r.services[service]
		if !ok {
			return nil, invalid("feature_service: unknown feature service %q", service)
		}
		return p, nil
	}
}

// entityIDs validates the entity columns against the plan's views and returns, per
// view, the canonical string form of each row's key.
func (r *Reader) entityIDs(p *plan, cols []*floev1.EntityColumn) ([][]string, int, error) {
	if len(cols) == 0 {
		return nil, 0, invalid("entities: give at least one entity column, e.g. {join_key: %q}", p.views[0].view.Entity.Key().Name)
	}
	byKey := make(map[string][]string, len(cols))
	n := -1
	for i, c := range cols {
		name := c.GetJoinKey()
		key, known := r.joinKey(name)
		if !known {
			return nil, 0, invalid("entities[%d].join_key: %q is not the join key of any entity", i, name)
		}
		if _, dup := byKey[name]; dup {
			return nil, 0, invalid("entities[%d].join_key: %q is given twice", i, name)
		}
		var ids []string
		switch v := c.GetValues().(type) {
		case *floev1.EntityColumn_Int64Values:
			if key.Type != registry.TypeInt64 {
				return nil, 0, invalid("entities[%d]: join key %q has type %s, but int64 values were given", i, name, key.Type)
			}
			ids = formatIDs(v.Int64Values.GetValues())
		case *floev1.EntityColumn_StringValues:
			if key.Type != registry.TypeString {
				return nil, 0, invalid("entities[%d]: join key %q has type %s, but string values were given", i, name, key.Type)
			}
			ids = v.StringValues.GetValues()
		default:
			return nil, 0, invalid("entities[%d]: no values given for join key %q", i, name)
		}
		if n >= 0 && len(ids) != n {
			return nil, 0, invalid("entities[%d]: join key %q has %d values but %q has %d; every column needs one value per row", i, name, len(ids), cols[0].GetJoinKey(), n)
		}
		n = len(ids)
		byKey[name] = ids
	}
	if n == 0 {
		return nil, 0, invalid("entities: the entity list is empty")
	}
	if n > r.maxEntities {
		return nil, 0, invalid("entities: %d rows requested, the limit is %d (serving.max_entities)", n, r.maxEntities)
	}
	out := make([][]string, len(p.views))
	for i, pv := range p.views {
		key := pv.view.Entity.Key().Name
		ids, ok := byKey[key]
		if !ok {
			return nil, 0, invalid("entities: feature view %q needs join key %q, which the request does not give", pv.view.Name, key)
		}
		out[i] = ids
	}
	return out, n, nil
}

// formatIDs renders int64 keys in their canonical decimal form. All strings share
// one buffer: one allocation per request instead of one per entity.
func formatIDs(xs []int64) []string {
	buf := make([]byte, 0, len(xs)*8)
	ends := make([]int, len(xs))
	for i, x := range xs {
		buf = strconv.AppendInt(buf, x, 10)
		ends[i] = len(buf)
	}
	return sliceStrings(buf, ends)
}

// onlineKeys returns the online key of every (view, entity row), view-major, built
// in one buffer (see online.Key for the format).
func onlineKeys(p *plan, ids [][]string) []string {
	size := 0
	for i, pv := range p.views {
		for _, id := range ids[i] {
			size += len(online.Key(pv.view.Name, "")) + len(id)
		}
	}
	buf := make([]byte, 0, size)
	ends := make([]int, 0, len(p.views)*len(ids[0]))
	for i, pv := range p.views {
		prefix := online.Key(pv.view.Name, "")
		for _, id := range ids[i] {
			buf = append(append(buf, prefix...), id...)
			ends = append(ends, len(buf))
		}
	}
	return sliceStrings(buf, ends)
}

// sliceStrings cuts buf at ends into strings that share its memory. buf is never
// written again, so the strings stay immutable.
func sliceStrings(buf []byte, ends []int) []string {
	out := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		if end > start {
			out[i] = unsafe.String(&buf[start], end-start)
		}
		start = end
	}
	return out
}

func (r *Reader) joinKey(name string) (registry.JoinKey, bool) {
	for _, e := range r.reg.Entities {
		for _, k := range e.JoinKeys {
			if k.Name == name {
				return k, true
			}
		}
	}
	return registry.JoinKey{}, false
}

// rows is what the stores returned for a plan: the stored value of every
// (view, entity row) key, view-major, and where each came from.
type rows struct {
	values [][]byte
	tiers  []floev1.Tier
	// unavailable marks keys no store could answer for.
	unavailable []bool
	// degraded is set, with the reason, when the online store was skipped.
	degraded string
}

func (r *Reader) read(ctx context.Context, p *plan, ids [][]string, n int) (*floev1.GetOnlineFeaturesResponse, error) {
	rs, err := r.fetch(ctx, p, ids, n, onlineKeys(p, ids))
	if err != nil {
		return nil, err
	}
	return r.assemble(p, n, rs, r.now().UnixMicro()), nil
}

// fetch reads every key from the online store and, for what it misses (or all of
// it when the store is down), from the offline store.
func (r *Reader) fetch(ctx context.Context, p *plan, ids [][]string, n int, keys []string) (*rows, error) {
	rs := &rows{tiers: make([]floev1.Tier, len(keys))}
	var (
		fromL1 []bool
		err    error
	)
	skipped := r.breaker.open(r.now())
	switch {
	case skipped:
		err = r.breaker.reason()
	case r.tiered != nil:
		rs.values, fromL1, err = r.tiered.GetTiered(ctx, keys)
	default:
		rs.values, err = r.store.Get(ctx, keys)
	}
	if err != nil {
		if !errors.Is(err, online.ErrUnavailable) || r.offline == nil || ctx.Err() != nil {
			return nil, fmt.Errorf("read online features: %w", err)
		}
		if !skipped {
			r.breaker.trip(r.now(), err)
		}
		rs.values = make([][]byte, len(keys))
		rs.degraded = "online store unavailable, served from the offline store: " + err.Error()
	}
	misses := 0
	for k, b := range rs.values {
		switch {
		case b == nil:
			rs.tiers[k] = floev1.Tier_TIER_NONE
			misses++
		case fromL1 != nil && fromL1[k]:
			rs.tiers[k] = floev1.Tier_TIER_L1
		default:
			rs.tiers[k] = floev1.Tier_TIER_ONLINE
		}
	}
	if r.offline != nil && misses > 0 {
		if err := r.fillMisses(ctx, p, ids, n, keys, rs); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// assemble decodes the fetched rows into typed response columns. TTLs are judged
// against nowMicros.
func (r *Reader) assemble(p *plan, n int, rs *rows, nowMicros int64) *floev1.GetOnlineFeaturesResponse {
	resp := &floev1.GetOnlineFeaturesResponse{
		RowCount:        uint32(n),
		RegistryVersion: r.reg.Version,
		Columns:         make([]*floev1.FeatureColumn, len(p.columns)),
		Views:           make([]*floev1.ViewRows, len(p.views)),
		Degraded:        rs.degraded != "",
		DegradedReason:  rs.degraded,
	}
	sink := &columnSink{cols: make([]columnData, len(p.columns))}
	for i, c := range p.columns {
		resp.Columns[i] = sink.cols[i].init(c.ref, n)
	}
	var served [5]int
	for vi, pv := range p.views {
		vr := &floev1.ViewRows{
			View:                pv.view.Name,
			EventTimeUnixMicros: make([]int64, n),
			SnapshotIds:         make([]int64, n),
			Tiers:               make([]floev1.Tier, n),
		}
		resp.Views[vi] = vr
		sink.out = pv.out
		ttl := pv.view.TTL.Microseconds()
		for row := 0; row < n; row++ {
			k := vi*n + row
			sink.row = row
			tier := floev1.Tier_TIER_NONE
			if b := rs.values[k]; b != nil {
				h, off, err := online.DecodeHeader(b)
				// A row written under another schema hash predates a spec change; it
				// is absent until rematerialized, never misread.
				if err == nil && h.SchemaHash == pv.view.SchemaHash {
					sink.status = floev1.FeatureStatus_FEATURE_STATUS_PRESENT
					if ttl > 0 && nowMicros-h.EventTime > ttl {
						sink.status = floev1.FeatureStatus_FEATURE_STATUS_EXPIRED
					}
					if err = online.DecodeRow(pv.view, b, off, pv.decode, sink); err == nil {
						tier = rs.tiers[k]
						vr.EventTimeUnixMicros[row] = h.EventTime
						vr.SnapshotIds[row] = h.SnapshotID
					}
				}
			}
			vr.Tiers[row] = tier
			served[tier] += pv.selected
			if tier == floev1.Tier_TIER_NONE {
				status := floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND
				if rs.unavailable != nil && rs.unavailable[k] {
					status = floev1.FeatureStatus_FEATURE_STATUS_UNAVAILABLE
				}
				for _, c := range pv.out {
					if c >= 0 {
						sink.cols[c].statuses[row] = status
					}
				}
			}
		}
	}
	for i, c := range p.columns {
		if c.ref.Transform != nil {
			applyTransform(resp.Columns[i], &sink.cols[i], c.ref)
		}
	}
	for tier, count := range served {
		if count > 0 {
			r.observe(floev1.Tier(tier), count)
		}
	}
	return resp
}

// columnData is a response column with direct access to its typed slice, so the
// decoder writes values in place instead of appending to protobuf lists.
type columnData struct {
	ints     []int64
	floats   []float64
	strs     []string
	bools    []bool
	vec      []float32
	dim      int
	statuses []floev1.FeatureStatus
}

func (d *columnData) init(ref registry.FeatureRef, n int) *floev1.FeatureColumn {
	f := ref.Feature
	d.statuses = make([]floev1.FeatureStatus, n)
	col := &floev1.FeatureColumn{Name: ref.OutputName(), ValueType: floev1.ValueType(f.Type), Statuses: d.statuses}
	switch f.Type {
	case registry.TypeInt64:
		d.ints = make([]int64, n)
		col.Values = &floev1.FeatureColumn_Int64Values{Int64Values: &floev1.Int64List{Values: d.ints}}
	case registry.TypeTimestamp:
		d.ints = make([]int64, n)
		col.Values = &floev1.FeatureColumn_TimestampValues{TimestampValues: &floev1.TimestampList{UnixMicros: d.ints}}
	case registry.TypeDouble:
		d.floats = make([]float64, n)
		col.Values = &floev1.FeatureColumn_DoubleValues{DoubleValues: &floev1.DoubleList{Values: d.floats}}
	case registry.TypeString:
		d.strs = make([]string, n)
		col.Values = &floev1.FeatureColumn_StringValues{StringValues: &floev1.StringList{Values: d.strs}}
	case registry.TypeBool:
		d.bools = make([]bool, n)
		col.Values = &floev1.FeatureColumn_BoolValues{BoolValues: &floev1.BoolList{Values: d.bools}}
	case registry.TypeFloatVector:
		d.dim = f.Dim
		d.vec = make([]float32, n*f.Dim)
		col.Values = &floev1.FeatureColumn_FloatVectorValues{FloatVectorValues: &floev1.FloatVectorList{Dim: uint32(f.Dim), Values: d.vec}}
	}
	return col
}

// columnSink scatters one decoded row into the response columns.
type columnSink struct {
	cols   []columnData
	out    []int
	row    int
	status floev1.FeatureStatus
}

func (s *columnSink) Null(i int) {
	if c := s.out[i]; c >= 0 {
		s.cols[c].statuses[s.row] = floev1.FeatureStatus_FEATURE_STATUS_NULL
	}
}

func (s *columnSink) Int(i int, v int64) {
	if c := s.out[i]; c >= 0 {
		s.cols[c].ints[s.row] = v
		s.cols[c].statuses[s.row] = s.status
	}
}

func (s *columnSink) Float(i int, v float64) {
	if c := s.out[i]; c >= 0 {
		s.cols[c].floats[s.row] = v
		s.cols[c].statuses[s.row] = s.status
	}
}

func (s *columnSink) Bool(i int, v bool) {
	if c := s.out[i]; c >= 0 {
		s.cols[c].bools[s.row] = v
		s.cols[c].statuses[s.row] = s.status
	}
}

func (s *columnSink) String(i int, v []byte) {
	if c := s.out[i]; c >= 0 {
		s.cols[c].strs[s.row] = string(v)
		s.cols[c].statuses[s.row] = s.status
	}
}

func (s *columnSink) Vector(i int, v []byte) {
	if c := s.out[i]; c >= 0 {
		d := &s.cols[c]
		dst := d.vec[s.row*d.dim : (s.row+1)*d.dim]
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(v[j*4:]))
		}
		d.statuses[s.row] = s.status
	}
}

// applyTransform replaces a decoded raw column by its transformed values. The raw
// values are those of ref.Feature.Type (what the decoder wrote); a value is null for
// the transform unless its status is PRESENT — an expired value is null too, exactly
// as historical retrieval sees it, so online vectors and training rows agree.
// Statuses describe the source row and are kept, except that a value the chain
// turned into null (cast of NaN) is marked NULL and a missing value fill_null
// supplied is marked FILLED (UNAVAILABLE stays: an outage is never papered over).
func applyTransform(col *floev1.FeatureColumn, d *columnData, ref registry.FeatureRef) {
	in := columns.FromProto(col)
	out, err := ref.Transform.Apply(in)
	if err != nil {
		// The registry built the chain for ref.Feature.Type, so this cannot happen;
		// if it does, no value of the column is trustworthy.
		for r := range d.statuses {
			d.statuses[r] = floev1.FeatureStatus_FEATURE_STATUS_UNAVAILABLE
		}
		return
	}
	for r, st := range d.statuses {
		switch {
		case out.IsNull(r) && !in.IsNull(r):
			d.statuses[r] = floev1.FeatureStatus_FEATURE_STATUS_NULL
		case !out.IsNull(r) && in.IsNull(r) && st != floev1.FeatureStatus_FEATURE_STATUS_UNAVAILABLE:
			d.statuses[r] = floev1.FeatureStatus_FEATURE_STATUS_FILLED
		}
	}
	columns.ToProto(col, out)
}
