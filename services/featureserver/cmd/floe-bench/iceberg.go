package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/apache/iceberg-go"
	"github.com/redis/go-redis/v9"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/config"
	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/registry"
)

// The Iceberg suite measures the three figures of issue 3 on a view of
// --iceberg-entities × 2 rows in a local warehouse (SQLite catalog, files on
// disk), with Redis as the online store:
//
//  1. the miss path: `floe serve` with nothing materialized (follow off, Redis
//     flushed), sequential reads of entities never read before, so each one is an
//     Iceberg point lookup answered TIER_OFFLINE (the server writes each fill back
//     to Redis, so no id is ever read twice);
//  2. materialization throughput: `floe materialize --view` of the whole view
//     into a flushed Redis;
//  3. freshness: `floe serve` following snapshots at the default 1 s interval, an
//     external writer (`floe ingest` of a one-row CSV) committing a new value of
//     an entity that is already online, and a poller reading it every
//     --freshness-poll until the new value is served TIER_ONLINE.
//
// The suite starts its own redis-server even when --redis is given: it flushes
// its Redis between phases.

// missPass is the figures of one miss-path pass: sequential reads of batch
// entities each, every one a distinct entity never read before.
type missPass struct {
	Batch     int
	Requests  int
	Latencies []time.Duration // sorted once the pass ends
	Errors    int
	FirstErr  string
	Elapsed   time.Duration
	CPU       *cpuUsage
}

func (p *missPass) valid() bool { return p.Errors == 0 && p.Requests > 0 }

// materializeRun is the figures of one `floe materialize` of the whole view.
type materializeRun struct {
	RowsRead       int64
	EntitiesWrite  int64
	SnapshotID     int64
	Wall           time.Duration // around the command: process start to exit
	Own            time.Duration // the command's "materialized in D"
	ProcessCPU     time.Duration // user+system of the floe materialize process
	RedisCPU       time.Duration // redis-server's CPU during the command
	KeysAfter      int64         // DBSIZE afterwards
	Err            string
	expectRows     int64
	expectEntities int64
}

func (m *materializeRun) valid() bool {
	return m.Err == "" && m.RowsRead == m.expectRows && m.EntitiesWrite == m.expectEntities && m.Wall > 0
}

func (m *materializeRun) rowsPerSec(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(m.RowsRead) / d.Seconds()
}

func (m *materializeRun) entitiesPerSec(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(m.EntitiesWrite) / d.Seconds()
}

// freshCommit is one external commit of the freshness phase.
type freshCommit struct {
	K          int
	SnapshotID int64
	// IngestStart and IngestExit bracket the `floe ingest` command; the catalog
	// commit happened between them, near the end.
	IngestStart, IngestExit time.Time
	// SnapshotTime is the snapshot's timestamp in the table metadata
	// (millisecond precision), written just before the catalog commit.
	SnapshotTime time.Time
	// Seen is when the first read returning the new value TIER_ONLINE completed.
	Seen time.Time
}

// freshnessRun is the figures of the freshness phase.
type freshnessRun struct {
	Entity   int64
	Interval time.Duration
	Poll     time.Duration
	Commits  []freshCommit
	Polls    int
	Errors   int
	FirstErr string
	// FromExit and FromSnapshot are the freshness of every commit, from the
	// ingest command's exit and from the snapshot's timestamp; sorted.
	FromExit, FromSnapshot []time.Duration
	// IngestWall is each ingest command's duration, sorted.
	IngestWall []time.Duration
}

func (f *freshnessRun) valid() bool { return f.Errors == 0 && len(f.FromExit) > 0 }

// icebergResult is everything the Iceberg suite measured.
type icebergResult struct {
	Entities, Rows, Features int
	// LoadAtStart is the 1-minute load average before the suite began, on CPUs.
	LoadAtStart              float64
	CPUs                     int
	CSVBytes                 int64
	GenerateTime, IngestTime time.Duration
	IngestOut                string
	Miss                     []*missPass
	Materialize              *materializeRun
	Freshness                *freshnessRun
}

