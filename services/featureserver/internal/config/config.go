// Package config loads the server configuration: defaults, then a YAML file, then
// FLOE_* environment variables, then validation with messages that say what to fix.
// The stores' sections are the stores' own Config types (offline.Config,
// online.Config), so every setting a store has is a key of the file; Default is
// the one place every default is gathered (the stores' from their Default*
// constants).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
)

// Config is the whole server configuration. The yaml tag names the key in the
// config file; the env tag the environment variable that overrides it. Every
// setting has both (config_test.go checks it, and that README documents it).
type Config struct {
	// Listen is the address of the single port serving Connect, gRPC, gRPC-Web,
	// JSON, the console and the health and metrics endpoints.
	Listen string `yaml:"listen" env:"FLOE_LISTEN"`
	// Specs is the directory of the project's spec YAML files.
	Specs string `yaml:"specs" env:"FLOE_SPECS"`
	// DataDir holds the embedded catalog and warehouse when they are not configured.
	DataDir string `yaml:"data_dir" env:"FLOE_DATA_DIR"`

	// Catalog is the offline store: the Iceberg catalog and warehouse. Its
	// settings are offline.Config's; the sql catalog's URI and warehouse default
	// to files under DataDir.
	Catalog offline.Config `yaml:"catalog"`
	// Online is the online store; its settings are online.Config's.
	Online      online.Config `yaml:"online"`
	Serving     Serving       `yaml:"serving"`
	Materialize Materialize   `yaml:"materialize"`
	Training    Training      `yaml:"training"`
	Log         Log           `yaml:"log"`
}

// Serving configures the read path.
type Serving struct {
	// MaxEntities bounds the entity rows of one GetOnlineFeatures call.
	MaxEntities int `yaml:"max_entities" env:"FLOE_MAX_ENTITIES"`
	// Timeout bounds one read when the client sets no deadline.
	Timeout time.Duration `yaml:"timeout" env:"FLOE_SERVING_TIMEOUT"`
	// NegativeCacheTTL is how long an entity confirmed absent from Iceberg is
	// answered NOT_FOUND without looking again.
	NegativeCacheTTL time.Duration `yaml:"negative_cache_ttl" env:"FLOE_NEGATIVE_CACHE_TTL"`
}

// Materialize configures publishing snapshots to the online store, by the server
// and by `floe materialize`.
type Materialize struct {
	// Follow makes the server watch every view's table and publish each new
	// snapshot to the online store, whoever committed it. The in-process store is
	// always materialized at start; with Redis and Lease, replicas take turns.
	Follow bool `yaml:"follow" env:"FLOE_MATERIALIZE_FOLLOW"`
	// Interval between two polls of the catalog for new snapshots.
	Interval time.Duration `yaml:"interval" env:"FLOE_MATERIALIZE_INTERVAL"`
	// Lease makes the publishers of one shared online store (Redis) take turns:
	// one holds a lease in the store and follows, the others stand by and take
	// over when it stops or stops renewing the lease, and a one-shot
	// materialization runs only if it can take the lease (materialize.Publisher).
	// Off, every publisher writes.
	Lease bool `yaml:"lease" env:"FLOE_MATERIALIZE_LEASE"`
	// LeaseTTL is how long a follower that stopped renewing keeps the lease: the
	// longest a crash leaves snapshots unpublished.
	LeaseTTL time.Duration `yaml:"lease_ttl" env:"FLOE_MATERIALIZE_LEASE_TTL"`
}

// Training configures historical retrieval (TrainingService) in the server.
type Training struct {
	// MaxConcurrent is how many retrievals run at once; more wait their turn. Each
	// holds its entity rows and the requested view columns in memory and keeps
	// cores busy, next to online reads.
	MaxConcurrent int `yaml:"max_concurrent" env:"FLOE_TRAINING_MAX_CONCURRENT"`
}

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level" env:"FLOE_LOG_LEVEL"`
	Format string `yaml:"format" env:"FLOE_LOG_FORMAT"`
}

