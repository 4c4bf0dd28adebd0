// Package config loads the server configuration: defaults, then a YAML file, then
// FLOE_* environment variables, then validation with messages that say what to fix.
// Defaults live here and nowhere else.
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
)

// Config is the whole server configuration. The yaml tag names the key in the
// config file; the env tag the environment variable that overrides it.
type Config struct {
	// Listen is the address of the single port serving Connect, gRPC, gRPC-Web,
	// JSON, the console and the health and metrics endpoints.
	Listen string `yaml:"listen" env:"FLOE_LISTEN"`
	// Specs is the directory of the project's spec YAML files.
	Specs string `yaml:"specs" env:"FLOE_SPECS"`
	// DataDir holds the embedded catalog and warehouse when they are not configured.
	DataDir string `yaml:"data_dir" env:"FLOE_DATA_DIR"`

	Catalog     Catalog     `yaml:"catalog"`
	Online      Online      `yaml:"online"`
	Serving     Serving     `yaml:"serving"`
	Materialize Materialize `yaml:"materialize"`
	Training    Training    `yaml:"training"`
	Log         Log         `yaml:"log"`
}

// Catalog configures the Iceberg catalog and warehouse.
type Catalog struct {
	// Type is "sql" (SQLite file; the embedded default) or "rest".
	Type string `yaml:"type" env:"FLOE_CATALOG_TYPE"`
	// URI is the SQLite file for "sql" (default <data_dir>/catalog.db) or the REST
	// catalog's base URL for "rest".
	URI string `yaml:"uri" env:"FLOE_CATALOG_URI"`
	// Warehouse is where data files go (default file://<data_dir>/warehouse).
	Warehouse string `yaml:"warehouse" env:"FLOE_CATALOG_WAREHOUSE"`
	// Properties are passed to the catalog as is (credentials, s3.endpoint, ...).
	Properties map[string]string `yaml:"properties"`
}

// Online configures the online store.
type Online struct {
	// Type is "memory" (in-process; the embedded default), "redis" or "redis-cluster".
	Type   string       `yaml:"type" env:"FLOE_ONLINE_TYPE"`
	Memory MemoryConfig `yaml:"memory"`
	Redis  Redis        `yaml:"redis"`
	L1     L1           `yaml:"l1"`
}

// MemoryConfig configures the in-process store.
type MemoryConfig struct {
	MaxEntries int `yaml:"max_entries" env:"FLOE_MEMORY_MAX_ENTRIES"`
}

// Redis configures a Redis or Redis Cluster online store.
type Redis struct {
	// Addrs are host:port pairs: one for a standalone server, seed nodes for a cluster.
	Addrs    []string `yaml:"addrs" env:"FLOE_REDIS_ADDRS"`
	Username string   `yaml:"username" env:"FLOE_REDIS_USERNAME"`
	Password string   `yaml:"password" env:"FLOE_REDIS_PASSWORD"`
	DB       int      `yaml:"db" env:"FLOE_REDIS_DB"`
	PoolSize int      `yaml:"pool_size" env:"FLOE_REDIS_POOL_SIZE"`
}

// L1 configures the in-process cache in front of Redis.
type L1 struct {
	Enabled    bool          `yaml:"enabled" env:"FLOE_L1_ENABLED"`
	MaxEntries int           `yaml:"max_entries" env:"FLOE_L1_MAX_ENTRIES"`
	TTL        time.Duration `yaml:"ttl" env:"FLOE_L1_TTL"`
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

// Materialize configures materialization inside the server.
type Materialize struct {
	// Follow makes the server watch every view's table and publish each new
	// snapshot to the online store, whoever committed it. The in-process store is
	// always materialized at start; with Redis, turn Follow off on all but a few
	// replicas if many share one Redis (each would do the same, idempotent work).
	Follow bool `yaml:"follow" env:"FLOE_MATERIALIZE_FOLLOW"`
	// Interval between two polls of the catalog for new snapshots.
	Interval time.Duration `yaml:"interval" env:"FLOE_MATERIALIZE_INTERVAL"`
	// Lease makes the followers of one shared online store (Redis) take turns:
	// one holds a lease in the store and follows, the others stand by and take
	// over when it stops or stops renewing the lease. Off, every follower works.
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
		Catalog: Catalog{Type: "sql"},
		Online: Online{
			Type:   "memory",
			Memory: MemoryConfig{MaxEntries: 1_000_000},
			L1:     L1{MaxEntries: 100_000, TTL: time.Second},
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
	case "sql":
		if c.Catalog.URI == "" {
			c.Catalog.URI = "file:" + filepath.Join(c.DataDir, "catalog.db")
		}
		if c.Catalog.Warehouse == "" {
			c.Catalog.Warehouse = "file://" + filepath.Join(c.DataDir, "warehouse")
		}
	case "rest":
		if !strings.HasPrefix(c.Catalog.URI, "http://") && !strings.HasPrefix(c.Catalog.URI, "https://") {
			bad("catalog.uri (FLOE_CATALOG_URI) must be the REST catalog's http(s) URL when catalog.type is rest, got %q", c.Catalog.URI)
		}
	default:
		bad("catalog.type (FLOE_CATALOG_TYPE) %q is not one of sql, rest", c.Catalog.Type)
	}
	switch c.Online.Type {
	case "memory":
		if c.Online.Memory.MaxEntries <= 0 {
			bad("online.memory.max_entries (FLOE_MEMORY_MAX_ENTRIES) must be positive")
		}
	case "redis", "redis-cluster":
		if len(c.Online.Redis.Addrs) == 0 {
			bad("online.redis.addrs (FLOE_REDIS_ADDRS) is required when online.type is %s", c.Online.Type)
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
