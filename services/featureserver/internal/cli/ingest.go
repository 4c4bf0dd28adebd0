package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", stderr)
	cfgPath := addConfigFlags(fs)
	view := fs.String("view", "", "feature view to ingest into (required)")
	file := fs.String("file", "", "CSV or Parquet file to ingest (required)")
	modeName := fs.String("mode", "append", "append (add the rows) or upsert (the rows replace every existing row of their entities, in one snapshot)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *view == "" || *file == "" {
		return fmt.Errorf("%w: --view and --file are required", errUsage)
	}
	mode, err := offline.ParseIngestMode(*modeName)
	if err != nil {
		return fmt.Errorf("%w: --mode: %v", errUsage, err)
	}
	v, store, err := openView(ctx, cfgPath, *view)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	progress := newProgress(stderr, "ingest "+v.Name)
	res, err := store.IngestWithOptions(ctx, v, *file, offline.IngestOptions{Mode: mode, Progress: progress.rows})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "committed %d rows to %s as snapshot %d in %s\n", res.Rows, res.Table, res.SnapshotID, time.Since(start).Round(time.Millisecond))
	return nil
}

// openView loads the configuration and specs, resolves a feature view by name and
// opens the offline store: what every command about one view's table needs.
func openView(ctx context.Context, cfgPath *configSource, name string) (*registry.FeatureView, *offline.Store, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	reg, err := registry.LoadDirForData(cfg.Specs)
	if err != nil {
		return nil, nil, err
	}
	v, ok := reg.FeatureView(name)
	if !ok {
		return nil, nil, fmt.Errorf("%w: unknown feature view %q (defined: %s)", errUsage, name, viewNames(reg))
	}
	store, err := offline.Open(ctx, cfg.Catalog)
	if err != nil {
		return nil, nil, err
	}
	return v, store, nil
}

func viewNames(reg *registry.Registry) string {
	s := ""
	for i, v := range reg.FeatureViews {
		if i > 0 {
			s += ", "
		}
		s += v.Name
	}
	return s
}