func (r *icebergResult) valid() bool {
	for _, m := range r.Miss {
		if !m.valid() {
			return false
		}
	}
	return r.Materialize != nil && r.Materialize.valid() && r.Freshness != nil && r.Freshness.valid()
}

// iceRig is what the suite started: temp dir, redis-server, its client.
type iceRig struct {
	dir       string
	floeBin   string
	cfg       string
	redisAddr string
	redis     *proc
	rdb       *redis.Client
	closers   []func()
}

func (r *iceRig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	r.closers = nil
}

// benchIceberg runs the Iceberg suite and prints its report. It returns the
// figures (nil when setup failed) and whether every phase was valid.
func benchIceberg(ctx context.Context, s runSettings, stdout io.Writer, logf func(string, ...any)) (*icebergResult, []target, error) {
	v := iceViewDef()
	svc := iceServiceDef(v)
	res := &icebergResult{Entities: s.IceEntities, Rows: s.IceEntities * iceVersions, Features: len(v.features),
		LoadAtStart: loadAverage(), CPUs: runtime.NumCPU()}

	rg := &iceRig{}
	defer rg.close()
	var err error
	if rg.floeBin, err = filepath.Abs(s.FloeBin); err != nil {
		return nil, nil, fmt.Errorf("--floe: %w", err)
	}
	if st, err := os.Stat(rg.floeBin); err != nil || st.IsDir() {
		return nil, nil, fmt.Errorf("floe binary %s not found: run `make build` first or pass --floe", rg.floeBin)
	}
	if rg.dir, err = os.MkdirTemp("", "floe-bench-iceberg-"); err != nil {
		return nil, nil, fmt.Errorf("create temp dir: %w", err)
	}
	if s.Keep {
		logf("iceberg: keeping %s", rg.dir)
	} else {
		dir := rg.dir
		rg.closers = append(rg.closers, func() { _ = os.RemoveAll(dir) })
	}
	if s.Redis != "" {
		logf("iceberg: this suite flushes its Redis between phases, so it starts its own redis-server instead of using --redis %s", s.Redis)
	}
	p, addr, err := startRedis(ctx, s.RedisServer, rg.dir)
	if err != nil {
		return nil, nil, err
	}
	rg.closers = append(rg.closers, func() { p.stop(5 * time.Second) })
	rg.redis, rg.redisAddr = p, addr
	rg.rdb = redis.NewClient(&redis.Options{Addr: addr, PoolSize: 4})
	rg.closers = append(rg.closers, func() { _ = rg.rdb.Close() })
	logf("iceberg: started redis-server on %s", addr)

	// Project and data, through the real write path.
	if err := writeIceProject(rg.dir, v, svc); err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	if rg.cfg, err = writeConfig(rg.dir, "127.0.0.1:"+strconv.Itoa(port), addr); err != nil {
		return nil, nil, err
	}
	if len(s.IceTableProp) > 0 {
		if err := setTableProps(ctx, rg.cfg, s.IceTableProp); err != nil {
			return nil, nil, err
		}
		logf("iceberg: table properties set: %s", s.IceTableProp.String())
	}
	base := time.Now().UTC().Truncate(time.Second)
	csvPath := filepath.Join(rg.dir, iceView+".csv")
	t0 := time.Now()
	if res.CSVBytes, err = writeIceCSV(csvPath, v, s.IceEntities, base); err != nil {
		return nil, nil, fmt.Errorf("write %s: %w", csvPath, err)
	}
	res.GenerateTime = time.Since(t0)
	logf("iceberg: wrote %s rows (%d MB) of CSV in %s", thousands(float64(res.Rows)), res.CSVBytes>>20, res.GenerateTime.Round(time.Millisecond))
	t0 = time.Now()
	out, err := rg.floe(ctx, s.SetupTimeout, "ingest", "--config", rg.cfg, "--view", iceView, "--file", csvPath)
	if err != nil {
		return nil, nil, err
	}
	res.IngestTime = time.Since(t0)
	res.IngestOut = strings.TrimSpace(out)
	logf("iceberg: ingest: %s", res.IngestOut)
	if !s.Keep {
		_ = os.Remove(csvPath) // ~140 MB no longer needed
	}

	latest := func(id int64, vals []iceValue) time.Time {
		iceRow(v, id, iceVersions, vals)
		return iceEventTime(base, id, iceVersions)
	}

	// 1. Miss path.
	if res.Miss, err = runMissPath(ctx, s, rg, v, svc, latest, logf); err != nil {
		return nil, nil, err
	}
	// 2. Materialization.
	if res.Materialize, err = runMaterialize(ctx, s, rg, logf); err != nil {
		return nil, nil, err
	}
	res.Materialize.expectRows, res.Materialize.expectEntities = int64(res.Rows), int64(s.IceEntities)
	// 3. Freshness.
	if res.Freshness, err = runFreshness(ctx, s, rg, v, svc, latest, logf); err != nil {
		return nil, nil, err
	}

	targets := icebergTargets(res)
	printIceberg(stdout, s, res, targets)
	return res, targets, nil
}

