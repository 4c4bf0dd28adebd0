package offline

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// commitBatchRows is the size of the record batches handed to the Iceberg
// writer; it matches the row group size so each batch fills one row group.
const commitBatchRows = rowGroupRows

// Snapshot summary properties Floe adds to the snapshots it commits, so lineage
// (which file, which view) is visible to any engine reading the table history.
const (
	summarySource = "floe.source-file"
	summaryView   = "floe.view"
)

// IngestResult describes a committed ingest.
type IngestResult struct {
	// Rows is the number of rows committed.
	Rows int64
	// SnapshotID is the Iceberg snapshot the rows were committed in; zero when the
	// file had no rows and nothing was committed.
	SnapshotID int64
	// Table is the Iceberg identifier "namespace.table".
	Table string
}

// Ingest validates a CSV or Parquet file (chosen by its .csv or .parquet
// extension) against the view's spec, then commits all of its rows in one Iceberg
// append, which is one snapshot, with rows sorted by join key then event time.
//
// Nothing is committed unless the whole file is valid. Missing, unknown and (for
// Parquet) mistyped columns are all listed in one error matching
// ErrSchemaMismatch; unparsable values, empty keys or event times and vectors of
// the wrong length are listed with their line (CSV) or row (Parquet) and column in
// one error matching ErrInvalidData.
//
// CSV needs a header row. int64, double and bool parse strictly; an empty cell is
// null for a feature; timestamps are RFC 3339 (fractional seconds and any offset
// allowed), "2006-01-02 15:04:05" (UTC) or a date; a float_vector cell is
// "[0.1, 0.2]" or "0.1;0.2" with exactly dim values.
//
// The file is held in memory while it is sorted, so its size is bounded by RAM;
// progress, when not nil, is called with the number of rows read so far.
func (s *Store) Ingest(ctx context.Context, v *registry.FeatureView, path string, progress func(rows int64)) (IngestResult, error) {
	res, err := s.ingest(ctx, v, path, progress)
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest %s into view %s: %w", filepath.Base(path), v.Name, err)
	}
	return res, nil
}

func (s *Store) ingest(ctx context.Context, v *registry.FeatureView, path string, progress func(int64)) (IngestResult, error) {
	res := IngestResult{Table: v.Source.Identifier()}
	mem := memory.DefaultAllocator
	var (
		rec arrow.RecordBatch
		err error
	)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		rec, err = readCSV(ctx, v, path, mem, progress)
	case ".parquet", ".pq":
		rec, err = readParquet(ctx, v, path, mem, progress)
	default:
		return res, fmt.Errorf("unsupported file type %q: use .csv or .parquet", ext)
	}
	if err != nil {
		return res, err
	}
	defer rec.Release()

	tbl, err := s.EnsureTable(ctx, v)
	if err != nil {
		return res, err
	}
	if rec.NumRows() == 0 {
		return res, nil
	}
	sorted, err := sortByKeyAndTime(ctx, rec)
	if err != nil {
		return res, fmt.Errorf("sort rows: %w", err)
	}
	defer sorted.Release()

	batches := sliceRecord(sorted, commitBatchRows)
	rdr, err := array.NewRecordReader(sorted.Schema(), batches)
	for _, b := range batches {
		b.Release() // the reader holds its own references
	}
	if err != nil {
		return res, err
	}
	defer rdr.Release()
	committed, err := tbl.Append(ctx, rdr, iceberg.Properties{
		summarySource: filepath.Base(path),
		summaryView:   v.Name,
	})
	if err != nil {
		return res, fmt.Errorf("commit to %s: %w", res.Table, classify(err))
	}
	res.Rows = rec.NumRows()
	if snap := committed.CurrentSnapshot(); snap != nil {
		res.SnapshotID = snap.SnapshotID
	}
	return res, nil
}

// sliceRecord cuts rec into zero-copy slices of at most n rows.
func sliceRecord(rec arrow.RecordBatch, n int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for off := int64(0); off < rec.NumRows(); off += n {
		out = append(out, rec.NewSlice(off, min(off+n, rec.NumRows())))
	}
	return out
}

// sortByKeyAndTime returns rec ordered by column 0 (join key) then column 1
// (event time), the table's sort order. Files from upstream jobs are often
// already in that order, in which case rec is returned as is (retained).
func sortByKeyAndTime(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	ts := rec.Column(1).(*array.Timestamp).TimestampValues()
	var less func(a, b int32) int
	switch key := rec.Column(0).(type) {
	case *array.Int64:
		kv := key.Int64Values()
		less = func(a, b int32) int {
			if c := cmp.Compare(kv[a], kv[b]); c != 0 {
				return c
			}
			return cmp.Compare(ts[a], ts[b])
		}
	case *array.String:
		less = func(a, b int32) int {
			if c := strings.Compare(key.Value(int(a)), key.Value(int(b))); c != 0 {
				return c
			}
			return cmp.Compare(ts[a], ts[b])
		}
	default:
		return nil, fmt.Errorf("join key column has type %s", key.DataType())
	}

	perm := make([]int32, n)
	sorted := true
	for i := range perm {
		perm[i] = int32(i)
		if i > 0 && sorted && less(int32(i-1), int32(i)) > 0 {
			sorted = false
		}
	}
	if sorted {
		rec.Retain()
		return rec, nil
	}
	slices.SortStableFunc(perm, less)

	idx := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(perm))}, nil, 0, 0))
	defer idx.Release()
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		taken, err := compute.TakeArray(ctx, rec.Column(i), idx)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", rec.ColumnName(i), err)
		}
		cols[i] = taken
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(n)), nil
}
