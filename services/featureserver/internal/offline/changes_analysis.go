package offline

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"

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
