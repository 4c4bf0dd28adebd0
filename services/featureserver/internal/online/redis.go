package online

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
)

// redisPipelineChunk is the number of commands Put and Delete send per pipeline
// round trip. A materialization may write millions of entries; chunking bounds the
// client's and the server's buffers while keeping almost all of pipelining's gain.
const redisPipelineChunk = 1000

// Redis is the online store over a Redis server or a Redis Cluster, through go-redis.
// Each (view, entity) is one string key holding one compact blob, so a batch read is
// a single MGET (FACTS: one blob per key and MGET beat hashes by 3–5×).
type Redis struct {
	client redis.UniversalClient
	// single is true when every key lives on one server, so multi-key commands
	// (MGET, DEL k1 k2 …) work. Otherwise keys spread over slots or shards and a
	// multi-key command would fail with CROSSSLOT; single-key commands are pipelined
	// instead, which go-redis splits per node and sends concurrently.
	single bool
}

// NewRedis returns a store over client, which the store owns from then on: Close
// closes it. A *redis.Client (standalone or Sentinel failover) reads a batch with one
// MGET; a *redis.ClusterClient or *redis.Ring with a pipeline of GETs, one round
// trip per node, concurrently.
//
// Deadlines of the contexts passed to the store bound its network I/O only if the
// client was built with ContextTimeoutEnabled; NewRedisFromOptions sets it.
func NewRedis(client redis.UniversalClient) *Redis {
	_, single := client.(*redis.Client)
	return &Redis{client: client, single: single}
}

// RedisOptions configures the client NewRedisFromOptions builds. Zero durations and
// sizes take go-redis's defaults.
type RedisOptions struct {
	// Addrs is the server's host:port or, with Cluster, a seed list of nodes.
	Addrs []string
	// Username and Password authenticate (AUTH, ACL users since Redis 6).
	Username, Password string
	// DB selects a database on a standalone server; Redis Cluster only has 0.
	DB int
	// Cluster selects the Redis Cluster client, which follows the slot map.
	Cluster bool
	// PoolSize is the number of connections per node.
	PoolSize int
	// DialTimeout bounds establishing a connection.
	DialTimeout time.Duration
	// ReadTimeout and WriteTimeout bound each socket read and write, also when the
	// caller's context has no deadline.
	ReadTimeout, WriteTimeout time.Duration
	// MaxRetries is the number of retries of a failed command (go-redis's default is
	// 3, -1 disables them). Serving usually prefers fewer: its deadline is short and
	// a retry against a dead server only spends it.
	MaxRetries int
	// ClientName is sent with CLIENT SETNAME, so operators see who is connected.
	ClientName string
	// TLS, when not nil, makes connections use TLS with this configuration.
	TLS *tls.Config
}

// NewRedisFromOptions builds a go-redis client (a *redis.ClusterClient with Cluster,
// a *redis.Client otherwise) and returns a store over it. The client honours the
// deadlines of the contexts it is given. It does not connect: the first command
// does, so a server that is down shows up as ErrUnavailable on use (or on Ping).
func NewRedisFromOptions(o RedisOptions) (*Redis, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("redis options: no address")
	}
	if o.Cluster {
		if o.DB != 0 {
			return nil, fmt.Errorf("redis options: Redis Cluster has only database 0, not %d", o.DB)
		}
		return NewRedis(redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                 o.Addrs,
			Username:              o.Username,
			Password:              o.Password,
			PoolSize:              o.PoolSize,
			DialTimeout:           o.DialTimeout,
			ReadTimeout:           o.ReadTimeout,
			WriteTimeout:          o.WriteTimeout,
			MaxRetries:            o.MaxRetries,
			ClientName:            o.ClientName,
			TLSConfig:             o.TLS,
			ContextTimeoutEnabled: true,
		})), nil
	}
	if len(o.Addrs) > 1 {
		return nil, fmt.Errorf("redis options: %d addresses for a standalone server; set Cluster for a cluster", len(o.Addrs))
	}
	return NewRedis(redis.NewClient(&redis.Options{
		Addr:                  o.Addrs[0],
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		PoolSize:              o.PoolSize,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		MaxRetries:            o.MaxRetries,
		ClientName:            o.ClientName,
		TLSConfig:             o.TLS,
		ContextTimeoutEnabled: true,
	})), nil
}

