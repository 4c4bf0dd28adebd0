// Package training builds point-in-time correct training data: entity rows with
// event timestamps are joined against Iceberg snapshots of feature views, pinned
// for reproducibility, and streamed as Arrow IPC record batches.
//
// # Semantics
//
// For each entity row and each feature view of the request, the joined feature
// row is the latest row of the view's pinned snapshot with
//
//	event_time <= row time            (never a later one), and
//	event_time >  row time - view TTL (only when the view has a TTL).
//
// Rows with equal event time are ordered by their position in the snapshot's
// scan, and the later one wins, exactly as columns.Latest picks an entity's
// "latest" row, so training rows agree with what materialization serves.
//
// Bad inputs have these outcomes:
//   - an entity row whose event_time is null: Retrieve fails before writing
//     anything, with an error naming the row (0-based, in input order);
//   - an entity row whose join key is null, or names an entity the snapshot does
//     not have (unknown entity): the view's features and <view>__event_time are
//     null;
//   - a row time before any of the entity's data, or all data older than the TTL:
//     null features and null <view>__event_time;
//   - NaN (and ±Inf) feature values pass through unchanged;
//   - a null feature value in the chosen row stays null (it is not filled from an
//     older row: the chosen row is the state of the entity at that time).
//
// # Output
//
// One Arrow IPC stream: the entity reader's columns, unchanged and in input order,
// then one column per requested feature in request order (ColumnName: the
// service's output name for the feature when it gives one, else
// "<view>__<feature>"), then per view, in order of first appearance,
// "<view>__event_time" (timestamp[us, UTC]) holding the event time of the row
// joined. A raw feature has the view's canonical type (offline.ArrowSchema). A
// transformed feature holds the output of the feature service's transform chain —
// the same Go code online reads run — applied to the joined value, where a row with
// no joined value is null (so fill_null fills it, as it fills a missing or expired
// value online). The schema metadata carries the spec hash, snapshot ids and the
// feature column names ("floe.feature_columns", JSON), and nothing time-dependent,
// so the same request with the same snapshots yields the same bytes.
package training

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// Source is the part of the offline store historical retrieval reads.
type Source interface {
	// ScanFeatures streams the view's rows at a snapshot with the schema
	// offline.FeatureSchema(v, features): join key, event time, then the given
	// features (indexes into v.Features) in that order.
	ScanFeatures(ctx context.Context, v *registry.FeatureView, snapshotID int64, features []int) (array.RecordReader, error)
	Snapshot(ctx context.Context, v *registry.FeatureView, id int64) (offline.Snapshot, error)
	CurrentSnapshot(ctx context.Context, v *registry.FeatureView) (int64, bool, error)
}

var _ Source = (*offline.Store)(nil)

// EventTimeColumn is the name of the entity rows' timestamp column.
const EventTimeColumn = "event_time"

// DefaultBatchSize is the number of rows per output record batch when
// Request.BatchSize is zero.
const DefaultBatchSize = 64 * 1024

// ErrBadRequest marks errors caused by the request (missing columns, wrong
// types, null timestamps, unknown views in Snapshots).
var ErrBadRequest = errors.New("bad training data request")

// Request is one historical retrieval.
type Request struct {
	// Service, when set, supplies the features (in its order) and its name
	// goes into the spec hash. Otherwise Features is used.
	Service  *registry.FeatureService
	Features []registry.FeatureRef
	// RegistryVersion is registry.Registry.Version; it goes into the spec hash.
	RegistryVersion string
	// Entities yields the entity rows: one column per join key of the views'
	// entities, named as the join key and typed as it (int64 or utf8), and an
	// "event_time" timestamp column (any unit; tz UTC or none, taken as UTC).
	// Other columns are passed through. Retrieve reads it in full but does not
	// Release it.
	Entities array.RecordReader
	// Snapshots pins the snapshot read per view name. A view that is missing is
	// read at its current snapshot, which is then pinned and reported in the
	// manifest; 0 means the view's table has no snapshot (all its features null).
	Snapshots map[string]int64
	// BatchSize is the number of rows per output record batch (0: DefaultBatchSize).
	BatchSize int
	// Allocator for output arrays; nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// Now stamps Manifest.CreatedAt; nil means time.Now.
	Now func() time.Time
	// Progress, when set, is told what Retrieve is doing, one call at a time:
	// the rows read of each view as they come, then the rows written.
	Progress func(Progress)
}

