package offline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// benchRows is the size of the benchmark file: FLOE_BENCH_ROWS, default 100k so
// `go test -bench .` stays quick; run with FLOE_BENCH_ROWS=1000000 -benchtime=1x
// for the 1M-row figures.
func benchRows(b *testing.B) int {
	if s := os.Getenv("FLOE_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("FLOE_BENCH_ROWS=%q", s)
		}
		return n
	}
	return 100_000
}

// writeBehaviorCSV writes n user_behavior rows for n/2 users, two rows each, in
// an order that is not sorted by key, as exports from upstream jobs often are.
func writeBehaviorCSV(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "behavior.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "user_id,event_time,sessions_7d,purchases_30d,avg_order_value_30d,cart_abandon_rate_7d,price_sensitivity,is_premium,embedding")
	users := max(n/2, 1)
	for i := range n {
		id := (i*7919)%users + 1
		fmt.Fprintf(w, "%d,2024-05-01T%02d:%02d:%02dZ,%d,%d,%.2f,%.3f,%.3f,%t,\"[%.4f, %.4f, %.4f, %.4f]\"\n",
			id, i%24, i%60, (i/60)%60, i%40, i%15, float64(i%30000)/100, float64(i%1000)/1000, float64(i%997)/997, i%5 == 0,
			float64(i%100)/100, -float64(i%50)/50, float64(i%7)/7, float64(i%13)/13)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkIngestCSV measures validating, sorting and committing a user_behavior
// CSV file into a fresh table.
func BenchmarkIngestCSV(b *testing.B) {
	n := benchRows(b)
	path := writeBehaviorCSV(b, n)
	v := view(b, "pricing", "user_behavior")
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := newStore(b)
		b.StartTimer()
		res, err := s.Ingest(ctx, v, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != int64(n) {
			b.Fatalf("ingested %d rows, want %d", res.Rows, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkScan measures streaming every row of a user_behavior snapshot in the
// canonical schema.
func BenchmarkScan(b *testing.B) {
	n := benchRows(b)
	v := view(b, "pricing", "user_behavior")
	ctx := context.Background()
	s := newStore(b)
	res, err := s.Ingest(ctx, v, writeBehaviorCSV(b, n), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		rdr, err := s.Scan(ctx, v, res.SnapshotID)
		if err != nil {
			b.Fatal(err)
		}
		var rows int64
		for rdr.Next() {
			rows += rdr.RecordBatch().NumRows()
		}
		if err := rdr.Err(); err != nil {
			b.Fatal(err)
		}
		rdr.Release()
		if rows != int64(n) {
			b.Fatalf("scanned %d rows, want %d", rows, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
