package offline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

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

// IngestMode says how an ingested file's rows combine with the rows already in
// the view's table.
type IngestMode int

const (
	// ModeAppend adds the file's rows to the table in one append snapshot;
	// every row already there stays (Floe keeps every version of a feature).
	ModeAppend IngestMode = iota
	// ModeUpsert replaces, in one snapshot, every row of the entities the file
	// has by the file's rows: it adds the rows and an equality delete on the
	// join key of each entity in the file, the shape Flink writes with
	// write.upsert.enabled. Entities not in the file are untouched. On tables
	// where equality deletes cannot express it (format version 1, or a
	// partitioned table, where a delete only reaches its own partition) the same
	// result is committed as a copy-on-write overwrite filtered on the keys.
	ModeUpsert
)

// String returns the mode as the CLI spells it: "append" or "upsert".
func (m IngestMode) String() string {
	switch m {
	case ModeAppend:
		return "append"
	case ModeUpsert:
		return "upsert"
	}
	return fmt.Sprintf("IngestMode(%d)", int(m))
}

// ParseIngestMode parses "append" or "upsert" (an empty string is append).
func ParseIngestMode(s string) (IngestMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "append":
		return ModeAppend, nil
	case "upsert":
		return ModeUpsert, nil
	}
	return 0, fmt.Errorf("unknown ingest mode %q: use append or upsert", s)
}

// IngestOptions tune IngestWithOptions.
type IngestOptions struct {
	// Mode is ModeAppend (the default) or ModeUpsert.
	Mode IngestMode
	// Progress, when not nil, is called with the number of rows read so far.
	Progress func(rows int64)
}

// IngestResult describes a committed ingest.
type IngestResult struct {
	// Rows is the number of rows committed.
	Rows int64
	// SnapshotID is the Iceberg snapshot the rows were committed in; zero when the
	// file had no rows and nothing was committed.
	SnapshotID int64
	// Table is the Iceberg identifier "namespace.table".
	Table string
	// Mode is how the rows were committed.
	Mode IngestMode
	// Entities is the number of distinct entities in the file (counted for
	// upserts only; zero for appends).
	Entities int64
}

// Ingest validates a CSV or Parquet file (chosen by its .csv or .parquet
// extension) against the view's spec, then commits all of its rows in one Iceberg
// append, which is one snapshot, with rows sorted by join key then event time.
// It is IngestWithOptions in ModeAppend.
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
	return s.IngestWithOptions(ctx, v, path, IngestOptions{Progress: progress})
}

// IngestWithOptions is Ingest with a choice of mode: ModeAppend adds the
// file's rows, ModeUpsert makes them replace every existing row of the entities
// in the file, in one snapshot either way. The table is created, or its schema
// evolved, first (see EnsureTable). Validation and errors are Ingest's.
func (s *Store) IngestWithOptions(ctx context.Context, v *registry.FeatureView, path string, opts IngestOptions) (IngestResult, error) {
	res, err := s.ingest(ctx, v, path, opts)
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest (%s) %s into view %s: %w", opts.Mode, filepath.Base(path), v.Name, err)
	}
	return res, nil
}

