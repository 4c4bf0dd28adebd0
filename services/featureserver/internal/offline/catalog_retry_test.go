package offline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func TestRetryBacksOffOnlyOnTransientErrors(t *testing.T) {
	ctx := context.Background()
	p := retryPolicy{base: time.Millisecond, max: 4 * time.Millisecond, attempts: 5}

	calls := 0
	err := retryWith(ctx, p, func(context.Context) error {
		if calls++; calls < 3 {
			return unavailable(errRefused)
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("transient twice: err %v after %d calls", err, calls)
	}

	for _, permanent := range []error{ErrSchemaMismatch, ErrInvalidData, ErrNoSuchTable, ErrNoSuchSnapshot, errors.New("boom")} {
		calls = 0
		err = retryWith(ctx, p, func(context.Context) error { calls++; return fmt.Errorf("x: %w", permanent) })
		if !errors.Is(err, permanent) || calls != 1 {
			t.Errorf("%v was tried %d times", permanent, calls)
		}
	}

	calls = 0
	err = retryWith(ctx, p, func(context.Context) error { calls++; return unavailable(errRefused) })
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) || calls != 5 || !strings.Contains(err.Error(), "5 attempts") {
		t.Errorf("always down: %v after %d calls", err, calls)
	}

	// A deadline shorter than the next wait ends the retries early.
	slow := retryPolicy{base: 50 * time.Millisecond, max: time.Second, attempts: 10}
	dctx, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	calls = 0
	err = retryWith(dctx, slow, func(context.Context) error { calls++; return unavailable(errRefused) })
	if !errors.Is(err, ErrUnavailable) || calls < 1 || calls > 2 {
		t.Errorf("deadline: %v after %d calls", err, calls)
	}

	// Cancellation stops a wait.
	cctx, cancel2 := context.WithCancel(ctx)
	go func() { time.Sleep(10 * time.Millisecond); cancel2() }()
	calls = 0
	err = retryWith(cctx, slow, func(context.Context) error { calls++; return unavailable(errRefused) })
	if !errors.Is(err, ErrUnavailable) || calls > 2 {
		t.Errorf("cancelled: %v after %d calls", err, calls)
	}

	// Waits grow exponentially, with jitter in the upper half, up to max.
	for attempt, want := range map[int]time.Duration{1: time.Millisecond, 2: 2 * time.Millisecond, 3: 4 * time.Millisecond, 9: 4 * time.Millisecond} {
		for range 20 {
			if w := p.wait(attempt); w < want/2 || w > want {
				t.Errorf("wait after attempt %d: %v, want in [%v, %v]", attempt, w, want/2, want)
			}
		}
	}
}

// flakyCatalog is the real SQL catalog with injected faults: the first
// failLoads LoadTable calls fail as if the catalog refused the connection, and
// the tables it loads read their data files through flakyIO.
type flakyCatalog struct {
	catalog.Catalog
	failLoads atomic.Int64
	loads     atomic.Int64
	failReads atomic.Int64
	reads     atomic.Int64
}

func (c *flakyCatalog) LoadTable(ctx context.Context, ident table.Identifier) (*table.Table, error) {
	c.loads.Add(1)
	if c.failLoads.Add(-1) >= 0 {
		return nil, fmt.Errorf("load table: %w", errRefused)
	}
	tbl, err := c.Catalog.LoadTable(ctx, ident)
	if err != nil {
		return nil, err
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	flaky := &flakyIO{IO: fs, c: c}
	return table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(),
		func(context.Context) (iceio.IO, error) { return flaky, nil }, c.Catalog.(table.CatalogIO)), nil
}

// flakyIO fails the first failReads opens of Parquet files like an object store
// whose connection was reset.
type flakyIO struct {
	iceio.IO
	c *flakyCatalog
}

func (f *flakyIO) Open(name string) (iceio.File, error) {
	if strings.HasSuffix(name, ".parquet") {
		f.c.reads.Add(1)
		if f.c.failReads.Add(-1) >= 0 {
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		}
	}
	return f.IO.Open(name)
}

func TestTransientFaultsAreRetried(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	v := view(t, "pricing", "user_profile")
	s1 := ingest(t, s, v, profileCSV(t, "a.csv", seq(1, 10), 1))
	s2 := ingest(t, s, v, profileCSV(t, "b.csv", []int{3}, 2))
	fc := &flakyCatalog{Catalog: s.cat}
	s.cat = fc
	s.probe = nil // every fresh read goes through LoadTable
	s.InvalidateTable(v)

	// The catalog refuses twice, then answers.
	fc.failLoads.Store(2)
	if id := currentSnapshot(t, s, v); id != s2 || fc.loads.Load() != 3 {
		t.Errorf("CurrentSnapshot = %d after %d loads, want %d after 3", id, fc.loads.Load(), s2)
	}

	// The object store fails the first data file read twice.
	fc.failReads.Store(2)
	if got := lookupRows(t, s, v, 0, "3"); len(got) != 2 || fc.reads.Load() < 3 {
		t.Errorf("lookup: %v after %d reads", got, fc.reads.Load())
	}

	// Both at once, in Changes.
	s.InvalidateTable(v)
	fc.failLoads.Store(1)
	fc.failReads.Store(1)
	cs, rows := changes(t, s, v, s1, s2)
	if len(rows) != 1 || cs.FullRescan {
		t.Errorf("changes: %+v %v", cs, rows)
	}

	// A catalog that stays down: reads of the current snapshot keep using the
	// metadata last seen, past the max age...
	s.maxAge = time.Nanosecond
	fc.failLoads.Store(1 << 30)
	if got := lookupRows(t, s, v, 0, "3"); len(got) != 2 {
		t.Errorf("lookup with the catalog down and metadata cached: %v", got)
	}
	if _, _, err := s.CurrentSnapshot(ctx, v); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CurrentSnapshot with the catalog down: %v", err)
	}
	// ...but with nothing cached the error says so (the retries are bounded, so
	// the call returns rather than hanging; how fast is a benchmark's business).
	s.InvalidateTable(v)
	fc.failLoads.Store(1 << 30)
	_, err := s.LookupScan(ctx, v, 0, []string{"3"})
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("lookup with the catalog down: %v", err)
	}
	// ...also when the request deadline is shorter than the retries.
	dctx, cancel := context.WithTimeout(ctx, 25*time.Millisecond)
	defer cancel()
	if _, _, err := s.CurrentSnapshot(dctx, v); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CurrentSnapshot within a 25 ms deadline: %v", err)
	}

	// Errors that are not transient are not retried.
	fc.failLoads.Store(0)
	fc.loads.Store(0)
	if _, err := s.LookupScan(ctx, v, 999, []string{"3"}); !errors.Is(err, ErrNoSuchSnapshot) || fc.loads.Load() != 1 {
		t.Errorf("unknown snapshot: %v after %d loads", err, fc.loads.Load())
	}
}

