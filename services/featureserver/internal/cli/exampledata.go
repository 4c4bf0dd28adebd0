package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
)

func runExampleData(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("example-data", stderr)
	project := fs.String("project", "pricing", "example project: pricing or fraud")
	out := fs.String("out", ".floe/example-data", "directory to write the CSV files to")
	rows := fs.Int("rows", 1000, "number of entities per view")
	if err := parse(fs, args); err != nil {
		return err
	}
	files, err := offline.WriteExampleData(*out, *project, time.Now().UTC(), *rows)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%s %s\n", f.View, f.Path)
	}
	return nil
}