func (s *Store) ingest(ctx context.Context, v *registry.FeatureView, path string, opts IngestOptions) (IngestResult, error) {
	res := IngestResult{Table: v.Source.Identifier(), Mode: opts.Mode}
	if opts.Mode != ModeAppend && opts.Mode != ModeUpsert {
		return res, fmt.Errorf("unknown ingest mode %d", int(opts.Mode))
	}
	mem := memory.DefaultAllocator
	var (
		rec arrow.RecordBatch
		err error
	)
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv":
		rec, err = readCSV(ctx, v, path, mem, opts.Progress)
	case ".parquet", ".pq":
		rec, err = readParquet(ctx, v, path, mem, opts.Progress)
	default:
		return res, fmt.Errorf("unsupported file type %q: use .csv or .parquet", ext)
	}
	if err != nil {
		return res, err
	}
	rows := rec.NumRows()
	tbl, err := s.EnsureTable(ctx, v)
	if err != nil || rows == 0 {
		rec.Release()
		return res, err
	}
	sorted, err := sortByKeyAndTime(ctx, rec)
	// Released now rather than deferred: when sorting copied the rows, holding
	// both copies through the commit would double peak memory.
	rec.Release()
	if err != nil {
		return res, fmt.Errorf("sort rows: %w", err)
	}
	defer sorted.Release()

	props := iceberg.Properties{
		summarySource: filepath.Base(path),
		summaryView:   v.Name,
	}
	var snap int64
	if opts.Mode == ModeUpsert {
		var keys arrow.Array
		if keys, err = distinctKeys(sorted.Column(0)); err != nil {
			return res, err
		}
		defer keys.Release()
		res.Entities = int64(keys.Len())
		props[summaryMode] = ModeUpsert.String()
		snap, err = s.commitUpsert(ctx, v, tbl, sorted, keys, props)
	} else {
		snap, err = s.commitAppend(ctx, v, tbl, sorted, props)
	}
	if err != nil {
		return res, fmt.Errorf("commit to %s: %w", res.Table, err)
	}
	res.Rows = rows
	res.SnapshotID = snap
	return res, nil
}

// summaryMode records the ingest mode of Floe's upsert snapshots.
const summaryMode = "floe.ingest-mode"

// maxCommitAttempts bounds how often an append is re-committed after losing a
// race with another writer; each attempt only rewrites a manifest.
const maxCommitAttempts = 8