// A REST catalog answering 503 twice is retried; 404 (no such table) is not.
func TestRESTServiceUnavailableIsRetried(t *testing.T) {
	var loads, failures atomic.Int64
	failures.Store(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/config":
			fmt.Fprint(w, `{"defaults":{},"overrides":{}}`)
		case strings.Contains(r.URL.Path, "/tables/"):
			loads.Add(1)
			if failures.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `{"error":{"message":"slow down","type":"ServiceUnavailableException","code":503}}`)
				return
			}
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"no table","type":"NoSuchTableException","code":404}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"not found","type":"NoSuchNamespaceException","code":404}}`)
		}
	}))
	defer srv.Close()
	s, err := Open(context.Background(), Config{Type: CatalogREST, URI: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v := view(t, "pricing", "user_profile")
	if _, ok, err := s.CurrentSnapshot(context.Background(), v); ok || err != nil || loads.Load() != 3 {
		t.Errorf("CurrentSnapshot = ok %v, err %v after %d loads; want a missing table after 3", ok, err, loads.Load())
	}
	loads.Store(0)
	if _, err := s.LookupScan(context.Background(), v, 0, []string{"1"}); !errors.Is(err, ErrNoSuchTable) || loads.Load() != 1 {
		t.Errorf("lookup in a missing table: %v after %d loads", err, loads.Load())
	}
}
