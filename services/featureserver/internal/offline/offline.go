package offline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/uptrace/bun/driver/sqliteshim"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Sentinel errors, checked with errors.Is. Every error this package returns that
// falls in one of these classes wraps the sentinel, so callers map them to RPC
// codes or exit statuses without parsing messages.
var (
	// ErrSchemaMismatch means a file or an existing table does not have the
	// columns and types the view's spec declares.
	ErrSchemaMismatch = errors.New("schema does not match the feature view spec")
	// ErrInvalidData means a value in an ingested file could not be used: it does
	// not parse, a join key or event time is null, or a vector has the wrong length.
	ErrInvalidData = errors.New("invalid data")
	// ErrNoSuchTable means the view's Iceberg table (or its namespace) does not
	// exist yet. Errors of this class also match iceberg-go's catalog.ErrNoSuchTable.
	ErrNoSuchTable = errors.New("no such table")
	// ErrNoSuchSnapshot means a snapshot id is not (or no longer) in the table's
	// metadata, for instance after snapshot expiry.
	ErrNoSuchSnapshot = errors.New("no such snapshot")
	// ErrUnavailable means the catalog or the warehouse could not be reached, a
	// condition worth retrying, unlike the other classes.
	ErrUnavailable = errors.New("offline store unavailable")
)

// Catalog types accepted in Config.Type.
const (
	CatalogSQL  = "sql"
	CatalogREST = "rest"
)

// DefaultCatalogName is the name the catalog records tables under when
// Config.Name is empty. The SQL catalog stores it in every row, so another engine
// (pyiceberg, Spark) opening the same database must use the same name to see
// Floe's tables.
const DefaultCatalogName = "floe"

// Config selects and configures the Iceberg catalog: the "catalog" section of
// the configuration file. The yaml tag names each key, the env tag the
// environment variable that overrides it; internal/config documents, defaults
// and validates them.
type Config struct {
	// Type is "sql" (the default: an embedded SQLite file, no server) or "rest".
	Type string `yaml:"type" env:"FLOE_CATALOG_TYPE"`
	// URI locates the catalog. For sql, a SQLite path or "file:" URI such as
	// "file:/abs/.floe/catalog.db" (its directory is created). For rest, the
	// server's base URL such as "http://localhost:8181".
	URI string `yaml:"uri" env:"FLOE_CATALOG_URI"`
	// Warehouse is where table data and metadata files go, such as
	// "file:///abs/.floe/warehouse" or "s3://bucket/prefix". A plain path is taken
	// as a local directory. Required for sql; for rest the server may supply it.
	Warehouse string `yaml:"warehouse" env:"FLOE_CATALOG_WAREHOUSE"`
	// Name is the catalog's name; empty means DefaultCatalogName.
	Name string `yaml:"name" env:"FLOE_CATALOG_NAME"`
	// Properties are passed through to the catalog and its file IO (credentials,
	// "s3.endpoint", "s3.region", "sql.driver"/"sql.dialect" for a non-SQLite SQL
	// catalog, REST "credential"/"token"/"prefix", ...).
	Properties map[string]string `yaml:"properties" env:"FLOE_CATALOG_PROPERTIES"`
	// MetadataMaxAge bounds how old the cached table metadata may be when a read
	// asks for the current snapshot (LookupScan, Scan and SnapshotAsOf without a
	// snapshot id, RecentSnapshot). Zero means DefaultMetadataMaxAge; a negative
	// value reloads the table from the catalog on every such read. Reads of a
	// given snapshot id reuse cached metadata that contains it whatever its age,
	// and while the catalog is unreachable current-snapshot reads use the last
	// metadata seen rather than fail.
	MetadataMaxAge time.Duration `yaml:"metadata_max_age" env:"FLOE_CATALOG_METADATA_MAX_AGE"`
	// MaxAffectedEntities is how many affected entities Changes lists before it
	// gives up and asks for a full rescan instead (re-reading that many entities
	// one lookup at a time costs more than one scan). Zero means
	// DefaultMaxAffectedEntities; negative means no limit.
	MaxAffectedEntities int `yaml:"max_affected_entities" env:"FLOE_CATALOG_MAX_AFFECTED_ENTITIES"`
}

