package offline

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// The lookup fast path reads a point lookup's rows from a data file without
// decoding whole row groups. For each data file it keeps, parsed once, the
// Parquet footer and each row group's join key min/max; for a lookup it reads
// the join key column of the row groups whose bounds admit an id, finds the
// matching rows, and decodes the other columns only from there (seeking each
// column to the first matching row, so the pages before it are skipped
// undecoded). iceberg-go's reader, by contrast, parses the footer, evaluates
// the statistics of every row group and decodes every column of each row group
// it keeps, on every read.
//
// It applies to data files without delete files whose columns carry Iceberg
// field ids; anything else (deletes to apply, files written without ids, types
// it does not know) goes through iceberg-go's reader, which remains the
// reference: tests check the two return the same rows.

// fileMeta is what a lookup needs of a data file's footer.
type fileMeta struct {
	// notFast marks a file the fast path cannot read (no field ids, say).
	notFast bool
	meta    *metadata.FileMetaData
	// leaves maps an Iceberg field id of a top-level column to its Parquet
	// top-level name and leaf column indices.
	fields map[int]fileField
	// bounds are each row group's join key bounds; nil when unknown.
	bounds []*keyBounds
}

type fileField struct {
	name   string
	leaves []int
}

type keyBounds struct {
	ints     [2]int64
	strs     [2]string
	isString bool
}

// fileMetaCache keeps the footers of recently read data files. Data files are
// immutable, so an entry never goes stale; it is keyed by path and size.
type fileMetaCache struct {
	mu      sync.Mutex
	entries map[fileMetaKey]*fileMeta
	order   []fileMetaKey
}

type fileMetaKey struct {
	path string
	size int64
}

// fileMetaCacheSize bounds the footers kept (a footer of a 64 MB file with
// a few hundred row groups is tens of kilobytes decoded).
const fileMetaCacheSize = 1024

func (c *fileMetaCache) get(k fileMetaKey) *fileMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k]
}

