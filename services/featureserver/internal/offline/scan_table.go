package offline

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go/table"
)

// ScanTable reads any Iceberg table of the catalog — not a feature view's, e.g.
// entity rows for training data another engine wrote — at snapshotID (0: the
// current one), and returns its rows and the snapshot read. Strings come back as
// utf8, integers as int64, timestamps in microseconds (tz kept), so the rows
// compare with the canonical types of views; other types are passed as
// iceberg-go decodes them. Errors wrap ErrNoSuchTable or ErrNoSuchSnapshot, and
// a table without any snapshot (never written) is ErrNoSuchSnapshot too.
func (s *Store) ScanTable(ctx context.Context, identifier string, snapshotID int64) (array.RecordReader, int64, error) {
	dot := strings.LastIndexByte(identifier, '.')
	if dot <= 0 || dot == len(identifier)-1 {
		return nil, 0, fmt.Errorf("%w: %q is not an Iceberg identifier namespace.table", ErrNoSuchTable, identifier)
	}
	ident := table.Identifier{identifier[:dot], identifier[dot+1:]}
	var (
		rdr  array.RecordReader
		snap int64
	)
	err := retry(ctx, func(ctx context.Context) error {
		tbl, err := s.cat.LoadTable(ctx, ident)
		if err != nil {
			return classify(err)
		}
		snap = snapshotID
		if snap == 0 {
			cur := tbl.CurrentSnapshot()
			if cur == nil {
				return fmt.Errorf("%w: table %s has no snapshot yet (no rows were ever committed)", ErrNoSuchSnapshot, identifier)
			}
			snap = cur.SnapshotID
		} else if tbl.SnapshotByID(snap) == nil {
			return fmt.Errorf("%w: table %s has no snapshot %d", ErrNoSuchSnapshot, identifier, snap)
		}
		sc := tbl.Scan(table.WithSnapshotID(snap))
		got, records, err := sc.ToArrowRecords(ctx)
		if err != nil {
			_ = sc.Close()
			return classify(err)
		}
		rdr, err = newScanReader(ctx, widened(got), sc, got, records, nil)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("scan table %s: %w", identifier, err)
	}
	return rdr, snap, nil
}

// widened maps the types iceberg-go decodes to the ones views use.
func widened(got *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, got.NumFields())
	for i, f := range got.Fields() {
		switch t := f.Type.(type) {
		case *arrow.LargeStringType, *arrow.StringViewType:
			f.Type = arrow.BinaryTypes.String
		case *arrow.Int32Type, *arrow.Int16Type, *arrow.Int8Type:
			f.Type = arrow.PrimitiveTypes.Int64
		case *arrow.TimestampType:
			if t.Unit != arrow.Microsecond {
				f.Type = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: t.TimeZone}
			}
		}
		f.Nullable = true
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}
