package offline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxListedProblems bounds how many bad values an error spells out; past it they
// are only counted, so a wholly wrong file still gives a short, useful message.
const maxListedProblems = 20

// DataError lists the values of an ingested file that could not be used, each with
// its position. It matches ErrInvalidData with errors.Is.
type DataError struct {
	// File is the path of the ingested file.
	File string
	// Problems has up to 20 entries such as `line 7, column "age": "x" is not an int64`.
	Problems []string
	// More counts the problems found beyond those listed.
	More int
}

// Error lists the problems one per line, so a CLI can print it as is.
func (e *DataError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d invalid value(s):\n  %s", e.File, len(e.Problems)+e.More, strings.Join(e.Problems, "\n  "))
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", e.More)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidData) hold.
func (e *DataError) Is(target error) bool { return target == ErrInvalidData }

// problems accumulates DataError entries.
type problems struct {
	file string
	list []string
	more int
}

func (p *problems) add(format string, args ...any) {
	if len(p.list) < maxListedProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
		return
	}
	p.more++
}

func (p *problems) count() int { return len(p.list) + p.more }

func (p *problems) err() error {
	if p.count() == 0 {
		return nil
	}
	return &DataError{File: p.file, Problems: p.list, More: p.more}
}

// errNull marks an empty join key or event time cell.
var errNull = errors.New("is empty; the join key and the event time are required")

func parseInt64(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errors.New("is out of the int64 range")
		}
		return 0, errors.New("is not an int64")
	}
	return n, nil
}

func parseDouble(s string, bits int) (float64, error) {
	t := strings.TrimSpace(s)
	// ParseFloat also takes hex floats, underscores, "inf" and "nan"; a feature
	// file has none of them on purpose, so only plain decimal notation passes.
	// One byte loop is also several times cheaper than strings.ContainsAny.
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return 0, errors.New("is not a number")
		}
	}
	f, err := strconv.ParseFloat(t, bits)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errors.New("is out of range")
		}
		return 0, errors.New("is not a number")
	}
	return f, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errors.New("is not a bool (true, false, 1 or 0)")
}

// timestampLayouts are tried in order. RFC 3339 in Go's parser also takes
// fractional seconds; the zone-less forms are UTC.
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02",
}

// parseTimestamp returns microseconds since the Unix epoch.
func parseTimestamp(s string) (int64, error) {
	t := strings.TrimSpace(s)
	for _, layout := range timestampLayouts {
		if ts, err := time.Parse(layout, t); err == nil {
			return ts.UnixMicro(), nil
		}
	}
	return 0, errors.New(`is not a timestamp (use RFC 3339 such as 2024-05-01T12:00:00Z, "2024-05-01 12:00:00" in UTC, or 2024-05-01)`)
}

// parseVector parses "[0.1, 0.2, 0.3]" or "0.1;0.2;0.3" into exactly dim values,
// appending to dst.
func parseVector(s string, dim int, dst []float32) ([]float32, error) {
	t := strings.TrimSpace(s)
	sep := ";"
	if strings.HasPrefix(t, "[") {
		if !strings.HasSuffix(t, "]") {
			return dst, errors.New("is not a vector: missing the closing ]")
		}
		t, sep = t[1:len(t)-1], ","
	}
	n := 0
	for part := range strings.SplitSeq(t, sep) {
		if strings.TrimSpace(part) == "" && n == 0 && strings.TrimSpace(t) == "" {
			break
		}
		f, err := parseDouble(part, 32)
		if err != nil {
			return dst, fmt.Errorf("is not a vector: element %d %v", n+1, err)
		}
		dst = append(dst, float32(f))
		n++
	}
	if n != dim {
		return dst, fmt.Errorf("has %d values, the feature's dim is %d", n, dim)
	}
	return dst, nil
}

// quote shortens a cell for an error message.
func quote(s string) string {
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return strconv.Quote(s)
}