func (c *fileMetaCache) put(k fileMetaKey, m *fileMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[fileMetaKey]*fileMeta{}
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = m
	c.order = append(c.order, k)
	if len(c.order) > fileMetaCacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// fastEligible reports whether a task can be read by the fast path.
func fastEligible(t table.FileScanTask) bool {
	return len(t.DeleteFiles) == 0 && len(t.EqualityDeleteFiles) == 0 && len(t.DeletionVectorFiles) == 0 &&
		t.File.FileFormat() == iceberg.ParquetFile && t.Start == 0
}

// parseFileMeta reads the footer of an open Parquet file into a fileMeta.
func parseFileMeta(rdr *file.Reader, keyID int) (*fileMeta, error) {
	meta := rdr.MetaData()
	sc := meta.Schema
	fm := &fileMeta{meta: meta, fields: map[int]fileField{}}
	root := sc.Root()
	for i := 0; i < root.NumFields(); i++ {
		n := root.Field(i)
		if n.FieldID() < 0 {
			continue
		}
		fm.fields[int(n.FieldID())] = fileField{name: n.Name()}
	}
	for leaf := 0; leaf < sc.NumColumns(); leaf++ {
		top := sc.ColumnRoot(leaf)
		if top == nil || top.FieldID() < 0 {
			continue
		}
		f := fm.fields[int(top.FieldID())]
		f.leaves = append(f.leaves, leaf)
		fm.fields[int(top.FieldID())] = f
	}
	key, ok := fm.fields[keyID]
	if !ok || len(key.leaves) != 1 {
		return nil, fmt.Errorf("no join key column with field id %d", keyID)
	}
	fm.bounds = make([]*keyBounds, meta.NumRowGroups())
	for rg := range fm.bounds {
		cc, err := meta.RowGroup(rg).ColumnChunk(key.leaves[0])
		if err != nil {
			continue
		}
		if set, err := cc.StatsSet(); err != nil || !set {
			continue
		}
		st, err := cc.Statistics()
		if err != nil || st == nil || !st.HasMinMax() {
			continue
		}
		switch s := st.(type) {
		case *metadata.Int64Statistics:
			fm.bounds[rg] = &keyBounds{ints: [2]int64{s.Min(), s.Max()}}
		case *metadata.Int32Statistics:
			fm.bounds[rg] = &keyBounds{ints: [2]int64{int64(s.Min()), int64(s.Max())}}
		case *metadata.ByteArrayStatistics:
			fm.bounds[rg] = &keyBounds{strs: [2]string{string(s.Min()), string(s.Max())}, isString: true}
		}
	}
	return fm, nil
}

// admits reports whether a row group with bounds b may hold one of keys.
func (k keySet) admits(b *keyBounds) bool {
	if b == nil {
		return true
	}
	if b.isString != (k.strs != nil) {
		return true // bounds of an unexpected type: do not prune on them
	}
	if b.isString {
		i, _ := slices.BinarySearch(k.strs, b.strs[0])
		return i < len(k.strs) && k.strs[i] <= b.strs[1]
	}
	i, _ := slices.BinarySearch(k.ints, b.ints[0])
	return i < len(k.ints) && k.ints[i] <= b.ints[1]
}

// matchRows returns the positions, ascending, of the rows of a join key column
// whose key is in keys.
func (k keySet) matchRows(col arrow.Array) ([]int64, error) {
	var out []int64
	switch c := col.(type) {
	case *array.Int64:
		for i := 0; i < c.Len(); i++ {
			if c.IsValid(i) {
				if _, ok := slices.BinarySearch(k.ints, c.Value(i)); ok {
					out = append(out, int64(i))
				}
			}
		}
	case *array.Int32:
		for i := 0; i < c.Len(); i++ {
			if c.IsValid(i) {
				if _, ok := slices.BinarySearch(k.ints, int64(c.Value(i))); ok {
					out = append(out, int64(i))
				}
			}
		}
	case *array.String:
		for i := 0; i < c.Len(); i++ {
			if c.IsValid(i) {
				if _, ok := slices.BinarySearch(k.strs, c.Value(i)); ok {
					out = append(out, int64(i))
				}
			}
		}
	case *array.Binary:
		for i := 0; i < c.Len(); i++ {
			if c.IsValid(i) {
				if _, ok := slices.BinarySearch(k.strs, string(c.Value(i))); ok {
					out = append(out, int64(i))
				}
			}
		}
	default:
		return nil, fmt.Errorf("join key decodes as %s", col.DataType())
	}
	return out, nil
}

// errNotFast means a task cannot take the fast path; the caller falls back.
var errNotFast = fmt.Errorf("not eligible for the lookup fast path")

// lookupCol is a canonical column as stored in one data file.
type lookupCol struct {
	canonical string // name in the view's spec
	parquet   string // name in the file (the column may have been renamed since)
	leaves    []int
	repeated  bool // a list: read forward, not by seeking
}

// fastLookup reads the rows of keys from one data file, in the canonical
// schema. It returns errNotFast (before reading any row) when the file does not
// suit the fast path.
func (s *Store) fastLookup(ctx context.Context, v *registry.FeatureView, fs iceio.IO, p *readPlan, task table.FileScanTask, keyID int, keys keySet, conv func(*arrow.Schema) (*normalizer, error)) ([]arrow.RecordBatch, error) {
	df := task.File
	mk := fileMetaKey{path: df.FilePath(), size: df.FileSizeBytes()}
	fm := s.footers.get(mk)
	if fm != nil && fm.notFast {
		return nil, errNotFast
	}
	f, err := fs.Open(df.FilePath())
	if err != nil {
		return nil, classify(err)
	}
	defer f.Close()
	mem := compute.GetAllocator(ctx)
	props := parquet.NewReaderProperties(mem)
	var rdr *file.Reader
	if fm != nil {
		rdr, err = file.NewParquetReader(f, file.WithMetadata(fm.meta), file.WithReadProps(props))
	} else if rdr, err = file.NewParquetReader(f, file.WithReadProps(props)); err == nil {
		if fm, err = parseFileMeta(rdr, keyID); err != nil {
			s.footers.put(mk, &fileMeta{notFast: true})
			_ = rdr.Close()
			return nil, errNotFast
		}
		s.footers.put(mk, fm)
	}
	if err != nil {
		return nil, classify(err)
	}
	defer rdr.Close()

	// The canonical columns this file has, found by field id; the others were
	// added to the table after it was written and read as null.
	var cols []lookupCol
	for _, name := range p.fields {
		field, ok := p.schema.FindFieldByName(name)
		if !ok {
			return nil, errNotFast
		}
		ff, ok := fm.fields[field.ID]
		if !ok {
			if field.Required {
				return nil, errNotFast
			}
			continue
		}
		_, isList := field.Type.(*iceberg.ListType)
		if !isList && len(ff.leaves) != 1 {
			return nil, errNotFast
		}
		cols = append(cols, lookupCol{canonical: name, parquet: ff.name, leaves: ff.leaves, repeated: isList})
	}

	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1024}, mem)
	if err != nil {
		return nil, errNotFast
	}
	keyLeaf := fm.fields[keyID].leaves[0]
	var (
		out []arrow.RecordBatch
		n   *normalizer
	)
	release := func() {
		for _, r := range out {
			r.Release()
		}
	}
	for rg, b := range fm.bounds {
		if !keys.admits(b) {
			continue
		}
		rows, err := matchingRows(ctx, fr, rg, keyLeaf, keys)
		if err != nil {
			release()
			return nil, err
		}
		if len(rows) == 0 {
			continue
		}
		recs, err := readMatches(ctx, fr, rg, rows, cols)
		if err != nil {
			release()
			return nil, err
		}
		if n == nil && len(recs) > 0 {
			if n, err = conv(recs[0].Schema()); err != nil {
				for _, r := range recs {
					r.Release()
				}
				release()
				return nil, errNotFast
			}
		}
		for _, rec := range recs {
			canon, err := n.apply(rec)
			rec.Release()
			if err != nil {
				release()
				return nil, err
			}
			out = append(out, canon)
		}
	}
	return out, nil
}

