package cli

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the memory available to the process that floe
// serve makes its soft memory limit (runtime/debug.SetMemoryLimit) when GOMEMLIMIT is
// not set. With the collector target at serveGCPercent the heap may grow to five
// times the live data; near the limit the collector runs as often as it must
// instead, so a large training-data request makes the server collect harder rather
// than be killed for running out of memory. The rest is left for the kernel's page
// cache, the offline store's files and non-heap memory.
const memoryLimitShare = 0.75

// availableMemory returns the memory the process may use, and where that figure
// came from: its cgroup's limit (v2 memory.max, or v1 memory.limit_in_bytes) when
// one is set below the machine's RAM, else the RAM (MemTotal). root is the file
// system root ("/", or a directory standing in for it in tests). ok is false where
// neither can be read (not Linux).
func availableMemory(root string) (bytes int64, source string, ok bool) {
	ram, ramOK := memTotal(filepath.Join(root, "proc", "meminfo"))
	if limit, file, ok := cgroupLimit(root); ok && (!ramOK || limit < ram) {
		return limit, file, true
	}
	if ramOK {
		return ram, "MemTotal in /proc/meminfo", true
	}
	return 0, "", false
}

// memTotal parses MemTotal (in kB) from a meminfo file.
func memTotal(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, found := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !found {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		return kb * 1024, err == nil && kb > 0
	}
	return 0, false
}

// cgroupLimit reads the memory limit of the process's cgroup. A limit file that
// says "max" or a value no machine has (v1 writes 2^63 rounded to pages) means none.
func cgroupLimit(root string) (int64, string, bool) {
	data, err := os.ReadFile(filepath.Join(root, "proc", "self", "cgroup"))
	if err != nil {
		return 0, "", false
	}
	var candidates []string
	for line := range bytes.Lines(data) {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(strings.TrimSpace(string(line)), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			candidates = append(candidates,
				filepath.Join(root, "sys", "fs", "cgroup", parts[2], "memory.max"),
				filepath.Join(root, "sys", "fs", "cgroup", "memory.max"))
		case hasController(parts[1], "memory"):
			candidates = append(candidates,
				filepath.Join(root, "sys", "fs", "cgroup", "memory", parts[2], "memory.limit_in_bytes"),
				filepath.Join(root, "sys", "fs", "cgroup", "memory", "memory.limit_in_bytes"))
		}
	}
	for _, path := range candidates {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, "", false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v >= 1<<62 {
			return 0, "", false
		}
		return v, strings.TrimPrefix(path, strings.TrimSuffix(filepath.Clean(root), "/")), true
	}
	return 0, "", false
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
