package cli

import (
	"fmt"
	"io"
	"time"
)

// progress prints a long job's row count to stderr at most every half second, so a
// user sees it move without flooding a log.
type progress struct {
	w     io.Writer
	label string
	last  time.Time
	start time.Time
}

func newProgress(w io.Writer, label string) *progress {
	now := time.Now()
	return &progress{w: w, label: label, start: now, last: now}
}

func (p *progress) rows(n int64) {
	if time.Since(p.last) < 500*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "%s: %d rows (%.0f rows/s)\n", p.label, n, float64(n)/time.Since(p.start).Seconds())
}