// floe runs a one-shot floe command bounded by timeout.
func (r *iceRig) floe(ctx context.Context, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return runFloe(ctx, r.floeBin, args...)
}

// flush empties the suite's Redis.
func (r *iceRig) flush(ctx context.Context) error {
	if err := r.rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("FLUSHALL: %w", err)
	}
	return nil
}

// startServe starts `floe serve` on a fresh loopback port with env added, logging
// to dir/<name>/floe-serve.log, and returns it with a Connect client.
func (r *iceRig) startServe(ctx context.Context, s runSettings, name string, env []string, logf func(string, ...any)) (*proc, floev1connect.ServingServiceClient, func(), error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, nil, err
	}
	logDir := filepath.Join(r.dir, name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	// --server-env first, the phase's own settings last (they win).
	full := append(slices.Clone([]string(s.ServerEnv)), "FLOE_LISTEN="+listen)
	full = append(full, env...)
	baseURL := "http://" + listen
	srv, err := startServer(ctx, r.floeBin, r.cfg, logDir, baseURL, full, s.ReadyTimeout)
	if err != nil {
		return nil, nil, nil, err
	}
	// The pid, to attach a profiler (perf record -g -p PID) while the phase runs.
	logf("iceberg: %s: floe serve pid %d on %s, log %s", name, srv.cmd.Process.Pid, listen, srv.log)
	client, tr := newConnectClient(baseURL, 1, s.Gzip)
	stop := func() {
		tr.CloseIdleConnections()
		srv.stop(10 * time.Second)
	}
	return srv, client, stop, nil
}

// iceRequest returns a GetOnlineFeatures request for the suite's service whose
// entity list is the returned Int64List's values.
func iceRequest() (*floev1.GetOnlineFeaturesRequest, *floev1.Int64List) {
	ints := &floev1.Int64List{}
	return &floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: iceService},
		Entities: []*floev1.EntityColumn{{JoinKey: entityKey, Values: &floev1.EntityColumn_Int64Values{Int64Values: ints}}},
	}, ints
}

