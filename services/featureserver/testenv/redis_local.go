package testenv

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// portAttempts is how many times the Local backend picks new ports when a server
// reports that another process took one between the pick and the bind.
const portAttempts = 5

// localRedis is a redis-server child process.
type localRedis struct {
	proc *process
	addr string
}

// redisArgs returns the command line of a throwaway redis-server: loopback only, no
// persistence, logs to stdout (the process's log file), files in dir.
func redisArgs(port int, dir string, extra ...string) []string {
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "",
	}
	return append(args, extra...)
}

// newLocalRedis starts a redis-server on a free loopback port with extra arguments
// (extraFor receives the ports picked: the server's first, then nExtraPorts more) and
// waits until it answers PING. The process is killed when the test ends.
func newLocalRedis(ctx context.Context, tb testing.TB, name string, nExtraPorts int, extraFor func(ports []int, dir string) []string) *localRedis {
	tb.Helper()
	bin := lookPath(tb, "redis-server", installRedis)
	dir := tb.TempDir()
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1 + nExtraPorts)
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		r := &localRedis{
			proc: &process{
				name:    name,
				path:    bin,
				args:    redisArgs(ports[0], dir, extraFor(ports, dir)...),
				dir:     dir,
				logPath: filepath.Join(dir, "redis.log"),
			},
			addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		}
		if err := r.proc.start(); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		tb.Cleanup(r.proc.stop)
		err = r.proc.waitReady(ctx, func(ctx context.Context) error { return pingRedis(ctx, r.addr) })
		if err == nil {
			return r
		}
		if r.proc.exited() && r.proc.logContains("Address already in use") && attempt < portAttempts {
			tb.Logf("testenv: %s lost its port to another process; picking another", name)
			continue
		}
		tb.Fatalf("testenv: %v", err)
	}
}

// stop kills the server.
func (r *localRedis) stop(context.Context) error {
	r.proc.stop()
	return nil
}

// start runs the server again with the same command line, so at the same address.
func (r *localRedis) start(ctx context.Context) error {
	if !r.proc.exited() {
		return fmt.Errorf("%s is running", r.proc.name)
	}
	if err := r.proc.start(); err != nil {
		return err
	}
	return r.proc.waitReady(ctx, func(ctx context.Context) error { return pingRedis(ctx, r.addr) })
}

// startLocalRedis is Redis on the Local backend.
func startLocalRedis(ctx context.Context, tb testing.TB) *RedisServer {
	tb.Helper()
	r := newLocalRedis(ctx, tb, "redis-server", 0, func([]int, string) []string { return nil })
	return &RedisServer{addr: r.addr, inst: r}
}

// startLocalRedisCluster is RedisCluster on the Local backend: n cluster-enabled
// servers joined by redis-cli --cluster create.
func startLocalRedisCluster(ctx context.Context, tb testing.TB, n int) []string {
	tb.Helper()
	cli := lookPath(tb, "redis-cli", installRedis)
	nodes := make([]*localRedis, n)
	addrs := make([]string, n)
	for i := range nodes {
		// The cluster bus gets a free port of its own: the default, port+10000, can
		// be taken or beyond 65535.
		nodes[i] = newLocalRedis(ctx, tb, fmt.Sprintf("redis-server (cluster node %d)", i), 1, func(ports []int, dir string) []string {
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-port", strconv.Itoa(ports[1]),
				"--cluster-node-timeout", "5000",
			}
		})
		addrs[i] = nodes[i].addr
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	dead := func() error {
		for _, node := range nodes {
			if node.proc.exited() {
				return fmt.Errorf("%s exited (%v); its log ends:\n%s", node.proc.name, node.proc.err, node.proc.logTail())
			}
		}
		return nil
	}
	if err := waitCluster(ctx, addrs, dead); err != nil {
		tb.Fatalf("testenv: Redis Cluster not ready: %v\nredis-cli said:\n%s", err, out)
	}
	return addrs
}

// Compile-time check that the Local backend implements redisInstance.
var _ redisInstance = (*localRedis)(nil)
