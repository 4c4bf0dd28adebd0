package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
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
		{"store settings", "specs: specs\ncatalog: {name: ' ', metadata_max_age: 0s, max_affected_entities: 0}\nonline: {type: redis, redis: {addrs: ['a:1', 'b:2'], dial_timeout: 0s, max_retries: 0}}\n", nil,
			[]string{"catalog.name (FLOE_CATALOG_NAME) is empty", "catalog.metadata_max_age (FLOE_CATALOG_METADATA_MAX_AGE) is 0", "catalog.max_affected_entities (FLOE_CATALOG_MAX_AFFECTED_ENTITIES) is 0",
				"online.redis.addrs (FLOE_REDIS_ADDRS) has 2 addresses for a standalone server", "online.redis.dial_timeout (FLOE_REDIS_DIAL_TIMEOUT) must be positive", "online.redis.max_retries (FLOE_REDIS_MAX_RETRIES) must be positive, or -1"}},
		{"cluster db", "specs: specs\nonline: {type: redis-cluster, redis: {addrs: ['a:1'], db: 2}}\n", nil, []string{"online.redis.db (FLOE_REDIS_DB) must be 0 with redis-cluster"}},
		{"bad properties env", "specs: specs\n", map[string]string{"FLOE_CATALOG_PROPERTIES": "s3.region"}, []string{"FLOE_CATALOG_PROPERTIES=\"s3.region\": want KEY=VALUE pairs"}},
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

// TestStoreSettingsRoundTrip sets each of the stores' settings from the file, then
// overrides it from the environment, and reads back what the store will be given.
func TestStoreSettingsRoundTrip(t *testing.T) {
	cases := []struct {
		key, file, env, envValue string
		get                      func(Config) any
		fromFile, fromEnv        any
	}{
		{"catalog.name", "catalog: {name: lake}", "FLOE_CATALOG_NAME", "other",
			func(c Config) any { return c.Catalog.Name }, "lake", "other"},
		{"catalog.metadata_max_age", "catalog: {metadata_max_age: 5s}", "FLOE_CATALOG_METADATA_MAX_AGE", "-1s",
			func(c Config) any { return c.Catalog.MetadataMaxAge }, 5 * time.Second, -time.Second},
		{"catalog.max_affected_entities", "catalog: {max_affected_entities: 500}", "FLOE_CATALOG_MAX_AFFECTED_ENTITIES", "-1",
			func(c Config) any { return c.Catalog.MaxAffectedEntities }, 500, -1},
		{"catalog.properties", "catalog: {properties: {s3.endpoint: 'http://minio:9000', s3.region: eu}}", "FLOE_CATALOG_PROPERTIES", "s3.secret-access-key=k=v, s3.region=us",
			func(c Config) any { return fmt.Sprint(c.Catalog.Properties) },
			"map[s3.endpoint:http://minio:9000 s3.region:eu]", "map[s3.endpoint:http://minio:9000 s3.region:us s3.secret-access-key:k=v]"},
		{"online.redis.dial_timeout", "online: {type: redis, redis: {addrs: ['h:1'], dial_timeout: 2s}}", "FLOE_REDIS_DIAL_TIMEOUT", "300ms",
			func(c Config) any { return c.Online.Redis.DialTimeout }, 2 * time.Second, 300 * time.Millisecond},
		{"online.redis.max_retries", "online: {type: redis, redis: {addrs: ['h:1'], max_retries: 3}}", "FLOE_REDIS_MAX_RETRIES", "-1",
			func(c Config) any { return c.Online.Redis.MaxRetries }, 3, -1},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			path := writeConfig(t, "specs: specs\n"+tc.file+"\n")
			c, err := Load(path, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(c); got != tc.fromFile {
				t.Errorf("from the file: %v, want %v", got, tc.fromFile)
			}
			c, err = Load(path, env(map[string]string{tc.env: tc.envValue}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(c); got != tc.fromEnv {
				t.Errorf("%s=%s: %v, want %v", tc.env, tc.envValue, got, tc.fromEnv)
			}
		})
	}
	// Unset, each is the store's default.
	c, err := Load(writeConfig(t, "specs: specs\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Catalog.Name != offline.DefaultCatalogName || c.Catalog.MetadataMaxAge != offline.DefaultMetadataMaxAge ||
		c.Catalog.MaxAffectedEntities != offline.DefaultMaxAffectedEntities || c.Catalog.Properties != nil {
		t.Errorf("catalog defaults: %+v", c.Catalog)
	}
	if r := c.Online.Redis; r.DialTimeout != online.DefaultDialTimeout || r.MaxRetries != online.DefaultMaxRetries {
		t.Errorf("redis defaults: %+v", r)
	}
}

// setting is one leaf of Config: its file key and environment variable.
type setting struct{ key, env string }

func settings(t reflect.Type, prefix string) []setting {
	var out []setting
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := prefix + f.Tag.Get("yaml")
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			out = append(out, settings(f.Type, key+".")...)
			continue
		}
		out = append(out, setting{key, f.Tag.Get("env")})
	}
	return out
}

// TestEverySettingIsDocumented checks that every setting, the stores' included,
// has a file key and an environment variable of its own, and that the README's
// configuration reference names both.
func TestEverySettingIsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, ref, _ := strings.Cut(string(readme), "## Configuration reference")
	ref, _, _ = strings.Cut(ref, "\n## ")
	seen := map[string]string{}
	all := settings(reflect.TypeOf(Config{}), "")
	if len(all) < 30 {
		t.Fatalf("found %d settings; is the walk broken?", len(all))
	}
	for _, s := range all {
		switch {
		case strings.HasSuffix(s.key, ".") || strings.Contains(s.key, ".."):
			t.Errorf("%s: a field without a yaml tag", s.key)
		case s.env == "":
			t.Errorf("%s: no environment variable (env tag)", s.key)
		case seen[s.env] != "":
			t.Errorf("%s and %s share %s", seen[s.env], s.key, s.env)
		}
		seen[s.env] = s.key
		leaf := s.key[strings.LastIndex(s.key, ".")+1:]
		if !strings.Contains(ref, "`"+s.env+"`") || !strings.Contains(ref, leaf) {
			t.Errorf("README's configuration reference does not document %s (%s)", s.key, s.env)
		}
	}
}
