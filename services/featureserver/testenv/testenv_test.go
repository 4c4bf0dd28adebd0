package testenv

import (
	"strings"
	"testing"
)

func TestSelectBackend(t *testing.T) {
	t.Setenv(EnvBackend, "local")
	if b, _, err := selectBackend(); b != Local || err != nil {
		t.Errorf("%s=local: %q, %v", EnvBackend, b, err)
	}
	t.Setenv(EnvBackend, "kubernetes")
	if _, _, err := selectBackend(); err == nil || !strings.Contains(err.Error(), "kubernetes") {
		t.Errorf("%s=kubernetes: %v, want an error naming the bad value", EnvBackend, err)
	}
	t.Setenv(EnvBackend, "docker")
	// Whether an engine answers depends on the machine; either answer is consistent.
	b, _, err := selectBackend()
	if healthy := dockerHealth() == nil; healthy != (err == nil) || (err == nil && b != Docker) {
		t.Errorf("%s=docker: %q, %v; engine healthy: %t", EnvBackend, b, err, healthy)
	}
	t.Setenv(EnvBackend, "")
	b, reason, err := selectBackend()
	if err != nil || (b != Docker && b != Local) || reason == "" {
		t.Errorf("no %s: %q (%s), %v", EnvBackend, b, reason, err)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d returned twice in %v", p, ports)
		}
		seen[p] = true
	}
}
