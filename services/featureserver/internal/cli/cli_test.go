package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
)

// run runs the floe command line in dir and returns its exit code and output.
func run(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelpAndUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"help", "ingest"}, 0, "Usage: floe ingest [flags]"},
		{[]string{"help", "init"}, 0, "Usage: floe init [flags] DIR"},
		{[]string{"ingest", "-h"}, 0, "-specs"},
		{[]string{"help", "nope"}, 2, `unknown command "nope"`},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"version"}, 0, "api floe.v1"},
		{[]string{"--version"}, 0, "floe " + Version},
		{[]string{"gen", "--lang", "cobol"}, 2, `unknown language "cobol"`},
		{[]string{"gen", "--python-package", "my-pkg"}, 2, "is not a dotted Python module name"},
		{[]string{"init"}, 2, "takes one directory"},
	} {
		code, out, errOut := run(t, "", tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("floe %s: exit %d, want %d with %q; stdout:\n%s\nstderr:\n%s", strings.Join(tc.args, " "), code, tc.code, tc.want, out, errOut)
		}
	}
}

// Every command that reads the configuration takes --config and --specs, so a user
// learns the flags once.
func TestConfigFlagsAreShared(t *testing.T) {
	for _, name := range []string{"serve", "ingest", "materialize", "snapshots", "fit", "validate", "gen", "plan"} {
		help, err := commandHelp(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"-config string", "-specs string"} {
			if !strings.Contains(help, flag) {
				t.Errorf("floe %s has no %s flag:\n%s", name, flag, help)
			}
		}
	}
}

// A project made by floe init validates with no flags at all (its floe.yaml is
// found in the working directory), refuses to be written over, and --specs points a
// command at other specs than the configuration's.
func TestInitProjectValidates(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "shop-features")
	if code, out, errOut := run(t, root, "init", dir); code != 0 {
		t.Fatalf("floe init: exit %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{"floe.yaml", "specs/shop_features.yaml", "specs/floe-spec.schema.json", "policies/shop_features.rego", "data/customer_stats.csv", "README.md", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("floe init did not write %s: %v", f, err)
		}
	}
	code, out, errOut := run(t, dir, "validate")
	if code != 0 || !strings.Contains(out, "feature service shop_features_model_v1: 3 features") {
		t.Fatalf("floe validate in the project: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, root, "init", dir); code != 2 || !strings.Contains(errOut, "not empty") {
		t.Errorf("floe init over an existing project: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, root, "init", "--name", "Bad-Name", filepath.Join(root, "x")); code != 2 || !strings.Contains(errOut, "lower_snake_case") {
		t.Errorf("floe init --name Bad-Name: exit %d, %s", code, errOut)
	}
	if code, _, errOut := run(t, root, "init", filepath.Join(root, "class")); code != 2 || !strings.Contains(errOut, "keyword") {
		t.Errorf("floe init of a directory named class: exit %d, %s", code, errOut)
	}
	// --specs wins over the configuration's specs.
	empty := t.TempDir()
	if code, _, errOut := run(t, dir, "validate", "--specs", empty); code == 0 || !strings.Contains(errOut, empty) {
		t.Errorf("floe validate --specs %s: exit %d, %s", empty, code, errOut)
	}
}

// The schema floe init gives a project is the one the repository's specs use.
func TestScaffoldSchemaIsCurrent(t *testing.T) {
	repo, err := os.ReadFile("../../../../specs/schema/floe-spec.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := scaffold.ReadFile("scaffold/floe-spec.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(repo, embedded) {
		t.Error("scaffold/floe-spec.schema.json differs from specs/schema/floe-spec.schema.json: run make generate")
	}
}

// floe plan on a project made by floe init: nothing to do at first; a feature
// added to the spec is a column to add and a view to rematerialize; a service whose
// outputs change is refused (exit 3) unless allowed, as is a column retyped in a way
// Iceberg cannot apply; stale locks are refused too.
func TestPlan(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "shop")
	if code, out, errOut := run(t, root, "init", dir); code != 0 {
		t.Fatalf("floe init: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, dir, "ingest", "--view", "customer_stats", "--file", "data/customer_stats.csv"); code != 0 {
		t.Fatalf("floe ingest: exit %d\n%s%s", code, out, errOut)
	}
	// The server runs the specs as they are now.
	deployed, err := registry.LoadDir(filepath.Join(dir, "specs"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(floev1connect.NewRegistryServiceHandler(serving.NewRegistryHandler(deployed)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	code, out, errOut := run(t, dir, "plan", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "shop.customer_stats (view customer_stats): up to date") || !strings.Contains(out, "no change a model or the online store would notice") {
		t.Fatalf("plan of the deployed specs: exit %d\n%s%s", code, out, errOut)
	}

	spec := filepath.Join(dir, "specs", "shop.yaml")
	orig, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) {
		t.Helper()
		if !bytes.Contains(orig, []byte(old)) {
			t.Fatalf("spec has no %q", old)
		}
		if err := os.WriteFile(spec, bytes.Replace(orig, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	edit("      - {name: country, type: string, description: Country of the billing address.}\n",
		"      - {name: country, type: string, description: Country of the billing address.}\n      - {name: returns_30d, type: int64}\n")
	code, out, errOut = run(t, dir, "plan", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "add columns returns_30d (old rows read null)") ||
		!strings.Contains(out, "feature view customer_stats: feature returns_30d added (int64) [rematerialize]") {
		t.Errorf("plan of an added feature: exit %d\n%s%s", code, out, errOut)
	}

	edit("      - customer_stats:country\n", "")
	code, out, errOut = run(t, dir, "plan", "--server", srv.URL)
	if code != exitRefused || !strings.Contains(out, "REFUSED feature service shop_model_v1: outputs change: - customer_stats:country string") {
		t.Errorf("plan of a service losing an output: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = run(t, dir, "plan", "--server", srv.URL, "--allow-breaking"); code != 0 {
		t.Errorf("plan --allow-breaking: exit %d\n%s%s", code, out, errOut)
	}

	edit("{name: orders_30d, type: int64", "{name: orders_30d, type: string")
	code, out, errOut = run(t, dir, "plan")
	if code != exitRefused || !strings.Contains(out, "REFUSED shop.customer_stats (view customer_stats)") {
		t.Errorf("plan of a retyped column: exit %d\n%s%s", code, out, errOut)
	}
}
