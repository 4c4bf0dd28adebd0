package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"floe.dev/floe/services/featureserver/internal/fit"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/server"
	"floe.dev/floe/services/featureserver/internal/transform"
)

func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fit", stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	var pins stringList
	fs.Var(&pins, "snapshot", "pin a table's snapshot, as namespace.table=ID (repeatable; default: each table's current snapshot)")
	dryRun := fs.Bool("dry-run", false, "print the fitted parameters without writing lock files")
	if err := parse(fs, args); err != nil {
		return err
	}
	snaps := map[string]int64{}
	for _, p := range pins {
		table, id, ok := strings.Cut(p, "=")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || table == "" {
			return fmt.Errorf("%w: --snapshot %q: want namespace.table=ID (floe snapshots --view V lists them)", errUsage, p)
		}
		snaps[table] = n
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	files, err := registry.ReadDir(cfg.Specs)
	if err != nil {
		return err
	}
	store, err := offline.Open(ctx, server.OfflineConfig(cfg))
	if err != nil {
		return err
	}
	defer store.Close()
	bars := map[string]*progress{}
	report := func(table string, rows int64) {
		if bars[table] == nil {
			bars[table] = newProgress(stderr, "reading "+table)
		}
		bars[table].rows(rows)
	}
	locks, err := fit.Fit(ctx, files, store, fit.Options{Snapshots: snaps, Progress: report}, !*dryRun)
	if errors.Is(err, fit.ErrNothingToFit) {
		return fmt.Errorf("%w in %s (mark a standardize, min_max, bucketize or lookup step fitted: true)", err, cfg.Specs)
	}
	if err != nil {
		return err
	}
	for _, l := range locks {
		verb := "wrote"
		if *dryRun {
			verb = "would write"
		}
		fmt.Fprintf(stdout, "%s %s from", verb, l.Path)
		for _, t := range slices.Sorted(maps.Keys(l.Snapshots)) {
			fmt.Fprintf(stdout, " %s@%d", t, l.Snapshots[t])
		}
		fmt.Fprintln(stdout)
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  SERVICE\tFEATURE\tSTEP\tVALUES\tPARAMETERS")
		for _, p := range l.Params {
			fmt.Fprintf(w, "  %s\t%s\t%d\t%d\t%s\n", p.Service, p.Output, p.Step, p.Rows, summary(p.Fitted))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// summary shortens long vocabularies and boundary lists for the terminal.
func summary(s transform.Step) string {
	switch {
	case s.Op == transform.OpLookup && len(s.Vocabulary) > 8:
		return fmt.Sprintf("lookup(%d values: %q …)", len(s.Vocabulary), s.Vocabulary[:8])
	case s.Op == transform.OpBucketize && len(s.Boundaries) > 8:
		return fmt.Sprintf("bucketize(%d boundaries: %v …)", len(s.Boundaries), s.Boundaries[:8])
	}
	return s.String()
}
