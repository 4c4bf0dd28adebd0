package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"floe.dev/floe/services/featureserver/internal/exampledata"
)

func runExampleData(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("example-data", stderr)
	project := fs.String("project", "pricing", "example project: pricing or fraud (a directory of specs/examples)")
	specs := fs.String("specs", "", "spec directory to generate data for (default: specs/examples/<project>, looked up from the working directory)")
	out := fs.String("out", ".floe/example-data", "directory to write the CSV files to")
	rows := fs.Int("rows", 1000, "number of entities per view")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := *specs
	if dir == "" {
		var err error
		if dir, err = exampledata.FindSpecs(*project); err != nil {
			return err
		}
	}
	p, err := exampledata.Load(dir)
	if err != nil {
		return err
	}
	files, err := p.Write(*out, time.Now().UTC(), *rows)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%s %s\n", f.View, f.Path)
	}
	return nil
}
