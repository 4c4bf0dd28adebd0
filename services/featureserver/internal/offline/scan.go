package offline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Snapshot is one committed version of a view's table.
type Snapshot struct {
	// ID is the Iceberg snapshot id, the value every online value is stamped with.
	ID int64
	// ParentID is the previous snapshot; zero for the table's first snapshot.
	ParentID int64
	// SequenceNumber orders snapshots as committed.
	SequenceNumber int64
	// Timestamp is when the snapshot was committed.
	Timestamp time.Time
	// Operation is Iceberg's: "append", "overwrite", "delete" or "replace".
	Operation string
	// AddedRecords is the summary's added-records (rows the snapshot added).
	AddedRecords int64
	// TotalRecords is the summary's total-records (rows live in the snapshot).
	TotalRecords int64
	// Summary is the full snapshot summary, including Floe's floe.source-file.
	Summary map[string]string
}

// CurrentSnapshot returns the id of the table's current snapshot as the catalog
// has it now; ok is false when the table does not exist or has no snapshot yet.
// Transient catalog errors are retried within the context's deadline; errors
// that remain wrap ErrUnavailable. The table's cached metadata is refreshed as a
// side effect, so a LookupScan of the id returned needs no catalog call.
func (s *Store) CurrentSnapshot(ctx context.Context, v *registry.FeatureView) (id int64, ok bool, err error) {
	var tbl *table.Table
	err = retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.freshTable(ctx, v)
		return err
	})
	if errors.Is(err, ErrNoSuchTable) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("current snapshot of view %s: %w", v.Name, err)
	}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, false, nil
	}
	return snap.SnapshotID, true, nil
}

// RecentSnapshot is CurrentSnapshot answered from the table cache: the current
// snapshot as of at most MetadataMaxAge ago, the one LookupScan and Scan read
// when given snapshot id 0. It costs no catalog call while the cache is fresh,
// which suits a per-request miss path; pollers that must see every commit
// promptly use CurrentSnapshot.
func (s *Store) RecentSnapshot(ctx context.Context, v *registry.FeatureView) (id int64, ok bool, err error) {
	var tbl *table.Table
	err = retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.tableAt(ctx, v, 0)
		return err
	})
	if errors.Is(err, ErrNoSuchTable) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("recent snapshot of view %s: %w", v.Name, err)
	}
	snap := tbl.CurrentSnapshot()
	if snap == nil {
		return 0, false, nil
	}
	return snap.SnapshotID, true, nil
}

// Snapshots lists the snapshots of the view's table, oldest first, as the
// catalog has them now. Errors wrap ErrNoSuchTable when the table does not exist.
func (s *Store) Snapshots(ctx context.Context, v *registry.FeatureView) ([]Snapshot, error) {
	var tbl *table.Table
	err := retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.freshTable(ctx, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshots of view %s: %w", v.Name, err)
	}
	snaps := tbl.Metadata().Snapshots()
	out := make([]Snapshot, 0, len(snaps))
	for _, sn := range snaps {
		out = append(out, toSnapshot(sn))
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		if c := cmp.Compare(a.SequenceNumber, b.SequenceNumber); c != 0 {
			return c
		}
		return a.Timestamp.Compare(b.Timestamp)
	})
	return out, nil
}

// toSnapshot converts iceberg-go's snapshot to the package's.
func toSnapshot(sn table.Snapshot) Snapshot {
	o := Snapshot{
		ID:             sn.SnapshotID,
		SequenceNumber: sn.SequenceNumber,
		Timestamp:      time.UnixMilli(sn.TimestampMs).UTC(),
		Summary:        map[string]string{},
	}
	if sn.ParentSnapshotID != nil {
		o.ParentID = *sn.ParentSnapshotID
	}
	if sn.Summary != nil {
		o.Operation = string(sn.Summary.Operation)
		for k, val := range sn.Summary.Properties {
			o.Summary[k] = val
		}
		o.AddedRecords, _ = strconv.ParseInt(sn.Summary.Properties["added-records"], 10, 64)
		o.TotalRecords, _ = strconv.ParseInt(sn.Summary.Properties["total-records"], 10, 64)
	}
	return o
}

// Scan streams every row of the view's table as of snapshotID (zero means the
// current snapshot, as of at most MetadataMaxAge ago) as records in the
// canonical ArrowSchema, whatever Arrow types iceberg-go decodes to. Features
// the snapshot's schema does not have yet (added to the spec later) read as
// null. A table without snapshots yields no records. The caller must Release the
// reader; releasing it early stops the scan. Errors wrap ErrNoSuchTable or
// ErrNoSuchSnapshot where those apply; transient errors while opening the scan
// are retried, errors while streaming are reported by the reader's Err.
func (s *Store) Scan(ctx context.Context, v *registry.FeatureView, snapshotID int64) (array.RecordReader, error) {
	return s.ScanFeatures(ctx, v, snapshotID, nil)
}

