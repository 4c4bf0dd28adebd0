// Package onlinetest is the conformance suite of online.Store: the behaviour every
// backend (Memory, Redis, Redis Cluster, Tiered) shares is specified here once, and
// each backend's tests run it against themselves:
//
//	func TestRedisConformance(t *testing.T) {
//		srv := testenv.Redis(t)
//		onlinetest.Run(t, func(t *testing.T) online.Store { return newRedisStore(t, srv.Addr()) })
//	}
//
// Each behaviour is one subtest with a fresh store, and every key a subtest writes
// starts with a prefix unique to the subtest and the run, so stores that share one
// server (or a server left over from an earlier run) never see each other's keys.
package onlinetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/online"
)

// Run runs the conformance suite. newStore is called once per subtest and must
// return an empty (as far as the subtest's keys go) store; Run closes it when the
// subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) online.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			c.run(t, s, newKeys(t))
		})
	}
}

// cases lists the behaviours, one subtest each.
var cases = []struct {
	name string
	run  func(t *testing.T, s online.Store, k keys)
}{
	{"GetAbsent", testGetAbsent},
	{"GetNoKeys", testGetNoKeys},
	{"PutGet", testPutGet},
	{"GetDuplicateKeys", testGetDuplicateKeys},
	{"Overwrite", testOverwrite},
	{"PutIfAbsent", testPutIfAbsent},
	{"PutCopiesValues", testPutCopiesValues},
	{"ValuesSurviveOverwrite", testValuesSurviveOverwrite},
	{"Delete", testDelete},
	{"DeleteAbsent", testDeleteAbsent},
	{"EmptyValue", testEmptyValue},
	{"BinaryValues", testBinaryValues},
	{"LargeBatch", testLargeBatch},
	{"ExpireAtPast", testExpireAtPast},
	{"ExpireAtPastReplacesValue", testExpireAtPastReplacesValue},
	{"ExpireAtFuture", testExpireAtFuture},
	{"ExpireAtNearFuture", testExpireAtNearFuture},
	{"Concurrent", testConcurrent},
	{"ContextCanceled", testContextCanceled},
	{"ContextDeadlineExceeded", testContextDeadlineExceeded},
	{"Ping", testPing},
	{"Lease", testLease},
}

// keys makes the keys of one subtest.
type keys struct{ view string }

// newKeys returns a key maker whose keys no other subtest or run uses: the view name
// carries the subtest's name and random bytes.
func newKeys(t *testing.T) keys {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random key prefix: %v", err)
	}
	return keys{view: "onlinetest_" + t.Name() + "_" + hex.EncodeToString(b[:])}
}

// key returns the i-th key of the subtest.
func (k keys) key(i int) string {
	return online.Key(k.view, fmt.Sprint(i))
}

// n returns the first n keys.
func (k keys) n(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = k.key(i)
	}
	return out
}

// testCtx returns a context for one subtest's calls, bounded so that a hung backend
// fails the subtest instead of the whole test binary.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustGet calls Get and checks the result's length.
func mustGet(t *testing.T, s online.Store, keys []string) [][]byte {
	t.Helper()
	got, err := s.Get(testCtx(t), keys)
	if err != nil {
		t.Fatalf("Get(%d keys): %v", len(keys), err)
	}
	if len(got) != len(keys) {
		t.Fatalf("Get(%d keys) returned %d values", len(keys), len(got))
	}
	return got
}

// mustPut calls Put.
func mustPut(t *testing.T, s online.Store, entries ...online.Entry) {
	t.Helper()
	if err := s.Put(testCtx(t), entries); err != nil {
		t.Fatalf("Put(%d entries): %v", len(entries), err)
	}
}

// mustDelete calls Delete.
func mustDelete(t *testing.T, s online.Store, keys ...string) {
	t.Helper()
	if err := s.Delete(testCtx(t), keys); err != nil {
		t.Fatalf("Delete(%d keys): %v", len(keys), err)
	}
}

