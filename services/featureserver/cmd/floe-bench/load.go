package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// This file drives load: the sequential latency pass and the concurrent
// throughput pass, both bounded (by a request count or a duration).

// scenario is one shape of request: a number of entities read through a service.
type scenario struct {
	name     string // e.g. "100x10"
	entities int
	service  benchService
}

// passResult holds the figures of one pass.
type passResult struct {
	Requests   int
	Errors     int
	FirstError string
	Elapsed    time.Duration
	// Latencies are sorted ascending once the pass ends.
	Latencies []time.Duration
	// Present and Total count value slots over all successful requests.
	Present, Total int
	// CPU is the CPU used during the measured window of a throughput pass, nil
	// when not accounted.
	CPU *cpuUsage
}

// percentile returns the q-quantile (0 < q ≤ 1) of the sorted latencies by the
// nearest-rank method, 0 when there are none.
func (r *passResult) percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(float64(n)*q+0.999999) - 1
	return r.Latencies[min(max(i, 0), n-1)]
}

// reqPerSec is the rate of successful requests over the measured time.
func (r *passResult) reqPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// presentRatio is the share of value slots answered PRESENT (or keys found).
func (r *passResult) presentRatio() float64 {
	if r.Total == 0 {
		return 0
	}
	return float64(r.Present) / float64(r.Total)
}

// valid reports whether the pass's figures can be trusted: no failed request, and
// nearly every value present (the data has ~1% nulls and no unknown entity).
func (r *passResult) valid() bool {
	return r.Errors == 0 && r.Requests > 0 && r.presentRatio() >= 0.9
}

// merge adds a later pass of the same client to r: counts, latencies (unsorted
// until the caller sorts them), measured time and CPU use.
func (r *passResult) merge(o *passResult) {
	r.add(o)
	r.Elapsed += o.Elapsed
	r.CPU = mergeCPU(r.CPU, o.CPU)
}

// add merges the counts of o into r.
func (r *passResult) add(o *passResult) {
	r.Requests += o.Requests
	r.Present += o.Present
	r.Total += o.Total
	r.Errors += o.Errors
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	r.Latencies = append(r.Latencies, o.Latencies...)
}

// record notes one request's outcome.
func (r *passResult) record(res callResult, err error, d time.Duration) {
	if err != nil {
		r.Errors++
		if r.FirstError == "" {
			r.FirstError = err.Error()
		}
		return
	}
	r.Requests++
	r.Present += res.present
	r.Total += res.total
	r.Latencies = append(r.Latencies, d)
}

// maxErrors is how many failed requests a pass tolerates before it stops: enough
// to see a pattern in the first error, few enough not to waste the run.
const maxErrors = 20

// idPicker draws distinct random entity ids from 1..n by a partial Fisher–Yates
// shuffle of a permutation it keeps between calls: k swaps per request, no
// retries, uniform over every k-subset.
type idPicker struct {
	rng  *rand.Rand
	perm []int64
}

func newIDPicker(n int, seed uint64) *idPicker {
	p := &idPicker{rng: rand.New(rand.NewPCG(seed, 0xD1B54A32D192ED03)), perm: make([]int64, n)}
	for i := range p.perm {
		p.perm[i] = int64(i + 1)
	}
	return p
}

// pick returns k distinct ids (k ≤ n). The slice is only valid until the next call.
func (p *idPicker) pick(k int) []int64 {
	n := len(p.perm)
	for j := 0; j < k; j++ {
		r := j + p.rng.IntN(n-j)
		p.perm[j], p.perm[r] = p.perm[r], p.perm[j]
	}
	return p.perm[:k]
}

// latencyPass sends warmup unrecorded requests, then requests sequential ones from
// one worker, recording each latency.
func latencyPass(ctx context.Context, f callerFactory, sc scenario, entities, warmup, requests int, seed uint64) (*passResult, error) {
	call := f()
	ids := newIDPicker(entities, seed)
	for i := 0; i < warmup; i++ {
		if _, err := call(ctx, ids.pick(sc.entities)); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return &passResult{Errors: 1, FirstError: "warm-up: " + err.Error()}, nil
		}
	}
	r := &passResult{Latencies: make([]time.Duration, 0, requests)}
	start := time.Now()
	for i := 0; i < requests && r.Errors < maxErrors; i++ {
		batch := ids.pick(sc.entities)
		t0 := time.Now()
		res, err := call(ctx, batch)
		d := time.Since(t0)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.record(res, err, d)
	}
	r.Elapsed = time.Since(start)
	slices.Sort(r.Latencies)
	return r, nil
}

