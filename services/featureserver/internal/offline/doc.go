// Package offline is Floe's offline store: Apache Iceberg tables holding every
// feature value ever written. It is the single source of truth; the online store is
// derived from what this package commits, and time travel, training sets and
// replays read the snapshots it exposes.
//
// A Store talks to one Iceberg catalog: the SQL catalog on an embedded SQLite file
// (the default, no server needed) or a REST catalog (production, shared by every
// replica and every engine). Each feature view maps to the table of its source; its
// canonical Arrow layout is ArrowSchema.
//
// The files, by concern (the contract every catalog meets is in offlinetest):
//
//   - The store and its catalog: offline.go (Config, Open, the sentinel errors),
//     catalog_cache.go (loaded tables kept per identifier; current-snapshot
//     reads trust them for Config.MetadataMaxAge), catalog_retry.go (transient catalog and
//     object store errors retried with backoff), objectstores.go.
//   - The schema: schema.go (the canonical Arrow and Iceberg schemas of a view,
//     how a table's columns relate to the spec's), tables.go (creating tables
//     and evolving their schema as specs change).
//   - History: snapshots.go (current, listed, by id and as of a time).
//   - Reads: scan.go (a whole snapshot), normalize.go (what iceberg-go decodes,
//     turned into the canonical schema), lookup.go and lookup_fast.go (point
//     lookups of a few entities), scan_table.go (any table: entity rows for training data).
//   - Writes: ingest.go (commits: append, upsert, overwrite), ingest_csv.go,
//     ingest_parquet.go and ingest_values.go (reading and checking input files).
//   - Change detection: changes.go (ChangeSet: what changed between two
//     snapshots), changes_analysis.go (the overwrites and deletes of a range),
//     changes_diff.go (row fingerprints), changes_reader.go (the appended rows,
//     read one data file at a time).
package offline
