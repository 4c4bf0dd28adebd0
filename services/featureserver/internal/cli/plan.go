package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/plan"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
)

// errRefused is the error of a plan that found a change a deploy must not make; the
// command exits with exitRefused for it.
var errRefused = errors.New("the deploy would be refused")

// exitRefused is floe plan's exit status when the deploy would be refused, distinct
// from 1 (the plan could not be made) and 2 (usage), so CI can tell them apart.
const exitRefused = 3

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plan", stderr)
	src := addConfigFlags(fs)
	serverURL := fs.String("server", "", "compare with the registry of the server running at this URL (e.g. http://127.0.0.1:8080)")
	noTables := fs.Bool("no-tables", false, "do not open the Iceberg catalog (skip the tables' side)")
	allowBreaking := fs.Bool("allow-breaking", false, "report breaking changes to feature services without refusing the deploy")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(src)
	if err != nil {
		return err
	}
	refused := 0
	refuse := func(format string, a ...any) {
		refused++
		fmt.Fprintf(stdout, "  REFUSED "+format+"\n", a...)
	}

	// The specs, and the locks their fitted steps need.
	fmt.Fprintf(stdout, "specs %s\n", cfg.Specs)
	reg, err := registry.LoadDir(cfg.Specs)
	if err != nil {
		// Specs that compile without their locks have a lock problem: name it as such.
		if dataReg, dataErr := registry.LoadDirForData(cfg.Specs); dataErr == nil {
			refuse("locks: %s", indent(err.Error()))
			reg = dataReg
		} else {
			refuse("specs do not compile: %s", indent(dataErr.Error()))
			return finishPlan(stdout, refused)
		}
	} else {
		fmt.Fprintf(stdout, "  compiled: registry version %s, %d views, %d services; locks current\n", reg.Version, len(reg.FeatureViews), len(reg.FeatureServices))
	}

	// The Iceberg tables: what serve and ingest will create or evolve.
	if !*noTables {
		fmt.Fprintf(stdout, "tables (catalog %s %s)\n", cfg.Catalog.Type, cfg.Catalog.URI)
		store, err := offline.Open(ctx, cfg.Catalog)
		if err != nil {
			return fmt.Errorf("open the catalog (--no-tables skips it): %w", err)
		}
		defer store.Close()
		for _, v := range reg.FeatureViews {
			tp, err := store.PlanTable(ctx, v)
			switch {
			case errors.Is(err, offline.ErrSchemaMismatch):
				refuse("%s (view %s): %s", v.Source.Identifier(), v.Name, indent(err.Error()))
			case err != nil:
				return fmt.Errorf("plan table %s: %w", v.Source.Identifier(), err)
			default:
				fmt.Fprintf(stdout, "  %s (view %s): %s\n", v.Source.Identifier(), v.Name, tp)
			}
		}
	}

	// The running server: what the deploy changes for the models reading it.
	if *serverURL != "" {
		client := floev1connect.NewRegistryServiceClient(http.DefaultClient, strings.TrimRight(*serverURL, "/"))
		res, err := client.GetRegistry(ctx, connect.NewRequest(&floev1.GetRegistryRequest{}))
		if err != nil {
			return fmt.Errorf("ask %s for its registry: %w", *serverURL, err)
		}
		deployed := res.Msg
		fmt.Fprintf(stdout, "server %s: registry version %s → %s\n", *serverURL, deployed.GetVersion(), reg.Version)
		changes := plan.Registries(deployed, serving.RegistryProto(reg))
		if len(changes) == 0 {
			fmt.Fprintln(stdout, "  no change a model or the online store would notice")
		}
		for _, c := range changes {
			switch {
			case c.Effect == plan.Breaking && !*allowBreaking:
				refuse("%s (--allow-breaking to deploy it anyway)", c)
			case c.Effect == plan.Rematerialize:
				fmt.Fprintf(stdout, "  %s: the view is rematerialized from Iceberg on deploy\n", c)
			default:
				fmt.Fprintf(stdout, "  %s\n", c)
			}
		}
	}
	return finishPlan(stdout, refused)
}

func finishPlan(stdout io.Writer, refused int) error {
	if refused > 0 {
		return fmt.Errorf("%w: %d problem(s) above", errRefused, refused)
	}
	fmt.Fprintln(stdout, "the deploy can proceed")
	return nil
}

// indent puts the lines after the first of a multi-line message under it.
func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }
