package online_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/online/onlinetest"
	"floe.dev/floe/services/featureserver/testenv"
)

// newRedis returns a store over a new client of the server (or cluster) at addrs,
// closed when the test ends if nothing closed it before.
func newRedis(tb testing.TB, opts online.RedisOptions) *online.Redis {
	tb.Helper()
	r, err := online.NewRedisFromOptions(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Close() }) // a second Close only reports ErrClosed
	return r
}

func TestRedisConformance(t *testing.T) {
	srv := testenv.Redis(t)
	onlinetest.Run(t, func(t *testing.T) online.Store {
		return newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}})
	})
}

func TestRedisClusterConformance(t *testing.T) {
	cluster := testenv.RedisCluster(t, 3)
	onlinetest.Run(t, func(t *testing.T) online.Store {
		return newRedis(t, online.RedisOptions{Addrs: cluster.Addrs(), Cluster: true})
	})
}

// TestRedisNewRedis checks the constructor over a caller's client picks the read
// strategy from the client's type: a plain client must not be treated as a cluster
// (nothing observable but speed), and a cluster client must not get an MGET
// (CROSSSLOT); the conformance suites cover the options path.
func TestRedisNewRedis(t *testing.T) {
	srv := testenv.Redis(t)
	r := online.NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr()}))
	t.Cleanup(func() { _ = r.Close() })
	keys := []string{online.Key("newredis", "1"), online.Key("newredis", "2")}
	if err := r.Put(t.Context(), []online.Entry{{Key: keys[0], Value: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	values, err := r.Get(t.Context(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if string(values[0]) != "x" || values[1] != nil {
		t.Errorf("Get = %q", values)
	}
	if r.Client() == nil {
		t.Error("Client() = nil")
	}
}

// commandLog is a go-redis hook that records what the client sends, one entry per
// round trip: a command's name, or a pipeline's command names.
type commandLog struct {
	mu    sync.Mutex
	trips [][]string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }

func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.record(cmd)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.record(cmds...)
		return next(ctx, cmds)
	}
}

func (l *commandLog) record(cmds ...redis.Cmder) {
	switch cmds[0].Name() {
	case "hello", "client", "auth", "select":
		// Connection setup passes through the hooks too; it happens once per
		// connection, not per call.
		return
	}
	names := make([]string, len(cmds))
	for i, cmd := range cmds {
		names[i] = cmd.Name()
	}
	l.mu.Lock()
	l.trips = append(l.trips, names)
	l.mu.Unlock()
}

func (l *commandLog) take() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	trips := l.trips
	l.trips = nil
	return trips
}

// TestRedisGetIsOneRoundTrip pins the design's central cost: a batch read on a
// standalone server is one MGET, whatever the batch size.
func TestRedisGetIsOneRoundTrip(t *testing.T) {
	srv := testenv.Redis(t)
	r := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}})
	if err := r.Ping(t.Context()); err != nil { // connect outside the log
		t.Fatal(err)
	}
	log := &commandLog{}
	r.Client().AddHook(log)
	for _, n := range []int{1, 100, 5000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = online.Key("roundtrip", fmt.Sprint(i))
		}
		if _, err := r.Get(t.Context(), keys); err != nil {
			t.Fatal(err)
		}
		trips := log.take()
		if len(trips) != 1 || len(trips[0]) != 1 || trips[0][0] != "mget" {
			t.Errorf("Get of %d keys sent %v, want one round trip of [mget]", n, trips)
		}
	}
}

// TestRedisPutChunks checks that a large Put is split into pipelines of bounded
// size rather than one giant buffer.
func TestRedisPutChunks(t *testing.T) {
	srv := testenv.Redis(t)
	r := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}})
	log := &commandLog{}
	r.Client().AddHook(log)
	entries := make([]online.Entry, 2500)
	for i := range entries {
		entries[i] = online.Entry{Key: online.Key("chunks", fmt.Sprint(i)), Value: []byte("v")}
	}
	entries[7].ExpireAt = time.Now().Add(time.Hour)
	if err := r.Put(t.Context(), entries); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, trip := range log.take() {
		sizes = append(sizes, len(trip))
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("Put of 2500 entries sent pipelines of %v commands, want [1000 1000 500]", sizes)
	}
	// The entry with an expiry got one, in milliseconds.
	pttl, err := r.Client().PTTL(t.Context(), entries[7].Key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > time.Hour {
		t.Errorf("PTTL of an entry expiring in an hour = %v", pttl)
	}
	if pttl, _ := r.Client().PTTL(t.Context(), entries[8].Key).Result(); pttl != -1 {
		t.Errorf("PTTL of an entry without ExpireAt = %v, want -1 (no expiry)", pttl)
	}
}

// checkUnavailable checks that err reports an outage.
func checkUnavailable(t *testing.T, op string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s with the server down: no error", op)
	case !errors.Is(err, online.ErrUnavailable):
		t.Errorf("%s with the server down: %v, which does not wrap ErrUnavailable", op, err)
	default:
		t.Logf("%s: %v", op, err)
	}
}

