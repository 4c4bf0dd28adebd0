// Package cli implements the floe command's subcommands. Each command parses its
// flags, builds what it needs from the configuration and reports errors in words a
// user can act on.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"floe.dev/floe/services/featureserver/internal/config"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// args describes the positional arguments in the usage line, if any.
	args string
}

// commands is every floe subcommand by name. It is filled in init because the
// help command reads it, which Go's initialization order would otherwise call a cycle.
var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":        {"run the feature server", runServe, ""},
		"ingest":       {"validate a CSV or Parquet file against a view and commit it to Iceberg", runIngest, ""},
		"materialize":  {"publish the latest Iceberg snapshot of views to the online store", runMaterialize, ""},
		"gen":          {"generate typed Go, Python and TypeScript bindings from specs", runGen, ""},
		"validate":     {"check a spec directory and print what it defines", runValidate, ""},
		"snapshots":    {"list the Iceberg snapshots of a view's table, newest first", runSnapshots, ""},
		"fit":          {"fit the parameters of transform steps marked fitted: true and write lock files", runFit, ""},
		"example-data": {"write sample CSV data for an example project", runExampleData, ""},
		"init":         {"create a new Floe project (config, specs, policy, sample data) in a directory", runInit, "DIR"},
		"plan":         {"say what deploying the specs will change (tables, the running server's registry, locks) and refuse breaking changes", runPlan, ""},
		"version":      {"print floe's version, the API version and how it was built", runVersion, ""},
		"help":         {"show the commands, or a command's flags", runHelp, "[COMMAND]"},
	}
}

// errUsage marks an error whose message already explains the usage problem.
var errUsage = errors.New("usage")

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	if args[0] == "--version" {
		args = []string{"version"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "floe: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "floe %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		if errors.Is(err, errRefused) {
			return exitRefused
		}
		return 1
	}
	return 0
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: floe <command> [flags]\n\nCommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun `floe help <command>` (or `floe <command> -h`) for a command's flags.")
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("floe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		line := "floe " + name + " [flags]"
		if a := commands[name].args; a != "" {
			line += " " + a
		}
		fmt.Fprintf(fs.Output(), "Usage: %s\n\n%s.\n", line, strings.ToUpper(commands[name].summary[:1])+commands[name].summary[1:])
		if hasFlags(fs) {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %s", errUsage, strings.Join(fs.Args(), " "))
	}
	return nil
}

// configSource is what the --config and --specs flags say, shared by every command
// that reads the configuration so that they take the same flags with the same meaning.
type configSource struct {
	path  string
	specs string
}

// defaultConfigFile is read when --config is not given and FLOE_CONFIG is not set, if
// it exists in the working directory: the file `floe init` writes.
const defaultConfigFile = "floe.yaml"

// addConfigFlags registers --config and --specs on fs.
func addConfigFlags(fs *flag.FlagSet) *configSource {
	src := &configSource{}
	fs.StringVar(&src.path, "config", "", "configuration file (YAML; default $FLOE_CONFIG, else ./floe.yaml if present); FLOE_* environment variables override it")
	fs.StringVar(&src.specs, "specs", "", "spec directory of the project (overrides the configuration's specs and FLOE_SPECS)")
	return src
}

// file is the configuration file to read: --config, FLOE_CONFIG, ./floe.yaml or none.
func (src *configSource) file() string {
	if src.path != "" {
		return src.path
	}
	if p, ok := os.LookupEnv("FLOE_CONFIG"); ok && p != "" {
		return p
	}
	if st, err := os.Stat(defaultConfigFile); err == nil && st.Mode().IsRegular() {
		return defaultConfigFile
	}
	return ""
}

// specsDir is the spec directory the flags name: --specs, else the configuration's.
// Only without --specs is the configuration read (and checked).
func (src *configSource) specsDir() (string, error) {
	if src.specs != "" {
		return src.specs, nil
	}
	cfg, err := loadConfig(src)
	if err != nil {
		return "", err
	}
	return cfg.Specs, nil
}

// loadConfig loads the configuration the flags name, with environment overrides and
// then --specs applied.
func loadConfig(src *configSource) (config.Config, error) {
	env := os.LookupEnv
	if src.specs != "" {
		env = func(name string) (string, bool) {
			if name == "FLOE_SPECS" {
				return src.specs, true
			}
			return os.LookupEnv(name)
		}
	}
	return config.Load(src.file(), env)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
