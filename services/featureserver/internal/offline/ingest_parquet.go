package offline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// pandasIndex matches the index columns pandas adds to files it writes; they are
// an artifact of the writer, not data, so they are neither required nor rejected.
var pandasIndex = regexp.MustCompile(`^__index_level_\d+__$`)

// readParquet reads a Parquet file into one record in the view's canonical
// schema, in file order. Compatible types are converted (narrower integers,
// float32, any timestamp unit or zone, dates, large and dictionary strings, large
// or fixed-size lists); any other type, and missing or unknown columns, are
// reported together before a single row is read.
func readParquet(ctx context.Context, v *registry.FeatureView, path string, mem memory.Allocator, progress func(int64)) (arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable Parquet file: %w", filepath.Base(path), err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: progressEvery}, mem)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	sc, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	cols := specColumns(v)
	pos, err := matchParquetSchema(cols, sc, filepath.Base(path))
	if err != nil {
		return nil, err
	}

	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	defer rr.Release()

	b := array.NewRecordBuilder(mem, ArrowSchema(v))
	defer b.Release()
	probs := &problems{file: path}
	var rows int64
	for {
		rec, err := rr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		for i, c := range cols {
			appendArrow(b.Field(i), c, rec.Column(pos[i]), rows, probs)
		}
		rows += rec.NumRows()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(rows)
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// matchParquetSchema maps each spec column to its field index in the file,
// reporting missing, unknown and mistyped columns together.
func matchParquetSchema(cols []column, sc *arrow.Schema, file string) ([]int, error) {
	var problems []string
	known := map[string]bool{}
	pos := make([]int, len(cols))
	for i, c := range cols {
		known[c.name] = true
		idx := sc.FieldIndices(c.name)
		switch {
		case len(idx) == 0:
			problems = append(problems, fmt.Sprintf("missing %s column %q (%s)", c.role, c.name, c.typ))
			continue
		case len(idx) > 1:
			problems = append(problems, fmt.Sprintf("column %q appears more than once", c.name))
			continue
		}
		pos[i] = idx[0]
		if dt := sc.Field(idx[0]).Type; !acceptsArrow(c.typ, dt) {
			problems = append(problems, fmt.Sprintf("%s column %q has type %s, which cannot hold %s values", c.role, c.name, dt, c.typ))
		}
	}
	for _, f := range sc.Fields() {
		if !known[f.Name] && !pandasIndex.MatchString(f.Name) {
			problems = append(problems, fmt.Sprintf("unknown column %q: not in the spec of the view", f.Name))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &SchemaError{Subject: "file " + file, Problems: problems}
	}
	return pos, nil
}

// acceptsArrow reports whether a file column of type dt converts to spec type t
// without losing meaning.
func acceptsArrow(t registry.Type, dt arrow.DataType) bool {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		return t == registry.TypeString && isStringType(d.ValueType)
	}
	switch t {
	case registry.TypeInt64:
		return isIntegerType(dt)
	case registry.TypeDouble:
		return isFloatType(dt) || isIntegerType(dt)
	case registry.TypeString:
		return isStringType(dt)
	case registry.TypeBool:
		return dt.ID() == arrow.BOOL
	case registry.TypeTimestamp:
		switch dt.ID() {
		case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
			return true
		}
	case registry.TypeFloatVector:
		if elem, ok := listElem(dt); ok {
			return isFloatType(elem)
		}
	}
	return false
}

func isIntegerType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isFloatType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

func isStringType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

func listElem(dt arrow.DataType) (arrow.DataType, bool) {
	switch l := dt.(type) {
	case *arrow.ListType:
		return l.Elem(), true
	case *arrow.LargeListType:
		return l.Elem(), true
	case *arrow.FixedSizeListType:
		return l.Elem(), true
	case *arrow.ListViewType:
		return l.Elem(), true
	}
	return nil, false
}

// The accessors below read one element of any accepted source array as the
// canonical Go value, so each conversion is one loop whatever the source type.

func int64At(arr arrow.Array) (func(int) (int64, bool), bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Int16:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Int32:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Int64:
		return func(i int) (int64, bool) { return a.Value(i), true }, true
	case *array.Uint8:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Uint16:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Uint32:
		return func(i int) (int64, bool) { return int64(a.Value(i)), true }, true
	case *array.Uint64:
		return func(i int) (int64, bool) { u := a.Value(i); return int64(u), u <= math.MaxInt64 }, true
	}
	return nil, false
}

func float64At(arr arrow.Array) (func(int) float64, bool) {
	switch a := arr.(type) {
	case *array.Float16:
		return func(i int) float64 { return float64(a.Value(i).Float32()) }, true
	case *array.Float32:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Float64:
		return a.Value, true
	}
	if get, ok := int64At(arr); ok {
		return func(i int) float64 { n, _ := get(i); return float64(n) }, true
	}
	return nil, false
}

func stringAt(arr arrow.Array) (func(int) string, bool) {
	switch a := arr.(type) {
	case *array.String:
		return a.Value, true
	case *array.LargeString:
		return a.Value, true
	case *array.StringView:
		return a.Value, true
	case *array.Dictionary:
		get, ok := stringAt(a.Dictionary())
		if !ok {
			return nil, false
		}
		return func(i int) string { return get(a.GetValueIndex(i)) }, true
	}
	return nil, false
}

// micros converts a timestamp or date array to microseconds since the epoch. Finer
// units are truncated toward the past (floor) so an instant never moves to a
// later microsecond; a zone-less timestamp is taken as UTC.
func microsAt(arr arrow.Array) (func(int) int64, bool) {
	switch a := arr.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) int64 {
			v := int64(a.Value(i))
			switch unit {
			case arrow.Second:
				return v * 1_000_000
			case arrow.Millisecond:
				return v * 1_000
			case arrow.Nanosecond:
				return floorDiv(v, 1_000)
			}
			return v
		}, true
	case *array.Date32:
		return func(i int) int64 { return int64(a.Value(i)) * 86_400_000_000 }, true
	case *array.Date64:
		return func(i int) int64 { return int64(a.Value(i)) * 1_000 }, true
	}
	return nil, false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// listAt returns the [start, end) offsets of element i of a list-like array and