// checkValue checks one read value; want nil means absent.
func checkValue(t *testing.T, key string, got, want []byte) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s: got %q, want absent (nil)", key, got)
	case want != nil && got == nil:
		t.Errorf("%s: got absent (nil), want %q", key, want)
	case !bytes.Equal(got, want):
		t.Errorf("%s: got %q, want %q", key, got, want)
	}
}

func testGetAbsent(t *testing.T, s online.Store, k keys) {
	ks := k.n(3)
	for i, v := range mustGet(t, s, ks) {
		checkValue(t, ks[i], v, nil)
	}
}

func testGetNoKeys(t *testing.T, s online.Store, _ keys) {
	for _, ks := range [][]string{nil, {}} {
		if got := mustGet(t, s, ks); len(got) != 0 {
			t.Errorf("Get(%#v) = %d values, want none", ks, len(got))
		}
	}
	if err := s.Put(testCtx(t), nil); err != nil {
		t.Errorf("Put(nil): %v", err)
	}
	if err := s.Delete(testCtx(t), nil); err != nil {
		t.Errorf("Delete(nil): %v", err)
	}
}

func testPutGet(t *testing.T, s online.Store, k keys) {
	mustPut(t, s,
		online.Entry{Key: k.key(0), Value: []byte("zero")},
		online.Entry{Key: k.key(2), Value: []byte("two")},
	)
	// Absent keys between present ones keep their places.
	got := mustGet(t, s, k.n(4))
	checkValue(t, k.key(0), got[0], []byte("zero"))
	checkValue(t, k.key(1), got[1], nil)
	checkValue(t, k.key(2), got[2], []byte("two"))
	checkValue(t, k.key(3), got[3], nil)
}

func testGetDuplicateKeys(t *testing.T, s online.Store, k keys) {
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("v")})
	got := mustGet(t, s, []string{k.key(0), k.key(1), k.key(0)})
	checkValue(t, k.key(0), got[0], []byte("v"))
	checkValue(t, k.key(1), got[1], nil)
	checkValue(t, k.key(0), got[2], []byte("v"))
}

func testOverwrite(t *testing.T, s online.Store, k keys) {
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("old value, longer")})
	mustGet(t, s, k.n(1)) // so that a cache holds the old value
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("new")})
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], []byte("new"))

	// Within one Put, the last entry for a key wins.
	mustPut(t, s,
		online.Entry{Key: k.key(1), Value: []byte("first")},
		online.Entry{Key: k.key(1), Value: []byte("last")},
	)
	checkValue(t, k.key(1), mustGet(t, s, []string{k.key(1)})[0], []byte("last"))
}

func testPutIfAbsent(t *testing.T, s online.Store, k keys) {
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("materialized")})
	mustPut(t, s,
		online.Entry{Key: k.key(0), Value: []byte("fill"), IfAbsent: true},
		online.Entry{Key: k.key(1), Value: []byte("fill"), IfAbsent: true},
		online.Entry{Key: k.key(2), Value: []byte("fill"), IfAbsent: true, ExpireAt: time.Now().Add(time.Hour)},
	)
	got := mustGet(t, s, k.n(3))
	checkValue(t, k.key(0), got[0], []byte("materialized"))
	checkValue(t, k.key(1), got[1], []byte("fill"))
	checkValue(t, k.key(2), got[2], []byte("fill"))
}

func testPutCopiesValues(t *testing.T, s online.Store, k keys) {
	buf := []byte("original")
	mustPut(t, s, online.Entry{Key: k.key(0), Value: buf})
	copy(buf, "CLOBBER!")
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], []byte("original"))
}

func testValuesSurviveOverwrite(t *testing.T, s online.Store, k keys) {
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("first")})
	first := mustGet(t, s, k.n(1))[0]
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("second")})
	mustDelete(t, s, k.key(0))
	// A value returned earlier stays what it was: callers hold values while they
	// encode a response, and writes must not change them underneath.
	checkValue(t, k.key(0), first, []byte("first"))
}

