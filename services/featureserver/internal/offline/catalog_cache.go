package offline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go/table"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// The table cache keeps one loaded *table.Table per Iceberg identifier: its
// metadata (schemas, snapshots) and, inside iceberg-go's Table, the decoded
// manifest lists of the snapshots it has read. A point lookup then costs no
// catalog round trip and no metadata or manifest-list read.
//
// Rules:
//   - A read of a given snapshot id reuses a cached table whose metadata contains
//     that snapshot, whatever its age: a snapshot is immutable. A snapshot the
//     cached table does not know triggers one catalog load.
//   - A read of "the current snapshot" reuses the cached table if the catalog
//     confirmed it current less than MetadataMaxAge ago. While the catalog is
//     unreachable such reads keep using the cached table, however old.
//   - CurrentSnapshot, Snapshots, RefreshTable and every write ask the catalog
//     (with the SQL catalog, one indexed query tells whether the cached metadata
//     is still current, so an unchanged table is not re-read).
//   - A commit made through this Store replaces the cached table at once, so a
//     process reads its own writes; another writer's commits become visible to
//     current-snapshot reads within MetadataMaxAge.
//   - Concurrent loads of one table collapse into one catalog call.
//
// Cached tables are never mutated: callers get a shared pointer and only read it
// (iceberg-go's Scan and NewTransaction copy what they change).
type tableCache struct {
	mu      sync.Mutex
	entries map[string]*cachedTable
	flights map[string]*loadFlight
}

type cachedTable struct {
	tbl *table.Table
	// confirmed is when the catalog last said tbl was current.
	confirmed time.Time
}

// loadFlight is a catalog load in progress; waiters read tbl and err once done
// is closed.
type loadFlight struct {
	done chan struct{}
	tbl  *table.Table
	err  error
}

func cacheKey(ident table.Identifier) string { return strings.Join(ident, "\x00") }

// get returns the cached table and when it was confirmed current.
func (c *tableCache) get(key string) (*table.Table, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return e.tbl, e.confirmed
	}
	return nil, time.Time{}
}

// put records tbl as confirmed current at the given time, unless the cached
// table is newer (a commit of ours that landed while a slower load was reading
// older metadata), and returns the table now cached.
func (c *tableCache) put(key string, tbl *table.Table, confirmed time.Time) *table.Table {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cachedTable{}
	}
	e := c.entries[key]
	if e == nil {
		c.entries[key] = &cachedTable{tbl: tbl, confirmed: confirmed}
		return tbl
	}
	if !newer(e.tbl, tbl) {
		e.tbl = tbl
	}
	if confirmed.After(e.confirmed) {
		e.confirmed = confirmed
	}
	return e.tbl
}

func (c *tableCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}

// newer reports whether a holds strictly newer metadata of the same table than b.
func newer(a, b *table.Table) bool {
	ma, mb := a.Metadata(), b.Metadata()
	if ma.TableUUID() != mb.TableUUID() {
		return false
	}
	if ma.LastSequenceNumber() != mb.LastSequenceNumber() {
		return ma.LastSequenceNumber() > mb.LastSequenceNumber()
	}
	return ma.LastUpdatedMillis() > mb.LastUpdatedMillis()
}

// tableAt returns the view's table with metadata that holds snapshotID, or, for
// snapshotID 0, metadata confirmed current within MetadataMaxAge (or the last
// seen, while the catalog is unreachable). It does not check that snapshotID
// exists: a table reloaded for it may still lack it.
func (s *Store) tableAt(ctx context.Context, v *registry.FeatureView, snapshotID int64) (*table.Table, error) {
	tbl, confirmed := s.tables.get(cacheKey(Identifier(v)))
	if tbl != nil {
		if snapshotID != 0 && tbl.SnapshotByID(snapshotID) != nil {
			return tbl, nil
		}
		if snapshotID == 0 && s.maxAge > 0 && time.Since(confirmed) < s.maxAge {
			return tbl, nil
		}
	}
	fresh, err := s.freshTable(ctx, v)
	if err != nil && tbl != nil && snapshotID == 0 && errors.Is(err, ErrUnavailable) {
		// The catalog is down: a read of the current snapshot is served from
		// the metadata last seen rather than failed (the warehouse may well be
		// up), older than MetadataMaxAge for as long as the outage lasts.
		return tbl, nil
	}
	return fresh, err
}

