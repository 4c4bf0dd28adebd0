package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "specs"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "floe.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFileAndEnv(t *testing.T) {
	path := writeConfig(t, "specs: specs\ndata_dir: data\nonline:\n  type: redis\n  redis: {addrs: ['127.0.0.1:6379']}\n")
	c, err := Load(path, env(map[string]string{
		"FLOE_REDIS_ADDRS":     "127.0.0.1:7000, 127.0.0.1:7001",
		"FLOE_ONLINE_TYPE":     "redis-cluster",
		"FLOE_L1_ENABLED":      "true",
		"FLOE_L1_TTL":          "250ms",
		"FLOE_MAX_ENTITIES":    "50",
		"FLOE_SERVING_TIMEOUT": "300ms",

		"FLOE_TRAINING_MAX_CONCURRENT": "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if c.Specs != filepath.Join(dir, "specs") || c.DataDir != filepath.Join(dir, "data") {
		t.Errorf("relative paths not resolved against the file: %q %q", c.Specs, c.DataDir)
	}
	if c.Online.Type != "redis-cluster" || strings.Join(c.Online.Redis.Addrs, "|") != "127.0.0.1:7000|127.0.0.1:7001" {
		t.Errorf("online %+v", c.Online)
	}
	if !c.Online.L1.Enabled || c.Online.L1.TTL != 250*time.Millisecond || c.Serving.MaxEntities != 50 || c.Serving.Timeout != 300*time.Millisecond {
		t.Errorf("env overrides not applied: %+v %+v", c.Online.L1, c.Serving)
	}
	if c.Training.MaxConcurrent != 3 {
		t.Errorf("training.max_concurrent from the env: %+v", c.Training)
	}
	if !c.Materialize.Follow || c.Materialize.Interval != time.Second || !c.Materialize.Lease || c.Materialize.LeaseTTL != 10*time.Second {
		t.Errorf("materialize defaults: %+v", c.Materialize)
	}
	if c.Catalog.URI != "file:"+filepath.Join(dir, "data", "catalog.db") || c.Catalog.Warehouse != "file://"+filepath.Join(dir, "data", "warehouse") {
		t.Errorf("embedded catalog defaults: %+v", c.Catalog)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := []struct {
		name, file string
		env        map[string]string
		want       []string
	}{
		{"unknown key", "specs: specs\nlisen: x\n", nil, []string{"field lisen not found"}},
		{"bad values", "specs: specs\nonline: {type: redis}\ncatalog: {type: hive}\n", map[string]string{"FLOE_LISTEN": "8080"},
			[]string{"listen (FLOE_LISTEN) \"8080\" is not host:port", "online.redis.addrs (FLOE_REDIS_ADDRS) is required", "catalog.type (FLOE_CATALOG_TYPE) \"hive\""}},
		{"bad env", "specs: specs\n", map[string]string{"FLOE_MAX_ENTITIES": "many"}, []string{"FLOE_MAX_ENTITIES=\"many\": want an integer"}},
		{"lease too short", "specs: specs\n", map[string]string{"FLOE_MATERIALIZE_LEASE_TTL": "100ms"}, []string{"materialize.lease_ttl (FLOE_MATERIALIZE_LEASE_TTL) must be at least 300ms"}},
		{"no retrieval allowed", "specs: specs\ntraining: {max_concurrent: 0}\n", nil, []string{"training.max_concurrent (FLOE_TRAINING_MAX_CONCURRENT) must be positive"}},
		{"missing specs", "specs: nowhere\n", nil, []string{"specs (FLOE_SPECS)"}},
		{"rest needs url", "specs: specs\ncatalog: {type: rest}\n", nil, []string{"catalog.uri (FLOE_CATALOG_URI) must be the REST catalog's http(s) URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tc.file), env(tc.env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
