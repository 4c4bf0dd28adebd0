package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Environment variables that point the harness at Redis servers the environment
// already runs, instead of starting its own. Tests that share such a server must keep
// to keys of their own (the online conformance suite prefixes every key uniquely).
const (
	// EnvRedisAddr is the host:port of a standalone Redis server.
	EnvRedisAddr = "FLOE_TEST_REDIS_ADDR"
	// EnvRedisClusterAddrs is a comma-separated list of the masters of a Redis Cluster.
	EnvRedisClusterAddrs = "FLOE_TEST_REDIS_CLUSTER_ADDRS"
	// EnvRedisImage overrides the image the Docker backend runs ("redis:7").
	EnvRedisImage = "FLOE_TEST_REDIS_IMAGE"
)

// startTimeout bounds starting one server or cluster, image pull included.
const startTimeout = 2 * time.Minute

// installRedis is the remedy printed when the Local backend finds no Redis binary.
const installRedis = "install it with `apt-get install redis-server` (it provides redis-cli too)"

// RedisServer is a standalone Redis server started for a test; it is stopped when the
// test (or the benchmark) that started it ends. It starts empty, without
// persistence.
type RedisServer struct {
	addr string
	// inst controls the server; nil when the environment provided it.
	inst redisInstance
}

// redisInstance is what each backend implements to control one server.
type redisInstance interface {
	// stop stops the server; its address stays reserved for start.
	stop(ctx context.Context) error
	// start starts a stopped server again, empty, at the same address, and waits
	// until it answers.
	start(ctx context.Context) error
}

// Redis starts a Redis server (or returns the one FLOE_TEST_REDIS_ADDR names) for
// the test and returns it. It fails the test if none can be started.
func Redis(tb testing.TB) *RedisServer {
	tb.Helper()
	if addr := os.Getenv(EnvRedisAddr); addr != "" {
		return &RedisServer{addr: addr}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var srv *RedisServer
	switch SelectedBackend(tb) {
	case Docker:
		srv = startDockerRedis(ctx, tb)
	default:
		srv = startLocalRedis(ctx, tb)
	}
	logBackend(tb, "Redis at "+srv.addr)
	return srv
}

// Addr returns the server's host:port.
func (s *RedisServer) Addr() string {
	return s.addr
}

// Stop stops the server, for tests of how clients behave when it is down; its
// address stays reserved for Restart. A server the environment provided cannot be
// stopped, so Stop skips the test.
func (s *RedisServer) Stop(tb testing.TB) {
	tb.Helper()
	if s.inst == nil {
		tb.Skipf("testenv: the Redis server at %s comes from %s and cannot be stopped", s.addr, EnvRedisAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.inst.stop(ctx); err != nil {
		tb.Fatalf("testenv: stop Redis at %s: %v", s.addr, err)
	}
}

// Restart starts a stopped server again at the same address and waits until it
// answers. Like a fresh one, it holds no data.
func (s *RedisServer) Restart(tb testing.TB) {
	tb.Helper()
	if s.inst == nil {
		tb.Skipf("testenv: the Redis server at %s comes from %s and cannot be restarted", s.addr, EnvRedisAddr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.inst.start(ctx); err != nil {
		tb.Fatalf("testenv: restart Redis at %s: %v", s.addr, err)
	}
}

// RedisClusterServer is a Redis Cluster of masters without replicas, started for a
// test and stopped when it ends.
type RedisClusterServer struct {
	addrs []string
}

// RedisCluster starts a Redis Cluster of n masters (n ≥ 3, the least redis-cli
// creates a cluster of), or returns the one FLOE_TEST_REDIS_CLUSTER_ADDRS names, and
// waits until every node reports every slot served.
func RedisCluster(tb testing.TB, n int) *RedisClusterServer {
	tb.Helper()
	if addrs := os.Getenv(EnvRedisClusterAddrs); addrs != "" {
		return &RedisClusterServer{addrs: strings.Split(addrs, ",")}
	}
	if n < 3 {
		tb.Fatalf("testenv: a Redis Cluster needs at least 3 masters, not %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var addrs []string
	switch SelectedBackend(tb) {
	case Docker:
		addrs = startDockerRedisCluster(ctx, tb, n)
	default:
		addrs = startLocalRedisCluster(ctx, tb, n)
	}
	logBackend(tb, "Redis Cluster at "+strings.Join(addrs, ","))
	return &RedisClusterServer{addrs: addrs}
}

// Addrs returns the host:port of every master; any of them is a seed for a cluster
// client.
func (c *RedisClusterServer) Addrs() []string {
	return c.addrs
}

// waitCluster waits until every node reports a healthy cluster of len(addrs)
// masters. Nodes learn of each other by gossip, so one node being ready says little
// about the others. dead, if not nil, reports a node that has died.
func waitCluster(ctx context.Context, addrs []string, dead func() error) error {
	for _, addr := range addrs {
		check := func(ctx context.Context) error { return clusterReady(ctx, addr, len(addrs)) }
		if err := poll(ctx, check, dead); err != nil {
			return fmt.Errorf("cluster node %s: %w", addr, err)
		}
	}
	return nil
}
