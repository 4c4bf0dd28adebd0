package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"floe.dev/floe/services/featureserver/internal/server"
)

// serveGCPercent is floe serve's garbage collection target when GOGC is not set
// (see also memoryLimitShare).
// An online read allocates about 60 KB (the response columns and the Redis reply),
// so at Go's default of 100 a small server (a live heap of ~6 MB) collected every
// ~100 reads, and each cycle's mark phase took 5–9 ms of a core away from the reads
// it overlapped: measured with `make bench` on 2 cores, 100×10 p99 was 3.3 ms at
// GOGC=100 and 1.3–1.9 ms at 400, with 12–17 % more throughput. The cost is a heap
// of up to five times the live data; GOMEMLIMIT bounds it.
const serveGCPercent = 400

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	cfgPath := addConfigFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)
	tuneGC(log)
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx, nil)
}

// tuneGC sets floe serve's garbage collection target and soft memory limit, each
// unless the environment sets it (GOGC, GOMEMLIMIT).
func tuneGC(log *slog.Logger) {
	if gogc, set := os.LookupEnv("GOGC"); set {
		log.Debug("garbage collector target from the environment", "GOGC", gogc)
	} else {
		debug.SetGCPercent(serveGCPercent)
		log.Debug("garbage collector target", "GOGC", serveGCPercent)
	}
	if limit, set := os.LookupEnv("GOMEMLIMIT"); set {
		log.Debug("memory limit from the environment", "GOMEMLIMIT", limit)
		return
	}
	avail, source, ok := availableMemory("/")
	if !ok {
		log.Debug("no memory limit: the memory available to the process is unknown; set GOMEMLIMIT")
		return
	}
	limit := int64(float64(avail) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	log.Debug("memory limit", "GOMEMLIMIT", limit, "of", avail, "from", source)
}