// its child values.
func listAt(arr arrow.Array) (func(int) (int64, int64), arrow.Array, bool) {
	switch a := arr.(type) {
	case *array.List:
		return func(i int) (int64, int64) { return a.ValueOffsets(i) }, a.ListValues(), true
	case *array.LargeList:
		return func(i int) (int64, int64) { return a.ValueOffsets(i) }, a.ListValues(), true
	case *array.FixedSizeList:
		n := int64(a.DataType().(*arrow.FixedSizeListType).Len())
		off := int64(a.Offset())
		return func(i int) (int64, int64) { s := (off + int64(i)) * n; return s, s + n }, a.ListValues(), true
	case *array.ListView:
		return func(i int) (int64, int64) { return a.ValueOffsets(i) }, a.ListValues(), true
	}
	return nil, nil, false
}

// appendArrow converts one file column chunk into the canonical builder b,
// recording each unusable value (null key or event time, out-of-range integer,
// non-finite or wrong-length vector) with its 1-based row number.
func appendArrow(b array.Builder, c column, arr arrow.Array, base int64, probs *problems) {
	row := func(i int) int64 { return base + int64(i) + 1 }
	null := func(i int) bool {
		if !arr.IsNull(i) {
			return false
		}
		if c.required {
			probs.add("row %d, column %q: %v", row(i), c.name, errNull)
		}
		b.AppendNull()
		return true
	}
	n := arr.Len()
	switch c.typ {
	case registry.TypeInt64:
		ib := b.(*array.Int64Builder)
		get, _ := int64At(arr)
		ib.Reserve(n)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			v, ok := get(i)
			if !ok {
				probs.add("row %d, column %q: is out of the int64 range", row(i), c.name)
				ib.AppendNull()
				continue
			}
			ib.UnsafeAppend(v)
		}
	case registry.TypeDouble:
		fb := b.(*array.Float64Builder)
		get, _ := float64At(arr)
		fb.Reserve(n)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			v := get(i)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				probs.add("row %d, column %q: %v is not a finite number", row(i), c.name, v)
				fb.AppendNull()
				continue
			}
			fb.UnsafeAppend(v)
		}
	case registry.TypeString:
		sb := b.(*array.StringBuilder)
		get, _ := stringAt(arr)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			sb.Append(get(i))
		}
	case registry.TypeBool:
		bb := b.(*array.BooleanBuilder)
		a := arr.(*array.Boolean)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			bb.Append(a.Value(i))
		}
	case registry.TypeTimestamp:
		tb := b.(*array.TimestampBuilder)
		get, _ := microsAt(arr)
		tb.Reserve(n)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			tb.UnsafeAppend(arrow.Timestamp(get(i)))
		}
	case registry.TypeFloatVector:
		lb := b.(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		offsets, values, _ := listAt(arr)
		get, _ := float64At(values)
		for i := 0; i < n; i++ {
			if null(i) {
				continue
			}
			start, end := offsets(i)
			if int(end-start) != c.dim {
				probs.add("row %d, column %q: has %d values, the feature's dim is %d", row(i), c.name, end-start, c.dim)
				lb.AppendNull()
				continue
			}
			ok := true
			for j := start; j < end; j++ {
				if values.IsNull(int(j)) {
					probs.add("row %d, column %q: element %d is null", row(i), c.name, j-start+1)
					ok = false
					break
				}
				if f := get(int(j)); math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
					probs.add("row %d, column %q: element %d (%v) is not a finite float", row(i), c.name, j-start+1, f)
					ok = false
					break
				}
			}
			if !ok {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			for j := start; j < end; j++ {
				vb.Append(float32(get(int(j))))
			}
		}
	default:
		panic(fmt.Sprintf("offline: no Parquet conversion for %v", c.typ))
	}
}