// Default returns the embedded default configuration: everything in ./.floe, an
// in-process online store, nothing to install.
func Default() Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		Specs:   "specs/examples/pricing",
		DataDir: ".floe",
		Catalog: offline.Config{
			Type:                offline.CatalogSQL,
			Name:                offline.DefaultCatalogName,
			MetadataMaxAge:      offline.DefaultMetadataMaxAge,
			MaxAffectedEntities: offline.DefaultMaxAffectedEntities,
		},
		Online: online.Config{
			Type:   online.TypeMemory,
			Memory: online.MemoryConfig{MaxEntries: online.DefaultMaxEntries},
			Redis:  online.RedisConfig{DialTimeout: online.DefaultDialTimeout, MaxRetries: online.DefaultMaxRetries},
			L1:     online.L1Config{MaxEntries: online.DefaultL1MaxEntries, TTL: online.DefaultL1TTL},
		},
		Serving:     Serving{MaxEntities: 1000, Timeout: 2 * time.Second, NegativeCacheTTL: time.Second},
		Materialize: Materialize{Follow: true, Interval: time.Second, Lease: true, LeaseTTL: 10 * time.Second},
		Training:    Training{MaxConcurrent: 1},
		Log:         Log{Level: "info", Format: "text"},
	}
}

// Load returns the configuration from path (optional: "" uses defaults only) with
// environment overrides applied and every value validated. Relative paths in the
// file are resolved against the file's directory.
func Load(path string, env func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
		base := filepath.Dir(path)
		for _, p := range []*string{&c.Specs, &c.DataDir} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(base, *p)
			}
		}
	}
	if env == nil {
		env = os.LookupEnv
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), env); err != nil {
		return c, err
	}
	if err := c.resolve(); err != nil {
		return c, err
	}
	return c, nil
}

func applyEnv(v reflect.Value, env func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			if err := applyEnv(fv, env); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			continue
		}
		s, ok := env(name)
		if !ok {
			continue
		}
		if err := setValue(fv, s); err != nil {
			return fmt.Errorf("config: environment %s=%q: %v", name, s, err)
		}
	}
	return nil
}

func setValue(fv reflect.Value, s string) error {
	switch {
	case fv.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration such as 2s or 500ms")
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(s)
	case fv.Kind() == reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		fv.SetInt(int64(n))
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		fv.Set(reflect.ValueOf(&b))
	case fv.Kind() == reflect.Map && fv.Type().Key().Kind() == reflect.String && fv.Type().Elem().Kind() == reflect.String:
		// KEY=VALUE pairs, comma-separated, merged over the file's key by key (a
		// secret can come from the environment, the rest from the file).
		m := map[string]string{}
		for k, v := range fv.Interface().(map[string]string) {
			m[k] = v
		}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, v, ok := strings.Cut(p, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return fmt.Errorf("want KEY=VALUE pairs separated by commas, got %q", p)
			}
			m[strings.TrimSpace(k)] = v
		}
		fv.Set(reflect.ValueOf(m))
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		fv.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", fv.Type())
	}
	return nil
}

