package offline

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/columns"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// ChangeSet is what changed in a view's table between two snapshots, in the
// form a materializer applies: rows to add, and entities to re-read.
//
// To bring a derived copy from snapshot `from` to `to`: apply Appended (keeping,
// per entity, the latest row), then re-read every Affected entity at `to` with
// LookupScan and replace its derived value, or drop it when the entity has no
// row left. When FullRescan is set, do neither: re-read the whole of `to` with
// Scan.
type ChangeSet struct {
	// Appended has the canonical rows (ArrowSchema) added by append snapshots
	// in (from, to], read with the incremental append scan, except the rows of
	// Affected entities (re-read those instead). With from == 0 it is every row
	// of `to`. It is never nil, empty when FullRescan is set; the caller must
	// Release it. It reads one data file at a time; a transient error while
	// reading a file is retried by re-reading that file (skipping the rows
	// already returned), other errors are reported by its Err.
	Appended array.RecordReader
	// Affected lists, sorted, the entities (canonical key strings) whose rows
	// overwrite and delete snapshots in (from, to] removed, replaced or added:
	// the keys of rows whose canonical values differ between the data files
	// copy-on-write removed and those it added, the keys in equality-delete
	// files, and the keys of rows hit by position deletes.
	Affected []string
	// FullRescan is set when the changes cannot be determined (see Reason);
	// Appended is then empty and Affected nil.
	FullRescan bool
	// Reason says why FullRescan was set, for logs.
	Reason string
	// Snapshots are the ids of the snapshots covered, oldest first (just `to`
	// when the range could not be followed).
	Snapshots []int64
}

