package offline

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// taskReader streams planned file scan tasks, one task at a time, as canonical
// records. When reading a task fails with a transient error it re-opens the
// task (with backoff, within the retry policy and the context's deadline) and
// skips the rows it already returned: reading one data file with its delete
// files and no row filter yields the same rows in the same order every time,
// so a blip in the object store does not fail a long read halfway.
type taskReader struct {
	refs   atomic.Int64
	ctx    context.Context
	v      *registry.FeatureView
	tbl    *table.Table
	snap   int64
	fields []string
	tasks  []table.FileScanTask
	keep   func(arrow.Array) ([]bool, bool)
	policy retryPolicy
	schema *arrow.Schema

	i        int                // current task
	inner    array.RecordReader // reader of task i, nil when not open
	returned int64              // rows of task i already returned (before keep)
	skip     int64              // rows still to skip after re-opening task i
	attempts int                // failed reads of task i
	cur      arrow.RecordBatch
	err      error
}

func newTaskReader(ctx context.Context, v *registry.FeatureView, tbl *table.Table, snap int64, fields []string, tasks []table.FileScanTask, keep func(arrow.Array) ([]bool, bool)) *taskReader {
	r := &taskReader{ctx: ctx, v: v, tbl: tbl, snap: snap, fields: fields, tasks: tasks, keep: keep, policy: defaultRetry, schema: ArrowSchema(v)}
	r.refs.Store(1)
	return r
}

func (r *taskReader) open(ctx context.Context) error {
	sc := r.tbl.Scan(table.WithSnapshotID(r.snap), table.WithSelectedFields(r.fields...))
	got, records, err := sc.ReadTasks(ctx, r.tasks[r.i:r.i+1])
	if err != nil {
		_ = sc.Close()
		return classify(err)
	}
	r.inner, err = newScanReader(ctx, ArrowSchema(r.v), sc, got, records, nil)
	return err
}

// Next advances to the next non-empty record.
func (r *taskReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for r.err == nil && r.i < len(r.tasks) {
		if r.inner == nil {
			if r.err = retry(r.ctx, r.open); r.err != nil {
				return false
			}
		}
		if r.inner.Next() {
			rec := r.inner.RecordBatch()
			n := rec.NumRows()
			if r.skip >= n {
				r.skip -= n
				continue
			}
			var out arrow.RecordBatch
			if r.skip > 0 {
				out = rec.NewSlice(r.skip, n)
			} else {
				rec.Retain()
				out = rec
			}
			r.returned += n - r.skip
			r.skip = 0
			if r.keep != nil {
				var err error
				if out, err = filterRows(r.ctx, out, r.keep); err != nil {
					r.err = err
					return false
				}
			}
			if out.NumRows() == 0 {
				out.Release()
				continue
			}
			r.cur = out
			return true
		}
		err := r.inner.Err()
		r.inner.Release()
		r.inner = nil
		if err == nil {
			r.i++
			r.returned, r.skip, r.attempts = 0, 0, 0
			continue
		}
		r.attempts++
		if !errors.Is(err, ErrUnavailable) || r.attempts >= r.policy.attempts || r.ctx.Err() != nil {
			r.err = err
			return false
		}
		wait := r.policy.wait(r.attempts)
		if deadline, ok := r.ctx.Deadline(); ok && time.Until(deadline) <= wait {
			r.err = err
			return false
		}
		t := time.NewTimer(wait)
		select {
		case <-r.ctx.Done():
			t.Stop()
			r.err = err
			return false
		case <-t.C:
		}
		r.skip = r.returned
	}
	return false
}

func (r *taskReader) Retain()                        { r.refs.Add(1) }
func (r *taskReader) Schema() *arrow.Schema          { return r.schema }
func (r *taskReader) Err() error                     { return r.err }
func (r *taskReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch under its deprecated name, kept for the interface.
func (r *taskReader) Record() arrow.RecordBatch { return r.cur }

func (r *taskReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.inner != nil {
		r.inner.Release()
		r.inner = nil
	}
	r.i = len(r.tasks)
}