// resolve fills derived defaults and validates. Every message names the setting
// (file key and environment variable) so the user knows what to change.
func (c *Config) resolve() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen (FLOE_LISTEN) %q is not host:port", c.Listen)
	}
	if st, err := os.Stat(c.Specs); err != nil || !st.IsDir() {
		bad("specs (FLOE_SPECS) %q is not a directory of spec YAML files", c.Specs)
	}
	if c.DataDir == "" {
		bad("data_dir (FLOE_DATA_DIR) is empty")
	} else if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	switch c.Catalog.Type {
	case offline.CatalogSQL:
		if c.Catalog.URI == "" {
			c.Catalog.URI = "file:" + filepath.Join(c.DataDir, "catalog.db")
		}
		if c.Catalog.Warehouse == "" {
			c.Catalog.Warehouse = "file://" + filepath.Join(c.DataDir, "warehouse")
		}
	case offline.CatalogREST:
		if !strings.HasPrefix(c.Catalog.URI, "http://") && !strings.HasPrefix(c.Catalog.URI, "https://") {
			bad("catalog.uri (FLOE_CATALOG_URI) must be the REST catalog's http(s) URL when catalog.type is rest, got %q", c.Catalog.URI)
		}
	default:
		bad("catalog.type (FLOE_CATALOG_TYPE) %q is not one of sql, rest", c.Catalog.Type)
	}
	if strings.TrimSpace(c.Catalog.Name) == "" {
		bad("catalog.name (FLOE_CATALOG_NAME) is empty; other engines (pyiceberg, Spark) must open the catalog under the same name (default %q)", offline.DefaultCatalogName)
	}
	if c.Catalog.MetadataMaxAge == 0 {
		bad("catalog.metadata_max_age (FLOE_CATALOG_METADATA_MAX_AGE) is 0: set a positive age, or a negative one to reload table metadata on every read")
	}
	if c.Catalog.MaxAffectedEntities == 0 {
		bad("catalog.max_affected_entities (FLOE_CATALOG_MAX_AFFECTED_ENTITIES) is 0: set a positive bound, or -1 for none")
	}
	switch c.Online.Type {
	case online.TypeMemory:
		if c.Online.Memory.MaxEntries <= 0 {
			bad("online.memory.max_entries (FLOE_MEMORY_MAX_ENTRIES) must be positive")
		}
	case online.TypeRedis, online.TypeRedisCluster:
		r := c.Online.Redis
		if len(r.Addrs) == 0 {
			bad("online.redis.addrs (FLOE_REDIS_ADDRS) is required when online.type is %s", c.Online.Type)
		}
		if c.Online.Type == online.TypeRedis && len(r.Addrs) > 1 {
			bad("online.redis.addrs (FLOE_REDIS_ADDRS) has %d addresses for a standalone server; set online.type to redis-cluster for a cluster", len(r.Addrs))
		}
		if c.Online.Type == online.TypeRedisCluster && r.DB != 0 {
			bad("online.redis.db (FLOE_REDIS_DB) must be 0 with redis-cluster (a cluster has only database 0)")
		}
		if r.DB < 0 {
			bad("online.redis.db (FLOE_REDIS_DB) must not be negative")
		}
		if r.PoolSize < 0 {
			bad("online.redis.pool_size (FLOE_REDIS_POOL_SIZE) must not be negative (0 means ten per GOMAXPROCS)")
		}
		if r.DialTimeout <= 0 {
			bad("online.redis.dial_timeout (FLOE_REDIS_DIAL_TIMEOUT) must be positive")
		}
		if r.MaxRetries < -1 || r.MaxRetries == 0 {
			bad("online.redis.max_retries (FLOE_REDIS_MAX_RETRIES) must be positive, or -1 for no retries")
		}
		for _, a := range c.Online.Redis.Addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				bad("online.redis.addrs (FLOE_REDIS_ADDRS): %q is not host:port", a)
			}
		}
		if c.Online.L1.Enabled && (c.Online.L1.MaxEntries <= 0 || c.Online.L1.TTL <= 0) {
			bad("online.l1.max_entries and online.l1.ttl must be positive when online.l1.enabled is true")
		}
	default:
		bad("online.type (FLOE_ONLINE_TYPE) %q is not one of memory, redis, redis-cluster", c.Online.Type)
	}
	if c.Serving.MaxEntities <= 0 {
		bad("serving.max_entities (FLOE_MAX_ENTITIES) must be positive")
	}
	if c.Serving.Timeout <= 0 {
		bad("serving.timeout (FLOE_SERVING_TIMEOUT) must be positive")
	}
	if c.Serving.NegativeCacheTTL < 0 {
		bad("serving.negative_cache_ttl (FLOE_NEGATIVE_CACHE_TTL) must not be negative")
	}
	if c.Materialize.Interval <= 0 {
		bad("materialize.interval (FLOE_MATERIALIZE_INTERVAL) must be positive")
	}
	if c.Materialize.LeaseTTL < 300*time.Millisecond {
		bad("materialize.lease_ttl (FLOE_MATERIALIZE_LEASE_TTL) must be at least 300ms (it is renewed every third of it)")
	}
	if c.Training.MaxConcurrent <= 0 {
		bad("training.max_concurrent (FLOE_TRAINING_MAX_CONCURRENT) must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level (FLOE_LOG_LEVEL) %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format (FLOE_LOG_FORMAT) %q is not one of text, json", c.Log.Format)
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
