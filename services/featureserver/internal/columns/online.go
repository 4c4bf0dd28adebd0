package columns

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// LatestRow is the encoded online value of an entity's latest row in a snapshot.
type LatestRow struct {
	// EventTime of the row, microseconds since the epoch.
	EventTime int64
	// Value is the row in the online encoding, stamped with the snapshot id.
	Value []byte
}

// Latest reads canonical rows of view v (offline.ArrowSchema: join key, event
// time, then every feature) from rdr and keeps, per entity, the row with the
// greatest event time, encoded for the online store and stamped with snapshot id
// snap. Ties keep the row read last, which for one commit is the later row of the
// file. Materialization, cache fills and as-of reads all use it, so the three
// agree on which row is "latest". onBatch, if not nil, gets the running count of
// rows read. It returns the rows by canonical key (KeyStrings) and the number of
// rows read.
func Latest(ctx context.Context, rdr array.RecordReader, v *registry.FeatureView, snap int64, onBatch func(rowsRead int64)) (map[string]LatestRow, int64, error) {
	enc := online.NewRowEncoder(v)
	values := make([]online.Value, len(v.Features))
	latest := map[string]LatestRow{}
	var read int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumCols() != int64(2+len(v.Features)) {
			return nil, 0, fmt.Errorf("scan of %s returned %d columns, want %d", v.Name, rec.NumCols(), 2+len(v.Features))
		}
		ids, err := KeyStrings(rec.Column(0))
		if err != nil {
			return nil, 0, fmt.Errorf("scan of %s: %w", v.Name, err)
		}
		ts, ok := rec.Column(1).(*array.Timestamp)
		if !ok {
			return nil, 0, fmt.Errorf("event time column is %s, want timestamp", rec.Column(1).DataType())
		}
		for row := 0; row < int(rec.NumRows()); row++ {
			et := int64(ts.Value(row))
			if cur, ok := latest[ids[row]]; ok && cur.EventTime > et {
				continue
			}
			for i := range v.Features {
				if values[i], err = onlineValue(rec.Column(2+i), row); err != nil {
					return nil, 0, fmt.Errorf("%s.%s: %w", v.Name, v.Features[i].Name, err)
				}
			}
			b, err := enc.Encode(snap, et, values)
			if err != nil {
				return nil, 0, err
			}
			latest[ids[row]] = LatestRow{EventTime: et, Value: b}
		}
		read += rec.NumRows()
		if onBatch != nil {
			onBatch(read)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, 0, err
	}
	return latest, read, nil
}

// onlineValue reads one value of a canonical feature column (offline.ArrowType)
// as the online codec takes it.
func onlineValue(col arrow.Array, row int) (online.Value, error) {
	if col.IsNull(row) {
		return online.Value{Null: true}, nil
	}
	switch c := col.(type) {
	case *array.Int64:
		return online.Value{Int: c.Value(row)}, nil
	case *array.Timestamp:
		return online.Value{Int: int64(c.Value(row))}, nil
	case *array.Float64:
		return online.Value{Float: c.Value(row)}, nil
	case *array.String:
		return online.Value{Str: c.Value(row)}, nil
	case *array.Boolean:
		return online.Value{Bool: c.Value(row)}, nil
	case *array.List:
		if f, ok := c.ListValues().(*array.Float32); ok {
			start, end := c.ValueOffsets(row)
			return online.Value{Vector: f.Float32Values()[start:end]}, nil
		}
	}
	return online.Value{}, fmt.Errorf("unexpected column type %s", col.DataType())
}
