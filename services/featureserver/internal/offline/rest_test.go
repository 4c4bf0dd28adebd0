package offline

import (
	"context"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/testenv"
)

// openRESTStore opens a Store on the REST catalog server srv.
func openRESTStore(t testing.TB, srv *testenv.IcebergRESTServer) *Store {
	t.Helper()
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	s, err := Open(context.Background(), Config{Type: CatalogREST, URI: srv.URI(), Warehouse: srv.Warehouse()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// The offline store against a real Iceberg REST catalog server (Apache's fixture,
// on the JDBC catalog), beyond the contract suite (TestRESTCatalogContract):
// tables are placed in the server's warehouse, scans of the example data read
// back exactly what the SQL catalog would, and while the server is down every
// call fails with ErrUnavailable; once it is back the same Store works again and
// the table is still there.
func TestRESTCatalogServer(t *testing.T) {
	ctx := context.Background()
	srv := testenv.IcebergREST(t)
	s := openRESTStore(t, srv)
	v := view(t, "pricing", "user_behavior")

	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	tbl, err := s.EnsureTable(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	// The server placed the table in its warehouse, the disk this process writes
	// data files to.
	wh, _ := url.Parse(srv.Warehouse())
	if loc, err := url.Parse(tbl.Location()); err != nil || !strings.HasPrefix(loc.Path, wh.Path+"/") {
		t.Errorf("table location %s is not under the warehouse %s", tbl.Location(), srv.Warehouse())
	}

	example := exampleData(t, "pricing", time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 200)[v.Name]
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(data), "\n") - 1
	first, err := s.Ingest(ctx, v, example, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.Rows != int64(lines) || first.SnapshotID == 0 || first.Table != "pricing.user_behavior" {
		t.Fatalf("ingest result %+v, file has %d rows", first, lines)
	}
	if id := currentSnapshot(t, s, v); id != first.SnapshotID {
		t.Errorf("current snapshot %d, ingest said %d", id, first.SnapshotID)
	}
	rows := scanRows(t, s, v, 0)
	if len(rows) != lines {
		t.Fatalf("scanned %d rows, file has %d", len(rows), lines)
	}
	// Exactly what the SQL catalog reads back from the same file.
	ref := newStore(t)
	refRes, err := ref.Ingest(ctx, v, example, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := scanRows(t, ref, v, refRes.SnapshotID); !reflect.DeepEqual(rows, want) {
		for i := range rows {
			if !reflect.DeepEqual(rows[i], want[i]) {
				t.Errorf("REST scan differs from the SQL catalog's scan of the same file at row %d:\n got %v\nwant %v", i, rows[i], want[i])
				break
			}
		}
	}

	second, err := s.Ingest(ctx, v, writeFile(t, "behavior.csv", behaviorCSV), nil)
	if err != nil {
		t.Fatal(err)
	}
	if id := currentSnapshot(t, s, v); id != second.SnapshotID {
		t.Fatalf("current snapshot %d, want the second ingest's %d", id, second.SnapshotID)
	}

	// Catalog down. Reads retry transient errors until their deadline, so each
	// call gets a short one; what matters is the class of the error it ends with.
	srv.Stop(t)
	const deadline = 2 * time.Second
	downCall := func(what string, call func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, deadline)
		defer cancel()
		err := call(ctx)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with the catalog down: %v, want ErrUnavailable", what, err)
		}
	}
	downCall("Ping", s.Ping)
	downCall("CurrentSnapshot", func(ctx context.Context) error { _, _, err := s.CurrentSnapshot(ctx, v); return err })
	downCall("Snapshots", func(ctx context.Context) error { _, err := s.Snapshots(ctx, v); return err })
	downCall("Ingest", func(ctx context.Context) error {
		_, err := s.Ingest(ctx, v, writeFile(t, "more.csv", behaviorCSV), nil)
		return err
	})

	// Back up: the same Store recovers, and the server kept the table.
	srv.Restart(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	if id := currentSnapshot(t, s, v); id != second.SnapshotID {
		t.Errorf("current snapshot after restart %d, want %d", id, second.SnapshotID)
	}
	if got := scanRows(t, s, v, 0); len(got) != lines+4 {
		t.Errorf("scan after restart: %d rows, want %d", len(got), lines+4)
	}
	third, err := s.Ingest(ctx, v, writeFile(t, "after.csv", behaviorCSV), nil)
	if err != nil {
		t.Fatalf("ingest after restart: %v", err)
	}
	if snaps, err := s.Snapshots(ctx, v); err != nil || len(snaps) != 3 || snaps[2].ID != third.SnapshotID || snaps[2].ParentID != second.SnapshotID {
		t.Errorf("snapshots after restart: %+v, %v", snaps, err)
	}
}