// Changes reports what changed in the view's table after snapshot
// fromExclusive up to and including snapshot to (0: the current one, read from
// the catalog). fromExclusive 0 means from the beginning: Appended is then the
// whole snapshot `to`. The range follows `to`'s ancestry, so it must start at an
// ancestor of `to`; otherwise (a rollback, a branch replaced, expired history)
// FullRescan is set.
//
// Operations are handled as follows:
//   - append: its data files are read by the incremental append scan
//     (Appended). An append whose summary shows deletes is also analyzed as an
//     overwrite.
//   - overwrite, delete: data files removed (copy-on-write) and added are read,
//     and the keys whose rows differ between the two sides are Affected;
//     equality-delete files (on the join key, alone or with other columns: the
//     key column is read) and position-delete files (the keys at the deleted
//     positions of the data files they name) add their keys. That covers Floe's
//     upserts, iceberg-go's copy-on-write and merge-on-read deletes and
//     overwrites, and what Spark, Flink and pyiceberg commit.
//   - replace (compaction): the same rows in new files, nothing to do.
//
// FullRescan is set for what cannot be analyzed: an unknown operation, a range
// that does not follow `to`'s ancestry, deletion vectors (format v3), equality
// deletes on columns without the join key, delete files removed outside a
// replace, or more Affected entities than MaxAffectedEntities.
//
// Transient errors while planning are retried within the context's deadline,
// and while reading Appended file by file (see ChangeSet). Errors wrap ErrNoSuchTable, ErrNoSuchSnapshot (`to` unknown),
// ErrSchemaMismatch or ErrUnavailable.
func (s *Store) Changes(ctx context.Context, v *registry.FeatureView, fromExclusive, to int64) (*ChangeSet, error) {
	var cs *ChangeSet
	err := retry(ctx, func(ctx context.Context) (err error) {
		cs, err = s.changes(ctx, v, fromExclusive, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("changes of view %s after snapshot %d up to %d: %w", v.Name, fromExclusive, to, err)
	}
	return cs, nil
}

func (s *Store) changes(ctx context.Context, v *registry.FeatureView, from, to int64) (*ChangeSet, error) {
	want := ArrowSchema(v)
	empty := func() array.RecordReader {
		r, _ := array.NewRecordReader(want, nil)
		return r
	}
	var (
		tbl *table.Table
		err error
	)
	if to == 0 {
		if tbl, err = s.freshTable(ctx, v); err != nil {
			return nil, err
		}
		cur := tbl.CurrentSnapshot()
		if cur == nil {
			return &ChangeSet{Appended: empty()}, nil
		}
		to = cur.SnapshotID
	} else if tbl, err = s.tableAt(ctx, v, to); err != nil {
		return nil, err
	}
	toSnap := tbl.SnapshotByID(to)
	if toSnap == nil {
		return nil, fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, v.Source.Identifier(), to)
	}
	if from == to {
		return &ChangeSet{Appended: empty()}, nil
	}
	lookup := tbl.Metadata().SnapshotByID
	full := func(format string, args ...any) (*ChangeSet, error) {
		return &ChangeSet{Appended: empty(), FullRescan: true, Reason: fmt.Sprintf(format, args...), Snapshots: []int64{to}}, nil
	}

	toSchema := snapshotSchema(tbl, toSnap)
	fields, err := readableFields(v, toSchema)
	if err != nil {
		return nil, err
	}
	if from == 0 {
		chain := table.AncestorsOf(to, lookup)
		slices.Reverse(chain)
		tasks, err := s.plans.get(ctx, tbl, to)
		if err != nil {
			return nil, err
		}
		return &ChangeSet{Appended: newTaskReader(ctx, v, tbl, to, fields, tasks, nil), Snapshots: snapshotIDs(chain)}, nil
	}
	between, found := table.AncestorsBetween(to, from, lookup)
	if !found {
		return full("snapshot %d is not an ancestor of snapshot %d (a rollback, a replaced branch or expired history)", from, to)
	}
	slices.Reverse(between)
	ids := snapshotIDs(between)
	keyField, _ := toSchema.FindFieldByName(v.Entity.Key().Name)

	var rewrites []table.Snapshot
	for _, sn := range between {
		var op table.Operation
		if sn.Summary != nil {
			op = sn.Summary.Operation
		}
		switch op {
		case table.OpAppend:
			if appendHasDeletes(sn) {
				rewrites = append(rewrites, sn)
			}
		case table.OpOverwrite, table.OpDelete:
			rewrites = append(rewrites, sn)
		case table.OpReplace:
			// Compaction: the same rows in other files.
		default:
			cs, _ := full("snapshot %d has operation %q, which Floe cannot follow", sn.SnapshotID, op)
			cs.Snapshots = ids
			return cs, nil
		}
	}

	a := &analysis{s: s, v: v, tbl: tbl, to: to, fields: fields, keyID: keyField.ID, affected: map[string]struct{}{}}
	if err := a.run(ctx, rewrites); err != nil {
		return nil, err
	}
	if a.fullReason == "" && s.maxAffected >= 0 && len(a.affected) > s.maxAffected {
		a.fullReason = fmt.Sprintf("%d entities affected, more than the %d worth re-reading one by one", len(a.affected), s.maxAffected)
	}
	if a.fullReason != "" {
		cs, _ := full("%s", a.fullReason)
		cs.Snapshots = ids
		return cs, nil
	}

	tasks, err := tbl.NewIncrementalAppendScan().FromSnapshotExclusive(from).ToSnapshot(to).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan appended files: %w", classify(err))
	}
	var keep func(arrow.Array) ([]bool, bool)
	if len(a.affected) > 0 {
		keep = excluding(a.affected)
	}
	appended := newTaskReader(ctx, v, tbl, to, fields, tasks, keep)
	affected := make([]string, 0, len(a.affected))
	for k := range a.affected {
		affected = append(affected, k)
	}
	slices.Sort(affected)
	return &ChangeSet{Appended: appended, Affected: affected, Snapshots: ids}, nil
}

func snapshotIDs(snaps []table.Snapshot) []int64 {
	ids := make([]int64, len(snaps))
	for i, sn := range snaps {
		ids[i] = sn.SnapshotID
	}
	return ids
}