func testDelete(t *testing.T, s online.Store, k keys) {
	ks := k.n(3)
	mustPut(t, s,
		online.Entry{Key: ks[0], Value: []byte("a")},
		online.Entry{Key: ks[1], Value: []byte("b")},
		online.Entry{Key: ks[2], Value: []byte("c")},
	)
	mustGet(t, s, ks) // so that a cache holds the values
	mustDelete(t, s, ks[0], ks[2])
	got := mustGet(t, s, ks)
	checkValue(t, ks[0], got[0], nil)
	checkValue(t, ks[1], got[1], []byte("b"))
	checkValue(t, ks[2], got[2], nil)
}

func testDeleteAbsent(t *testing.T, s online.Store, k keys) {
	mustDelete(t, s, k.key(0), k.key(1))
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("a")})
	mustDelete(t, s, k.key(0), k.key(0), k.key(1))
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], nil)
}

func testEmptyValue(t *testing.T, s online.Store, k keys) {
	// An empty value is present (an entity whose features are all null encodes to
	// nothing); only nil means absent. A nil Value writes an empty one.
	mustPut(t, s,
		online.Entry{Key: k.key(0), Value: []byte{}},
		online.Entry{Key: k.key(1), Value: nil},
	)
	for _, pass := range []string{"first read", "second read"} { // the second may come from a cache
		got := mustGet(t, s, k.n(3))
		for i, want := range [][]byte{{}, {}, nil} {
			if (got[i] == nil) != (want == nil) || len(got[i]) != 0 {
				t.Errorf("%s of %s: got %#v, want %#v", pass, k.key(i), got[i], want)
			}
		}
	}
}

func testBinaryValues(t *testing.T, s online.Store, k keys) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := [][]byte{
		{0},
		{0, 0, 0},
		[]byte("a\x00b\x00"),
		all,
		[]byte("\xff\xfe not UTF-8 \xc3\x28"),
		[]byte("\r\n$-1\r\n*2\r\n"), // RESP framing inside a value
	}
	entries := make([]online.Entry, len(values))
	for i, v := range values {
		entries[i] = online.Entry{Key: k.key(i), Value: v}
	}
	mustPut(t, s, entries...)
	for _, pass := range []string{"first read", "second read"} {
		got := mustGet(t, s, k.n(len(values)))
		for i, want := range values {
			if !bytes.Equal(got[i], want) {
				t.Errorf("%s of %s: got %x, want %x", pass, k.key(i), got[i], want)
			}
		}
	}
}

func testLargeBatch(t *testing.T, s online.Store, k keys) {
	const n = 5000
	// Sizes from empty to 64 KiB, so that values cross buffer and chunk boundaries.
	sizes := []int{0, 1, 7, 160, 1000, 4096, 65536}
	entries := make([]online.Entry, n)
	for i := range entries {
		v := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
		if len(v) > 0 {
			v[0] = byte(i >> 8) // values of equal size still differ
		}
		entries[i] = online.Entry{Key: k.key(i), Value: v}
	}
	mustPut(t, s, entries...)
	// Ask for every other key and as many absent ones, interleaved.
	ks := make([]string, 0, n)
	for i := 0; i < n; i += 2 {
		ks = append(ks, k.key(i), k.key(n+i))
	}
	got := mustGet(t, s, ks)
	bad := 0
	for j, v := range got {
		var want []byte
		if j%2 == 0 {
			want = entries[j].Value // j is the index i of the entry asked for
		}
		if (v == nil) != (want == nil) || !bytes.Equal(v, want) {
			if bad++; bad <= 5 {
				t.Errorf("%s: got %d bytes (nil %t), want %d bytes (nil %t)",
					ks[j], len(v), v == nil, len(want), want == nil)
			}
		}
	}
	if bad > 5 {
		t.Errorf("and %d more wrong values", bad-5)
	}
	mustDelete(t, s, k.n(n)...)
	for i, v := range mustGet(t, s, k.n(n)) {
		if v != nil {
			t.Fatalf("%s: present after Delete", k.key(i))
		}
	}
}

