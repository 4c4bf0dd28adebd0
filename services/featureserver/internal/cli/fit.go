package cli

import (
	"bytes"
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
	"floe.dev/floe/services/featureserver/internal/transform"
)

func runFit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fit", stderr)
	cfgPath := addConfigFlags(fs)
	var pins stringList
	fs.Var(&pins, "snapshot", "pin a table's snapshot, as namespace.table=ID (repeatable; default: each table's current snapshot)")
	dryRun := fs.Bool("dry-run", false, "print the fitted parameters without writing lock files")
	check := fs.Bool("check", false, "refit from the snapshots each lock file records and fail unless every lock is reproduced exactly (writes nothing; for CI)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *check && (len(pins) > 0 || *dryRun) {
		return fmt.Errorf("%w: --check refits from the snapshots the lock files record; it takes no --snapshot or --dry-run", errUsage)
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
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	files, err := registry.ReadDir(cfg.Specs)
	if err != nil {
		return err
	}
	store, err := offline.Open(ctx, cfg.Catalog)
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
	if *check {
		return checkLocks(ctx, cfg.Specs, files, store, report, stdout)
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

// summary shortens long list parameters (vocabularies, boundaries) for the terminal.
func summary(s transform.Step) string {
	const show = 8
	short := transform.Args{}
	var long []string
	for name, v := range s.Args {
		switch xs := v.(type) {
		case []string:
			if len(xs) > show {
				short[name] = xs[:show]
				long = append(long, fmt.Sprintf("%s: %d values", name, len(xs)))
				continue
			}
		case []float64:
			if len(xs) > show {
				short[name] = xs[:show]
				long = append(long, fmt.Sprintf("%s: %d values", name, len(xs)))
				continue
			}
		}
		short[name] = v
	}
	if len(long) == 0 {
		return s.String()
	}
	slices.Sort(long)
	return transform.Step{Op: s.Op, Args: short}.String() + " … (" + strings.Join(long, ", ") + ")"
}

// checkLocks refits every spec with fitted steps from the snapshots its lock file
// records, without writing, and compares the result with the lock on disk (all but
// its fitted_at stamp). It fails naming each lock that is missing, stale (the spec
// changed since), differs, or can no longer be reproduced because a snapshot it
// records has expired.
func checkLocks(ctx context.Context, dir string, files map[string][]byte, store *offline.Store, progress func(string, int64), stdout io.Writer) error {
	pins := map[string]int64{}
	pinnedBy := map[string]string{}
	var lockPaths []string
	for path, content := range files {
		if !registry.IsLockPath(path) {
			continue
		}
		lockPaths = append(lockPaths, path)
		snaps, err := registry.LockSnapshots(content)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for table, id := range snaps {
			if prev, ok := pins[table]; ok && prev != id {
				return fmt.Errorf("%s and %s were fitted on different snapshots of %s (%d and %d); --check refits every spec from one snapshot per table: refit them together with floe fit",
					pinnedBy[table], path, table, prev, id)
			}
			pins[table], pinnedBy[table] = id, path
		}
	}
	slices.Sort(lockPaths)
	locks, err := fit.Fit(ctx, files, store, fit.Options{Snapshots: pins, Progress: progress}, false)
	switch {
	case errors.Is(err, fit.ErrNothingToFit):
		if len(lockPaths) > 0 {
			return fmt.Errorf("no step in %s is marked fitted: true, yet %s exist: delete them", dir, strings.Join(lockPaths, ", "))
		}
		return fmt.Errorf("%w in %s", err, dir)
	case errors.Is(err, offline.ErrNoSuchSnapshot):
		return fmt.Errorf("the locks cannot be reproduced: a snapshot they record is gone (expired or rolled back): %w; refit with floe fit and commit the new locks", err)
	case err != nil:
		return err
	}
	var problems []string
	produced := map[string]bool{}
	for _, l := range locks {
		produced[l.Path] = true
		have, ok := files[l.Path]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s is missing: run floe fit", l.Path))
		case !bytes.Equal(withoutFittedAt(have), withoutFittedAt(l.Content)):
			problems = append(problems, fmt.Sprintf("%s differs from a refit on its snapshots (the spec changed since, or the lock was edited):\n%s", l.Path, lineDiff(have, l.Content)))
		default:
			fmt.Fprintf(stdout, "ok %s: reproduced from", l.Path)
			for _, t := range slices.Sorted(maps.Keys(l.Snapshots)) {
				fmt.Fprintf(stdout, " %s@%d", t, l.Snapshots[t])
			}
			fmt.Fprintln(stdout)
		}
	}
	for _, path := range lockPaths {
		if !produced[path] {
			problems = append(problems, fmt.Sprintf("%s belongs to no spec with fitted steps: delete it", path))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d lock file(s) not reproduced:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// withoutFittedAt drops a lock's fitted_at line: when a fit ran is no parameter.
func withoutFittedAt(lock []byte) []byte {
	var out []byte
	for line := range bytes.Lines(lock) {
		if !bytes.HasPrefix(line, []byte("fitted_at:")) {
			out = append(out, line...)
		}
	}
	return out
}

// lineDiff lists the lines only the lock on disk has (-) and only the refit has
// (+), fitted_at aside, in their files' order.
func lineDiff(have, want []byte) string {
	count := func(b []byte) map[string]int {
		m := map[string]int{}
		for line := range bytes.Lines(withoutFittedAt(b)) {
			m[string(bytes.TrimRight(line, "\n"))]++
		}
		return m
	}
	inHave, inWant := count(have), count(want)
	var b strings.Builder
	emit := func(src []byte, other map[string]int, sign string) {
		for line := range bytes.Lines(withoutFittedAt(src)) {
			l := string(bytes.TrimRight(line, "\n"))
			if other[l] > 0 {
				other[l]--
				continue
			}
			fmt.Fprintf(&b, "    %s %s\n", sign, l)
		}
	}
	emit(have, maps.Clone(inWant), "-")
	emit(want, maps.Clone(inHave), "+")
	return strings.TrimRight(b.String(), "\n")
}