// runMissPath measures the cache-aside miss path: Redis flushed, `floe serve`
// not materializing, every read a distinct entity never read before.
func runMissPath(ctx context.Context, s runSettings, rg *iceRig, v benchView, svc benchService,
	latest func(int64, []iceValue) time.Time, logf func(string, ...any)) ([]*missPass, error) {
	if err := rg.flush(ctx); err != nil {
		return nil, err
	}
	srv, client, stop, err := rg.startServe(ctx, s, "miss", []string{"FLOE_MATERIALIZE_FOLLOW=false", "FLOE_NEGATIVE_CACHE_TTL=10ms"}, logf)
	if err != nil {
		return nil, err
	}
	defer stop()
	watch := &cpuWatch{}
	watch.watch("bench", os.Getpid())
	watch.watch("floe", srv.cmd.Process.Pid)
	watch.watch("redis", rg.redis.cmd.Process.Pid)

	// Every id read in the whole phase is distinct: a random subset of all
	// entities, consumed in order.
	batches := []struct{ size, warmup, requests int }{
		{1, s.MissWarmup, s.MissRequests},
		{10, max(s.MissWarmup/10, 2), s.MissBatches},
	}
	need := 0
	for _, b := range batches {
		need += b.size * (b.warmup + b.requests)
	}
	if need > s.IceEntities {
		return nil, fmt.Errorf("the miss path reads %d distinct entities but --iceberg-entities is %d", need, s.IceEntities)
	}
	ids := newIDPicker(s.IceEntities, s.Seed^0x1CEB).pick(need)
	req, ints := iceRequest()
	read := func(batch []int64) (time.Duration, error) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		ints.Values = batch
		t0 := time.Now()
		resp, err := client.GetOnlineFeatures(rctx, connect.NewRequest(req))
		d := time.Since(t0)
		if err != nil {
			return d, err
		}
		return d, checkIceRows(resp.Msg, v, svc, batch, floev1.Tier_TIER_OFFLINE, latest)
	}
	var out []*missPass
	for _, b := range batches {
		for i := 0; i < b.warmup; i++ {
			batch := ids[:b.size]
			ids = ids[b.size:]
			if _, err := read(batch); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("miss path warm-up read of %v: %w\n--- server log ---\n%s", batch, err, srv.logTail(4096))
			}
		}
		p := &missPass{Batch: b.size, Latencies: make([]time.Duration, 0, b.requests)}
		c0 := watch.sample()
		start := time.Now()
		for i := 0; i < b.requests && p.Errors < maxErrors; i++ {
			batch := ids[:b.size]
			ids = ids[b.size:]
			d, err := read(batch)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				p.Errors++
				if p.FirstErr == "" {
					p.FirstErr = fmt.Sprintf("entities %v: %v", batch, err)
				}
				continue
			}
			p.Requests++
			p.Latencies = append(p.Latencies, d)
		}
		p.Elapsed = time.Since(start)
		p.CPU = watch.usage(c0, watch.sample())
		slices.Sort(p.Latencies)
		out = append(out, p)
		logf("iceberg: miss path %dx%d: p50 %s, p99 %s over %d reads", b.size, len(v.features), ms(quantile(p.Latencies, 0.5)), ms(quantile(p.Latencies, 0.99)), p.Requests)
		if srv.exited() {
			return nil, fmt.Errorf("floe serve exited during the miss path (%v)\n--- server log ---\n%s", srv.err, srv.logTail(8192))
		}
	}
	// The fills are written back in the background; give them a moment, then
	// count them (a sanity figure, not a measurement).
	_ = sleep(ctx, 200*time.Millisecond)
	if n, err := rg.rdb.DBSize(ctx).Result(); err == nil {
		logf("iceberg: miss path wrote %d entities back to Redis", n)
	}
	return out, nil
}

var (
	materializedRE = regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(iceView) + `: snapshot (\d+), (\d+) rows read, (\d+) entities written\s*$`)
	durationRE     = regexp.MustCompile(`(?m)^materialized in (\S+)\s*$`)
	committedRE    = regexp.MustCompile(`as snapshot (-?\d+) in`)
)

