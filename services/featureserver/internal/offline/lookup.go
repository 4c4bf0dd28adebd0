package offline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// maxInListIDs is the largest id set LookupScan hands iceberg-go as an IN
// filter. Larger sets are filtered by key range in the scan (still pruning
// files and row groups outside it) and by membership in a hash set here, which
// keeps planning and per-row evaluation cheap for tens of thousands of ids.
const maxInListIDs = 1024

// LookupScan returns every row (all versions) of the given entities in the
// snapshot snapshotID (0: the current one, as of at most MetadataMaxAge ago), in
// the canonical ArrowSchema. ids are canonical key strings: the decimal form of
// an int64 key ("42", not "042" or "+42"), the value itself for a string key;
// duplicates are ignored, ids without rows are simply absent from the result.
//
// The scan filters on the join key, so Iceberg prunes data files and Parquet row
// groups by their min/max statistics; Floe's tables are sorted by key, so a few
// ids read a few row groups. Table metadata comes from the Store's cache (see
// RefreshTable) and the snapshot's file plan (its manifests, read once per
// snapshot) from a plan cache, so a lookup reads only the data files whose key
// bounds may hold an id. In a data file without deletes, the rows are located
// by reading the join key column of the admitted row groups and decoded from
// there (see fastlookup.go); files with deletes go through iceberg-go's reader,
// which applies them. Rows come in no particular order.
//
// The rows are read in full before LookupScan returns, so a transient catalog
// or object store error anywhere in the read is retried (with backoff, within
// the context's deadline) and the reader never fails midway. Errors wrap
// ErrInvalidData (an id that is not a canonical key), ErrNoSuchTable,
// ErrNoSuchSnapshot, ErrSchemaMismatch or ErrUnavailable.
func (s *Store) LookupScan(ctx context.Context, v *registry.FeatureView, snapshotID int64, ids []string) (array.RecordReader, error) {
	keys, err := parseKeys(v, ids)
	if err != nil {
		return nil, fmt.Errorf("lookup in view %s: %w", v.Name, err)
	}
	var recs []arrow.RecordBatch
	err = retry(ctx, func(ctx context.Context) (err error) {
		recs, err = s.lookup(ctx, v, snapshotID, keys)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lookup in view %s at snapshot %d: %w", v.Name, snapshotID, err)
	}
	rdr, err := array.NewRecordReader(ArrowSchema(v), recs)
	for _, r := range recs {
		r.Release()
	}
	return rdr, err
}

// keySet is a parsed, deduplicated set of entity ids of one key type.
type keySet struct {
	ints []int64  // int64 keys, sorted
	strs []string // string keys, sorted
}

func (k keySet) len() int { return len(k.ints) + len(k.strs) }

// parseKeys parses canonical ids for the view's key type.
func parseKeys(v *registry.FeatureView, ids []string) (keySet, error) {
	var k keySet
	switch t := v.Entity.Key().Type; t {
	case registry.TypeInt64:
		k.ints = make([]int64, 0, len(ids))
		for _, id := range ids {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || strconv.FormatInt(n, 10) != id {
				return keySet{}, fmt.Errorf("%w: entity id %q is not the decimal form of an int64 %s", ErrInvalidData, id, v.Entity.Key().Name)
			}
			k.ints = append(k.ints, n)
		}
		slices.Sort(k.ints)
		k.ints = slices.Compact(k.ints)
	case registry.TypeString:
		k.strs = slices.Clone(ids)
		slices.Sort(k.strs)
		k.strs = slices.Compact(k.strs)
	default:
		return keySet{}, fmt.Errorf("%w: join key type %s", ErrSchemaMismatch, t)
	}
	return k, nil
}

// filter returns the row filter for the keys and, for large sets, the exact
// membership test the scan's range filter leaves to do.
func (k keySet) filter(key string) (iceberg.BooleanExpression, func(arrow.Array) ([]bool, bool)) {
	ref := iceberg.Reference(key)
	if k.len() <= maxInListIDs {
		if k.ints != nil {
			return iceberg.IsIn(ref, k.ints...), nil
		}
		return iceberg.IsIn(ref, k.strs...), nil
	}
	if k.ints != nil {
		set := make(map[int64]struct{}, len(k.ints))
		for _, n := range k.ints {
			set[n] = struct{}{}
		}
		expr := iceberg.NewAnd(iceberg.GreaterThanEqual(ref, k.ints[0]), iceberg.LessThanEqual(ref, k.ints[len(k.ints)-1]))
		return expr, func(col arrow.Array) ([]bool, bool) {
			c := col.(*array.Int64)
			mask, all := make([]bool, c.Len()), true
			for i := range mask {
				_, mask[i] = set[c.Value(i)]
				all = all && mask[i]
			}
			return mask, all
		}
	}
	set := make(map[string]struct{}, len(k.strs))
	for _, s := range k.strs {
		set[s] = struct{}{}
	}
	expr := iceberg.NewAnd(iceberg.GreaterThanEqual(ref, k.strs[0]), iceberg.LessThanEqual(ref, k.strs[len(k.strs)-1]))
	return expr, func(col arrow.Array) ([]bool, bool) {
		c := col.(*array.String)
		mask, all := make([]bool, c.Len()), true
		for i := range mask {
			_, mask[i] = set[c.Value(i)]
			all = all && mask[i]
		}
		return mask, all
	}
}

// lookupBatchRows is the Arrow batch size of lookup scans.
const lookupBatchRows = 8192

// lookup reads the rows of keys at snapshotID into memory.
func (s *Store) lookup(ctx context.Context, v *registry.FeatureView, snapshotID int64, keys keySet) ([]arrow.RecordBatch, error) {
	p, err := s.planRead(ctx, v, snapshotID)
	if err != nil || p == nil || keys.len() == 0 {
		return nil, err
	}
	key := v.Entity.Key().Name
	keyField, ok := p.schema.FindFieldByName(key)
	if !ok {
		return nil, fmt.Errorf("%w: snapshot %d has no join key column %q", ErrSchemaMismatch, p.snap.SnapshotID, key)
	}
	tasks, err := s.plans.get(ctx, p.tbl, p.snap.SnapshotID)
	if err != nil {
		return nil, err
	}
	if tasks = pruneTasks(tasks, keyField.ID, keys); len(tasks) == 0 {
		return nil, nil
	}
	fs, err := p.tbl.FS(ctx)
	if err != nil {
		return nil, classify(err)
	}
	var (
		out  []arrow.RecordBatch
		slow []table.FileScanTask
	)
	release := func() {
		for _, r := range out {
			r.Release()
		}
	}
	want := ArrowSchema(v)
	conv := func(got *arrow.Schema) (*normalizer, error) { return newNormalizer(ctx, got, want) }
	for _, t := range tasks {
		if !fastEligible(t) || s.noFastPath {
			slow = append(slow, t)
			continue
		}
		recs, err := s.fastLookup(ctx, v, fs, p, t, keyField.ID, keys, conv)
		if errors.Is(err, errNotFast) {
			slow = append(slow, t)
			continue
		}
		if err != nil {
			release()
			return nil, err
		}
		out = append(out, recs...)
	}
	if len(slow) == 0 {
		return out, nil
	}

	// Files with deletes to apply (or that the fast path cannot read) go
	// through iceberg-go's reader.
	expr, keep := keys.filter(key)
	sc := p.tbl.Scan(
		table.WithSnapshotID(p.snap.SnapshotID),
		table.WithSelectedFields(p.fields...),
		table.WithRowFilter(expr),
		// A point lookup decodes one row group and keeps a few rows of it:
		// iceberg-go's default batch (128k rows) would allocate buffers for
		// far more rows than the row group has.
		table.WithArrowBatchSize(lookupBatchRows),
	)
	got, records, err := sc.ReadTasks(ctx, slow)
	if err != nil {
		_ = sc.Close()
		release()
		return nil, classify(err)
	}
	rdr, err := newScanReader(ctx, ArrowSchema(v), sc, got, records, keep)
	if err != nil {
		release()
		return nil, err
	}
	defer rdr.Release()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		out = append(out, rec)
	}
	if err := rdr.Err(); err != nil {
		release()
		return nil, err
	}
	return out, nil
}

