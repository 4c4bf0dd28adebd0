package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot writes files (path relative to the root → content) under a temp dir.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestAvailableMemory(t *testing.T) {
	const meminfo = "MemFree:  100 kB\nMemTotal:       24684084 kB\nMemAvailable: 5 kB\n"
	const ram = 24684084 * 1024
	for _, tc := range []struct {
		name       string
		files      map[string]string
		want       int64
		wantSource string
		ok         bool
	}{
		{
			name: "cgroup v2 limit in the process's cgroup",
			files: map[string]string{
				"proc/meminfo":     meminfo,
				"proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
				"sys/fs/cgroup/kubepods/pod1/ctr/memory.max": "2147483648\n",
			},
			want: 2 << 30, wantSource: "/sys/fs/cgroup/kubepods/pod1/ctr/memory.max", ok: true,
		},
		{
			name: "cgroup v2 namespaced: the limit at the mount's root",
			files: map[string]string{
				"proc/meminfo":             meminfo,
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "1073741824\n",
			},
			want: 1 << 30, wantSource: "/sys/fs/cgroup/memory.max", ok: true,
		},
		{
			name: "cgroup v2 without a limit: the RAM",
			files: map[string]string{
				"proc/meminfo":             meminfo,
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "max\n",
			},
			want: ram, wantSource: "MemTotal in /proc/meminfo", ok: true,
		},
		{
			name: "cgroup v1 limit",
			files: map[string]string{
				"proc/meminfo":     meminfo,
				"proc/self/cgroup": "5:devices:/\n4:memory:/job/7\n1:cpu,cpuacct:/\n",
				"sys/fs/cgroup/memory/job/7/memory.limit_in_bytes": "536870912\n",
			},
			want: 512 << 20, wantSource: "/sys/fs/cgroup/memory/job/7/memory.limit_in_bytes", ok: true,
		},
		{
			name: "cgroup v1 unlimited (2^63 rounded down to pages): the RAM",
			files: map[string]string{
				"proc/meminfo":     meminfo,
				"proc/self/cgroup": "4:memory:/job/7\n",
				"sys/fs/cgroup/memory/job/7/memory.limit_in_bytes": "9223372036854771712\n",
			},
			want: ram, wantSource: "MemTotal in /proc/meminfo", ok: true,
		},
		{
			name: "a cgroup limit above the RAM: the RAM",
			files: map[string]string{
				"proc/meminfo":             meminfo,
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "107374182400\n",
			},
			want: ram, wantSource: "MemTotal in /proc/meminfo", ok: true,
		},
		{
			name:  "nothing readable (not Linux)",
			files: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, source, ok := availableMemory(fakeRoot(t, tc.files))
			if got != tc.want || source != tc.wantSource || ok != tc.ok {
				t.Errorf("availableMemory = %d, %q, %v; want %d, %q, %v", got, source, ok, tc.want, tc.wantSource, tc.ok)
			}
		})
	}
}
