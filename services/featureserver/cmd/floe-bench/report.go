package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// This file turns pass results into the printed table, the verdict on the issue's
// targets and the optional JSON file.

// result is one scenario × protocol: its latency pass and its throughput pass.
type result struct {
	scenario   scenario
	protocol   string
	latency    *passResult
	throughput *passResult
	// ratio is this protocol's throughput over the raw-redis baseline's in the same
	// scenario; 0 when there is no baseline (or for the baseline itself).
	ratio float64
}

// valid reports whether both passes can be trusted.
func (r *result) valid() bool { return r.latency.valid() && r.throughput.valid() }

// target is one goal from the performance issue.
type target struct {
	Scenario string `json:"scenario"`
	Protocol string `json:"protocol"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// evaluateTargets checks the goals on Floe's protocols: 1x10 latency p99 ≤
// 1 ms, 100x10 latency p99 ≤ 2 ms, 100x10 throughput ≥ 30% of raw Redis. A goal on
// an invalid result is never met.
func evaluateTargets(results []*result) []target {
	var out []target
	for _, r := range results {
		if r.protocol == protoRaw {
			continue
		}
		p99 := r.latency.percentile(0.99)
		measured := ms(p99)
		if !r.valid() {
			measured = "invalid run"
		}
		switch r.scenario.name {
		case "1x10":
			out = append(out, target{r.scenario.name, r.protocol, "p99 ≤ 1 ms", measured, r.valid() && p99 <= time.Millisecond})
		case "100x10":
			out = append(out, target{r.scenario.name, r.protocol, "p99 ≤ 2 ms", measured, r.valid() && p99 <= 2*time.Millisecond})
			ratio := pct(r.ratio)
			if !r.valid() || r.ratio == 0 {
				ratio = "invalid run"
			}
			out = append(out, target{r.scenario.name, r.protocol, "throughput ≥ 30% of raw", ratio, r.valid() && r.ratio >= 0.30})
		}
	}
	return out
}

// targetNote is the goal printed next to a row of the table.
func targetNote(r *result) string {
	if r.protocol == protoRaw {
		return "baseline"
	}
	switch r.scenario.name {
	case "1x10":
		return "p99 ≤ 1 ms"
	case "100x10":
		return "p99 ≤ 2 ms, ≥ 30% of raw"
	}
	return ""
}

// ms formats a duration in milliseconds with microsecond precision.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// pctl formats a percentile of a pass, "-" when the pass has no successful request.
func pctl(p *passResult, q float64) string {
	if len(p.Latencies) == 0 {
		return "-"
	}
	return ms(p.percentile(q))
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// thousands formats a rate with thousands separators, e.g. 12,345.
func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// printTable writes the results table, then the targets with their verdicts.
func printTable(w io.Writer, results []*result, targets []target) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tprotocol\tp50\tp99\tp999\treq/s\trows/s\tload p50\tload p99\tvs raw\t\ttarget\t")
	prev := ""
	for _, r := range results {
		if prev != "" && r.scenario.name != prev {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t")
		}
		prev = r.scenario.name
		l, t := r.latency, r.throughput
		ratio := "-"
		if r.ratio > 0 {
			ratio = pct(r.ratio)
		}
		status := ""
		if !r.valid() {
			status = "INVALID"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.scenario.name, r.protocol,
			pctl(l, 0.50), pctl(l, 0.99), pctl(l, 0.999),
			thousands(t.reqPerSec()), thousands(t.reqPerSec()*float64(r.scenario.entities)),
			pctl(t, 0.50), pctl(t, 0.99),
			ratio, status, targetNote(r))
	}
	_ = tw.Flush()

	for _, r := range results {
		for _, p := range []struct {
			name string
			r    *passResult
		}{{"latency", r.latency}, {"throughput", r.throughput}} {
			if !p.r.valid() {
				fmt.Fprintf(w, "INVALID %s %s %s pass: %d ok, %d failed, %.1f%% present; first error: %s\n",
					r.scenario.name, r.protocol, p.name, p.r.Requests, p.r.Errors, p.r.presentRatio()*100, p.r.FirstError)
			}
		}
	}

	printCPU(w, results)

	if len(targets) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTargets (from the issue):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range targets {
		verdict := "MISSED"
		if t.Met {
			verdict = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\tmeasured %s\t%s\n", t.Scenario, t.Protocol, t.Goal, t.Measured, verdict)
	}
	_ = tw.Flush()
}

// noisyCores is the CPU use by processes outside the bench above which a load
// pass is flagged: on a 2-core machine a fifth of a core taken by others already
// moves the figures.
const noisyCores = 0.2

// printCPU writes where the CPU went during each load pass: microseconds of CPU
// per request in the server, Redis and the bench's client, and the cores other
// processes used (which should be near zero for trustworthy figures).
func printCPU(w io.Writer, results []*result) {
	have := false
	for _, r := range results {
		have = have || r.throughput.CPU != nil
	}
	if !have {
		return
	}
	fmt.Fprintln(w, "\nCPU during the load passes (µs of CPU per request; cores = CPU-seconds per second):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tprotocol\tfloe serve\tredis\tbench client\tmachine\tother procs\t\t")
	noisy := false
	for _, r := range results {
		u := r.throughput.CPU
		if u == nil {
			continue
		}
		rate := r.throughput.reqPerSec()
		us := func(name string) string {
			if _, ok := u.Procs[name]; !ok {
				return "-"
			}
			return fmt.Sprintf("%.0f µs", u.perRequest(name, rate))
		}
		floe := us("floe")
		if r.protocol == protoRaw {
			floe = "-"
		}
		flag := ""
		if u.Other > noisyCores {
			flag, noisy = "NOISY", true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f cores\t%.2f cores\t%s\t\n",
			r.scenario.name, r.protocol, floe, us("redis"), us("bench"), u.Machine, u.Other, flag)
	}
	_ = tw.Flush()
	if noisy {
		fmt.Fprintf(w, "NOISY: other processes used more than %.1f cores during some passes; rerun on an idle machine.\n", noisyCores)
	}
}

// jsonReport is the --json file: the run's settings, environment and figures.
// Durations are in milliseconds.
type jsonReport struct {
	Time        time.Time   `json:"time"`
	Settings    runSettings `json:"settings"`
	Environment environment `json:"environment"`
	// Results are the online suite's; Iceberg is the iceberg suite's.
	Results []jsonResult `json:"results"`
	Iceberg *icebergJSON `json:"iceberg,omitempty"`
	// Targets are the goals of both suites with their verdicts.
	Targets []target `json:"targets"`
}

// environment describes the machine and versions the figures were taken on.
type environment struct {
	CPUs         int    `json:"cpus"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	GoVersion    string `json:"go_version"`
	RedisVersion string `json:"redis_version"`
	RedisAddr    string `json:"redis_addr"`
	// LoadAverageAtStart is the 1-minute load average before the bench began.
	LoadAverageAtStart float64 `json:"load_average_at_start"`
}

