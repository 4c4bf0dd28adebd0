package online

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Online store types accepted in Config.Type.
const (
	TypeMemory       = "memory"
	TypeRedis        = "redis"
	TypeRedisCluster = "redis-cluster"
)

// Defaults of the settings whose zero value means "the default" to Open. The
// configuration file's defaults (internal/config) are these same constants.
const (
	// DefaultDialTimeout is RedisConfig.DialTimeout when unset: a read's deadline
	// is a few milliseconds to seconds, and go-redis's own 5 s would spend all of
	// it on a dead server.
	DefaultDialTimeout = time.Second
	// DefaultMaxRetries is RedisConfig.MaxRetries when unset: one retry covers a
	// connection the server closed; go-redis's own three retries of five dial
	// attempts each would outlast any read's deadline.
	DefaultMaxRetries = 1
	// DefaultL1MaxEntries is L1Config.MaxEntries when unset.
	DefaultL1MaxEntries = 100_000
	// DefaultL1TTL is L1Config.TTL when unset: the longest an L1 entry may be
	// staler than Redis.
	DefaultL1TTL = time.Second
)

// Config selects and configures the online store: the "online" section of the
// configuration file. The yaml tag names each key, the env tag the environment
// variable that overrides it; internal/config documents, defaults and
// validates them.
type Config struct {
	// Type is TypeMemory (in-process; the embedded default, also when empty),
	// TypeRedis or TypeRedisCluster.
	Type   string       `yaml:"type" env:"FLOE_ONLINE_TYPE"`
	Memory MemoryConfig `yaml:"memory"`
	Redis  RedisConfig  `yaml:"redis"`
	L1     L1Config     `yaml:"l1"`
}

// MemoryConfig configures the in-process store (TypeMemory).
type MemoryConfig struct {
	// MaxEntries bounds the store; beyond it the least recently used entries go.
	// Zero means DefaultMaxEntries.
	MaxEntries int `yaml:"max_entries" env:"FLOE_MEMORY_MAX_ENTRIES"`
}

// RedisConfig configures a Redis or Redis Cluster online store.
type RedisConfig struct {
	// Addrs are host:port pairs: one for a standalone server, seed nodes for a cluster.
	Addrs    []string `yaml:"addrs" env:"FLOE_REDIS_ADDRS"`
	Username string   `yaml:"username" env:"FLOE_REDIS_USERNAME"`
	Password string   `yaml:"password" env:"FLOE_REDIS_PASSWORD"`
	// DB selects a database of a standalone server (a cluster has only 0).
	DB int `yaml:"db" env:"FLOE_REDIS_DB"`
	// PoolSize is the number of connections per node; zero means go-redis's
	// default, ten per GOMAXPROCS.
	PoolSize int `yaml:"pool_size" env:"FLOE_REDIS_POOL_SIZE"`
	// DialTimeout bounds establishing a connection; zero means DefaultDialTimeout.
	DialTimeout time.Duration `yaml:"dial_timeout" env:"FLOE_REDIS_DIAL_TIMEOUT"`
	// MaxRetries is how often a failed command is retried; zero means
	// DefaultMaxRetries, -1 none.
	MaxRetries int `yaml:"max_retries" env:"FLOE_REDIS_MAX_RETRIES"`
}

// L1Config configures the in-process cache in front of Redis.
type L1Config struct {
	Enabled bool `yaml:"enabled" env:"FLOE_L1_ENABLED"`
	// MaxEntries bounds the cache; zero means DefaultL1MaxEntries.
	MaxEntries int `yaml:"max_entries" env:"FLOE_L1_MAX_ENTRIES"`
	// TTL is how long an entry is served from the cache; zero means DefaultL1TTL.
	TTL time.Duration `yaml:"ttl" env:"FLOE_L1_TTL"`
}

// Open opens the online store cfg describes: the in-process store, or a Redis
// client with, when enabled, the L1 cache in front of it. A Redis that does not
// answer is not an error here: reads fail with ErrUnavailable (and /readyz says
// so) until it does, without a restart.
func Open(ctx context.Context, cfg Config) (Store, error) {
	switch cfg.Type {
	case TypeMemory, "":
		return NewMemory(WithMaxEntries(cfg.Memory.MaxEntries)), nil
	case TypeRedis, TypeRedisCluster:
		redis.SetLogger(redisLogger{})
		o := cfg.Redis
		if o.DialTimeout == 0 {
			o.DialTimeout = DefaultDialTimeout
		}
		if o.MaxRetries == 0 {
			o.MaxRetries = DefaultMaxRetries
		}
		r, err := NewRedisFromOptions(RedisOptions{
			Addrs: o.Addrs, Username: o.Username, Password: o.Password, DB: o.DB,
			Cluster: cfg.Type == TypeRedisCluster, PoolSize: o.PoolSize, ClientName: "floe",
			MaxRetries: o.MaxRetries, DialTimeout: o.DialTimeout,
		})
		if err != nil {
			return nil, err
		}
		if err := r.Ping(ctx); err != nil {
			slog.Warn("online store not reachable at start", "addrs", o.Addrs, "error", err)
		}
		if !cfg.L1.Enabled {
			return r, nil
		}
		n, ttl := cfg.L1.MaxEntries, cfg.L1.TTL
		if n == 0 {
			n = DefaultL1MaxEntries
		}
		if ttl == 0 {
			ttl = DefaultL1TTL
		}
		return NewTiered(NewMemory(WithMaxEntries(n)), r, ttl), nil
	}
	return nil, fmt.Errorf("unknown online store type %q (use %s, %s or %s)", cfg.Type, TypeMemory, TypeRedis, TypeRedisCluster)
}

// redisLogger routes go-redis's own messages (one per failed dial) to slog at debug
// level: the failure itself reaches the caller as an error and /readyz.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