// DefaultMetadataMaxAge is Config.MetadataMaxAge when unset.
const DefaultMetadataMaxAge = time.Second

// DefaultMaxAffectedEntities is Config.MaxAffectedEntities when unset.
const DefaultMaxAffectedEntities = 100_000

// Store is the offline store: one Iceberg catalog and the feature tables in it.
// It is safe for concurrent use.
type Store struct {
	cat catalog.Catalog
	db  *sql.DB // owned by the Store for the sql catalog, nil for rest

	// tables caches loaded tables (metadata, manifest lists) per Iceberg
	// identifier between reads; see cache.go.
	tables tableCache
	// plans caches the file plans of recently read snapshots; see lookup.go.
	plans planCache
	// footers caches data file footers for the lookup fast path; see
	// fastlookup.go. noFastPath turns that path off (tests compare the two).
	footers    fileMetaCache
	noFastPath bool
	// maxAge is Config.MetadataMaxAge resolved.
	maxAge time.Duration
	// maxAffected is Config.MaxAffectedEntities resolved (negative: no limit).
	maxAffected int
	// probe, when set, answers the table's current metadata location with one
	// cheap catalog query, so a fresh read can keep a cached table that is still
	// current instead of re-reading its metadata file. Only the SQL catalog has one.
	probe func(ctx context.Context, ident table.Identifier) (string, error)
}

// assemble finishes a Store around an opened catalog.
func assemble(cat catalog.Catalog, db *sql.DB, cfg Config) *Store {
	s := &Store{cat: cat, db: db, maxAge: cfg.MetadataMaxAge, maxAffected: cfg.MaxAffectedEntities}
	if s.maxAge == 0 {
		s.maxAge = DefaultMetadataMaxAge
	}
	if s.maxAffected == 0 {
		s.maxAffected = DefaultMaxAffectedEntities
	}
	return s
}

// Open connects to the catalog described by cfg and checks that it answers. For
// the SQL catalog it creates the SQLite file's directory, a local warehouse
// directory, and the catalog tables on first use.
//
// Open never reads ~/.iceberg-go.yaml (or $GOICEBERG_HOME) into the catalog
// settings: every setting iceberg-go would take from there is given explicitly, so
// the same config behaves the same on every machine.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	kind := strings.ToLower(strings.TrimSpace(cfg.Type))
	if kind == "" {
		kind = CatalogSQL
	}
	name := cfg.Name
	if name == "" {
		name = DefaultCatalogName
	}
	switch kind {
	case CatalogSQL:
		return openSQL(ctx, name, cfg)
	case CatalogREST:
		return openREST(ctx, name, cfg)
	default:
		return nil, fmt.Errorf("offline store: unknown catalog type %q (use %q or %q)", cfg.Type, CatalogSQL, CatalogREST)
	}
}