// runMaterialize flushes Redis and times `floe materialize` of the view into it.
func runMaterialize(ctx context.Context, s runSettings, rg *iceRig, logf func(string, ...any)) (*materializeRun, error) {
	if err := rg.flush(ctx); err != nil {
		return nil, err
	}
	m := &materializeRun{}
	redis0, _ := procTicks(rg.redis.cmd.Process.Pid)
	cctx, cancel := context.WithTimeout(ctx, s.SetupTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, rg.floeBin, "materialize", "--config", rg.cfg, "--view", iceView)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	m.Wall = time.Since(t0)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	redis1, _ := procTicks(rg.redis.cmd.Process.Pid)
	m.RedisCPU = time.Duration(redis1-redis0) * time.Second / clockTicks
	if cmd.ProcessState != nil {
		m.ProcessCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		m.Err = fmt.Sprintf("floe materialize: %v: %s", err, strings.TrimSpace(stderr.String()))
		return m, nil
	}
	out := stdout.String()
	if g := materializedRE.FindStringSubmatch(out); g != nil {
		m.SnapshotID, _ = strconv.ParseInt(g[1], 10, 64)
		m.RowsRead, _ = strconv.ParseInt(g[2], 10, 64)
		m.EntitiesWrite, _ = strconv.ParseInt(g[3], 10, 64)
	} else {
		m.Err = "no \"rows read, entities written\" line in the output: " + strings.TrimSpace(out)
	}
	if g := durationRE.FindStringSubmatch(out); g != nil {
		m.Own, _ = time.ParseDuration(g[1])
	}
	m.KeysAfter, _ = rg.rdb.DBSize(ctx).Result()
	logf("iceberg: materialize: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
	return m, nil
}

// observation is a change of the value the freshness poller reads.
type observation struct {
	marker int64 // the marker feature's value
	snap   int64 // the snapshot id the row is stamped with
	at     time.Time
	err    error
}

// runFreshness measures, K times, the time from an external commit of a new
// value of an online entity to the first read that returns it TIER_ONLINE.
func runFreshness(ctx context.Context, s runSettings, rg *iceRig, v benchView, svc benchService,
	latest func(int64, []iceValue) time.Time, logf func(string, ...any)) (*freshnessRun, error) {
	f := &freshnessRun{Entity: int64(s.IceEntities/2 + 7), Poll: s.FreshPoll}
	cfg, err := config.Load(rg.cfg, nil)
	if err != nil {
		return nil, err
	}
	f.Interval = cfg.Materialize.Interval
	if !cfg.Materialize.Follow {
		return nil, errors.New("freshness: the configuration does not follow snapshots (materialize.follow / FLOE_MATERIALIZE_FOLLOW)")
	}
	// Redis holds the whole view (materialized just before) and its watermark;
	// the server starts in step and follows from there.
	srv, client, stop, err := rg.startServe(ctx, s, "freshness", nil, logf)
	if err != nil {
		return nil, err
	}
	defer stop()

	// The commits' expected rows, for the poller's checks.
	var mu sync.Mutex
	eventTimes := map[int64]time.Time{} // marker → event time of its row
	want := func(k int) func(int64, []iceValue) time.Time {
		return func(id int64, vals []iceValue) time.Time {
			if k == 0 {
				return latest(id, vals)
			}
			iceRow(v, id, uint64(100+k), vals)
			vals[iceMarkerFeature] = iceValue{i: markerBase + int64(k)}
			mu.Lock()
			defer mu.Unlock()
			return eventTimes[markerBase+int64(k)]
		}
	}

	// The entity must be online before the first commit, or the miss path would
	// answer (with the new value, TIER_OFFLINE) and nothing would be measured.
	req, ints := iceRequest()
	ints.Values = []int64{f.Entity}
	ids := []int64{f.Entity}
	readOnce := func(rctx context.Context) (*floev1.GetOnlineFeaturesResponse, error) {
		rctx, cancel := context.WithTimeout(rctx, 5*time.Second)
		defer cancel()
		resp, err := client.GetOnlineFeatures(rctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	first, err := readOnce(ctx)
	if err != nil {
		return nil, fmt.Errorf("freshness: first read: %w\n--- server log ---\n%s", err, srv.logTail(4096))
	}
	if err := checkIceRows(first, v, svc, ids, floev1.Tier_TIER_ONLINE, latest); err != nil {
		return nil, fmt.Errorf("freshness: entity %d is not online with its latest row before the first commit: %w", f.Entity, err)
	}

	// The poller reads every f.Poll and reports each change of the marker value.
	obs := make(chan observation, 64)
	pctx, pcancel := context.WithCancel(ctx)
	var pwg sync.WaitGroup
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		defer close(obs)
		tick := time.NewTicker(f.Poll)
		defer tick.Stop()
		last := int64(-1)
		for {
			m, err := readOnce(pctx)
			at := time.Now()
			if pctx.Err() != nil {
				return
			}
			f.Polls++
			var o observation
			switch {
			case err != nil:
				o = observation{err: err, at: at}
			case len(m.GetViews()) != 1 || len(m.GetViews()[0].GetTiers()) != 1 || len(m.GetColumns()) <= iceMarkerFeature:
				o = observation{err: fmt.Errorf("unexpected answer shape: %d views, %d columns", len(m.GetViews()), len(m.GetColumns())), at: at}
			case m.GetViews()[0].GetTiers()[0] != floev1.Tier_TIER_ONLINE:
				o = observation{err: fmt.Errorf("entity %d served from %s: the online value was not there (the miss path answered)", f.Entity, m.GetViews()[0].GetTiers()[0]), at: at}
			default:
				vals := m.GetColumns()[iceMarkerFeature].GetInt64Values().GetValues()
				if len(vals) != 1 {
					o = observation{err: errors.New("no marker value"), at: at}
					break
				}
				if vals[0] == last {
					break
				}
				last = vals[0]
				o = observation{marker: vals[0], snap: m.GetViews()[0].GetSnapshotIds()[0], at: at}
				if k := int(vals[0] - markerBase); k > 0 {
					if err := checkIceRows(m, v, svc, ids, floev1.Tier_TIER_ONLINE, want(k)); err != nil {
						o.err = fmt.Errorf("commit %d served: %w", k, err)
					}
				}
			}
			if o.err != nil || o.marker != 0 {
				select {
				case obs <- o:
				case <-pctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-pctx.Done():
				return
			}
		}
	}()
	stopPoller := func() {
		pcancel()
		for range obs {
		}
		pwg.Wait()
	}
	defer stopPoller()

	fail := func(format string, args ...any) {
		f.Errors++
		if f.FirstErr == "" {
			f.FirstErr = fmt.Sprintf(format, args...)
		}
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0xF4E5))
	csvPath := filepath.Join(rg.dir, "fresh.csv")
	for k := 1; k <= s.FreshCommits && f.Errors < maxErrors; k++ {
		if err := sleep(ctx, time.Duration(rng.Int64N(int64(time.Second)))); err != nil {
			return nil, err
		}
		et := time.Now().UTC()
		mu.Lock()
		eventTimes[markerBase+int64(k)] = et
		mu.Unlock()
		if err := writeFreshCSV(csvPath, v, f.Entity, k, et); err != nil {
			return nil, err
		}
		c := freshCommit{K: k, IngestStart: time.Now()}
		out, err := rg.floe(ctx, s.SetupTimeout, "ingest", "--config", rg.cfg, "--view", iceView, "--file", csvPath)
		c.IngestExit = time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fail("commit %d: %v", k, err)
			continue
		}
		if g := committedRE.FindStringSubmatch(out); g != nil {
			c.SnapshotID, _ = strconv.ParseInt(g[1], 10, 64)
		}
		// Wait for the poller to see marker k.
		deadline := time.NewTimer(s.FreshTimeout)
		wantMarker := markerBase + int64(k)
		seen := false
		for !seen {
			var o observation
			var ok bool
			select {
			case o, ok = <-obs:
				if !ok {
					deadline.Stop()
					return nil, ctx.Err()
				}
			case <-deadline.C:
				fail("commit %d (snapshot %d) not served online within %s", k, c.SnapshotID, s.FreshTimeout)
				seen = true
				continue
			}
			switch {
			case o.err != nil:
				fail("commit %d: %v", k, o.err)
			case o.marker == wantMarker:
				c.Seen = o.at
				if c.SnapshotID != 0 && o.snap != c.SnapshotID {
					fail("commit %d: served stamped with snapshot %d, ingest committed %d", k, o.snap, c.SnapshotID)
				}
				seen = true
			case o.marker > wantMarker:
				fail("commit %d: marker %d served before it was committed", k, o.marker-markerBase)
			case o.marker < markerBase && k > 1, o.marker >= markerBase && o.marker < wantMarker-1:
				fail("commit %d: an older value (marker %d) was served again", k, o.marker)
			}
		}
		deadline.Stop()
		if !c.Seen.IsZero() {
			f.Commits = append(f.Commits, c)
		}
		if srv.exited() {
			return nil, fmt.Errorf("floe serve exited during the freshness phase (%v)\n--- server log ---\n%s", srv.err, srv.logTail(8192))
		}
	}
	stopPoller()
	stop()

	// Snapshot timestamps, from the catalog.
	if err := snapshotTimes(ctx, cfg, f.Commits); err != nil {
		logf("iceberg: freshness: cannot read snapshot timestamps: %v", err)
	}
	before := 0
	for _, c := range f.Commits {
		d := c.Seen.Sub(c.IngestExit)
		if d < 0 {
			before++
		}
		f.FromExit = append(f.FromExit, d)
		f.IngestWall = append(f.IngestWall, c.IngestExit.Sub(c.IngestStart))
		if !c.SnapshotTime.IsZero() {
			f.FromSnapshot = append(f.FromSnapshot, c.Seen.Sub(c.SnapshotTime))
		}
	}
	slices.Sort(f.FromExit)
	slices.Sort(f.FromSnapshot)
	slices.Sort(f.IngestWall)
	logf("iceberg: freshness: %d commits, p50 %s, p99 %s from ingest exit (%d served before ingest exited), %d polls",
		len(f.FromExit), secs(quantile(f.FromExit, 0.5)), secs(quantile(f.FromExit, 0.99)), before, f.Polls)
	return f, nil
}

// snapshotTimes fills in each commit's snapshot timestamp from the table's
// metadata, read through Floe's offline store.
func snapshotTimes(ctx context.Context, cfg config.Config, commits []freshCommit) error {
	reg, err := registry.LoadDir(cfg.Specs)
	if err != nil {
		return err
	}
	v, ok := reg.FeatureView(iceView)
	if !ok {
		return fmt.Errorf("no view %s", iceView)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := offline.Open(octx, cfg.Catalog)
	if err != nil {
		return err
	}
	defer st.Close()
	snaps, err := st.Snapshots(octx, v)
	if err != nil {
		return err
	}
	byID := make(map[int64]time.Time, len(snaps))
	for _, sn := range snaps {
		byID[sn.ID] = sn.Timestamp
	}
	for i := range commits {
		commits[i].SnapshotTime = byID[commits[i].SnapshotID]
	}
	return nil
}

// setTableProps creates the view's table (as `floe ingest` would) and sets the
// given KEY=VALUE properties on it, which Iceberg writers honor from then on.
func setTableProps(ctx context.Context, cfgPath string, kvs []string) error {
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		return err
	}
	reg, err := registry.LoadDir(cfg.Specs)
	if err != nil {
		return err
	}
	v, ok := reg.FeatureView(iceView)
	if !ok {
		return fmt.Errorf("no view %s", iceView)
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := offline.Open(octx, cfg.Catalog)
	if err != nil {
		return err
	}
	defer st.Close()
	tbl, err := st.EnsureTable(octx, v)
	if err != nil {
		return err
	}
	props := iceberg.Properties{}
	for _, kv := range kvs {
		k, val, _ := strings.Cut(kv, "=")
		props[k] = val
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(props); err != nil {
		return fmt.Errorf("--iceberg-table-prop: %w", err)
	}
	if _, err := tx.Commit(octx); err != nil {
		return fmt.Errorf("--iceberg-table-prop: commit: %w", err)
	}
	return nil
}

// quantile returns the q-quantile of sorted durations by the nearest-rank
// method (passResult.percentile's), 0 when there are none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	p := passResult{Latencies: sorted}
	return p.percentile(q)
}

func mean(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	var sum time.Duration
	for _, x := range xs {
		sum += x
	}
	return sum / time.Duration(len(xs))
}

// secs formats a duration in seconds with millisecond precision.
func secs(d time.Duration) string {
	return fmt.Sprintf("%.3f s", d.Seconds())
}