// freshTable returns the view's table as the catalog has it now, collapsing
// concurrent loads of the same table into one. Errors wrap ErrNoSuchTable or
// ErrUnavailable where they apply.
func (s *Store) freshTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	ident := Identifier(v)
	key := cacheKey(ident)
	c := &s.tables
	for {
		c.mu.Lock()
		if f := c.flights[key]; f != nil {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// The load belonged to a caller whose context ended; ours has
			// not, so load again rather than fail with someone else's error.
			if f.err != nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue
			}
			return f.tbl, f.err
		}
		f := &loadFlight{done: make(chan struct{})}
		if c.flights == nil {
			c.flights = map[string]*loadFlight{}
		}
		c.flights[key] = f
		var cached *table.Table
		if e := c.entries[key]; e != nil {
			cached = e.tbl
		}
		c.mu.Unlock()

		start := time.Now()
		tbl, err := s.loadFromCatalog(ctx, ident, cached)
		switch {
		case err == nil:
			tbl = c.put(key, tbl, start)
		case errors.Is(err, ErrNoSuchTable):
			c.drop(key)
		}
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		f.tbl, f.err = tbl, err
		close(f.done)
		return tbl, err
	}
}

// loadFromCatalog loads the table, or returns cached when the catalog's probe
// says its metadata file is still the current one.
func (s *Store) loadFromCatalog(ctx context.Context, ident table.Identifier, cached *table.Table) (*table.Table, error) {
	if cached != nil && s.probe != nil {
		if loc, err := s.probe(ctx, ident); err == nil && loc == cached.MetadataLocation() {
			return cached, nil
		}
		// Any probe failure falls through to a full load, which classifies it.
	}
	tbl, err := s.cat.LoadTable(ctx, ident)
	if err != nil {
		return nil, classify(err)
	}
	return tbl, nil
}

// remember caches a table just committed through this Store, so the next read
// sees the commit without waiting for MetadataMaxAge.
func (s *Store) remember(v *registry.FeatureView, tbl *table.Table) {
	if tbl != nil {
		s.tables.put(cacheKey(Identifier(v)), tbl, time.Now())
	}
}

// RefreshTable reloads the view's table from the catalog into the cache and
// returns it, so the next reads of the current snapshot see every commit made
// before the call, whoever made it. Errors wrap ErrNoSuchTable or ErrUnavailable
// where they apply; transient errors are retried within the context's deadline.
func (s *Store) RefreshTable(ctx context.Context, v *registry.FeatureView) (*table.Table, error) {
	var tbl *table.Table
	err := retry(ctx, func(ctx context.Context) (err error) {
		tbl, err = s.freshTable(ctx, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("refresh table %s: %w", v.Source.Identifier(), err)
	}
	return tbl, nil
}

// InvalidateTable forgets the cached metadata of the view's table; the next
// read loads it from the catalog. Use it after changing the table behind the
// Store's back in a way its metadata cannot show (a table dropped and created
// again under the same name is detected by its UUID only at the next load).
func (s *Store) InvalidateTable(v *registry.FeatureView) {
	s.tables.drop(cacheKey(Identifier(v)))
}

// sqlProbe returns a function that reads a table's current metadata location
// straight from the SQL catalog's iceberg_tables, or nil for dialects whose
// placeholder syntax it does not know. It relies on iceberg-go's table layout;
// if that ever changes the query fails or finds nothing, and reads fall back to
// full loads, slower but still correct.
func sqlProbe(db *sql.DB, catalogName, dialect string) func(context.Context, table.Identifier) (string, error) {
	var q string
	switch dialect {
	case "sqlite", "mysql":
		q = "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?"
	case "postgres":
		q = "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3"
	default:
		return nil
	}
	return func(ctx context.Context, ident table.Identifier) (string, error) {
		if len(ident) != 2 || strings.Contains(ident[0], ".") {
			return "", errors.New("no probe for nested namespaces")
		}
		var loc sql.NullString
		if err := db.QueryRowContext(ctx, q, catalogName, ident[0], ident[1]).Scan(&loc); err != nil {
			return "", err
		}
		if !loc.Valid {
			return "", errors.New("no metadata location")
		}
		return loc.String, nil
	}
}