// matchingRows reads the join key column of a row group and returns the
// positions of the rows whose key is in keys.
func matchingRows(ctx context.Context, fr *pqarrow.FileReader, rg, keyLeaf int, keys keySet) ([]int64, error) {
	chunked, err := fr.RowGroup(rg).Column(keyLeaf).Read(ctx)
	if err != nil {
		return nil, classify(err)
	}
	defer chunked.Release()
	var rows []int64
	offset := int64(0)
	for _, c := range chunked.Chunks() {
		m, err := keys.matchRows(c)
		if err != nil {
			return nil, errNotFast
		}
		for _, r := range m {
			rows = append(rows, r+offset)
		}
		offset += int64(c.Len())
	}
	return rows, nil
}

// readMatches reads the given rows (ascending positions) of row group rg, one
// record per run of consecutive rows, with the columns cols named canonically.
func readMatches(ctx context.Context, fr *pqarrow.FileReader, rg int, rows []int64, cols []lookupCol) ([]arrow.RecordBatch, error) {
	var readers []*runReader
	defer func() {
		for _, r := range readers {
			r.release()
		}
	}()
	for _, repeated := range []bool{false, true} {
		var leaves []int
		for _, c := range cols {
			if c.repeated == repeated {
				leaves = append(leaves, c.leaves...)
			}
		}
		if len(leaves) == 0 {
			continue
		}
		slices.Sort(leaves)
		rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
		if err != nil {
			return nil, classify(err)
		}
		readers = append(readers, &runReader{rr: rr, seek: !repeated})
	}
	var out []arrow.RecordBatch
	fail := func(err error) ([]arrow.RecordBatch, error) {
		for _, r := range out {
			r.Release()
		}
		return nil, err
	}
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && rows[end] == rows[end-1]+1 {
			end++
		}
		first, count := rows[start], int64(end-start)
		byName := map[string]arrow.Array{}
		for _, r := range readers {
			got, err := r.read(first, count)
			if err != nil {
				for _, a := range byName {
					a.Release()
				}
				return fail(classify(err))
			}
			for k, a := range got {
				byName[k] = a
			}
		}
		arrs := make([]arrow.Array, len(cols))
		fields := make([]arrow.Field, len(cols))
		for i, c := range cols {
			a, ok := byName[c.parquet]
			if !ok {
				for _, a := range byName {
					a.Release()
				}
				return fail(errNotFast)
			}
			arrs[i] = a
			fields[i] = arrow.Field{Name: c.canonical, Type: a.DataType(), Nullable: true}
		}
		out = append(out, array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, count))
		for _, a := range byName {
			a.Release()
		}
		start = end
	}
	return out, nil
}

// runReader reads runs of rows of one row group from a record reader over some
// of its columns: by seeking to each run (flat columns), or, for columns with
// repeated levels (lists), which arrow-go cannot seek within a page, by reading
// forward and discarding the batches before each run (runs come in order).
type runReader struct {
	rr       pqarrow.RecordReader
	seek     bool
	cur      arrow.RecordBatch // sequential mode: the batch holding row curStart
	curStart int64
	next     int64 // sequential mode: row index of the batch Read returns next
}

func (r *runReader) release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.rr.Release()
}

// read returns, per column name, the rows [first, first+n).
func (r *runReader) read(first, n int64) (map[string]arrow.Array, error) {
	var parts []arrow.RecordBatch
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	if r.seek {
		if err := r.rr.SeekToRow(first); err != nil {
			return nil, err
		}
		for got := int64(0); got < n; {
			rec, err := r.rr.Read()
			if err != nil {
				return nil, fmt.Errorf("read rows from %d: %w", first, err)
			}
			take := min(n-got, rec.NumRows())
			parts = append(parts, rec.NewSlice(0, take))
			got += take
		}
	} else {
		for pos := first; pos < first+n; {
			for r.cur == nil || r.curStart+r.cur.NumRows() <= pos {
				if r.cur != nil {
					r.cur.Release()
					r.cur = nil
				}
				rec, err := r.rr.Read()
				if err != nil {
					return nil, fmt.Errorf("read rows up to %d: %w", pos, err)
				}
				rec.Retain()
				r.cur, r.curStart = rec, r.next
				r.next += rec.NumRows()
			}
			from := pos - r.curStart
			to := min(r.cur.NumRows(), first+n-r.curStart)
			parts = append(parts, r.cur.NewSlice(from, to))
			pos = r.curStart + to
		}
	}
	out := map[string]arrow.Array{}
	for i, f := range parts[0].Schema().Fields() {
		chunks := make([]arrow.Array, len(parts))
		for j, p := range parts {
			chunks[j] = p.Column(i)
		}
		if len(chunks) == 1 {
			chunks[0].Retain()
			out[f.Name] = chunks[0]
			continue
		}
		a, err := array.Concatenate(chunks, compute.GetAllocator(context.Background()))
		if err != nil {
			for _, done := range out {
				done.Release()
			}
			return nil, err
		}
		out[f.Name] = a
	}
	return out, nil
}