// throughputPass runs workers concurrent closed-loop workers for warmup+duration.
// Requests started during the warm-up are not counted; the rate is the count of
// requests started in the measured window over the time from the window's start
// to the last completion. CPU use in the measured window is accounted by watch.
func throughputPass(ctx context.Context, f callerFactory, sc scenario, entities, workers int, warmup, duration time.Duration, seed uint64, watch *cpuWatch) (*passResult, error) {
	begin := time.Now()
	measureFrom := begin.Add(warmup)
	end := measureFrom.Add(duration)
	results := make([]*passResult, workers)
	lastDone := make([]time.Time, workers)
	var wg sync.WaitGroup
	cpuStart := make(chan cpuSample, 1)
	go func() {
		_ = sleep(ctx, time.Until(measureFrom))
		cpuStart <- watch.sample()
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := f()
			ids := newIDPicker(entities, seed+uint64(w)*7919)
			r := &passResult{Latencies: make([]time.Duration, 0, 4096)}
			results[w] = r
			for r.Errors < maxErrors && ctx.Err() == nil {
				batch := ids.pick(sc.entities)
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				res, err := call(ctx, batch)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					if err != nil && ctx.Err() == nil {
						r.record(res, err, 0)
					}
					continue
				}
				r.record(res, err, t1.Sub(t0))
				lastDone[w] = t1
			}
		}()
	}
	wg.Wait()
	cpuEnd := watch.sample()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	total := &passResult{CPU: watch.usage(<-cpuStart, cpuEnd)}
	last := measureFrom
	for w, r := range results {
		total.add(r)
		if lastDone[w].After(last) {
			last = lastDone[w]
		}
	}
	total.Elapsed = last.Sub(measureFrom)
	slices.Sort(total.Latencies)
	return total, nil
}

// parseScenario parses "ENTITIESxFEATURES" (features 10 or 50) into a scenario.
func parseScenario(s string, services map[string]benchService) (scenario, error) {
	var n, feats int
	if _, err := fmt.Sscanf(s, "%dx%d", &n, &feats); err != nil {
		return scenario{}, fmt.Errorf("scenario %q: want ENTITIESxFEATURES such as 100x10", s)
	}
	svc, ok := services[fmt.Sprintf("bench_%d", feats)]
	if !ok {
		return scenario{}, fmt.Errorf("scenario %q: features must be 10 or 50", s)
	}
	if n <= 0 {
		return scenario{}, fmt.Errorf("scenario %q: entities must be positive", s)
	}
	return scenario{name: s, entities: n, service: svc}, nil
}

// runScenarios runs, for each scenario, the raw-redis baseline and each Floe
// protocol: a latency pass and a throughput pass each. Every pass is split into
// rounds, and the rounds alternate between the clients (in a rotating order), so
// a neighbour that loads the machine for a while hits the baseline and Floe alike
// and the ratio between them stays fair. It stops early if the server dies.
func runScenarios(ctx context.Context, s runSettings, rg *rig, scenarios []scenario, logf func(string, ...any)) ([]*result, error) {
	clients := []benchClient{{protoRaw, func(svc benchService) callerFactory { return rawCaller(rg.rdb, svc) }}}
	for _, p := range splitList(s.Protocols) {
		var c floev1connect.ServingServiceClient
		var tr *http.Transport
		if p == protoGRPC {
			c, tr = newGRPCClient(rg.baseURL, s.Gzip)
		} else {
			c, tr = newConnectClient(rg.baseURL, s.Concurrency, s.Gzip)
		}
		defer tr.CloseIdleConnections()
		clients = append(clients, benchClient{p, func(svc benchService) callerFactory { return servingCaller(c, svc) }})
	}
	rounds := s.Rounds
	var results []*result
	for _, sc := range scenarios {
		res := make([]*result, len(clients))
		for i, c := range clients {
			res[i] = &result{scenario: sc, protocol: c.name, latency: &passResult{}, throughput: &passResult{}}
		}
		for round := 0; round < rounds; round++ {
			for k := range clients {
				i := (k + round) % len(clients)
				c, r := clients[i], res[i]
				f := c.callers(sc.service)
				seed := s.Seed + uint64(round)*1_000_003
				// Spread the request count over the rounds; the first rounds take the remainder.
				n := s.Requests / rounds
				if round < s.Requests%rounds {
					n++
				}
				lat, err := latencyPass(ctx, f, sc, s.Entities, s.Warmup/rounds, n, seed)
				if err != nil {
					return nil, fmt.Errorf("%s %s latency pass: %w", sc.name, c.name, err)
				}
				tp, err := throughputPass(ctx, f, sc, s.Entities, s.Concurrency, s.LoadWarmup, s.Duration/time.Duration(rounds), seed+1, rg.watch)
				if err != nil {
					return nil, fmt.Errorf("%s %s throughput pass: %w", sc.name, c.name, err)
				}
				r.latency.merge(lat)
				r.throughput.merge(tp)
				if rg.srv.exited() {
					return nil, fmt.Errorf("floe serve exited during the %s %s passes (%v)\n--- server log ---\n%s", sc.name, c.name, rg.srv.err, rg.srv.logTail(8192))
				}
			}
		}
		raw := res[0]
		for _, r := range res {
			slices.Sort(r.latency.Latencies)
			slices.Sort(r.throughput.Latencies)
			if r != raw && raw.throughput.reqPerSec() > 0 {
				r.ratio = r.throughput.reqPerSec() / raw.throughput.reqPerSec()
			}
			note := ""
			if !r.valid() {
				note = " (INVALID: see below)"
			}
			logf("%-7s %-9s p99 %s, %s req/s%s", sc.name, r.protocol, ms(r.latency.percentile(0.99)), thousands(r.throughput.reqPerSec()), note)
		}
		results = append(results, res...)
	}
	return results, nil
}