type jsonResult struct {
	Scenario   string   `json:"scenario"`
	Protocol   string   `json:"protocol"`
	Entities   int      `json:"entities"`
	Features   int      `json:"features"`
	Valid      bool     `json:"valid"`
	Latency    jsonPass `json:"latency"`
	Throughput jsonPass `json:"throughput"`
	// RatioVsRaw is throughput over the raw-redis baseline's (0 for the baseline).
	RatioVsRaw float64 `json:"ratio_vs_raw"`
	// CPUPerRequestUS is the CPU microseconds per request of each watched process
	// during the throughput pass.
	CPUPerRequestUS map[string]float64 `json:"cpu_per_request_us,omitempty"`
	CPU             *cpuUsage          `json:"cpu,omitempty"`
}

type jsonPass struct {
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"first_error,omitempty"`
	ElapsedMS    float64 `json:"elapsed_ms"`
	P50MS        float64 `json:"p50_ms"`
	P99MS        float64 `json:"p99_ms"`
	P999MS       float64 `json:"p999_ms"`
	ReqPerSec    float64 `json:"req_per_sec"`
	RowsPerSec   float64 `json:"rows_per_sec"`
	PresentRatio float64 `json:"present_ratio"`
}

func toJSONPass(p *passResult, entities int) jsonPass {
	f := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return jsonPass{
		Requests: p.Requests, Errors: p.Errors, FirstError: p.FirstError,
		ElapsedMS: f(p.Elapsed),
		P50MS:     f(p.percentile(0.50)), P99MS: f(p.percentile(0.99)), P999MS: f(p.percentile(0.999)),
		ReqPerSec: p.reqPerSec(), RowsPerSec: p.reqPerSec() * float64(entities),
		PresentRatio: p.presentRatio(),
	}
}

// onlineJSON converts the online suite's results for the JSON file.
func onlineJSON(results []*result) []jsonResult {
	var out []jsonResult
	for _, r := range results {
		var perReq map[string]float64
		if u := r.throughput.CPU; u != nil {
			perReq = map[string]float64{}
			for name := range u.Procs {
				perReq[name] = u.perRequest(name, r.throughput.reqPerSec())
			}
		}
		out = append(out, jsonResult{
			CPUPerRequestUS: perReq, CPU: r.throughput.CPU,
			Scenario: r.scenario.name, Protocol: r.protocol,
			Entities: r.scenario.entities, Features: len(r.scenario.service.refs),
			Valid:      r.valid(),
			Latency:    toJSONPass(r.latency, r.scenario.entities),
			Throughput: toJSONPass(r.throughput, r.scenario.entities),
			RatioVsRaw: r.ratio,
		})
	}
	return out
}

// writeJSON writes the report to path.
func writeJSON(path string, rep *jsonReport) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode JSON report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}
