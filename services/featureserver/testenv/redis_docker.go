package testenv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// defaultRedisImage is the image the Docker backend runs unless EnvRedisImage names
// another.
const defaultRedisImage = "redis:7"

// dockerRedis is a redis-server in a container.
type dockerRedis struct {
	ctr  *testcontainers.DockerContainer
	addr string
}

// redisImage returns the image to run.
func redisImage() string {
	if image := os.Getenv(EnvRedisImage); image != "" {
		return image
	}
	return defaultRedisImage
}

// bindPorts publishes container ports on fixed host ports. Docker's default, a random
// host port, changes when a container restarts, and clients of a restarted server
// must find it where it was. The binding is on loopback when the engine is local, so
// a password-less server is not exposed to the network.
func bindPorts(ports map[int]int) func(*container.HostConfig) {
	return func(hc *container.HostConfig) {
		var ip netip.Addr
		if host := os.Getenv("DOCKER_HOST"); host == "" || strings.HasPrefix(host, "unix://") {
			ip = netip.MustParseAddr("127.0.0.1")
		}
		if hc.PortBindings == nil {
			hc.PortBindings = network.PortMap{}
		}
		for ctrPort, hostPort := range ports {
			p := network.MustParsePort(strconv.Itoa(ctrPort) + "/tcp")
			hc.PortBindings[p] = []network.PortBinding{{HostIP: ip, HostPort: strconv.Itoa(hostPort)}}
		}
	}
}

// dockerHost returns the address at which published ports are reached, as an IP
// where possible: Redis Cluster announces IPs, and "localhost" may resolve to ::1
// while Docker published on 127.0.0.1.
func dockerHost(ctx context.Context, ctr *testcontainers.DockerContainer) (string, error) {
	host, err := ctr.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("container host: %w", err)
	}
	if host == "localhost" {
		return "127.0.0.1", nil
	}
	return host, nil
}

// startDockerRedis is Redis on the Docker backend.
func startDockerRedis(ctx context.Context, tb testing.TB) *RedisServer {
	tb.Helper()
	ports, err := freePorts(1)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	ctr, err := testcontainers.Run(ctx, redisImage(),
		testcontainers.WithExposedPorts("6379/tcp"),
		testcontainers.WithHostConfigModifier(bindPorts(map[int]int{6379: ports[0]})),
		testcontainers.WithCmd("redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no"),
		testcontainers.WithWaitStrategy(wait.ForListeningPort("6379/tcp").WithStartupTimeout(startTimeout)),
	)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("testenv: start %s container: %v", redisImage(), err)
	}
	host, err := dockerHost(ctx, ctr)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	r := &dockerRedis{ctr: ctr, addr: net.JoinHostPort(host, strconv.Itoa(ports[0]))}
	if err := r.waitReady(ctx); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return &RedisServer{addr: r.addr, inst: r}
}

// waitReady waits until the server answers PING through the published port; the
// container's own wait strategy only sees the port open.
func (r *dockerRedis) waitReady(ctx context.Context) error {
	if err := poll(ctx, func(ctx context.Context) error { return pingRedis(ctx, r.addr) }, nil); err != nil {
		return fmt.Errorf("redis container at %s: %w", r.addr, err)
	}
	return nil
}

// stop stops the container, keeping it (and its port binding) for start.
func (r *dockerRedis) stop(ctx context.Context) error {
	timeout := 10 * time.Second
	return r.ctr.Stop(ctx, &timeout)
}

// start starts the stopped container again. The server comes back empty: it never
// persisted anything.
func (r *dockerRedis) start(ctx context.Context) error {
	if err := r.ctr.Start(ctx); err != nil {
		return err
	}
	return r.waitReady(ctx)
}

// startDockerRedisCluster is RedisCluster on the Docker backend. All n nodes run in
// one container, on container ports equal to the host ports they are published on,
// and announce 127.0.0.1: inside the container that address reaches the other nodes
// (same network namespace), outside it reaches the published ports, so the slot map
// the nodes hand out is right for both. It assumes a local engine.
func startDockerRedisCluster(ctx context.Context, tb testing.TB, n int) []string {
	tb.Helper()
	// n client ports, published, and n cluster bus ports, used inside only.
	ports, err := freePorts(2 * n)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	var script strings.Builder
	script.WriteString("set -e\n")
	exposed := make([]string, n)
	bindings := make(map[int]int, n)
	addrs := make([]string, n)
	for i := range n {
		port, bus := ports[i], ports[n+i]
		exposed[i] = strconv.Itoa(port) + "/tcp"
		bindings[port] = port
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		fmt.Fprintf(&script, "mkdir -p /data/%[1]d && redis-server --port %[1]d --cluster-port %[2]d"+
			" --cluster-enabled yes --cluster-config-file /data/%[1]d/nodes.conf --cluster-node-timeout 5000"+
			" --cluster-announce-ip 127.0.0.1 --protected-mode no --save '' --appendonly no"+
			" --dir /data/%[1]d --logfile /data/%[1]d/redis.log --daemonize yes\n", port, bus)
	}
	for i := range n {
		fmt.Fprintf(&script, "until redis-cli -p %d ping >/dev/null 2>&1; do sleep 0.05; done\n", ports[i])
	}
	fmt.Fprintf(&script, "redis-cli --cluster create %s --cluster-replicas 0 --cluster-yes\n", strings.Join(addrs, " "))
	script.WriteString("echo floe-cluster-created\nexec sleep infinity\n")

	ctr, err := testcontainers.Run(ctx, redisImage(),
		testcontainers.WithExposedPorts(exposed...),
		testcontainers.WithHostConfigModifier(bindPorts(bindings)),
		testcontainers.WithEntrypoint("sh", "-c", script.String()),
		testcontainers.WithWaitStrategy(wait.ForLog("floe-cluster-created").WithStartupTimeout(startTimeout)),
	)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("testenv: start %s cluster container: %v", redisImage(), err)
	}
	if err := waitCluster(ctx, addrs, nil); err != nil {
		tb.Fatalf("testenv: Redis Cluster container not ready: %v", err)
	}
	return addrs
}

// Compile-time check that the Docker backend implements redisInstance.
var _ redisInstance = (*dockerRedis)(nil)
