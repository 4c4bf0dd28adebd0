package testenv_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"

	"floe.dev/floe/services/featureserver/testenv"
)

func TestRedis(t *testing.T) {
	srv := testenv.Redis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	ctx := t.Context()
	if err := c.Set(ctx, "testenv", "ok", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "testenv").Result(); err != nil || got != "ok" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	// A throwaway server: nothing is persisted.
	if got, err := c.ConfigGet(ctx, "save").Result(); err != nil || got["save"] != "" {
		t.Errorf("CONFIG GET save = %v, %v; want persistence off", got, err)
	}
}

func TestRedisStopRestart(t *testing.T) {
	srv := testenv.Redis(t)
	addr := srv.Addr()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", addr)
	}

	srv.Restart(t)
	if srv.Addr() != addr {
		t.Errorf("Restart moved the server from %s to %s", addr, srv.Addr())
	}
	fresh := redis.NewClient(&redis.Options{Addr: addr})
	defer fresh.Close()
	if err := fresh.Get(ctx, "k").Err(); err != redis.Nil {
		t.Errorf("GET k after restart: %v, want redis.Nil (a restarted server is empty)", err)
	}
}

func TestRedisFromEnvironment(t *testing.T) {
	t.Setenv(testenv.EnvRedisAddr, "redis.example:6379")
	if got := testenv.Redis(t).Addr(); got != "redis.example:6379" {
		t.Errorf("Addr() = %q, want the address %s names", got, testenv.EnvRedisAddr)
	}
	t.Setenv(testenv.EnvRedisClusterAddrs, "a:1,b:2,c:3")
	if got := testenv.RedisCluster(t, 3).Addrs(); fmt.Sprint(got) != "[a:1 b:2 c:3]" {
		t.Errorf("Addrs() = %q, want the addresses %s names", got, testenv.EnvRedisClusterAddrs)
	}
}

func TestRedisCluster(t *testing.T) {
	cluster := testenv.RedisCluster(t, 3)
	if n := len(cluster.Addrs()); n != 3 {
		t.Fatalf("%d addresses, want 3", n)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
	defer c.Close()
	ctx := t.Context()
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprint("key-", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Every master serves a share of the keys: the slots are spread over all three.
	for _, addr := range cluster.Addrs() {
		node := redis.NewClient(&redis.Options{Addr: addr})
		n, err := node.DBSize(ctx).Result()
		node.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("master %s holds no keys", addr)
		}
	}
}
