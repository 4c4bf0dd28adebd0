package training

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/offline"
)

// load scans the view's pinned snapshot. It keeps the requested feature columns
// and the event time of every row by scan position (for the output), and puts
// the rows in (key, time, position) order for join. Rows whose join key is null,
// or is a string no entity row has, cannot be joined and are left out of that
// order.
func (j *viewJoin) load(ctx context.Context, src Source, mem memory.Allocator, report func(Progress)) error {
	j.keys.prepare()
	// Never leave the key column's indexing running once Retrieve returns.
	defer j.keys.wait()

	v := j.view
	var (
		keyCols  []arrow.Array
		timeCols []*array.Timestamp
		perFeat  = make([][]arrow.Array, len(j.features))
		n        int
	)
	defer func() {
		for _, c := range keyCols {
			c.Release()
		}
		for _, c := range timeCols {
			c.Release()
		}
		for _, cs := range perFeat {
			for _, c := range cs {
				c.Release()
			}
		}
	}()
	if j.snapshot != 0 {
		// Only the requested features are read: a service using a few columns of
		// a wide view decodes those.
		rdr, err := src.ScanFeatures(ctx, v, j.snapshot, j.features)
		if err != nil {
			return err
		}
		defer rdr.Release()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if rec.NumCols() != int64(2+len(j.features)) {
				return fmt.Errorf("scan of %s returned %d columns, want %d", v.Name, rec.NumCols(), 2+len(j.features))
			}
			switch k := rec.Column(0).(type) {
			case *array.Int64:
				if j.keys.str {
					return fmt.Errorf("scan of %s: join key column is %s, want utf8", v.Name, k.DataType())
				}
			case *array.String:
				if !j.keys.str {
					return fmt.Errorf("scan of %s: join key column is %s, want int64", v.Name, k.DataType())
				}
			default:
				return fmt.Errorf("scan of %s: join key column is %s", v.Name, k.DataType())
			}
			ts, ok := rec.Column(1).(*array.Timestamp)
			if !ok {
				return fmt.Errorf("scan of %s: event time column is %s", v.Name, rec.Column(1).DataType())
			}
			// Hold on to the batch's arrays rather than copying them as they
			// come: the copies are then made once, at their final size.
			rec.Column(0).Retain()
			keyCols = append(keyCols, rec.Column(0))
			ts.Retain()
			timeCols = append(timeCols, ts)
			for i := range j.features {
				c := rec.Column(2 + i)
				c.Retain()
				perFeat[i] = append(perFeat[i], c)
			}
			n += int(rec.NumRows())
			if n > math.MaxInt32 {
				return fmt.Errorf("view %s: snapshot %d has more than %d rows", v.Name, j.snapshot, math.MaxInt32)
			}
			report(Progress{Phase: PhaseReading, View: v.Name, Rows: int64(n)})
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := rdr.Err(); err != nil {
			return err
		}
	}

	j.columns = make([]arrow.Array, len(j.features))
	for i, f := range j.features {
		switch len(perFeat[i]) {
		case 0:
			j.columns[i] = array.MakeArrayOfNull(mem, offline.ArrowType(v.Features[f].Type), 0)
		case 1:
			// A single batch (an in-memory source, a small table) needs no copy.
			j.columns[i] = perFeat[i][0]
			perFeat[i] = nil
		default:
			c, err := array.Concatenate(perFeat[i], mem)
			if err != nil {
				return fmt.Errorf("view %s: %w", v.Name, err)
			}
			j.columns[i] = c
			for _, p := range perFeat[i] {
				p.Release()
			}
			perFeat[i] = nil
		}
	}

	j.posTime = make([]int64, 0, n)
	for _, ts := range timeCols {
		for _, t := range ts.TimestampValues() {
			j.posTime = append(j.posTime, int64(t))
		}
		ts.Release()
	}
	timeCols = nil

	keys := make([]uint64, 0, n)
	pos := make([]int32, 0, n)
	if j.keys.str {
		j.keys.waitIDs()
	}
	at := int32(0)
	for _, col := range keyCols {
		if j.keys.str {
			keys, pos = j.keys.ids.appendIDs(keys, pos, col.(*array.String), at, false)
		} else {
			nulls := col.NullN() > 0
			for i, k := range col.(*array.Int64).Int64Values() {
				if nulls && col.IsNull(i) {
					continue
				}
				keys = append(keys, sortKey(k))
				pos = append(pos, at+int32(i))
			}
		}
		at += int32(col.Len())
		col.Release()
	}
	keyCols = nil
	j.order = sortByKeyTime(keys, pos, j.posTime)
	return nil
}

// join finds, for every entity row, the scan position of the view row joined
// (see merge), then drops what only the join needed.
func (j *viewJoin) join(e *entities) error {
	j.keys.wait()
	j.match = make([]int32, e.rows)
	for i := range j.match {
		j.match[i] = -1
	}
	merge(j.keys.order, j.order, j.view.TTL.Microseconds(), j.match)
	j.order = keyTimeOrder{}
	j.keys.release()
	return nil
}

// indices returns the Take indices of entity rows [start, end) into the view's
// columns: the scan position joined, null where no row is. It writes the
// buffers directly: a builder costs several times as much per value.
func (j *viewJoin) indices(start, end int, mem memory.Allocator) arrow.Array {
	match := j.match[start:end]
	vals := memory.NewResizableBuffer(mem)
	defer vals.Release()
	vals.Resize(arrow.Int32Traits.BytesRequired(len(match)))
	out := arrow.Int32Traits.CastFromBytes(vals.Bytes())
	for i, p := range match {
		out[i] = max(p, 0) // a null's slot is never read; 0 keeps it in bounds anyway
	}
	return j.joinedArray(arrow.PrimitiveTypes.Int32, vals, match, mem)
}

// eventTimes returns the <view>__event_time column of entity rows [start, end):
// the event time of the row joined, null where no row is.
func (j *viewJoin) eventTimes(start, end int, mem memory.Allocator) arrow.Array {
	match := j.match[start:end]
	vals := memory.NewResizableBuffer(mem)
	defer vals.Release()
	vals.Resize(arrow.TimestampTraits.BytesRequired(len(match)))
	out := arrow.TimestampTraits.CastFromBytes(vals.Bytes())
	for i, p := range match {
		if p >= 0 {
			out[i] = arrow.Timestamp(j.posTime[p])
		} else {
			out[i] = 0
		}
	}
	return j.joinedArray(arrow.FixedWidthTypes.Timestamp_us, vals, match, mem)
}

// joinedArray wraps vals (one value per entity row of match) as an array of
// type dt, null where match has no row.
func (j *viewJoin) joinedArray(dt arrow.DataType, vals *memory.Buffer, match []int32, mem memory.Allocator) arrow.Array {
	var valid *memory.Buffer
	nulls := 0
	for _, p := range match {
		if p < 0 {
			nulls++
		}
	}
	if nulls > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(len(match)))))
		bm := valid.Bytes()
		clear(bm)
		for i, p := range match {
			if p >= 0 {
				bitutil.SetBit(bm, i)
			}
		}
	}
	data := array.NewData(dt, len(match), []*memory.Buffer{valid, vals}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