// pruneTasks keeps the tasks whose data file's join key bounds (min/max column
// statistics) may hold one of keys. Files without bounds are kept. Within the
// files kept, the scan's row filter prunes Parquet row groups the same way.
func pruneTasks(tasks []table.FileScanTask, keyID int, keys keySet) []table.FileScanTask {
	out := make([]table.FileScanTask, 0, len(tasks))
	for _, t := range tasks {
		lo, okLo := t.File.LowerBoundValues()[keyID]
		hi, okHi := t.File.UpperBoundValues()[keyID]
		if !okLo || !okHi || keys.anyWithin(lo, hi) {
			out = append(out, t)
		}
	}
	return out
}

// anyWithin reports whether a key lies within the serialized Iceberg bounds
// [lo, hi] (single-value serialization: little-endian integers, UTF-8
// strings, whose truncated bounds still enclose the values). Bounds it cannot
// decode count as a match.
func (k keySet) anyWithin(lo, hi []byte) bool {
	if k.ints != nil {
		l, okL := decodeInt(lo)
		h, okH := decodeInt(hi)
		if !okL || !okH {
			return true
		}
		i, _ := slices.BinarySearch(k.ints, l)
		return i < len(k.ints) && k.ints[i] <= h
	}
	l, h := string(lo), string(hi)
	i, _ := slices.BinarySearch(k.strs, l)
	return i < len(k.strs) && k.strs[i] <= h
}