// appendHasDeletes reports whether an append snapshot's summary shows more than
// data files added, which a well-behaved writer never commits as an append.
func appendHasDeletes(sn table.Snapshot) bool {
	for _, k := range []string{"added-delete-files", "added-position-delete-files", "added-equality-delete-files", "removed-delete-files", "deleted-data-files", "deleted-records"} {
		if n, _ := strconv.ParseInt(sn.Summary.Properties[k], 10, 64); n > 0 {
			return true
		}
	}
	return false
}

// excluding returns a row filter that drops the rows of the given keys.
func excluding(keys map[string]struct{}) func(arrow.Array) ([]bool, bool) {
	return func(col arrow.Array) ([]bool, bool) {
		ids, _ := columns.KeyStrings(col)
		mask, all := make([]bool, len(ids)), true
		for i, id := range ids {
			_, drop := keys[id]
			mask[i] = !drop
			all = all && !drop
		}
		return mask, all
	}
}

// analysis finds the entities the overwrite and delete snapshots of a range
// touched.
type analysis struct {
	s      *Store
	v      *registry.FeatureView
	tbl    *table.Table
	to     int64
	fields []string
	keyID  int

	affected   map[string]struct{}
	fullReason string // set when the range cannot be analyzed
}

func (a *analysis) run(ctx context.Context, rewrites []table.Snapshot) error {
	if len(rewrites) == 0 {
		return nil
	}
	fs, err := a.tbl.FS(ctx)
	if err != nil {
		return classify(err)
	}
	var added, removed, posDeletes, eqDeletes []iceberg.DataFile
	for _, sn := range rewrites {
		manifests, err := sn.Manifests(fs)
		if err != nil {
			return fmt.Errorf("read manifest list of snapshot %d: %w", sn.SnapshotID, classify(err))
		}
		for _, m := range manifests {
			// Entries a snapshot added or deleted are in manifests it wrote.
			if m.SnapshotID() != sn.SnapshotID {
				continue
			}
			for e, err := range m.Entries(fs, false) {
				if err != nil {
					return fmt.Errorf("read manifest %s: %w", m.FilePath(), classify(err))
				}
				if e.SnapshotID() != sn.SnapshotID || e.Status() == iceberg.EntryStatusEXISTING {
					continue
				}
				df, st := e.DataFile(), e.Status()
				switch df.ContentType() {
				case iceberg.EntryContentData:
					if st == iceberg.EntryStatusADDED {
						added = append(added, df)
					} else {
						removed = append(removed, df)
					}
				case iceberg.EntryContentPosDeletes:
					switch {
					case st != iceberg.EntryStatusADDED:
						a.fullReason = fmt.Sprintf("snapshot %d (%s) removed delete file %s outside a compaction", sn.SnapshotID, sn.Summary.Operation, df.FilePath())
					case table.IsDeletionVector(df) || df.FileFormat() != iceberg.ParquetFile:
						a.fullReason = fmt.Sprintf("snapshot %d added deletion vector %s, which Floe does not read", sn.SnapshotID, df.FilePath())
					default:
						posDeletes = append(posDeletes, df)
					}
				case iceberg.EntryContentEqDeletes:
					switch {
					case st != iceberg.EntryStatusADDED:
						a.fullReason = fmt.Sprintf("snapshot %d (%s) removed delete file %s outside a compaction", sn.SnapshotID, sn.Summary.Operation, df.FilePath())
					case !slices.Contains(df.EqualityFieldIDs(), a.keyID):
						a.fullReason = fmt.Sprintf("snapshot %d added equality deletes on fields %v, without the join key", sn.SnapshotID, df.EqualityFieldIDs())
					case df.FileFormat() != iceberg.ParquetFile:
						a.fullReason = fmt.Sprintf("snapshot %d added a %s equality-delete file, which Floe does not read", sn.SnapshotID, df.FileFormat())
					default:
						eqDeletes = append(eqDeletes, df)
					}
				default:
					a.fullReason = fmt.Sprintf("snapshot %d has a file of unknown content %d", sn.SnapshotID, df.ContentType())
				}
				if a.fullReason != "" {
					return nil
				}
			}
		}
	}

	// A file added then removed within the range changes nothing by itself.
	addedPaths := map[string]bool{}
	for _, f := range added {
		addedPaths[f.FilePath()] = true
	}
	removedPaths := map[string]bool{}
	for _, f := range removed {
		removedPaths[f.FilePath()] = true
	}
	added = slices.DeleteFunc(added, func(f iceberg.DataFile) bool { return removedPaths[f.FilePath()] })
	removed = slices.DeleteFunc(removed, func(f iceberg.DataFile) bool { return addedPaths[f.FilePath()] })

	switch {
	case len(removed) > 0:
		// Copy-on-write: compare the rows removed with the rows added, per
		// key; only keys whose rows differ are affected, so deleting one
		// entity from a large file does not re-read every entity in it.
		d := &rowDiff{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), acc: map[string]*[3]uint64{}}
		if err := a.readFiles(ctx, removed, a.fields, d.add(-1)); err != nil {
			return err
		}
		if err := a.readFiles(ctx, added, a.fields, d.add(+1)); err != nil {
			return err
		}
		for k, acc := range d.acc {
			if acc[0] != 0 || acc[1] != 0 || acc[2] != 0 {
				a.affected[k] = struct{}{}
			}
		}
	case len(added) > 0:
		// Rows added by an overwrite (an upsert's new rows): their keys.
		key := a.v.Entity.Key().Name
		if err := a.readFiles(ctx, added, []string{key}, func(rec arrow.RecordBatch) error {
			return a.addKeys(rec.Column(0), nil)
		}); err != nil {
			return err
		}
	}
	for _, df := range eqDeletes {
		cols, err := readParquetColumns(ctx, fs, df.FilePath(), []columnRef{{id: a.keyID, name: a.v.Entity.Key().Name}})
		if err != nil {
			return fmt.Errorf("read equality deletes %s: %w", df.FilePath(), err)
		}
		err = a.addKeys(cols[0], nil)
		cols[0].Release()
		if err != nil {
			return err
		}
	}
	return a.positionDeletes(ctx, fs, posDeletes)
}