// Client returns the underlying go-redis client, for the few callers that need a
// command the Store interface does not have (administration, tests).
func (r *Redis) Client() redis.UniversalClient {
	return r.client
}

// Get returns the value of every key, nil where a key is absent: one MGET on a
// single server, one pipeline of GETs (one round trip per node) on a cluster. The
// values are fresh copies the caller may keep.
func (r *Redis) Get(ctx context.Context, keys []string) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis get: %w", err)
	}
	if len(keys) == 0 {
		// MGET needs at least one key; answer without a round trip.
		return [][]byte{}, nil
	}
	if r.single {
		return r.mget(ctx, keys)
	}
	return r.pipelinedGet(ctx, keys)
}

// mget reads keys with one MGET.
func (r *Redis) mget(ctx context.Context, keys []string) ([][]byte, error) {
	replies, err := r.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, redisError(ctx, "get", err)
	}
	if len(replies) != len(keys) {
		return nil, fmt.Errorf("redis get: MGET of %d keys answered %d values", len(keys), len(replies))
	}
	values := make([][]byte, len(keys))
	for i, reply := range replies {
		switch v := reply.(type) {
		case nil:
		case string:
			values[i] = stringBytes(v)
		default:
			return nil, fmt.Errorf("redis get %q: unexpected MGET reply of type %T", keys[i], reply)
		}
	}
	return values, nil
}

// pipelinedGet reads keys with one GET each, pipelined.
func (r *Redis) pipelinedGet(ctx context.Context, keys []string) ([][]byte, error) {
	pipe := r.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, key := range keys {
		cmds[i] = pipe.Get(ctx, key)
	}
	// Exec reports the first failed command, and an absent key (redis.Nil) counts as
	// one; the commands themselves say which failed and why.
	_, _ = pipe.Exec(ctx)
	values := make([][]byte, len(keys))
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case err == nil:
			values[i] = stringBytes(v)
		case errors.Is(err, redis.Nil):
		default:
			return nil, redisError(ctx, "get", err)
		}
	}
	return values, nil
}

// stringBytes converts a go-redis reply to the []byte the Store returns without
// copying it: go-redis allocated the string for this reply alone, and the Store
// contract forbids callers to modify returned values, so sharing the bytes is safe
// and saves a copy of every value on the read path. An empty value stays non-nil,
// since nil means absent.
func stringBytes(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Put writes entries with pipelines of SET (with PXAT when ExpireAt is set), in
// chunks of redisPipelineChunk commands. An entry whose ExpireAt has passed deletes
// the key instead, which is what writing it would amount to and avoids sending
// Redis an expiry it may reject. Put is not atomic: when it fails, an unknown subset
// of the entries has been written; writing them again is harmless.
func (r *Redis) Put(ctx context.Context, entries []Entry) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis put: %w", err)
	}
	pipe := r.client.Pipeline()
	now := time.Now()
	for start := 0; start < len(entries); start += redisPipelineChunk {
		for _, e := range entries[start:min(start+redisPipelineChunk, len(entries))] {
			switch {
			case e.ExpireAt.IsZero() && e.IfAbsent:
				pipe.SetNX(ctx, e.Key, e.Value, 0)
			case e.ExpireAt.IsZero():
				pipe.Set(ctx, e.Key, e.Value, 0)
			case !e.ExpireAt.After(now) && e.IfAbsent:
				// Writing an expired value if absent leaves the key as it was.
			case !e.ExpireAt.After(now):
				pipe.Del(ctx, e.Key)
			case e.IfAbsent:
				pipe.Process(ctx, redis.NewCmd(ctx, "set", e.Key, e.Value, "nx",
					"pxat", strconv.FormatInt(e.ExpireAt.UnixMilli(), 10)))
			default:
				// Milliseconds rounded down: Redis drops a key once its clock is past
				// the PXAT millisecond, so the entry never outlives ExpireAt by more
				// than a millisecond and never expires before it. go-redis's SetArgs
				// would send EXAT, in whole seconds.
				pipe.Process(ctx, redis.NewStatusCmd(ctx, "set", e.Key, e.Value,
					"pxat", strconv.FormatInt(e.ExpireAt.UnixMilli(), 10)))
			}
		}
		cmds, err := pipe.Exec(ctx)
		if err != nil {
			// Name the first failed command: the pipeline error alone does not say
			// which key it was about.
			for _, cmd := range cmds {
				if cmdErr := cmd.Err(); cmdErr != nil {
					return redisError(ctx, "put", fmt.Errorf("%s: %w", cmdName(cmd), cmdErr))
				}
			}
			return redisError(ctx, "put", err)
		}
	}
	return nil
}