func testExpireAtPast(t *testing.T, s online.Store, k keys) {
	now := time.Now()
	mustPut(t, s,
		online.Entry{Key: k.key(0), Value: []byte("expired"), ExpireAt: now.Add(-time.Hour)},
		online.Entry{Key: k.key(1), Value: []byte("long expired"), ExpireAt: time.Unix(1, 0)},
		online.Entry{Key: k.key(2), Value: []byte("no expiry")},
		online.Entry{Key: k.key(3), Value: []byte("expires later"), ExpireAt: now.Add(time.Hour)},
	)
	for _, pass := range []string{"first read", "second read"} {
		got := mustGet(t, s, k.n(4))
		checkValue(t, pass+" "+k.key(0), got[0], nil)
		checkValue(t, pass+" "+k.key(1), got[1], nil)
		checkValue(t, pass+" "+k.key(2), got[2], []byte("no expiry"))
		checkValue(t, pass+" "+k.key(3), got[3], []byte("expires later"))
	}
}

func testExpireAtPastReplacesValue(t *testing.T, s online.Store, k keys) {
	// Writing an entry that has already expired replaces the current value with
	// nothing: the newer write wins even though it is dead on arrival.
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("live")})
	mustGet(t, s, k.n(1))
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("dead"), ExpireAt: time.Now().Add(-time.Second)})
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], nil)
}

func testExpireAtFuture(t *testing.T, s online.Store, k keys) {
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("v"), ExpireAt: time.Now().Add(24 * time.Hour)})
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], []byte("v"))
	// Overwriting without ExpireAt makes the entry permanent; nothing observable
	// here, but the write must succeed.
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("w")})
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], []byte("w"))
}