// writeDataFiles writes rec as data files of tbl (not yet committed).
func writeDataFiles(ctx context.Context, tbl *table.Table, rec arrow.RecordBatch) ([]iceberg.DataFile, error) {
	batches := sliceRecord(rec, commitBatchRows)
	consumed := 0
	defer func() {
		// WriteRecords releases the batches it consumes; the rest are ours.
		for _, b := range batches[consumed:] {
			b.Release()
		}
	}()
	records := func(yield func(arrow.RecordBatch, error) bool) {
		for consumed < len(batches) {
			consumed++
			if !yield(batches[consumed-1], nil) {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, tbl, rec.Schema(), records) {
		if err != nil {
			removeFiles(ctx, tbl, files)
			return nil, classify(err)
		}
		files = append(files, df)
	}
	return files, nil
}

// commitAppend writes rec as data files once, then commits them in one append
// snapshot, retrying on a fresh table when another writer committed first.
// iceberg-go's own retry (commit.retry.num-retries, 0 by default) does not cover
// the first commit on an empty table, where every concurrent writer but one fails
// with "branch main was created concurrently".
func (s *Store) commitAppend(ctx context.Context, v *registry.FeatureView, tbl *table.Table, rec arrow.RecordBatch, props iceberg.Properties) (int64, error) {
	files, err := writeDataFiles(ctx, tbl, rec)
	if err != nil {
		return 0, err
	}
	return s.commitLoop(ctx, v, tbl, func() []iceberg.DataFile { return files }, func(tx *table.Transaction) error {
		return tx.AddDataFiles(ctx, files, props, table.WithoutAutoNameMapping())
	})
}

// commitLoop stages a change with stage on a transaction of tbl and commits it,
// retrying on a fresh table when another writer committed first. owned returns
// the data and delete files the change adds, removed if the change is abandoned
// before it can have landed.
func (s *Store) commitLoop(ctx context.Context, v *registry.FeatureView, tbl *table.Table, owned func() []iceberg.DataFile, stage func(tx *table.Transaction) error) (int64, error) {
	for attempt := 1; ; attempt++ {
		tx := tbl.NewTransaction()
		err := stage(tx)
		var committed *table.Table
		if err == nil {
			committed, err = tx.Commit(ctx)
		}
		if err == nil {
			s.remember(v, committed)
			if snap := committed.CurrentSnapshot(); snap != nil {
				return snap.SnapshotID, nil
			}
			return 0, errors.New("commit succeeded but the table has no current snapshot")
		}
		if !lostRace(err) {
			// The commit may have landed (a 5xx after the catalog applied it), so
			// the files stay: deleting them could corrupt a committed snapshot.
			return 0, classify(err)
		}
		if attempt == maxCommitAttempts {
			removeFiles(ctx, tbl, owned())
			return 0, fmt.Errorf("gave up after %d attempts, other writers kept committing first: %w", attempt, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			removeFiles(ctx, tbl, owned())
			return 0, err
		}
		if tbl, err = s.freshTable(ctx, v); err != nil {
			return 0, err
		}
		if err := checkCompatible(v, tbl.Schema()); err != nil {
			removeFiles(ctx, tbl, owned())
			return 0, err
		}
	}
}

// commitUpsert commits rec's rows and an equality delete of every key in keys
// (the distinct join keys of rec) as one row-delta snapshot. The delete has a
// higher sequence number than every row already in the table and the same as
// the new rows, so it removes exactly the older rows of those entities.
func (s *Store) commitUpsert(ctx context.Context, v *registry.FeatureView, tbl *table.Table, rec arrow.RecordBatch, keys arrow.Array, props iceberg.Properties) (int64, error) {
	if tbl.Metadata().Version() < 2 || !tbl.Spec().IsUnpartitioned() {
		return s.commitOverwriteKeys(ctx, v, tbl, rec, keys, props)
	}
	keyName := v.Entity.Key().Name
	keyField, ok := tbl.Schema().FindFieldByName(keyName)
	if !ok {
		return 0, fmt.Errorf("%w: table has no join key column %q", ErrSchemaMismatch, keyName)
	}
	files, err := writeDataFiles(ctx, tbl, rec)
	if err != nil {
		return 0, err
	}
	keySchema := arrow.NewSchema([]arrow.Field{{Name: keyName, Type: keys.DataType(), Nullable: false}}, nil)
	var deletes []iceberg.DataFile
	owned := func() []iceberg.DataFile { return append(slices.Clone(files), deletes...) }
	return s.commitLoop(ctx, v, tbl, owned, func(tx *table.Transaction) error {
		if deletes == nil {
			// Written once, by the first attempt's transaction; later attempts
			// reuse the files, which only name the keys.
			keyRec := array.NewRecordBatch(keySchema, []arrow.Array{keys}, int64(keys.Len()))
			written, err := tx.WriteEqualityDeletes(ctx, []int{keyField.ID}, func(yield func(arrow.RecordBatch, error) bool) {
				yield(keyRec, nil)
			})
			if err != nil {
				removeFiles(ctx, tbl, append(owned(), written...))
				return fmt.Errorf("write equality deletes: %w", err)
			}
			deletes = written
		}
		return tx.NewRowDelta(props).AddRows(files...).AddDeletes(deletes...).Commit(ctx)
	})
}

// commitOverwriteKeys is the copy-on-write upsert: one overwrite snapshot that
// rewrites the data files holding rows of the keys without those rows, and adds
// rec's rows.
func (s *Store) commitOverwriteKeys(ctx context.Context, v *registry.FeatureView, tbl *table.Table, rec arrow.RecordBatch, keys arrow.Array, props iceberg.Properties) (int64, error) {
	filter := keyFilter(v.Entity.Key().Name, keys)
	return s.commitLoop(ctx, v, tbl, func() []iceberg.DataFile { return nil }, func(tx *table.Transaction) error {
		rdr, err := array.NewRecordReader(rec.Schema(), sliceRecord(rec, commitBatchRows))
		if err != nil {
			return err
		}
		defer rdr.Release()
		return tx.Overwrite(ctx, rdr, props, table.WithOverwriteFilter(filter))
	})
}

// keyFilter is "key IN keys".
func keyFilter(name string, keys arrow.Array) iceberg.BooleanExpression {
	ref := iceberg.Reference(name)
	switch k := keys.(type) {
	case *array.Int64:
		return iceberg.IsIn(ref, k.Int64Values()...)
	case *array.String:
		vals := make([]string, k.Len())
		for i := range vals {
			vals[i] = k.Value(i)
		}
		return iceberg.IsIn(ref, vals...)
	}
	return iceberg.AlwaysFalse{}
}

// distinctKeys returns the distinct values of a sorted join key column.
func distinctKeys(col arrow.Array) (arrow.Array, error) {
	switch c := col.(type) {
	case *array.Int64:
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		for i := 0; i < c.Len(); i++ {
			if i == 0 || c.Value(i) != c.Value(i-1) {
				b.Append(c.Value(i))
			}
		}
		return b.NewArray(), nil
	case *array.String:
		b := array.NewStringBuilder(memory.DefaultAllocator)
		defer b.Release()
		for i := 0; i < c.Len(); i++ {
			if i == 0 || c.Value(i) != c.Value(i-1) {
				b.Append(c.Value(i))
			}
		}
		return b.NewArray(), nil
	}
	return nil, fmt.Errorf("join key column has type %s", col.DataType())
}

// lostRace reports whether a commit failed only because another writer changed
// the table first, so retrying on the fresh table is safe.
func lostRace(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "requirement failed") &&
		(strings.Contains(msg, "created concurrently") || strings.Contains(msg, "has changed"))
}

// backoff waits a little longer after each lost race, with jitter so writers
// that collided do not collide again in lockstep.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(5<<min(attempt, 8))*time.Millisecond + time.Duration(rand.Int64N(int64(10*time.Millisecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// removeFiles deletes data files no snapshot references, best effort: a leftover
// is only wasted space, which orphan-file cleanup reclaims.
func removeFiles(ctx context.Context, tbl *table.Table, files []iceberg.DataFile) {
	fs, err := tbl.FS(ctx)
	if err != nil {
		return
	}
	for _, f := range files {
		_ = fs.Remove(f.FilePath())
	}
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
// (event time), the table's sort order, ties kept in file order. Files from
// upstream jobs are often already in that order, in which case rec is returned as
// is (retained).
func sortByKeyAndTime(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	ts := rec.Column(1).(*array.Timestamp).TimestampValues()
	var perm []int32
	switch key := rec.Column(0).(type) {
	case *array.Int64:
		perm = sortPerm(key.Int64Values(), ts, cmp.Compare[int64])
	case *array.String:
		keys := make([]string, key.Len())
		for i := range keys {
			keys[i] = key.Value(i)
		}
		perm = sortPerm(keys, ts, strings.Compare)
	default:
		return nil, fmt.Errorf("join key column has type %s", key.DataType())
	}
	if perm == nil {
		rec.Retain()
		return rec, nil
	}

	n := len(perm)
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

// sortPerm returns the row order by (key, time, row), or nil when rows are
// already in that order. Sorting compact (key, time, row) entries rather than
// indices into the columns keeps the comparisons in cache.
func sortPerm[K any](keys []K, ts []arrow.Timestamp, compare func(a, b K) int) []int32 {
	type entry struct {
		key K
		ts  arrow.Timestamp
		row int32
	}
	sorted := true
	for i := 1; i < len(keys) && sorted; i++ {
		c := compare(keys[i-1], keys[i])
		sorted = c < 0 || (c == 0 && ts[i-1] <= ts[i])
	}
	if sorted {
		return nil
	}
	entries := make([]entry, len(keys))
	for i := range entries {
		entries[i] = entry{keys[i], ts[i], int32(i)}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := compare(a.key, b.key); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ts, b.ts); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	perm := make([]int32, len(entries))
	for i, e := range entries {
		perm[i] = e.row
	}
	return perm
}