// cmdName names a command and its key for an error message.
func cmdName(cmd redis.Cmder) string {
	args := cmd.Args()
	if len(args) > 1 {
		return fmt.Sprintf("%s %v", cmd.Name(), args[1])
	}
	return cmd.Name()
}

// Delete removes keys: multi-key DELs of up to redisPipelineChunk keys on a single
// server, pipelined single-key DELs on a cluster.
func (r *Redis) Delete(ctx context.Context, keys []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	pipe := r.client.Pipeline()
	for start := 0; start < len(keys); start += redisPipelineChunk {
		chunk := keys[start:min(start+redisPipelineChunk, len(keys))]
		if r.single {
			pipe.Del(ctx, chunk...)
		} else {
			for _, key := range chunk {
				pipe.Del(ctx, key)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return redisError(ctx, "delete", err)
		}
	}
	return nil
}

// Ping reports whether the backend answers: the server, or every master of a
// cluster, since a master that is down leaves its slots unreadable.
func (r *Redis) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	var err error
	ping := func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }
	switch c := r.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, ping)
	case *redis.Ring:
		err = c.ForEachShard(ctx, ping)
	default:
		err = r.client.Ping(ctx).Err()
	}
	if err != nil {
		return redisError(ctx, "ping", err)
	}
	return nil
}

// Close closes the client.
func (r *Redis) Close() error {
	if err := r.client.Close(); err != nil {
		return fmt.Errorf("redis close: %w", err)
	}
	return nil
}

// redisError adds context to an error from go-redis and classifies it. Errors that
// mean the backend could not serve (network failures, refused or dropped
// connections, pool timeouts, a cluster that is down or failing over, a server still
// loading) wrap ErrUnavailable. When the caller's context ended during the call, the
// error wraps both ErrUnavailable and the context's error: the backend did not answer
// in time, whether it is down or slow, and serving checks the context first to pick
// DEADLINE_EXCEEDED or CANCELED while still seeing that the store failed. (A context
// that had ended before the call is reported by the methods alone, as not an
// outage.) Errors Redis answered for a reason of its own (wrong type, out of memory,
// authentication) do not wrap ErrUnavailable: retrying elsewhere or degrading would
// not help. The underlying message is kept in every case.
func redisError(ctx context.Context, op string, err error) error {
	if ctxErr := contextEnded(ctx); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return fmt.Errorf("redis %s: %w: %w", op, ErrUnavailable, err)
		}
		return fmt.Errorf("redis %s: %w: %w (%v)", op, ErrUnavailable, ctxErr, err)
	}
	if redisUnavailable(err) {
		return fmt.Errorf("redis %s: %w: %v", op, ErrUnavailable, err)
	}
	return fmt.Errorf("redis %s: %w", op, err)
}

// contextEnded returns ctx's error, or DeadlineExceeded once its deadline has passed:
// go-redis sets socket deadlines from the context's, and the socket can time out a
// moment before the context's own timer marks it done.
func contextEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// redisUnavailable reports whether err means the backend cannot serve right now.
func redisUnavailable(err error) bool {
	switch {
	case errors.Is(err, redis.ErrClosed):
		// Our own client was closed: a bug in the caller, not an outage.
		return false
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return true
	case redis.IsLoadingError(err), redis.IsClusterDownError(err),
		redis.IsTryAgainError(err), redis.IsMasterDownError(err),
		redis.IsReadOnlyError(err), redis.IsMaxClientsError(err):
		return true
	}
	var replyErr redis.Error
	// Anything that is not a reply from the server is a failure to talk to it:
	// refused or reset connections, timeouts, EOF, DNS.
	return !errors.As(err, &replyErr)
}

// Redis is a Store.
var _ Store = (*Redis)(nil)
