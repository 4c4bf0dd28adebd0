package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func runSnapshots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("snapshots", stderr)
	cfgPath := addConfigFlags(fs)
	view := fs.String("view", "", "feature view whose table history to list (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *view == "" {
		return fmt.Errorf("%w: --view is required", errUsage)
	}
	v, store, err := openView(ctx, cfgPath, *view)
	if err != nil {
		return err
	}
	defer store.Close()
	snaps, err := store.Snapshots(ctx, v)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		fmt.Fprintf(stdout, "%s (%s) has no snapshots yet\n", v.Name, v.Source.Identifier())
		return nil
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SNAPSHOT\tPARENT\tCOMMITTED (UTC)\tOPERATION\tADDED ROWS\tTOTAL ROWS")
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%d\t%d\n", s.ID, s.ParentID, s.Timestamp.UTC().Format(time.RFC3339), s.Operation, s.AddedRecords, s.TotalRecords)
	}
	return w.Flush()
}
