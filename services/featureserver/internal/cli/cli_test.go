package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	for _, name := range []string{"serve", "ingest", "materialize", "snapshots", "fit", "validate", "gen"} {
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