// ScanFeatures is Scan reading only the join key, the event time and the given
// features (indexes into v.Features; nil means all): its records have the
// schema FeatureSchema(v, features). The other columns are not decoded, so a
// training set or a fit that needs a few features of a wide view reads only
// those.
func (s *Store) ScanFeatures(ctx context.Context, v *registry.FeatureView, snapshotID int64, features []int) (array.RecordReader, error) {
	for _, f := range features {
		if f < 0 || f >= len(v.Features) {
			return nil, fmt.Errorf("scan view %s: no feature %d", v.Name, f)
		}
	}
	var rdr array.RecordReader
	err := retry(ctx, func(ctx context.Context) (err error) {
		rdr, err = s.scan(ctx, v, snapshotID, features)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan view %s at snapshot %d: %w", v.Name, snapshotID, err)
	}
	return rdr, nil
}

func (s *Store) scan(ctx context.Context, v *registry.FeatureView, snapshotID int64, features []int) (array.RecordReader, error) {
	want := FeatureSchema(v, features)
	p, err := s.planRead(ctx, v, snapshotID)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return array.NewRecordReader(want, nil)
	}
	sc := p.tbl.Scan(table.WithSnapshotID(p.snap.SnapshotID), table.WithSelectedFields(selected(p.fields, want)...))
	got, records, err := sc.ToArrowRecords(ctx)
	if err != nil {
		_ = sc.Close()
		return nil, classify(err)
	}
	return newScanReader(ctx, want, sc, got, records, nil)
}

// selected returns the readable table columns the schema wants, each once.
func selected(readable []string, want *arrow.Schema) []string {
	out := make([]string, 0, want.NumFields())
	for _, name := range readable {
		if want.HasField(name) {
			out = append(out, name)
		}
	}
	return out
}

// readPlan is what reading a view's rows at one snapshot needs.
type readPlan struct {
	tbl  *table.Table
	snap *table.Snapshot
	// schema is the snapshot's schema: time travel reads data as it was
	// written, and a later schema change must not break reading older snapshots.
	schema *iceberg.Schema
	// fields are the canonical columns the snapshot's schema has, to select;
	// the others are features added later, read as null.
	fields []string
}

// planRead resolves snapshotID (0: current) on the cached table. It returns a
// nil plan when snapshotID is 0 and the table has no snapshot yet.
func (s *Store) planRead(ctx context.Context, v *registry.FeatureView, snapshotID int64) (*readPlan, error) {
	tbl, err := s.tableAt(ctx, v, snapshotID)
	if err != nil {
		return nil, err
	}
	if snapshotID == 0 {
		cur := tbl.CurrentSnapshot()
		if cur == nil {
			return nil, nil
		}
		snapshotID = cur.SnapshotID
	}
	snap := tbl.SnapshotByID(snapshotID)
	if snap == nil {
		return nil, fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, v.Source.Identifier(), snapshotID)
	}
	p := &readPlan{tbl: tbl, snap: snap, schema: snapshotSchema(tbl, snap)}
	if p.fields, err = readableFields(v, p.schema); err != nil {
		return nil, err
	}
	return p, nil
}

// snapshotSchema returns the schema a snapshot was written with, or the table's
// current schema when the snapshot does not record one.
func snapshotSchema(tbl *table.Table, snap *table.Snapshot) *iceberg.Schema {
	if snap.SchemaID != nil {
		if sc, ok := tbl.Schemas()[*snap.SchemaID]; ok {
			return sc
		}
	}
	return tbl.Schema()
}

// newScanReader wraps iceberg-go's record iterator (records of schema got) as a
// canonical RecordReader. keep, when not nil, filters rows by join key.
func newScanReader(ctx context.Context, want *arrow.Schema, sc *table.Scan, got *arrow.Schema, records iter.Seq2[arrow.RecordBatch, error], keep func(arrow.Array) ([]bool, bool)) (array.RecordReader, error) {
	conv, err := newNormalizer(ctx, got, want)
	if err != nil {
		if sc != nil {
			_ = sc.Close()
		}
		return nil, err
	}
	r := &scanReader{schema: want, conv: conv, scan: sc, keep: keep}
	r.next, r.stop = iter.Pull2(records)
	r.refs.Store(1)
	return r, nil
}

// normalizer turns a record as decoded by iceberg-go into the canonical schema.
type normalizer struct {
	ctx  context.Context
	want *arrow.Schema
	src  []int                                    // source column of each canonical column, -1 for a feature read as null
	conv []func(arrow.Array) (arrow.Array, error) // nil where types already match
}

