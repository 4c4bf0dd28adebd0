package offline

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
