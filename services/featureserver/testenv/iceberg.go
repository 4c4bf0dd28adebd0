package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Environment variables for the Iceberg REST catalog server.
const (
	// EnvIcebergRESTURI is the base URL ("http://host:8181") of a REST catalog the
	// environment already runs; IcebergREST returns it instead of starting one.
	// Tests that share it must keep to namespaces and tables of their own.
	EnvIcebergRESTURI = "FLOE_TEST_ICEBERG_REST_URI"
	// EnvIcebergRESTWarehouse is the warehouse of the server EnvIcebergRESTURI
	// names, as a URL the test process can read too (file:///shared/dir, s3://...).
	EnvIcebergRESTWarehouse = "FLOE_TEST_ICEBERG_REST_WAREHOUSE"
	// EnvIcebergRESTJar is the path of the fixture's runtime jar for the Local
	// backend, overriding the copy scripts/fetch-rest-fixture.sh puts in the local
	// Maven repository.
	EnvIcebergRESTJar = "FLOE_ICEBERG_REST_JAR"
	// EnvIcebergRESTImage overrides the image the Docker backend runs.
	EnvIcebergRESTImage = "FLOE_TEST_ICEBERG_REST_IMAGE"
)

// IcebergRESTVersion is the Apache Iceberg release whose REST catalog fixture the
// harness runs: the jar org.apache.iceberg:iceberg-open-api:1.10.0 (the main
// artifact is the self-contained server; its "test-fixtures" classifier is not) on
// the Local backend, and the image apache/iceberg-rest-fixture:1.10.0 on Docker.
// Apache published the runtime jar from 1.8.0 through 1.10.x only.
const IcebergRESTVersion = "1.10.0"

// fetchRESTFixture is the remedy printed when the Local backend finds no jar.
const fetchRESTFixture = "run scripts/fetch-rest-fixture.sh (it fetches org.apache.iceberg:iceberg-open-api:" +
	IcebergRESTVersion + " into ~/.m2 with mvn), or set " + EnvIcebergRESTJar + " to the jar"

// IcebergRESTServer is Apache Iceberg's REST catalog test fixture
// (org.apache.iceberg.rest.RESTCatalogServer), a real REST catalog server, started
// for a test and stopped when the test ends. It is backed by Iceberg's JDBC catalog
// on a SQLite file and a file:// warehouse, both in a directory of the test's, so
// Restart keeps every namespace and table, and the warehouse is local disk that the
// server and the test process both read and write (the Docker backend mounts it in
// the container at the same path).
type IcebergRESTServer struct {
	uri       string
	warehouse string
	// inst controls the server; nil when the environment provided it.
	inst icebergInstance
}

// icebergInstance is what each backend implements to control one server.
type icebergInstance interface {
	// stop stops the server; its port stays reserved for start.
	stop(ctx context.Context) error
	// start starts a stopped server again at the same URI, on the same catalog
	// database and warehouse, and waits until it answers.
	start(ctx context.Context) error
}

// icebergFiles is where a harness-started server keeps its state.
type icebergFiles struct {
	dir       string // the test's directory for the server
	warehouse string // absolute path of the warehouse directory
	catalogDB string // absolute path of the SQLite catalog database
}

func newIcebergFiles(tb testing.TB) icebergFiles {
	tb.Helper()
	dir := tb.TempDir()
	// The SQLite JDBC driver and the fixture need absolute paths; TempDir's are.
	f := icebergFiles{
		dir:       dir,
		warehouse: filepath.Join(dir, "warehouse"),
		catalogDB: filepath.Join(dir, "catalog.db"),
	}
	if err := os.MkdirAll(f.warehouse, 0o755); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return f
}

// catalogEnv is the fixture's configuration: every CATALOG_* variable becomes a
// catalog property (CATALOG_CATALOG__IMPL is catalog-impl), and CATALOG_REST_PORT
// is the port it listens on. The JDBC catalog on a SQLite file is what makes state
// survive a restart; the fixture's default is an in-memory database. CATALOG_CLIENTS
// is the JDBC connection pool's size: with the default of two, a commit on one
// connection while the other reads fails with SQLITE_BUSY ("UncheckedSQLException:
// Unknown failure" to the client), as a server polling the catalog while a test
// ingests made it do. One connection serializes the catalog's statements instead.
func (f icebergFiles) catalogEnv(port int) map[string]string {
	return map[string]string{
		"CATALOG_CATALOG__IMPL": "org.apache.iceberg.jdbc.JdbcCatalog",
		"CATALOG_CLIENTS":       "1",
		"CATALOG_URI":           "jdbc:sqlite:file:" + f.catalogDB,
		"CATALOG_WAREHOUSE":     "file://" + f.warehouse,
		"CATALOG_REST_PORT":     fmt.Sprint(port),
	}
}