func openSQL(ctx context.Context, name string, cfg Config) (*Store, error) {
	if strings.TrimSpace(cfg.URI) == "" {
		return nil, errors.New(`offline store: sql catalog needs a URI, such as "file:/abs/.floe/catalog.db"`)
	}
	if strings.TrimSpace(cfg.Warehouse) == "" {
		return nil, errors.New(`offline store: sql catalog needs a warehouse, such as "file:///abs/.floe/warehouse"`)
	}
	warehouse, err := normalizeWarehouse(cfg.Warehouse)
	if err != nil {
		return nil, err
	}
	props := iceberg.Properties{}
	for k, v := range cfg.Properties {
		props[k] = v
	}
	props["warehouse"] = warehouse
	props["init_catalog_tables"] = "true"

	// A driver named in the properties (pgx, mysql, ...) takes the URI as its DSN
	// unchanged; only SQLite gets its path prepared and its pragmas set here.
	driver, dialect := props[sqlcat.DriverKey], props[sqlcat.DialectKey]
	dsn := cfg.URI
	if driver == "" {
		if dialect != "" && dialect != string(sqlcat.SQLite) {
			return nil, fmt.Errorf("offline store: %s=%q needs %s naming a registered database/sql driver", sqlcat.DialectKey, dialect, sqlcat.DriverKey)
		}
		driver, dialect = sqliteshim.ShimName, string(sqlcat.SQLite)
		if dsn, err = sqliteDSN(cfg.URI); err != nil {
			return nil, err
		}
	} else if dialect == "" {
		return nil, fmt.Errorf("offline store: %s=%q needs %s (sqlite, postgres, mysql, mssql or oracle)", sqlcat.DriverKey, driver, sqlcat.DialectKey)
	}
	props[sqlcat.DriverKey], props[sqlcat.DialectKey] = driver, dialect

	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("offline store: open sql catalog %s: %w", cfg.URI, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("offline store: open sql catalog %s: %w", cfg.URI, unavailable(err))
	}
	// NewCatalog rather than catalog.Load: Load merges ~/.iceberg-go.yaml into the
	// properties, and the handle stays ours so Close can release it.
	cat, err := sqlcat.NewCatalog(name, db, sqlcat.SupportedDialect(dialect), props)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("offline store: open sql catalog %s: %w", cfg.URI, classify(err))
	}
	s := assemble(cat, db, cfg)
	s.probe = sqlProbe(db, name, dialect)
	return s, nil
}

// sqliteDSN turns a SQLite path or file: URI into a DSN for the registered driver,
// creating the file's directory. WAL and a busy timeout let the server, a
// concurrent `floe ingest` and the materializer share the file instead of failing
// with "database is locked"; they go in the DSN so every pooled connection has them.
func sqliteDSN(uri string) (string, error) {
	path, query, _ := strings.Cut(uri, "?")
	switch {
	case strings.HasPrefix(path, "file://"):
		path = strings.TrimPrefix(path, "file://")
	case strings.HasPrefix(path, "file:"):
		path = strings.TrimPrefix(path, "file:")
	case strings.HasPrefix(path, "sqlite://"), strings.HasPrefix(path, "sql://"):
		_, path, _ = strings.Cut(path, "://")
	}
	if path == "" || strings.Contains(path, ":memory:") {
		return "", fmt.Errorf("offline store: sql catalog URI %q must name a SQLite file, such as \"file:/abs/.floe/catalog.db\"", uri)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("offline store: sql catalog URI %q: %w", uri, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return "", fmt.Errorf("offline store: create directory of sql catalog %s: %w", abs, err)
	}
	params := url.Values{}
	if query != "" {
		if params, err = url.ParseQuery(query); err != nil {
			return "", fmt.Errorf("offline store: sql catalog URI %q: %w", uri, err)
		}
	}
	switch sqliteshim.DriverName() {
	case "sqlite": // modernc.org/sqlite
		if !strings.Contains(query, "busy_timeout") {
			params.Add("_pragma", "busy_timeout(10000)")
		}
		if !strings.Contains(query, "journal_mode") {
			params.Add("_pragma", "journal_mode(WAL)")
		}
	case "sqlite3": // mattn/go-sqlite3
		if !params.Has("_busy_timeout") {
			params.Set("_busy_timeout", "10000")
		}
		if !params.Has("_journal_mode") {
			params.Set("_journal_mode", "WAL")
		}
	}
	return "file:" + abs + "?" + params.Encode(), nil
}

// normalizeWarehouse returns the warehouse as a URL, turning a plain path into a
// file:// URL, and creates a local warehouse directory so the first write does not
// fail on a missing parent.
func normalizeWarehouse(w string) (string, error) {
	w = strings.TrimRight(strings.TrimSpace(w), "/")
	if !strings.Contains(w, "://") {
		p := strings.TrimPrefix(w, "file:")
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("offline store: warehouse %q: %w", w, err)
		}
		w = "file://" + filepath.ToSlash(abs)
	}
	u, err := url.Parse(w)
	if err != nil {
		return "", fmt.Errorf("offline store: warehouse %q is not a URL: %w", w, err)
	}
	if u.Scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("offline store: warehouse %q: a file:// warehouse needs an absolute path (file:///abs/dir)", w)
		}
		if err := os.MkdirAll(u.Path, 0o755); err != nil {
			return "", fmt.Errorf("offline store: create warehouse %s: %w", u.Path, err)
		}
	}
	return w, nil
}

