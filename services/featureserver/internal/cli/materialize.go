package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/materialize"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/serving"
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runMaterialize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("materialize", stderr)
	cfgPath := addConfigFlags(fs)
	serverURL := fs.String("server", "", "ask the running server at this URL (e.g. http://127.0.0.1:8080) to materialize; required when the online store is in-process")
	var views stringList
	fs.Var(&views, "view", "feature view to materialize (repeatable; default: every view)")
	follow := fs.Bool("follow", false, "keep running: publish every new snapshot as it is committed (local mode only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	start := time.Now()
	report := func(p materialize.Progress) {
		switch {
		case p.UpToDate && p.SnapshotID == 0:
			fmt.Fprintf(stdout, "%s: no data committed yet\n", p.View)
		case p.UpToDate:
			fmt.Fprintf(stdout, "%s: already at snapshot %d\n", p.View, p.SnapshotID)
		case p.Done:
			fmt.Fprintf(stdout, "%s: snapshot %d, %d rows read, %d entities written\n", p.View, p.SnapshotID, p.RowsRead, p.RowsWritten)
		default:
			fmt.Fprintf(stderr, "%s: %d rows read, %d entities written\n", p.View, p.RowsRead, p.RowsWritten)
		}
	}
	var err error
	switch {
	case *serverURL != "" && *follow:
		return fmt.Errorf("%w: --follow runs materialization here; a server follows snapshots itself (materialize.follow)", errUsage)
	case *serverURL != "":
		err = materializeRemote(ctx, *serverURL, views, report)
	default:
		err = materializeLocal(ctx, cfgPath, views, *follow, report)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "materialized in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func materializeRemote(ctx context.Context, url string, views []string, report func(materialize.Progress)) error {
	client := floev1connect.NewAdminServiceClient(http.DefaultClient, strings.TrimRight(url, "/"))
	stream, err := client.Materialize(ctx, connect.NewRequest(&floev1.MaterializeRequest{Views: views}))
	if err != nil {
		return err
	}
	defer stream.Close()
	last := time.Time{}
	for stream.Receive() {
		m := stream.Msg()
		p := materialize.Progress{View: m.View, SnapshotID: m.SnapshotId, RowsRead: m.RowsRead, RowsWritten: m.RowsWritten, Done: m.Done, UpToDate: m.UpToDate}
		if p.Done || time.Since(last) > 500*time.Millisecond {
			last = time.Now()
			report(p)
		}
	}
	if err := stream.Err(); err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Code() == connect.CodeUnavailable {
			return fmt.Errorf("server at %s: %w", url, err)
		}
		return err
	}
	return nil
}

func materializeLocal(ctx context.Context, cfgPath *configSource, names []string, follow bool, report func(materialize.Progress)) error {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	if cfg.Online.Type == "memory" {
		return fmt.Errorf("%w: the online store is in-process (online.type: memory) and lives inside `floe serve`; pass --server http://%s", errUsage, cfg.Listen)
	}
	reg, err := registry.LoadDirForData(cfg.Specs)
	if err != nil {
		return err
	}
	views, err := serving.SelectViews(reg, names)
	if err != nil {
		return err
	}
	off, err := offline.Open(ctx, cfg.Catalog)
	if err != nil {
		return err
	}
	defer off.Close()
	on, err := online.Open(ctx, cfg.Online)
	if err != nil {
		return err
	}
	defer on.Close()
	last := time.Time{}
	throttled := func(p materialize.Progress) {
		if p.Done || time.Since(last) > 500*time.Millisecond {
			last = time.Now()
			report(p)
		}
	}
	// The lease covers every view of the specs, whichever this run publishes.
	pub := materialize.NewPublisher(off, on, reg.FeatureViews, materialize.PublishOptions{Lease: cfg.Materialize.Lease, LeaseTTL: cfg.Materialize.LeaseTTL})
	if !follow {
		return pub.Materialize(ctx, views, throttled)
	}
	progress := func(p materialize.Progress) {
		if !p.UpToDate {
			throttled(p)
		}
	}
	if err := pub.CanFollow(views); err != nil {
		return fmt.Errorf("%w: --follow with --view on a shared online store: %v; follow every view, or turn the lease off for this process (FLOE_MATERIALIZE_LEASE=false) if nothing else follows these views", errUsage, err)
	}
	holder := pub.Holder()
	fmt.Fprintf(os.Stderr, "following %d views every %s; Ctrl-C stops\n", len(views), cfg.Materialize.Interval)
	err = pub.Follow(ctx, views, cfg.Materialize.Interval, progress, nil, func(leader bool, by string) {
		switch {
		case leader:
			fmt.Fprintf(os.Stderr, "holding the materialization lease (%s): publishing\n", holder)
		case by != "":
			fmt.Fprintf(os.Stderr, "standing by: %s holds the materialization lease and publishes\n", by)
		}
	})
	return err
}
