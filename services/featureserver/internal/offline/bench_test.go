package offline

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
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
	s := benchStore(b, v)
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

// BenchmarkLookupScan measures the miss path's point lookup on a user_behavior
// table of FLOE_BENCH_ROWS rows (two per entity) in a local warehouse, with the
// table cache warm: LookupScan of 1 and of 100 random entities, then reading
// every row returned. It reports p50 and p99 latencies and CPU time per lookup.
// FLOE_BENCH_ROW_GROUP sets another Parquet row group size and
// FLOE_BENCH_NO_FAST_PATH=1 reads through iceberg-go's reader only, for
// comparisons. For the figures:
//
//	FLOE_BENCH_ROWS=1000000 go test -run '^$' -bench 'LookupScan/ids=1$' -benchtime 2000x ./internal/offline/
//	FLOE_BENCH_ROWS=1000000 go test -run '^$' -bench 'LookupScan/ids=100$' -benchtime 100x ./internal/offline/
func BenchmarkLookupScan(b *testing.B) {
	n := benchRows(b)
	users := max(n/2, 1)
	v := view(b, "pricing", "user_behavior")
	ctx := context.Background()
	s := benchStore(b, v)
	res, err := s.Ingest(ctx, v, writeBehaviorCSV(b, n), nil)
	if err != nil {
		b.Fatal(err)
	}
	s.noFastPath = os.Getenv("FLOE_BENCH_NO_FAST_PATH") != ""
	runtime.GC() // the ingest's garbage is not the lookups' cost
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprintf("ids=%d", size), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			ids := make([]string, size)
			lat := make([]time.Duration, 0, b.N)
			var rows int64
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				for i := range ids {
					ids[i] = strconv.Itoa(1 + rng.IntN(users))
				}
				start := time.Now()
				rdr, err := s.LookupScan(ctx, v, res.SnapshotID, ids)
				if err != nil {
					b.Fatal(err)
				}
				for rdr.Next() {
					rows += rdr.RecordBatch().NumRows()
				}
				rdr.Release()
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			if rows < int64(b.N) {
				b.Fatalf("%d rows for %d lookups", rows, b.N)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system: a figure
// less sensitive than wall time to other processes sharing the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchStore opens a store for a benchmark; FLOE_BENCH_ROW_GROUP, when set,
// creates the view's table with that Parquet row group size instead of Floe's.
func benchStore(b *testing.B, v *registry.FeatureView) *Store {
	s := newStore(b)
	rg := os.Getenv("FLOE_BENCH_ROW_GROUP")
	if rg == "" {
		return s
	}
	ctx := context.Background()
	tbl, err := s.EnsureTable(ctx, v)
	if err != nil {
		b.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.ParquetRowGroupLimitKey: rg}); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}