// IcebergREST starts an Iceberg REST catalog server for the test (or returns the one
// FLOE_TEST_ICEBERG_REST_URI names) and waits until it answers GET /v1/config. It
// fails the test if none can be started; on the Local backend that needs java
// (17+) and the fixture jar (see scripts/fetch-rest-fixture.sh).
func IcebergREST(tb testing.TB) *IcebergRESTServer {
	tb.Helper()
	if uri := os.Getenv(EnvIcebergRESTURI); uri != "" {
		return &IcebergRESTServer{uri: strings.TrimRight(uri, "/"), warehouse: os.Getenv(EnvIcebergRESTWarehouse)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var srv *IcebergRESTServer
	switch SelectedBackend(tb) {
	case Docker:
		srv = startDockerIcebergREST(ctx, tb)
	default:
		srv = startLocalIcebergREST(ctx, tb)
	}
	logBackend(tb, "Iceberg REST catalog at "+srv.uri+" (warehouse "+srv.warehouse+")")
	return srv
}

// URI returns the server's base URL, "http://127.0.0.1:PORT", the URI of an
// Iceberg REST catalog (clients append /v1/...).
func (s *IcebergRESTServer) URI() string {
	return s.uri
}

// Warehouse returns the server's warehouse as a URL, "file:///abs/dir" for a
// server the harness started. The directory is local disk shared by the server and
// the test process, so a client that writes data files itself (iceberg-go,
// pyiceberg) and the server that writes table metadata agree on every path.
func (s *IcebergRESTServer) Warehouse() string {
	return s.warehouse
}

// Stop stops the server, for tests of how clients behave when the catalog is down;
// its port stays reserved for Restart and its catalog database and warehouse stay
// on disk. A server the environment provided cannot be stopped, so Stop skips the
// test.
func (s *IcebergRESTServer) Stop(tb testing.TB) {
	tb.Helper()
	if s.inst == nil {
		tb.Skipf("testenv: the Iceberg REST catalog at %s comes from %s and cannot be stopped", s.uri, EnvIcebergRESTURI)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.inst.stop(ctx); err != nil {
		tb.Fatalf("testenv: stop Iceberg REST catalog at %s: %v", s.uri, err)
	}
}

// Restart starts a stopped server again at the same URI and waits until it answers.
// Unlike a restarted Redis it keeps its state: every namespace, table and snapshot
// committed before Stop is still there.
func (s *IcebergRESTServer) Restart(tb testing.TB) {
	tb.Helper()
	if s.inst == nil {
		tb.Skipf("testenv: the Iceberg REST catalog at %s comes from %s and cannot be restarted", s.uri, EnvIcebergRESTURI)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.inst.start(ctx); err != nil {
		tb.Fatalf("testenv: restart Iceberg REST catalog at %s: %v", s.uri, err)
	}
}

// readyClient makes the readiness checks; no connection outlives a check, so none
// is left to a server that is then stopped.
var readyClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// icebergReady checks that a REST catalog answers GET /v1/config with 200, which
// the fixture does only once its backing catalog is initialized and Jetty serves.
func icebergReady(ctx context.Context, uri string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri+"/v1/config", nil)
	if err != nil {
		return err
	}
	resp, err := readyClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/config: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// icebergWaitReady polls icebergReady until it passes; dead, if not nil, reports a
// server that has died.
func icebergWaitReady(ctx context.Context, uri string, dead func() error) error {
	return poll(ctx, func(ctx context.Context) error { return icebergReady(ctx, uri) }, dead)
}

// icebergStopTimeout bounds a graceful container stop; the fixture holds nothing
// that needs one (SQLite commits are durable), so it is short.
const icebergStopTimeout = 5 * time.Second
