// Command floe-bench load-tests Floe end to end. It is a benchmark, not a test:
// `make bench` runs it after `make build`. It has two suites (--suite, default
// all): "online", the online read path compared with reading the same keys from
// Redis directly (described below), and "iceberg", issue 3's figures on a
// 1M-row view in a local warehouse: the cache-aside miss path's point lookup,
// materialization throughput into Redis, and freshness from an external commit
// to the value served online (see iceberg.go).
//
// The online suite:
// It starts a redis-server of its own on a loopback port (or uses --redis), writes
// a bench project (two views of 25 features, services bench_10 and bench_50) with
// CSV data into a temp dir, runs the real write path (`floe ingest`, then `floe
// materialize` into Redis), starts `floe serve` as a separate process, and then,
// for each scenario (entities × features) and protocol (Connect over HTTP/1.1,
// gRPC over h2c, and raw go-redis MGET as the baseline), runs a sequential latency
// pass and a concurrent throughput pass. Every answer is checked, so a broken
// server cannot post fast numbers. Everything it started is stopped on exit,
// including on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// runSettings are the flags of a run (also written to the JSON report).
type runSettings struct {
	FloeBin     string        `json:"floe_bin"`
	Redis       string        `json:"redis,omitempty"`
	RedisServer string        `json:"redis_server"`
	Entities    int           `json:"entities"`
	Requests    int           `json:"requests"`
	Warmup      int           `json:"warmup"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration_ns"`
	LoadWarmup  time.Duration `json:"load_warmup_ns"`
	Scenarios   string        `json:"scenarios"`
	Protocols   string        `json:"protocols"`
	Gzip        bool          `json:"gzip"`
	Rounds      int           `json:"rounds"`
	Seed        uint64        `json:"seed"`
	ServerEnv   envList       `json:"server_env,omitempty"`
	Suite       string        `json:"suite"`
	// The Iceberg suite's settings.
	IceEntities  int           `json:"iceberg_entities"`
	MissRequests int           `json:"miss_requests"`
	MissBatches  int           `json:"miss_batches"`
	MissWarmup   int           `json:"miss_warmup"`
	FreshCommits int           `json:"freshness_commits"`
	FreshPoll    time.Duration `json:"freshness_poll_ns"`
	FreshTimeout time.Duration `json:"-"`
	IceTableProp envList       `json:"iceberg_table_props,omitempty"`
	JSON         string        `json:"-"`
	Keep         bool          `json:"-"`
	ReadyTimeout time.Duration `json:"-"`
	SetupTimeout time.Duration `json:"-"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses flags, runs the bench and returns the exit code: 0 when every pass
// was valid (targets missed do not fail a benchmark), 1 otherwise, 2 for bad flags.
func run(args []string, stdout, stderr io.Writer) int {
	s, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "floe-bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := bench(ctx, s, stdout, stderr)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "floe-bench: interrupted; stopped what it started")
		} else {
			fmt.Fprintln(stderr, "floe-bench:", err)
		}
		return 1
	}
	if !ok {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (runSettings, error) {
	var s runSettings
	fs := flag.NewFlagSet("floe-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.FloeBin, "floe", "bin/floe", "the floe binary (built by `make build`)")
	fs.StringVar(&s.Redis, "redis", "", "use this loopback Redis (host:port) instead of starting one; bench keys are written to it")
	fs.StringVar(&s.RedisServer, "redis-server", "redis-server", "redis-server binary to start when --redis is not given")
	fs.IntVar(&s.Entities, "entities", 10_000, "number of users in the data set")
	fs.IntVar(&s.Requests, "requests", 5_000, "requests of each latency pass (sequential, one worker)")
	fs.IntVar(&s.Warmup, "warmup", 500, "unrecorded requests before each latency pass")
	fs.IntVar(&s.Concurrency, "concurrency", 8, "workers of each throughput pass")
	fs.DurationVar(&s.Duration, "duration", 5*time.Second, "measured time of each throughput pass")
	fs.DurationVar(&s.LoadWarmup, "load-warmup", 200*time.Millisecond, "unmeasured time at the start of each throughput round")
	fs.IntVar(&s.Rounds, "rounds", 5, "split every pass into this many rounds, alternating between the clients, so machine noise hits the baseline and Floe alike")
	fs.StringVar(&s.Scenarios, "scenarios", "1x10,100x10,100x50", "comma-separated ENTITIESxFEATURES scenarios (features: 10 or 50)")
	fs.StringVar(&s.Protocols, "protocols", "connect,grpc", "comma-separated Floe protocols: connect, grpc (the raw-redis baseline always runs)")
	fs.BoolVar(&s.Gzip, "gzip", true, "let clients accept gzipped responses, as connect-go clients do by default")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of the random entity ids")
	fs.Var(&s.ServerEnv, "server-env", "KEY=VALUE added to floe serve's environment, e.g. GOGC=400 or FLOE_L1_ENABLED=true (repeatable; the iceberg suite's own settings win over it)")
	fs.StringVar(&s.Suite, "suite", suiteAll, "which suite to run: online (the read path vs raw Redis), iceberg (miss path, materialization, freshness on a 1M-row view), or all")
	fs.IntVar(&s.IceEntities, "iceberg-entities", 500_000, "iceberg suite: entities of the view; the table holds two rows (versions) of each")
	fs.IntVar(&s.MissRequests, "miss-requests", 1000, "iceberg suite: sequential 1-entity miss-path reads measured")
	fs.IntVar(&s.MissBatches, "miss-batches", 100, "iceberg suite: sequential 10-entity miss-path reads measured")
	fs.IntVar(&s.MissWarmup, "miss-warmup", 20, "iceberg suite: unrecorded 1-entity miss-path reads first (a tenth as many 10-entity ones, at least 2)")
	fs.IntVar(&s.FreshCommits, "freshness-commits", 20, "iceberg suite: external commits whose freshness is measured")
	fs.DurationVar(&s.FreshPoll, "freshness-poll", 10*time.Millisecond, "iceberg suite: how often the freshness poller reads the entity")
	fs.DurationVar(&s.FreshTimeout, "freshness-timeout", 20*time.Second, "iceberg suite: how long a commit may take to be served online before it counts as failed")
	fs.Var(&s.IceTableProp, "iceberg-table-prop", "iceberg suite: KEY=VALUE set on the view's Iceberg table before the bulk ingest, to try another layout without rebuilding floe, e.g. write.parquet.row-group-limit=8192 or write.parquet.compression-codec=snappy (repeatable)")
	fs.StringVar(&s.JSON, "json", "", "also write the figures to this JSON file")
	fs.BoolVar(&s.Keep, "keep", false, "keep the temp dir (project, data, logs) after the run")
	fs.DurationVar(&s.ReadyTimeout, "ready-timeout", time.Minute, "how long to wait for the server's /readyz")
	fs.DurationVar(&s.SetupTimeout, "setup-timeout", 5*time.Minute, "bound on each floe ingest / materialize command")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case s.Entities < 1:
		return s, errors.New("--entities must be positive")
	case s.Requests < 1:
		return s, errors.New("--requests must be positive")
	case s.Warmup < 0:
		return s, errors.New("--warmup must not be negative")
	case s.Concurrency < 1:
		return s, errors.New("--concurrency must be positive")
	case s.Duration <= 0:
		return s, errors.New("--duration must be positive")
	case s.LoadWarmup < 0:
		return s, errors.New("--load-warmup must not be negative")
	case s.Rounds < 1 || s.Rounds > s.Requests:
		return s, errors.New("--rounds must be between 1 and --requests")
	case s.Suite != suiteOnline && s.Suite != suiteIceberg && s.Suite != suiteAll:
		return s, fmt.Errorf("--suite: unknown suite %q (want online, iceberg, all)", s.Suite)
	case s.IceEntities < 100:
		return s, errors.New("--iceberg-entities must be at least 100")
	case s.MissRequests < 1 || s.MissBatches < 1:
		return s, errors.New("--miss-requests and --miss-batches must be positive")
	case s.MissWarmup < 0:
		return s, errors.New("--miss-warmup must not be negative")
	case s.FreshCommits < 1:
		return s, errors.New("--freshness-commits must be positive")
	case s.FreshPoll <= 0 || s.FreshTimeout <= 0:
		return s, errors.New("--freshness-poll and --freshness-timeout must be positive")
	}
	if s.Redis != "" {
		if err := checkLoopback(s.Redis); err != nil {
			return s, fmt.Errorf("--redis: %w", err)
		}
	}
	for _, p := range splitList(s.Protocols) {
		if p != protoConnect && p != protoGRPC {
			return s, fmt.Errorf("--protocols: unknown protocol %q (want connect, grpc)", p)
		}
	}
	return s, nil
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*l = append(*l, v)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Suites.
const (
	suiteOnline  = "online"
	suiteIceberg = "iceberg"
	suiteAll     = "all"
)

// bench runs the selected suites, each printing its report, then writes the
// JSON file. It reports false when some pass was invalid.
func bench(ctx context.Context, s runSettings, stdout, stderr io.Writer) (bool, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "floe-bench: "+format+"\n", args...) }
	rep := &jsonReport{Time: time.Now().UTC(), Settings: s}
	ok := true
	if s.Suite == suiteOnline || s.Suite == suiteAll {
		good, err := benchOnline(ctx, s, stdout, logf, rep)
		if err != nil {
			return false, err
		}
		ok = ok && good
	}
	if s.Suite == suiteIceberg || s.Suite == suiteAll {
		if rep.Environment.CPUs == 0 {
			rep.Environment = environment{LoadAverageAtStart: loadAverage(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version()}
		}
		res, targets, err := benchIceberg(ctx, s, stdout, logf)
		if err != nil {
			return false, err
		}
		rep.Iceberg = toIcebergJSON(res)
		rep.Targets = append(rep.Targets, targets...)
		ok = ok && res.valid()
	}
	if s.JSON != "" {
		if err := writeJSON(s.JSON, rep); err != nil {
			return false, err
		}
		logf("wrote %s", s.JSON)
	}
	return ok, nil
}

// benchOnline runs the online suite: sets everything up, runs every pass, prints
// the report and adds its figures to rep. It reports false when some pass was
// invalid.
func benchOnline(ctx context.Context, s runSettings, stdout io.Writer, logf func(string, ...any), rep *jsonReport) (bool, error) {
	// Taken before the bench adds load of its own.
	startLoad := loadAverage()
	services := benchServices(benchViews())
	var scenarios []scenario
	for _, name := range splitList(s.Scenarios) {
		sc, err := parseScenario(name, services)
		if err != nil {
			return false, err
		}
		if sc.entities > s.Entities {
			return false, fmt.Errorf("scenario %s reads %d distinct entities but --entities is %d", name, sc.entities, s.Entities)
		}
		scenarios = append(scenarios, sc)
	}
	rg, err := setUp(ctx, s, logf)
	if rg != nil {
		defer rg.close()
	}
	if err != nil {
		return false, err
	}
	results, err := runScenarios(ctx, s, rg, scenarios, logf)
	if err != nil {
		return false, err
	}

	// Report.
	env := environment{LoadAverageAtStart: startLoad, CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		RedisVersion: redisVersion(ctx, rg.rdb), RedisAddr: rg.redisAddr}
	targets := evaluateTargets(results)
	compression := "gzip accepted (connect-go default)"
	if !s.Gzip {
		compression = "no compression"
	}
	if startLoad > float64(env.CPUs)/2 {
		fmt.Fprintf(stdout, "\nWARNING: the 1-minute load average was %.1f on %d CPUs when the bench started: other work was running; check the \"other procs\" column below.\n", startLoad, env.CPUs)
	}
	fmt.Fprintf(stdout, "\nFloe online read path: %d users; %d CPUs, %s, redis %s; responses: %s",
		s.Entities, env.CPUs, env.GoVersion, env.RedisVersion, compression)
	if len(s.ServerEnv) > 0 {
		fmt.Fprintf(stdout, "; server env: %s", s.ServerEnv.String())
	}
	fmt.Fprintf(stdout, "\nlatency (p50/p99/p999): %d sequential requests after %d warm-up; load (req/s, rows/s, load p50/p99): %d workers for %s; each split into %d rounds interleaved with the baseline",
		s.Requests, s.Warmup, s.Concurrency, s.Duration, s.Rounds)
	fmt.Fprint(stdout, "\n\n")
	printTable(stdout, results, targets)
	rep.Environment = env
	rep.Results = onlineJSON(results)
	rep.Targets = append(rep.Targets, targets...)
	for _, r := range results {
		if !r.valid() {
			return false, nil
		}
	}
	return true, nil
}
