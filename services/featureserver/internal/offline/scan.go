package offline

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

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