// readFiles reads whole data files (no deletes applied) through iceberg-go,
// so field ids, renames and type promotions resolve as in any scan. With every
// readable field selected the records are canonical; with only the join key
// selected they hold just that column, as decoded.
func (a *analysis) readFiles(ctx context.Context, files []iceberg.DataFile, fields []string, each func(arrow.RecordBatch) error) error {
	if len(files) == 0 {
		return nil
	}
	tasks := make([]table.FileScanTask, len(files))
	for i, f := range files {
		tasks[i] = table.FileScanTask{File: f, Start: 0, Length: f.FileSizeBytes()}
	}
	sc := a.tbl.Scan(table.WithSnapshotID(a.to), table.WithSelectedFields(fields...))
	got, records, err := sc.ReadTasks(ctx, tasks)
	if err != nil {
		_ = sc.Close()
		return fmt.Errorf("read data files: %w", classify(err))
	}
	if len(fields) == 1 {
		defer sc.Close()
		for rec, err := range records {
			if err != nil {
				return fmt.Errorf("read data files: %w", classify(err))
			}
			err = each(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}
	rdr, err := newScanReader(ctx, ArrowSchema(a.v), sc, got, records, nil)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
		if err := each(rdr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rdr.Err(); err != nil {
		return fmt.Errorf("read data files: %w", err)
	}
	return nil
}

// addKeys marks the keys of col (at the given positions, or all) affected.
func (a *analysis) addKeys(col arrow.Array, positions []int64) error {
	ids, err := columns.KeyStrings(col)
	if err != nil {
		return err
	}
	if positions == nil {
		for i, id := range ids {
			if col.IsValid(i) {
				a.affected[id] = struct{}{}
			}
		}
		return nil
	}
	for _, p := range positions {
		if p < 0 || p >= int64(len(ids)) {
			return fmt.Errorf("%w: position delete at row %d of a file with %d rows", ErrInvalidData, p, len(ids))
		}
		if col.IsValid(int(p)) {
			a.affected[ids[p]] = struct{}{}
		}
	}
	return nil
}

// positionDeletes marks affected the keys at the positions position-delete
// files delete, reading the join key column of each data file they name.
func (a *analysis) positionDeletes(ctx context.Context, fs iceio.IO, files []iceberg.DataFile) error {
	byFile := map[string][]int64{}
	var order []string
	for _, df := range files {
		cols, err := readParquetColumns(ctx, fs, df.FilePath(), []columnRef{{id: posDeleteFilePathID, name: "file_path"}, {id: posDeletePosID, name: "pos"}})
		if err != nil {
			return fmt.Errorf("read position deletes %s: %w", df.FilePath(), err)
		}
		paths, pathsOK := cols[0].(*array.String)
		pos, posOK := cols[1].(*array.Int64)
		if !pathsOK || !posOK {
			cols[0].Release()
			cols[1].Release()
			return fmt.Errorf("%w: position delete file %s has columns %s and %s", ErrInvalidData, df.FilePath(), cols[0].DataType(), cols[1].DataType())
		}
		for i := 0; i < paths.Len(); i++ {
			p := paths.Value(i)
			if _, ok := byFile[p]; !ok {
				order = append(order, p)
			}
			byFile[p] = append(byFile[p], pos.Value(i))
		}
		cols[0].Release()
		cols[1].Release()
	}
	for _, path := range order {
		cols, err := readParquetColumns(ctx, fs, path, []columnRef{{id: a.keyID, name: a.v.Entity.Key().Name}})
		if err != nil {
			return fmt.Errorf("read data file %s named by position deletes: %w", path, err)
		}
		err = a.addKeys(cols[0], byFile[path])
		cols[0].Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// Reserved field ids of a position-delete file's columns (Iceberg spec).
const (
	posDeleteFilePathID = 2147483546
	posDeletePosID      = 2147483545
)

// columnRef names a top-level Parquet column by Iceberg field id, or by name
// when the file carries no field ids.
type columnRef struct {
	id   int
	name string
}

// readParquetColumns reads whole top-level columns of a Parquet file, one
// concatenated array per ref.
func readParquetColumns(ctx context.Context, fs iceio.IO, path string, refs []columnRef) (out []arrow.Array, err error) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, classify(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, classify(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	sc := pf.MetaData().Schema
	defer func() {
		if err != nil {
			for _, a := range out {
				a.Release()
			}
			out = nil
		}
	}()
	groups := make([]int, pf.NumRowGroups())
	for i := range groups {
		groups[i] = i
	}
	for _, ref := range refs {
		// Top-level primitive columns only: each is one leaf.
		idx := -1
		for i := 0; i < sc.NumColumns(); i++ {
			if col := sc.Column(i); len(col.ColumnPath()) == 1 && col.SchemaNode().FieldID() == int32(ref.id) {
				idx = i
				break
			}
		}
		if idx < 0 {
			idx = sc.ColumnIndexByName(ref.name)
		}
		if idx < 0 {
			return out, fmt.Errorf("%w: %s has no column with field id %d or name %q", ErrSchemaMismatch, path, ref.id, ref.name)
		}
		cr, err := fr.GetColumn(ctx, idx)
		if err != nil {
			return out, err
		}
		chunked, err := fr.ReadColumn(groups, cr)
		cr.Release()
		if err != nil {
			return out, classify(err)
		}
		arr, err := concat(chunked)
		chunked.Release()
		if err != nil {
			return out, err
		}
		out = append(out, arr)
	}
	return out, nil
}

func concat(c *arrow.Chunked) (arrow.Array, error) {
	if len(c.Chunks()) == 1 {
		a := c.Chunk(0)
		a.Retain()
		return a, nil
	}
	if len(c.Chunks()) == 0 {
		return array.MakeArrayOfNull(memory.DefaultAllocator, c.DataType(), 0), nil
	}
	return array.Concatenate(c.Chunks(), memory.DefaultAllocator)
}

// rowDiff accumulates, per key, an order-independent fingerprint of a multiset
// of rows: sums of two independent 64-bit row hashes and the row count, added
// for one side and subtracted for the other. Keys whose three sums come back to
// zero had the same rows on both sides (up to a 2^-128 chance of collision).
type rowDiff struct {
	seed1, seed2 maphash.Seed
	acc          map[string]*[3]uint64
}

func (d *rowDiff) add(sign int) func(arrow.RecordBatch) error {
	return func(rec arrow.RecordBatch) error {
		ids, err := columns.KeyStrings(rec.Column(0))
		if err != nil {
			return err
		}
		var h1, h2 maphash.Hash
		h1.SetSeed(d.seed1)
		h2.SetSeed(d.seed2)
		writers := make([]func(*maphash.Hash, int), rec.NumCols())
		for j, col := range rec.Columns() {
			writers[j] = valueWriter(col)
		}
		for i, id := range ids {
			h1.Reset()
			h2.Reset()
			for _, w := range writers {
				w(&h1, i)
				w(&h2, i)
			}
			acc := d.acc[id]
			if acc == nil {
				acc = new([3]uint64)
				d.acc[id] = acc
			}
			if sign > 0 {
				acc[0] += h1.Sum64()
				acc[1] += h2.Sum64()
				acc[2]++
			} else {
				acc[0] -= h1.Sum64()
				acc[1] -= h2.Sum64()
				acc[2]--
			}
		}
		return nil
	}
}

// valueWriter returns a function writing row i of a canonical column to a hash,
// with a null marker and length prefixes so distinct rows hash apart.
func valueWriter(col arrow.Array) func(*maphash.Hash, int) {
	u64 := func(h *maphash.Hash, v uint64) {
		var b [8]byte
		for k := range b {
			b[k] = byte(v >> (8 * k))
		}
		_, _ = h.Write(b[:])
	}
	null := func(h *maphash.Hash, i int) bool {
		if col.IsNull(i) {
			_ = h.WriteByte(0)
			return true
		}
		_ = h.WriteByte(1)
		return false
	}
	switch c := col.(type) {
	case *array.Int64:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, uint64(c.Value(i)))
			}
		}
	case *array.Float64:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, math.Float64bits(c.Value(i)))
			}
		}
	case *array.Timestamp:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, uint64(c.Value(i)))
			}
		}
	case *array.Boolean:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				if c.Value(i) {
					_ = h.WriteByte(1)
				} else {
					_ = h.WriteByte(0)
				}
			}
		}
	case *array.String:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				s := c.Value(i)
				u64(h, uint64(len(s)))
				_, _ = h.WriteString(s)
			}
		}
	case *array.List:
		vals, _ := c.ListValues().(*array.Float32)
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				start, end := c.ValueOffsets(i)
				u64(h, uint64(end-start))
				for j := start; j < end; j++ {
					if vals == nil || vals.IsNull(int(j)) {
						_ = h.WriteByte(0)
						continue
					}
					_ = h.WriteByte(1)
					u64(h, uint64(math.Float32bits(vals.Value(int(j)))))
				}
			}
		}
	}
	// Not a canonical type: hash nothing but nullness, which only makes the
	// diff more inclusive, never less.
	return func(h *maphash.Hash, i int) { null(h, i) }
}