func openREST(ctx context.Context, name string, cfg Config) (*Store, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URI))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("offline store: rest catalog needs an http(s) URI such as \"http://localhost:8181\", got %q", cfg.URI)
	}
	props := iceberg.Properties{}
	for k, v := range cfg.Properties {
		props[k] = v
	}
	// catalog.Load fills exactly these four keys from ~/.iceberg-go.yaml when they
	// are absent; setting each (even to "") keeps the home directory out of it.
	props["type"] = CatalogREST
	props["uri"] = strings.TrimRight(u.String(), "/")
	props["warehouse"] = ""
	if cfg.Warehouse != "" {
		if props["warehouse"], err = normalizeWarehouse(cfg.Warehouse); err != nil {
			return nil, err
		}
	}
	if _, ok := props["credential"]; !ok {
		props["credential"] = ""
	}
	// Load rather than rest.NewCatalog so every property (token, credential,
	// sigv4, prefix, header.*) is interpreted exactly as iceberg-go documents it.
	cat, err := catalog.Load(ctx, name, props)
	if err != nil {
		return nil, fmt.Errorf("offline store: open rest catalog %s: %w", cfg.URI, classify(err))
	}
	return assemble(cat, nil, cfg), nil
}

// Close releases the catalog's connections.
func (s *Store) Close() error {
	var err error
	if c, ok := s.cat.(catalog.Closer); ok {
		err = c.Close()
	}
	if s.db != nil {
		err = errors.Join(err, s.db.Close())
	}
	return err
}

// Ping reports whether the catalog answers, for readiness probes. Errors wrap
// ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if s.db != nil {
		if err := s.db.PingContext(ctx); err != nil {
			return fmt.Errorf("offline store: ping: %w", unavailable(err))
		}
	}
	if _, err := s.cat.ListNamespaces(ctx, nil); err != nil {
		return fmt.Errorf("offline store: ping: %w", unavailable(err))
	}
	return nil
}

// Catalog returns the underlying iceberg-go catalog, for the readers (training
// sets, decision log) that need Iceberg features this package does not wrap.
func (s *Store) Catalog() catalog.Catalog { return s.cat }

// Identifier returns the Iceberg identifier of the view's table.
func Identifier(v *registry.FeatureView) table.Identifier {
	return table.Identifier{v.Source.Namespace, v.Source.Table}
}

// LoadTable loads the view's table as the catalog has it now (and refreshes the
// Store's cached copy with it). Errors wrap ErrNoSuchTable when it (or its
// namespace) does not exist. The table returned is shared: read it, or start
// transactions from it, but never call its Refresh.
func (s *Store) LoadTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	tbl, err := s.freshTable(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("load table %s: %w", v.Source.Identifier(), err)
	}
	return tbl, nil
}

// classify wraps err in the package's sentinels where iceberg-go or the transport
// says what class it is, keeping the original in the chain.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrNoSuchTable), errors.Is(err, catalog.ErrNoSuchNamespace):
		if errors.Is(err, ErrNoSuchTable) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrNoSuchTable, err)
	case isUnavailable(err):
		return unavailable(err)
	}
	return err
}

func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// isUnavailable recognizes transport failures: refused or timed-out connections,
// DNS failures, a REST catalog answering 5xx, and SQLite files that cannot be
// opened. Context cancellation is the caller's doing and is left alone.
func isUnavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	var urlErr *url.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &netErr), errors.As(err, &urlErr), errors.As(err, &opErr), errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH):
		return true
	case errors.Is(err, rest.ErrServiceUnavailable), errors.Is(err, rest.ErrServerError):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "unable to open database") || strings.Contains(msg, "database is locked")
}