func newNormalizer(ctx context.Context, got, want *arrow.Schema) (*normalizer, error) {
	n := &normalizer{ctx: ctx, want: want, src: make([]int, want.NumFields()), conv: make([]func(arrow.Array) (arrow.Array, error), want.NumFields())}
	for i, f := range want.Fields() {
		idx := got.FieldIndices(f.Name)
		if len(idx) == 0 && f.Nullable {
			n.src[i] = -1
			continue
		}
		if len(idx) != 1 {
			return nil, fmt.Errorf("scan returned no column %q", f.Name)
		}
		n.src[i] = idx[0]
		from, to := got.Field(idx[0]).Type, f.Type
		if arrow.TypeEqual(from, to) {
			continue
		}
		conv, err := converter(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		n.conv[i] = conv
	}
	return n, nil
}

// converter returns how to turn arrays of type from into type to. Types that
// differ only in names or time zone metadata (list element "element" vs "item",
// timestamp "UTC" vs "+00:00") share their buffers; the rest are cast.
func converter(ctx context.Context, from, to arrow.DataType) (func(arrow.Array) (arrow.Array, error), error) {
	if sameLayout(from, to) {
		return func(a arrow.Array) (arrow.Array, error) { return retype(a, to), nil }, nil
	}
	if _, ok := from.(*arrow.LargeListType); ok && arrow.TypeEqual(to, float32List) {
		return func(a arrow.Array) (arrow.Array, error) { return toFloat32List(a) }, nil
	}
	if !compute.CanCast(from, to) {
		return nil, fmt.Errorf("cannot convert %s to %s", from, to)
	}
	return func(a arrow.Array) (arrow.Array, error) { return compute.CastToType(ctx, a, to) }, nil
}

func sameLayout(from, to arrow.DataType) bool {
	switch f := from.(type) {
	case *arrow.TimestampType:
		t, ok := to.(*arrow.TimestampType)
		return ok && f.Unit == t.Unit
	case *arrow.ListType:
		t, ok := to.(*arrow.ListType)
		return ok && arrow.TypeEqual(f.Elem(), t.Elem())
	}
	return false
}

// retype reinterprets a's buffers as type dt, which must have the same layout.
func retype(a arrow.Array, dt arrow.DataType) arrow.Array {
	d := a.Data()
	nd := array.NewData(dt, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer nd.Release()
	return array.MakeFromData(nd)
}

// toFloat32List copies any list-like array of floats into the canonical
// List<Float32>; it serves the rare large_list decode, so clarity beats speed.
func toFloat32List(a arrow.Array) (arrow.Array, error) {
	offsets, values, ok := listAt(a)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), float32List)
	}
	get, ok := float64At(values)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), float32List)
	}
	b := array.NewListBuilderWithField(memory.DefaultAllocator, float32List.ElemField())
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float32Builder)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(true)
		start, end := offsets(i)
		for j := start; j < end; j++ {
			if values.IsNull(int(j)) {
				vb.AppendNull()
				continue
			}
			vb.Append(float32(get(int(j))))
		}
	}
	return b.NewArray(), nil
}

func (n *normalizer) apply(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, len(n.src))
	for i, j := range n.src {
		if j < 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, n.want.Field(i).Type, int(rec.NumRows()))
			continue
		}
		col := rec.Column(j)
		if n.conv[i] == nil {
			col.Retain()
			cols[i] = col
			continue
		}
		c, err := n.conv[i](col)
		if err != nil {
			for _, done := range cols[:i] {
				done.Release()
			}
			return nil, fmt.Errorf("column %q: %w", n.want.Field(i).Name, err)
		}
		cols[i] = c
	}
	out := array.NewRecordBatch(n.want, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// scanReader adapts iceberg-go's record iterator to an arrow RecordReader,
// normalizing each record.
type scanReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	conv   *normalizer
	scan   *table.Scan // closed when the reader finishes; nil if none
	keep   func(key arrow.Array) (keep []bool, all bool)
	next   func() (arrow.RecordBatch, error, bool)
	stop   func()
	cur    arrow.RecordBatch
	err    error
	done   bool
}

func (r *scanReader) Retain()               { r.refs.Add(1) }
func (r *scanReader) Schema() *arrow.Schema { return r.schema }
func (r *scanReader) Err() error            { return r.err }

func (r *scanReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch under its deprecated name, kept for the interface.
func (r *scanReader) Record() arrow.RecordBatch { return r.cur }

func (r *scanReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for !r.done {
		rec, err, ok := r.next()
		if !ok {
			r.finish()
			return false
		}
		if err != nil {
			r.err = classify(err)
			r.finish()
			return false
		}
		out, err := r.conv.apply(rec)
		rec.Release()
		if err == nil && r.keep != nil {
			out, err = filterRows(r.conv.ctx, out, r.keep)
		}
		if err != nil {
			r.err = err
			r.finish()
			return false
		}
		if out.NumRows() == 0 && r.keep != nil {
			out.Release()
			continue
		}
		r.cur = out
		return true
	}
	return false
}

// filterRows keeps the rows of rec whose join key keep accepts, releasing rec.
func filterRows(ctx context.Context, rec arrow.RecordBatch, keep func(arrow.Array) ([]bool, bool)) (arrow.RecordBatch, error) {
	mask, all := keep(rec.Column(0))
	if all {
		return rec, nil
	}
	defer rec.Release()
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(mask, nil)
	m := b.NewBooleanArray()
	defer m.Release()
	out, err := compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("filter rows: %w", err)
	}
	return out, nil
}

func (r *scanReader) finish() {
	if r.done {
		return
	}
	r.done = true
	r.stop()
	if r.scan != nil {
		_ = r.scan.Close()
	}
}

func (r *scanReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.finish()
}
