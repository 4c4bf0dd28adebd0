package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// This file accounts CPU time during throughput passes from /proc (Linux): how
// much the server, Redis and the bench's own client used per request, and how much
// other processes took. On a 2-core machine the client competes with the server,
// so this split says where the time goes, and a large "other" share says the
// figures were taken on a busy machine and should not be trusted.

// clockTicks is USER_HZ, the unit of /proc CPU times; 100 on every Linux port Go
// runs on that matters here.
const clockTicks = 100

// cpuWatch names the processes whose CPU time is accounted.
type cpuWatch struct {
	names []string
	pids  []int
}

// watch adds a process to account; pid 0 is ignored.
func (w *cpuWatch) watch(name string, pid int) {
	if pid > 0 {
		w.names = append(w.names, name)
		w.pids = append(w.pids, pid)
	}
}

// cpuSample is the CPU time, in ticks, used so far by the machine and by each
// watched process.
type cpuSample struct {
	at    time.Time
	busy  uint64 // all CPUs, not idle
	procs []uint64
	ok    bool
}

// sample reads the current CPU times; ok is false when /proc cannot be read.
func (w *cpuWatch) sample() cpuSample {
	s := cpuSample{at: time.Now(), procs: make([]uint64, len(w.pids)), ok: true}
	busy, err := machineBusyTicks()
	if err != nil {
		return cpuSample{}
	}
	s.busy = busy
	for i, pid := range w.pids {
		t, err := procTicks(pid)
		if err != nil {
			return cpuSample{}
		}
		s.procs[i] = t
	}
	return s
}

// cpuUsage is the CPU used between two samples, in cores (CPU seconds per second).
type cpuUsage struct {
	Wall    time.Duration      `json:"-"`
	Machine float64            `json:"machine_cores"`
	Procs   map[string]float64 `json:"process_cores"`
	// Other is the machine's use not accounted to a watched process.
	Other float64 `json:"other_cores"`
	names []string
}

// usage returns the CPU used from a to b, nil when either sample failed.
func (w *cpuWatch) usage(a, b cpuSample) *cpuUsage {
	if !a.ok || !b.ok {
		return nil
	}
	wall := b.at.Sub(a.at)
	if wall <= 0 {
		return nil
	}
	cores := func(ticks uint64) float64 { return float64(ticks) / clockTicks / wall.Seconds() }
	u := &cpuUsage{Wall: wall, Machine: cores(b.busy - a.busy), Procs: map[string]float64{}, names: w.names}
	u.Other = u.Machine
	for i, name := range w.names {
		c := cores(b.procs[i] - a.procs[i])
		u.Procs[name] = c
		u.Other -= c
	}
	u.Other = max(u.Other, 0)
	return u
}

// mergeCPU combines the usage of two windows, weighting each by its length; nil
// stands for "not accounted" and makes the result nil unless the other is the
// only one.
func mergeCPU(a, b *cpuUsage) *cpuUsage {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	wall := a.Wall + b.Wall
	wa, wb := a.Wall.Seconds()/wall.Seconds(), b.Wall.Seconds()/wall.Seconds()
	m := &cpuUsage{Wall: wall, Machine: a.Machine*wa + b.Machine*wb, Other: a.Other*wa + b.Other*wb,
		Procs: map[string]float64{}, names: a.names}
	for name, c := range a.Procs {
		m.Procs[name] = c*wa + b.Procs[name]*wb
	}
	return m
}

// perRequest returns the CPU microseconds process name spent per request at rate
// req/s.
func (u *cpuUsage) perRequest(name string, reqPerSec float64) float64 {
	if reqPerSec <= 0 {
		return 0
	}
	return u.Procs[name] / reqPerSec * 1e6
}

// machineBusyTicks returns the non-idle CPU time of all CPUs from /proc/stat.
func machineBusyTicks() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy uint64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return busy, nil
}

// procTicks returns utime+stime of pid (all its threads) from /proc/PID/stat.
func procTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ... utime(14) stime(15), so indexes 11 and 12 here.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return ut + st, nil
}

// loadAverage returns the 1-minute load average, or -1 when unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
