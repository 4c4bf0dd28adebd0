package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"floe.dev/floe/services/featureserver/internal/codegen"
)

func runGen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", stderr)
	specs := fs.String("specs", "specs/examples", "directory whose subdirectories are spec projects")
	out := fs.String("out", ".", "repository root the generated paths are relative to")
	if err := parse(fs, args); err != nil {
		return err
	}
	files, err := codegen.GenerateAll(*specs)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dst := filepath.Join(*out, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", p)
	}
	return nil
}