// Progress is what Retrieve reports while it works.
type Progress struct {
	Phase Phase
	// View is the view being read (PhaseReading).
	View string
	// Rows is the view's rows read so far (PhaseReading) or the entity rows
	// written so far (PhaseWriting), of Total.
	Rows, Total int64
}

// Phase is a stage of Retrieve.
type Phase int

const (
	// PhaseReading is the reading of the views' rows from the offline store (the
	// join follows each view's read).
	PhaseReading Phase = iota + 1
	// PhaseWriting is the writing of the answer.
	PhaseWriting
)

// Manifest describes a training dataset well enough to rebuild it byte for byte.
type Manifest struct {
	// Snapshots is the snapshot id read per view (0: the table had none).
	Snapshots map[string]int64 `json:"snapshots"`
	// SpecHash identifies the registry version, the service and its feature list.
	SpecHash        string   `json:"spec_hash"`
	RegistryVersion string   `json:"registry_version"`
	FeatureService  string   `json:"feature_service,omitempty"`
	Features        []string `json:"features"`
	// Columns names the feature columns of the stream, one per entry of Features
	// (ColumnName); the schema metadata carries them as "floe.feature_columns".
	Columns    []string  `json:"columns"`
	EntityRows int64     `json:"entity_rows"`
	CreatedAt  time.Time `json:"created_at"`
}

