package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"floe.dev/floe/services/featureserver/internal/registry"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	src := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	// Specs alone need no configuration; without --specs they are the configuration's,
	// which is then checked too.
	specs, err := src.specsDir()
	if err != nil {
		return err
	}
	reg, err := registry.LoadDir(specs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: registry version %s\n", specs, reg.Version)
	for _, e := range reg.Entities {
		fmt.Fprintf(stdout, "entity %s (%s %s)\n", e.Name, e.Key().Name, e.Key().Type)
	}
	for _, v := range reg.FeatureViews {
		ttl := "never expires"
		if v.TTL > 0 {
			ttl = "ttl " + v.TTL.Round(time.Second).String()
		}
		fmt.Fprintf(stdout, "feature view %s: %d features of %s from %s, %s\n", v.Name, len(v.Features), v.Entity.Name, v.Source.Identifier(), ttl)
	}
	for _, s := range reg.FeatureServices {
		fmt.Fprintf(stdout, "feature service %s: %d features\n", s.Name, len(s.Features))
	}
	return nil
}
