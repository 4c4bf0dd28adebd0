package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"floe.dev/floe/services/featureserver/internal/codegen"
)

func runGen(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", stderr)
	src := addConfigFlags(fs)
	out := fs.String("out", ".", "directory the generated paths are relative to")
	langs := fs.String("lang", strings.Join(codegen.Languages, ","), "comma-separated languages to generate: go, python, ts")
	pyPkg := fs.String("python-package", "features", "dotted import name of the generated Python package")
	pyDir := fs.String("python-dir", "", "directory of the Python package (default python/<python-package as a path>)")
	tsDir := fs.String("ts-dir", "ts/features", "directory of the TypeScript modules")
	goDir := fs.String("go-dir", "go/features", "directory holding one Go package per project")
	goPkg := fs.String("go-package", "", "package clause of the generated Go files (default: the project's name)")
	project := fs.String("project", "", "name of a single project's module and package (default: the spec directory's name, or its parent's when it is called specs)")
	repo := fs.Bool("repo-layout", false, "write into this repository's SDK source trees (sdk/python/src/floe/features, sdk/ts/src/features, sdk/go/features): what make generate does")
	if err := parse(fs, args); err != nil {
		return err
	}
	layout := codegen.Layout{
		PythonDir:     *pyDir,
		PythonPackage: *pyPkg,
		TSDir:         *tsDir,
		GoDir:         *goDir,
		GoPackage:     *goPkg,
		Project:       *project,
	}
	if layout.PythonDir == "" {
		layout.PythonDir = path.Join("python", strings.ReplaceAll(*pyPkg, ".", "/"))
	}
	if *repo {
		layout = codegen.RepoLayout
	}
	for _, l := range strings.Split(*langs, ",") {
		if l = strings.TrimSpace(l); l != "" {
			layout.Langs = append(layout.Langs, l)
		}
	}
	if err := layout.Check(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	specs, err := src.specsDir()
	if err != nil {
		return err
	}
	files, err := codegen.GenerateTree(specs, layout)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		dst := filepath.Join(*out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", filepath.Join(*out, filepath.FromSlash(p)))
	}
	return nil
}