// SpecHash hashes the registry version, the service name and its features (with
// each view's TTL and schema hash, which change the join or the encoding, and each
// feature's output name and transform).
func SpecHash(registryVersion, service string, refs []registry.FeatureRef) string {
	h := sha256.New()
	fmt.Fprintf(h, "floe-training-v1\x00%s\x00%s\x00", registryVersion, service)
	for _, r := range refs {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00", r.Name(), r.View.TTL, r.View.SchemaHash, r.Feature.Type)
		// Output names and transforms change the bytes too; raw, unnamed features
		// hash as they always did.
		if r.Alias != "" || r.Transform != nil {
			fmt.Fprintf(h, "as\x00%s\x00%s\x00", r.Alias, r.Transform)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// viewJoin is the join state of one feature view.
type viewJoin struct {
	view     *registry.FeatureView
	snapshot int64
	features []int      // indexes into view.Features requested, in request order
	keys     *keyColumn // entity column holding the view's join key (keys.go)

	// Built by load (join.go); order is dropped once joined.
	order   keyTimeOrder  // the snapshot's joinable rows in (key, time, position) order
	columns []arrow.Array // requested feature columns, concatenated, by scan position
	posTime []int64       // event time by scan position

	// Per entity row: scan position of the joined row, or -1.
	match []int32
}

// Retrieve joins req.Entities point-in-time correct against the views of the
// requested features and writes an Arrow IPC stream to w (see the package
// comment). Nothing is written when the request is invalid or a scan fails.
func Retrieve(ctx context.Context, src Source, req Request, w io.Writer) (*Manifest, error) {
	refs := req.Features
	service := ""
	if req.Service != nil {
		refs, service = req.Service.Features, req.Service.Name
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: no features requested", ErrBadRequest)
	}
	if req.Entities == nil {
		return nil, fmt.Errorf("%w: no entity rows", ErrBadRequest)
	}
	mem := req.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	batch := req.BatchSize
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	now := req.Now
	if now == nil {
		now = time.Now
	}
	var progressMu sync.Mutex
	report := func(Progress) {}
	if req.Progress != nil {
		report = func(p Progress) {
			progressMu.Lock()
			defer progressMu.Unlock()
			req.Progress(p)
		}
	}

	// Views in order of first appearance.
	var joins []*viewJoin
	byView := map[string]*viewJoin{}
	for _, r := range refs {
		j, ok := byView[r.View.Name]
		if !ok {
			j = &viewJoin{view: r.View}
			byView[r.View.Name] = j
			joins = append(joins, j)
		}
		j.features = append(j.features, r.Feature.Index)
	}
	for name := range req.Snapshots {
		if _, ok := byView[name]; !ok {
			return nil, fmt.Errorf("%w: snapshot pinned for view %q, which no requested feature reads", ErrBadRequest, name)
		}
	}

	// Entity rows, read in full: they must be sorted against every view.
	ent, err := readEntities(req.Entities, joins)
	if err != nil {
		return nil, err
	}
	defer ent.release()

	// Pin snapshots.
	for _, j := range joins {
		if id, ok := req.Snapshots[j.view.Name]; ok {
			if id != 0 {
				if _, err := src.Snapshot(ctx, j.view, id); err != nil {
					return nil, err
				}
			}
			j.snapshot = id
			continue
		}
		id, ok, err := src.CurrentSnapshot(ctx, j.view)
		if err != nil {
			return nil, err
		}
		if ok {
			j.snapshot = id
		}
	}

	// Load and join the views concurrently.
	errs := make([]error, len(joins))
	var wg sync.WaitGroup
	for i, j := range joins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = j.load(ctx, src, mem, report); errs[i] == nil {
				errs[i] = j.join(ent)
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, j := range joins {
			for _, c := range j.columns {
				if c != nil {
					c.Release()
				}
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	m := &Manifest{
		Snapshots:       map[string]int64{},
		SpecHash:        SpecHash(req.RegistryVersion, service, refs),
		RegistryVersion: req.RegistryVersion,
		FeatureService:  service,
		EntityRows:      int64(ent.rows),
		CreatedAt:       now().UTC(),
	}
	for _, j := range joins {
		m.Snapshots[j.view.Name] = j.snapshot
	}
	for _, r := range refs {
		m.Features = append(m.Features, r.Name())
		m.Columns = append(m.Columns, ColumnName(r))
	}

	if err := write(ctx, w, mem, ent, refs, joins, m, batch, report); err != nil {
		return nil, err
	}
	return m, nil
}

// entities holds the entity rows read from the request.
type entities struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	starts  []int // starts[i] is the global index of batches[i]'s first row
	rows    int
	times   []int64 // event time per row, microseconds
	// keys holds the join-key columns by entity column index (keys.go).
	keys map[int]*keyColumn
}

func (e *entities) release() {
	for _, b := range e.batches {
		b.Release()
	}
}

func readEntities(rdr array.RecordReader, joins []*viewJoin) (*entities, error) {
	sc := rdr.Schema()
	e := &entities{schema: sc, keys: map[int]*keyColumn{}}
	tcol := sc.FieldIndices(EventTimeColumn)
	if len(tcol) != 1 {
		return nil, fmt.Errorf("%w: entity rows need exactly one %q column", ErrBadRequest, EventTimeColumn)
	}
	tt, ok := sc.Field(tcol[0]).Type.(*arrow.TimestampType)
	if !ok {
		return nil, fmt.Errorf("%w: entity column %q is %s, want a timestamp", ErrBadRequest, EventTimeColumn, sc.Field(tcol[0]).Type)
	}
	if tt.TimeZone != "" && tt.TimeZone != "UTC" && tt.TimeZone != "+00:00" {
		return nil, fmt.Errorf("%w: entity column %q has time zone %q, want UTC", ErrBadRequest, EventTimeColumn, tt.TimeZone)
	}
	mul, div := int64(1), int64(1)
	switch tt.Unit {
	case arrow.Second:
		mul = 1_000_000
	case arrow.Millisecond:
		mul = 1_000
	case arrow.Nanosecond:
		div = 1_000
	}
	for _, j := range joins {
		k := j.view.Entity.Key()
		idx := sc.FieldIndices(k.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%w: entity rows need exactly one %q column (join key of entity %s, for view %s)", ErrBadRequest, k.Name, j.view.Entity.Name, j.view.Name)
		}
		want := arrow.DataType(arrow.PrimitiveTypes.Int64)
		if k.Type == registry.TypeString {
			want = arrow.BinaryTypes.String
		}
		if !arrow.TypeEqual(sc.Field(idx[0]).Type, want) {
			return nil, fmt.Errorf("%w: entity column %q is %s, want %s", ErrBadRequest, k.Name, sc.Field(idx[0]).Type, want)
		}
		kc, ok := e.keys[idx[0]]
		if !ok {
			kc = newKeyColumn(e, idx[0], k.Type == registry.TypeString)
			e.keys[idx[0]] = kc
		}
		kc.uses.Add(1)
		j.keys = kc
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if !rec.Schema().Equal(sc) {
			e.release()
			return nil, fmt.Errorf("%w: entity record batches change schema", ErrBadRequest)
		}
		if rec.NumRows() == 0 {
			continue
		}
		rec.Retain()
		e.batches = append(e.batches, rec)
		e.starts = append(e.starts, e.rows)
		if ts := rec.Column(tcol[0]); ts.NullN() > 0 {
			for i := 0; i < ts.Len(); i++ {
				if ts.IsNull(i) {
					e.release()
					return nil, fmt.Errorf("%w: entity row %d has a null %s", ErrBadRequest, e.rows+i, EventTimeColumn)
				}
			}
		}
		e.rows += int(rec.NumRows())
		if e.rows > math.MaxInt32 {
			e.release()
			return nil, fmt.Errorf("%w: more than %d entity rows", ErrBadRequest, math.MaxInt32)
		}
	}
	if err := rdr.Err(); err != nil {
		e.release()
		return nil, fmt.Errorf("reading entity rows: %w", err)
	}
	// Converted once all rows are in, so the slice is allocated at its size.
	e.times = make([]int64, 0, e.rows)
	for _, rec := range e.batches {
		for _, v := range rec.Column(tcol[0]).(*array.Timestamp).TimestampValues() {
			t := int64(v)
			if mul != 1 {
				t *= mul
			} else if div != 1 {
				t = floorDiv(t, div)
			}
			e.times = append(e.times, t)
		}
	}
	// The join keys are indexed by the views' loads (keyColumn.prepare), in
	// parallel with their scans.
	return e, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// VectorDimKey is the field metadata key holding the dimension of a float_vector
// feature column (a list of float32) in Retrieve's output.
const VectorDimKey = "floe.dim"

// OutputSchema returns the schema Retrieve writes for entity rows of schema
// entitySchema (without the manifest metadata).
func OutputSchema(entitySchema *arrow.Schema, refs []registry.FeatureRef) *arrow.Schema {
	fields := slices.Clone(entitySchema.Fields())
	var views []*registry.FeatureView
	seen := map[string]bool{}
	for _, r := range refs {
		f := arrow.Field{Name: ColumnName(r), Type: columnType(r), Nullable: true}
		// A list type carries no length: the field says the vectors' dimension, so
		// a reader knows it even when every value is null.
		if t, dim := r.Output(); t == registry.TypeFloatVector {
			f.Metadata = arrow.NewMetadata([]string{VectorDimKey}, []string{strconv.Itoa(dim)})
		}
		fields = append(fields, f)
		if !seen[r.View.Name] {
			seen[r.View.Name] = true
			views = append(views, r.View)
		}
	}
	for _, v := range views {
		fields = append(fields, arrow.Field{Name: v.Name + "__event_time", Type: arrow.FixedWidthTypes.Timestamp_us, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

func write(ctx context.Context, w io.Writer, mem memory.Allocator, e *entities, refs []registry.FeatureRef, joins []*viewJoin, m *Manifest, batch int, report func(Progress)) error {
	base := OutputSchema(e.schema, refs)
	snaps, _ := json.Marshal(m.Snapshots) // map keys are sorted: deterministic
	featureCols, _ := json.Marshal(m.Columns)
	meta := arrow.NewMetadata(
		[]string{"floe.spec_hash", "floe.snapshots", "floe.registry_version", "floe.feature_service", "floe.feature_columns"},
		[]string{m.SpecHash, string(snaps), m.RegistryVersion, m.FeatureService, string(featureCols)},
	)
	schema := arrow.NewSchema(base.Fields(), &meta)
	// The IPC writer issues many small writes (one per buffer); an RPC stream
	// or a socket wants few large ones.
	bw := bufio.NewWriterSize(w, 1<<20)
	iw := ipc.NewWriter(bw, ipc.WithSchema(schema), ipc.WithAllocator(mem))

	// Column sources: for each ref, its view join and column within it.
	type colSrc struct {
		j *viewJoin
		c int
	}
	srcs := make([]colSrc, len(refs))
	pos := map[string]int{}
	for i, r := range refs {
		j := joinOf(joins, r.View.Name)
		srcs[i] = colSrc{j, pos[r.View.Name]}
		pos[r.View.Name]++
	}

	cols := make([]arrow.Array, 0, len(base.Fields()))
	releaseCols := func() {
		for _, c := range cols {
			c.Release()
		}
		cols = cols[:0]
	}
	defer releaseCols()
	ncols := int(e.schema.NumFields())
	for start := 0; start < e.rows; start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+batch, e.rows)
		n := end - start
		// Output batches hold BatchSize rows whatever the input's batching, so
		// the bytes depend only on the rows.
		ents, err := e.slice(start, end, mem)
		if err != nil {
			return err
		}
		cols = append(cols, ents[:ncols]...)
		// Index arrays per view, built once per batch.
		indices := make(map[*viewJoin]arrow.Array, len(joins))
		for _, j := range joins {
			indices[j] = j.indices(start, end, mem)
		}
		for i, s := range srcs {
			var taken arrow.Array
			taken, err = take(ctx, s.j.columns[s.c], indices[s.j], n, mem)
			if err != nil {
				err = fmt.Errorf("view %s: %w", s.j.view.Name, err)
				break
			}
			if refs[i].Transform != nil {
				raw := taken
				taken, err = applyChain(refs[i], raw, mem)
				raw.Release()
				if err != nil {
					break
				}
			}
			cols = append(cols, taken)
		}
		if err == nil {
			for _, j := range joins {
				cols = append(cols, j.eventTimes(start, end, mem))
			}
		}
		for _, a := range indices {
			a.Release()
		}
		if err != nil {
			return err
		}
		out := array.NewRecordBatch(schema, cols, int64(n))
		err = iw.Write(out)
		out.Release()
		releaseCols()
		if err != nil {
			return fmt.Errorf("writing training data: %w", err)
		}
		report(Progress{Phase: PhaseWriting, Rows: int64(end), Total: int64(e.rows)})
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("writing training data: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing training data: %w", err)
	}
	return nil
}

// take gathers values[indices] (null index → null), also when values is empty.
func take(ctx context.Context, values, indices arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	if values.Len() == 0 || indices.NullN() == n {
		return array.MakeArrayOfNull(mem, values.DataType(), n), nil
	}
	if out, ok := gather(values, indices, mem); ok { // fixed-width types (gather.go)
		return out, nil
	}
	return compute.TakeArray(compute.WithAllocator(ctx, mem), values, indices)
}

func joinOf(joins []*viewJoin, name string) *viewJoin {
	for _, j := range joins {
		if j.view.Name == name {
			return j
		}
	}
	return nil
}

// slice returns the entity columns of rows [start, end), which may span input
// batches.
func (e *entities) slice(start, end int, mem memory.Allocator) ([]arrow.Array, error) {
	ncols := e.schema.NumFields()
	parts := make([][]arrow.Array, ncols)
	defer func() {
		for _, ps := range parts {
			for _, p := range ps {
				p.Release()
			}
		}
	}()
	b := sort.Search(len(e.starts), func(i int) bool { return e.starts[i] > start }) - 1
	for ; b < len(e.batches) && e.starts[b] < end; b++ {
		rec := e.batches[b]
		lo := max(start-e.starts[b], 0)
		hi := min(end-e.starts[b], int(rec.NumRows()))
		for c := range ncols {
			parts[c] = append(parts[c], array.NewSlice(rec.Column(c), int64(lo), int64(hi)))
		}
	}
	out := make([]arrow.Array, ncols)
	for c, ps := range parts {
		if len(ps) == 1 {
			ps[0].Retain()
			out[c] = ps[0]
			continue
		}
		a, err := array.Concatenate(ps, mem)
		if err != nil {
			for _, o := range out[:c] {
				o.Release()
			}
			return nil, fmt.Errorf("entity column %s: %w", e.schema.Field(c).Name, err)
		}
		out[c] = a
	}
	return out, nil
}