// TestRedisServerDown stops the server under a live client: every call must fail
// with ErrUnavailable, and once the server is back the same store works again
// without being rebuilt, since go-redis reconnects.
func TestRedisServerDown(t *testing.T) {
	srv := testenv.Redis(t)
	r := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}, DialTimeout: time.Second})
	ctx := t.Context()
	keys := []string{online.Key("down", "1")}
	if err := r.Put(ctx, []online.Entry{{Key: keys[0], Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, keys); err != nil { // leaves connections in the pool
		t.Fatal(err)
	}

	srv.Stop(t)
	_, err := r.Get(ctx, keys)
	checkUnavailable(t, "Get", err)
	checkUnavailable(t, "Put", r.Put(ctx, []online.Entry{{Key: keys[0], Value: []byte("w")}}))
	checkUnavailable(t, "Delete", r.Delete(ctx, keys))
	checkUnavailable(t, "Ping", r.Ping(ctx))

	// A deadline that ends while the client retries reports both the outage and the
	// deadline, so that serving can answer DEADLINE_EXCEEDED and still count an
	// outage.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = r.Get(short, keys)
	checkUnavailable(t, "Get with a short deadline", err)

	srv.Restart(t)
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	if err := r.Put(ctx, []online.Entry{{Key: keys[0], Value: []byte("again")}}); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
	values, err := r.Get(ctx, keys)
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if string(values[0]) != "again" {
		t.Errorf("Get after restart = %q, want %q", values[0], "again")
	}
}

// TestRedisUnreachable checks a store whose server never answered, standalone and
// cluster (whose seeds are then all unreachable): every call is unavailable.
func TestRedisUnreachable(t *testing.T) {
	// A port that was free a moment ago: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, cluster := range []bool{false, true} {
		t.Run(fmt.Sprintf("cluster=%t", cluster), func(t *testing.T) {
			r := newRedis(t, online.RedisOptions{Addrs: []string{addr}, Cluster: cluster, DialTimeout: time.Second, MaxRetries: -1})
			_, err := r.Get(t.Context(), []string{"k"})
			checkUnavailable(t, "Get", err)
			checkUnavailable(t, "Put", r.Put(t.Context(), []online.Entry{{Key: "k", Value: []byte("v")}}))
			checkUnavailable(t, "Ping", r.Ping(t.Context()))
		})
	}
}

// TestRedisDeadlineBoundsIO talks to a server that accepts connections and never
// answers: the caller's deadline, not go-redis's 5 s read timeout (raised here to an
// hour), must end the call.
func TestRedisDeadlineBoundsIO(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn // kept open and silent
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	r := newRedis(t, online.RedisOptions{
		Addrs:       []string{l.Addr().String()},
		ReadTimeout: time.Hour, WriteTimeout: time.Hour, MaxRetries: -1,
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.Get(ctx, []string{"k"})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, online.ErrUnavailable) {
			t.Errorf("Get against a silent server: %v, want an error wrapping DeadlineExceeded and ErrUnavailable", err)
		}
	case <-time.After(30 * time.Second):
		// Not a timing assertion: the call would otherwise hang for an hour.
		t.Fatal("Get against a silent server ignored its 100ms deadline")
	}
}

// TestRedisServerErrorIsNotUnavailable checks the other side of the classification:
// an error Redis answers for a reason of its own is not an outage, so serving does
// not mistake misconfiguration or a full server for a transient failure.
func TestRedisServerErrorIsNotUnavailable(t *testing.T) {
	if os.Getenv(testenv.EnvRedisAddr) != "" {
		t.Skipf("reconfigures the server, which must not be the shared one %s names", testenv.EnvRedisAddr)
	}
	srv := testenv.Redis(t)
	admin := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}})
	ctx := t.Context()
	config := func(name, value string) {
		t.Helper()
		if err := admin.Client().ConfigSet(ctx, name, value).Err(); err != nil {
			t.Fatalf("CONFIG SET %s %s: %v", name, value, err)
		}
	}

	// A server out of memory refuses writes with OOM.
	config("maxmemory-policy", "noeviction")
	config("maxmemory", "1")
	err := admin.Put(ctx, []online.Entry{{Key: online.Key("oom", "1"), Value: []byte("v")}})
	config("maxmemory", "0")
	if err == nil {
		t.Error("Put to a server out of memory: no error")
	} else if errors.Is(err, online.ErrUnavailable) {
		t.Errorf("an OOM error wraps ErrUnavailable: %v", err)
	}

	// A server that requires a password refuses a client without one with NOAUTH.
	config("requirepass", "s3cret")
	stranger := newRedis(t, online.RedisOptions{Addrs: []string{srv.Addr()}, MaxRetries: -1})
	_, err = stranger.Get(ctx, []string{online.Key("noauth", "1")})
	if err == nil {
		t.Error("Get without the password the server requires: no error")
	} else if errors.Is(err, online.ErrUnavailable) {
		t.Errorf("an authentication error wraps ErrUnavailable: %v", err)
	}
}

func TestRedisOptionsValidation(t *testing.T) {
	for _, o := range []online.RedisOptions{
		{},
		{Addrs: []string{"a:1", "b:1"}},
		{Addrs: []string{"a:1"}, Cluster: true, DB: 2},
	} {
		if r, err := online.NewRedisFromOptions(o); err == nil {
			r.Close()
			t.Errorf("NewRedisFromOptions(%+v): no error", o)
		}
	}
}

// BenchmarkRedisGet measures a batch read against a real server on loopback: the
// network round trip plus go-redis's parsing and the copy to []byte.
func BenchmarkRedisGet(b *testing.B) {
	srv := testenv.Redis(b)
	r := newRedis(b, online.RedisOptions{Addrs: []string{srv.Addr()}})
	ctx := context.Background()
	keys := benchKeys(10_000)
	entries := make([]online.Entry, len(keys))
	for i, k := range keys {
		entries[i] = online.Entry{Key: k, Value: make([]byte, 160)}
	}
	if err := r.Put(ctx, entries); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				start := (i * n) % (len(keys) - n)
				if _, err := r.Get(ctx, keys[start:start+n]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
