package offline_test

import (
	"context"
	"path/filepath"
	"testing"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/offline/offlinetest"
	"floe.dev/floe/services/featureserver/testenv"
)

// open opens a Store and closes it when the test ends.
func open(t *testing.T, cfg offline.Config) *offline.Store {
	t.Helper()
	s, err := offline.Open(context.Background(), cfg)
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

// The contract against the SQL catalog on SQLite: a fresh catalog and warehouse
// per subtest.
func TestSQLCatalogContract(t *testing.T) {
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	offlinetest.Run(t, func(t *testing.T) *offline.Store {
		dir := t.TempDir()
		return open(t, offline.Config{
			URI:       "file:" + filepath.Join(dir, "catalog.db"),
			Warehouse: "file://" + filepath.Join(dir, "warehouse"),
		})
	})
}

// The contract against a real Iceberg REST catalog server, shared by the
// subtests (each works in its own namespace), a fresh Store per subtest.
func TestRESTCatalogContract(t *testing.T) {
	srv := testenv.IcebergREST(t)
	t.Setenv("GOICEBERG_HOME", t.TempDir())
	offlinetest.Run(t, func(t *testing.T) *offline.Store {
		return open(t, offline.Config{Type: offline.CatalogREST, URI: srv.URI(), Warehouse: srv.Warehouse()})
	})
}