func decodeInt(b []byte) (int64, bool) {
	switch len(b) {
	case 8:
		return int64(binary.LittleEndian.Uint64(b)), true
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b))), true
	}
	return 0, false
}

// planCache keeps the full file plan (data files with their delete files and
// statistics) of recently read snapshots. A snapshot's plan never changes, and
// reading it means reading every manifest of the snapshot, which for a table
// grown by many small commits is most of a point lookup's cost.
type planCache struct {
	mu      sync.Mutex
	entries map[planKey]*planEntry
	order   []planKey // oldest first
}

type planKey struct {
	table string // table UUID: a table dropped and created again plans anew
	snap  int64
}

type planEntry struct {
	done  chan struct{}
	tasks []table.FileScanTask
	err   error
}

// planCacheSize bounds the snapshots whose plans are kept, over all tables.
const planCacheSize = 32

// get returns the plan of snapshot snap of tbl, planning it on first use.
// Concurrent first uses share one planning.
func (c *planCache) get(ctx context.Context, tbl *table.Table, snap int64) ([]table.FileScanTask, error) {
	k := planKey{table: tbl.Metadata().TableUUID().String(), snap: snap}
	c.mu.Lock()
	if e := c.entries[k]; e != nil {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.tasks, nil
		}
		// The planning that failed was someone else's; plan for ourselves.
		return planSnapshot(ctx, tbl, snap)
	}
	e := &planEntry{done: make(chan struct{})}
	if c.entries == nil {
		c.entries = map[planKey]*planEntry{}
	}
	c.entries[k] = e
	c.order = append(c.order, k)
	if len(c.order) > planCacheSize {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.mu.Unlock()

	e.tasks, e.err = planSnapshot(ctx, tbl, snap)
	if e.err != nil {
		c.mu.Lock()
		if c.entries[k] == e {
			delete(c.entries, k)
			c.order = slices.DeleteFunc(c.order, func(o planKey) bool { return o == k })
		}
		c.mu.Unlock()
	}
	close(e.done)
	return e.tasks, e.err
}

func planSnapshot(ctx context.Context, tbl *table.Table, snap int64) ([]table.FileScanTask, error) {
	sc := tbl.Scan(table.WithSnapshotID(snap))
	defer sc.Close()
	tasks, err := sc.PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan snapshot %d: %w", snap, classify(err))
	}
	return tasks, nil
}
