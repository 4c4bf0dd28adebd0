package offline

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// progressEvery is how many rows pass between progress callbacks: often enough
// for a progress bar, rare enough to cost nothing.
const progressEvery = 65536

// readCSV parses a CSV file with a header row into one record in the view's
// canonical schema, in file order. The header must name every spec column and no
// other; values parse strictly, and every problem is reported with its line.
func readCSV(ctx context.Context, v *registry.FeatureView, path string, mem memory.Allocator, progress func(int64)) (arrow.RecordBatch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &SchemaError{Subject: "file " + filepath.Base(path), Problems: []string{"the file is empty: a header row naming the columns is required"}}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}

	cols := specColumns(v)
	pos, err := matchHeader(cols, header, filepath.Base(path))
	if err != nil {
		return nil, err
	}

	b := array.NewRecordBuilder(mem, ArrowSchema(v))
	defer b.Release()
	appenders := make([]func(string) error, len(cols))
	for i, c := range cols {
		appenders[i] = cellAppender(b.Field(i), c)
	}

	probs := &problems{file: path}
	var rows int64
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				probs.add("line %d: has %d fields, the header has %d", pe.StartLine, len(rec), len(header))
				rows++
				continue
			}
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		line, _ := r.FieldPos(0)
		for i, c := range cols {
			cell := rec[pos[i]]
			if err := appenders[i](cell); err != nil {
				probs.add("line %d, column %q: %s %v", line, c.name, quote(cell), err)
			}
		}
		rows++
		if rows%progressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil {
				progress(rows)
			}
		}
	}
	if progress != nil && rows%progressEvery != 0 {
		progress(rows)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// matchHeader maps each spec column to its position in the header, reporting
// missing, unknown and duplicated columns together.
func matchHeader(cols []column, header []string, file string) ([]int, error) {
	at := map[string]int{}
	var problems []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := at[h]; dup {
			problems = append(problems, fmt.Sprintf("column %q appears more than once in the header", h))
			continue
		}
		at[h] = i
	}
	known := map[string]bool{}
	pos := make([]int, len(cols))
	for i, c := range cols {
		known[c.name] = true
		p, ok := at[c.name]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %s column %q (%s)", c.role, c.name, c.typ))
			continue
		}
		pos[i] = p
	}
	for h := range at {
		if !known[h] {
			problems = append(problems, fmt.Sprintf("unknown column %q: not in the spec of the view", h))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, &SchemaError{Subject: "file " + file, Problems: problems}
	}
	return pos, nil
}

// cellAppender returns a function that parses one cell of column c and appends it
// to b. An empty cell is null for features and an error for the key and event
// time; an unparsable cell appends null so later columns stay aligned.
func cellAppender(b array.Builder, c column) func(string) error {
	nullOK := func(s string) (bool, error) {
		if s != "" {
			return false, nil
		}
		if c.required {
			return true, errNull
		}
		return true, nil
	}
	switch c.typ {
	case registry.TypeInt64:
		ib := b.(*array.Int64Builder)
		return func(s string) error {
			if null, err := nullOK(s); null {
				ib.AppendNull()
				return err
			}
			n, err := parseInt64(s)
			if err != nil {
				ib.AppendNull()
				return err
			}
			ib.Append(n)
			return nil
		}
	case registry.TypeDouble:
		fb := b.(*array.Float64Builder)
		return func(s string) error {
			if null, err := nullOK(s); null {
				fb.AppendNull()
				return err
			}
			f, err := parseDouble(s, 64)
			if err != nil {
				fb.AppendNull()
				return err
			}
			fb.Append(f)
			return nil
		}
	case registry.TypeString:
		sb := b.(*array.StringBuilder)
		return func(s string) error {
			if null, err := nullOK(s); null {
				sb.AppendNull()
				return err
			}
			sb.Append(s)
			return nil
		}
	case registry.TypeBool:
		bb := b.(*array.BooleanBuilder)
		return func(s string) error {
			if null, err := nullOK(s); null {
				bb.AppendNull()
				return err
			}
			v, err := parseBool(s)
			if err != nil {
				bb.AppendNull()
				return err
			}
			bb.Append(v)
			return nil
		}
	case registry.TypeTimestamp:
		tb := b.(*array.TimestampBuilder)
		return func(s string) error {
			if null, err := nullOK(s); null {
				tb.AppendNull()
				return err
			}
			us, err := parseTimestamp(s)
			if err != nil {
				tb.AppendNull()
				return err
			}
			tb.Append(arrow.Timestamp(us))
			return nil
		}
	case registry.TypeFloatVector:
		lb := b.(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		buf := make([]float32, 0, c.dim)
		return func(s string) error {
			if null, err := nullOK(s); null {
				lb.AppendNull()
				return err
			}
			var err error
			buf, err = parseVector(s, c.dim, buf[:0])
			if err != nil {
				lb.AppendNull()
				return err
			}
			lb.Append(true)
			vb.AppendValues(buf, nil)
			return nil
		}
	}
	panic(fmt.Sprintf("offline: no CSV parser for %v", c.typ))
}