func testExpireAtNearFuture(t *testing.T, s online.Store, k keys) {
	// The one behaviour that needs time to pass: an entry written live must vanish
	// once its ExpireAt passes. There is nothing to wait on but the clock, so poll,
	// bounded. Whether the entry was still present at the first read depends on
	// scheduling, so it is not asserted.
	expireAt := time.Now().Add(20 * time.Millisecond)
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("brief"), ExpireAt: expireAt})
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := mustGet(t, s, k.n(1))[0]
		if got == nil {
			if time.Now().Before(expireAt) {
				t.Fatalf("%s vanished before its ExpireAt", k.key(0))
			}
			return
		}
		checkValue(t, k.key(0), got, []byte("brief"))
		if time.Now().After(deadline) {
			t.Fatalf("%s still present 10s after its ExpireAt", k.key(0))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testConcurrent(t *testing.T, s online.Store, k keys) {
	// Every worker owns some keys and is their only writer; every worker reads
	// everyone's keys while the others write. Reads must see a value some writer
	// wrote, and once all are done every key must hold its owner's last value:
	// a cache must not keep a value a later write replaced.
	const (
		workers = 8
		perKey  = 8  // keys per worker
		rounds  = 50 // writes of each key
	)
	all := k.n(workers * perKey)
	value := func(w, i, round int) []byte { return fmt.Appendf(nil, "w%d-k%d-r%d", w, i, round) }
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := all[w*perKey : (w+1)*perKey]
			for round := range rounds {
				entries := make([]online.Entry, len(mine))
				for i, key := range mine {
					entries[i] = online.Entry{Key: key, Value: value(w, w*perKey+i, round)}
				}
				if err := s.Put(ctx, entries); err != nil {
					errs <- fmt.Errorf("worker %d: Put: %w", w, err)
					return
				}
				got, err := s.Get(ctx, all)
				if err != nil {
					errs <- fmt.Errorf("worker %d: Get: %w", w, err)
					return
				}
				for i, v := range got {
					if v != nil && !bytes.HasPrefix(v, fmt.Appendf(nil, "w%d-k%d-r", i/perKey, i)) {
						errs <- fmt.Errorf("worker %d: %s = %q, which nobody wrote", w, all[i], v)
						return
					}
				}
				// The worker's own keys read back what it just wrote.
				for i := range mine {
					if want := value(w, w*perKey+i, round); !bytes.Equal(got[w*perKey+i], want) {
						errs <- fmt.Errorf("worker %d: %s = %q right after writing %q", w, mine[i], got[w*perKey+i], want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	got := mustGet(t, s, all)
	for i, v := range got {
		checkValue(t, all[i], v, value(i/perKey, i, rounds-1))
	}
}

// checkCtxErr checks that err reports the context's end and not an outage: a caller
// that gave up is not a sign that the backend is down.
func checkCtxErr(t *testing.T, op string, err, want error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s with an ended context: no error", op)
	case !errors.Is(err, want):
		t.Errorf("%s with an ended context: %v, want an error wrapping %v", op, err, want)
	case errors.Is(err, online.ErrUnavailable):
		t.Errorf("%s with an ended context: %v wraps ErrUnavailable", op, err)
	}
}

// checkEndedContext calls every method with ctx, which has ended.
func checkEndedContext(t *testing.T, s online.Store, k keys, ctx context.Context) {
	t.Helper()
	want := ctx.Err()
	_, err := s.Get(ctx, k.n(2))
	checkCtxErr(t, "Get", err, want)
	checkCtxErr(t, "Put", s.Put(ctx, []online.Entry{{Key: k.key(0), Value: []byte("v")}}), want)
	checkCtxErr(t, "Delete", s.Delete(ctx, k.n(1)), want)
	checkCtxErr(t, "Ping", s.Ping(ctx), want)
}

func testContextCanceled(t *testing.T, s online.Store, k keys) {
	// Cached values too: a cache must not answer a caller that has gone.
	mustPut(t, s, online.Entry{Key: k.key(0), Value: []byte("v")}, online.Entry{Key: k.key(1), Value: []byte("w")})
	mustGet(t, s, k.n(2))
	c, cancel := context.WithCancel(t.Context())
	cancel()
	checkEndedContext(t, s, k, c)
	// The store still works for other contexts.
	checkValue(t, k.key(0), mustGet(t, s, k.n(1))[0], []byte("v"))
}

func testContextDeadlineExceeded(t *testing.T, s online.Store, k keys) {
	c, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	checkEndedContext(t, s, k, c)
}

func testPing(t *testing.T, s online.Store, _ keys) {
	if err := s.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testLease(t *testing.T, s online.Store, k keys) {
	l := online.LeaserOf(s)
	if l == nil {
		t.Skipf("%T is private to its process and grants no leases", s)
	}
	ctx := testCtx(t)
	name := k.view
	t.Cleanup(func() { _ = l.Release(context.Background(), name, "a") })
	lease := func(holder string, ttl time.Duration) (bool, string) {
		t.Helper()
		held, by, err := l.Lease(ctx, name, holder, ttl)
		if err != nil {
			t.Fatalf("Lease(%s): %v", holder, err)
		}
		return held, by
	}
	if held, by := lease("a", time.Minute); !held || by != "a" {
		t.Fatalf("a free lease: held %v by %q", held, by)
	}
	if held, by := lease("b", time.Minute); held || by != "a" {
		t.Fatalf("b asked for a's lease: held %v by %q", held, by)
	}
	if held, _ := lease("a", time.Minute); !held {
		t.Fatal("a could not extend its own lease")
	}
	// Releasing a lease one does not hold changes nothing.
	if err := l.Release(ctx, name, "b"); err != nil {
		t.Fatal(err)
	}
	if held, by := lease("b", time.Minute); held || by != "a" {
		t.Fatalf("after b released a's lease: held %v by %q", held, by)
	}
	if err := l.Release(ctx, name, "a"); err != nil {
		t.Fatal(err)
	}
	if held, by := lease("b", time.Minute); !held || by != "b" {
		t.Fatalf("after a released: held %v by %q", held, by)
	}
	// A lease that is not extended runs out; nothing to wait on but the clock.
	if held, _ := lease("b", 20*time.Millisecond); !held {
		t.Fatal("b could not shorten its own lease")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if held, _ := lease("a", time.Minute); held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b's lease did not run out 10s after its ttl")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
