package online_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/testenv"
)

// TestOpen opens each type the configuration names and checks what it built:
// the in-process store has no lease (its process is the only publisher), Redis
// and Redis behind L1 share one through the Redis tier.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	srv := testenv.Redis(t)
	cases := []struct {
		name   string
		cfg    online.Config
		check  func(online.Store) bool
		leaser bool
	}{
		{"memory", online.Config{Type: online.TypeMemory, Memory: online.MemoryConfig{MaxEntries: 10}},
			func(s online.Store) bool { _, ok := s.(*online.Memory); return ok }, false},
		{"empty type", online.Config{},
			func(s online.Store) bool { _, ok := s.(*online.Memory); return ok }, false},
		{"redis", online.Config{Type: online.TypeRedis, Redis: online.RedisConfig{Addrs: []string{srv.Addr()}}},
			func(s online.Store) bool { _, ok := s.(*online.Redis); return ok }, true},
		{"redis with l1", online.Config{Type: online.TypeRedis, Redis: online.RedisConfig{Addrs: []string{srv.Addr()}}, L1: online.L1Config{Enabled: true}},
			func(s online.Store) bool { _, ok := s.(*online.Tiered); return ok }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := online.Open(ctx, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !tc.check(s) {
				t.Errorf("opened a %T", s)
			}
			if got := online.LeaserOf(s) != nil; got != tc.leaser {
				t.Errorf("leaser %v, want %v", got, tc.leaser)
			}
			if err := s.Put(ctx, []online.Entry{{Key: online.MetaKey("open-test"), Value: []byte("x")}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, []string{online.MetaKey("open-test")}); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A Redis that does not answer opens (reads fail until it does).
	down, err := online.Open(ctx, online.Config{Type: online.TypeRedis, Redis: online.RedisConfig{Addrs: []string{"127.0.0.1:1"}}})
	if err != nil {
		t.Fatalf("a Redis that is down at start: %v", err)
	}
	defer down.Close()
	if _, err := down.Get(ctx, []string{"k"}); !errors.Is(err, online.ErrUnavailable) {
		t.Errorf("read from a Redis that is down: %v, want ErrUnavailable", err)
	}
	if _, err := online.Open(ctx, online.Config{Type: "memcached"}); err == nil || !strings.Contains(err.Error(), `"memcached"`) {
		t.Errorf("unknown type: %v", err)
	}
}
