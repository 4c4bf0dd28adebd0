package cli

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"floe.dev/floe/services/featureserver/internal/codegen"
)

// scaffold holds the files `floe init` writes. floe-spec.schema.json is a copy of
// specs/schema/floe-spec.schema.json that `make generate` refreshes, so that a
// project outside this repository gets editor completion for its specs.
//
//go:embed scaffold
var scaffold embed.FS

// sampleRows is how many customers the sample data has.
const sampleRows = 100

func runInit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	name := fs.String("name", "", "project name: lower_snake_case, the Iceberg namespace of its tables (default: the directory's name)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: floe init takes one directory, e.g. floe init my-features", errUsage)
	}
	dir := fs.Arg(0)
	if *name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		*name = strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(strings.ToLower(filepath.Base(abs)))
	}
	// The name is also the Iceberg namespace, which the same rule suits.
	if err := codegen.CheckProjectName(*name); err != nil {
		return fmt.Errorf("%w: %v (set --name)", errUsage, err)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: %s exists and is not empty; floe init writes into a new or empty directory", errUsage, dir)
	}
	files, err := scaffoldFiles(*name, time.Now().UTC())
	if err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", dst)
	}
	fmt.Fprintf(stdout, "\nProject %s is in %s. Next:\n\n  cd %s\n  floe validate\n  floe serve &\n"+
		"  floe ingest --view customer_stats --file data/customer_stats.csv\n"+
		"  floe materialize --server http://127.0.0.1:8080\n"+
		"  curl http://127.0.0.1:8080/v1/features/customer/1\n\n(README.md says more.)\n", *name, dir, dir)
	return nil
}

type scaffoldFile struct {
	path string
	data []byte
}

// scaffoldFiles renders the project's files; now dates the sample data.
func scaffoldFiles(name string, now time.Time) ([]scaffoldFile, error) {
	vars := struct{ Name, Service string }{name, codegen.Camel(name + "_model_v1")}
	render := func(tmpl string) ([]byte, error) {
		src, err := scaffold.ReadFile("scaffold/" + tmpl)
		if err != nil {
			return nil, err
		}
		t, err := template.New(tmpl).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, vars); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	var files []scaffoldFile
	for _, f := range []struct{ tmpl, path string }{
		{"floe.yaml.tmpl", "floe.yaml"},
		{"spec.yaml.tmpl", "specs/" + name + ".yaml"},
		{"policy.rego.tmpl", "policies/" + name + ".rego"},
		{"README.md.tmpl", "README.md"},
		{"gitignore.tmpl", ".gitignore"},
	} {
		data, err := render(f.tmpl)
		if err != nil {
			return nil, fmt.Errorf("floe init: %s: %w", f.tmpl, err)
		}
		files = append(files, scaffoldFile{f.path, data})
	}
	schema, err := scaffold.ReadFile("scaffold/floe-spec.schema.json")
	if err != nil {
		return nil, err
	}
	files = append(files, scaffoldFile{"specs/floe-spec.schema.json", schema})
	files = append(files, scaffoldFile{"data/customer_stats.csv", sampleCSV(now)})
	return files, nil
}

// sampleCSV is the sample data of the scaffold's customer_stats view: customers 1 to
// sampleRows, each with an event time in the last hours before now, so that it is
// fresh (within the view's TTL) whenever the project is created.
func sampleCSV(now time.Time) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	countries := []string{"DE", "FR", "NL", "PL", "ES"}
	var b bytes.Buffer
	b.WriteString("customer_id,event_time,orders_30d,spend_30d,country\n")
	for id := 1; id <= sampleRows; id++ {
		at := now.Add(-time.Duration(rng.IntN(6*3600)+60) * time.Second).Truncate(time.Second)
		orders := rng.IntN(20)
		spend := float64(orders) * (5 + rng.Float64()*95)
		fmt.Fprintf(&b, "%d,%s,%d,%.2f,%s\n", id, at.Format(time.RFC3339), orders, spend, countries[rng.IntN(len(countries))])
	}
	return b.Bytes()
}
