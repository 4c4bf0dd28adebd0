// Package testenv starts the servers Floe's tests run against (Redis, Redis Cluster,
// the Apache Iceberg REST catalog test server) and stops them when the test ends.
//
// Every server has two real implementations behind one function: a Docker container
// started with testcontainers-go when a Docker engine answers, and a local process
// (redis-server from the PATH, the REST catalog's jar under java) when none does, so the same tests run on a laptop
// with Docker, in CI without it, and on machines where only the binaries are
// installed. The Backend is chosen once per test binary: by FLOE_TEST_BACKEND if set,
// otherwise by probing the Docker engine. A server the environment already provides
// can be named instead (FLOE_TEST_REDIS_ADDR, FLOE_TEST_REDIS_CLUSTER_ADDRS).
//
// It is not an internal package: the integration module imports it too.
package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// Backend is where the harness runs the servers tests need.
type Backend string

const (
	// Docker runs each server in a container, through testcontainers-go.
	Docker Backend = "docker"
	// Local runs each server as a child process of the test binary.
	Local Backend = "local"
)

// EnvBackend is the environment variable that forces a Backend ("docker" or
// "local") instead of probing for a Docker engine.
const EnvBackend = "FLOE_TEST_BACKEND"

// dockerProbeTimeout bounds the Docker engine probe. An engine that is absent fails
// at once; one that takes longer than this to answer is too slow to run tests on.
const dockerProbeTimeout = 5 * time.Second

var (
	backendOnce   sync.Once
	backend       Backend
	backendReason string
	backendErr    error
)

// SelectedBackend returns the Backend this test binary uses, choosing it on the first
// call: the value of FLOE_TEST_BACKEND if set, Docker if an engine answers, Local
// otherwise. It fails the test if FLOE_TEST_BACKEND asks for something unusable.
func SelectedBackend(tb testing.TB) Backend {
	tb.Helper()
	backendOnce.Do(func() {
		backend, backendReason, backendErr = selectBackend()
	})
	if backendErr != nil {
		tb.Fatalf("testenv: %v", backendErr)
	}
	return backend
}

// selectBackend implements SelectedBackend's choice.
func selectBackend() (Backend, string, error) {
	switch b := Backend(os.Getenv(EnvBackend)); b {
	case Local:
		return Local, EnvBackend + "=local", nil
	case Docker:
		if err := dockerHealth(); err != nil {
			return "", "", fmt.Errorf("%s=docker, but no Docker engine answers: %v", EnvBackend, err)
		}
		return Docker, EnvBackend + "=docker", nil
	case "":
	default:
		return "", "", fmt.Errorf("%s=%q: want %q or %q", EnvBackend, b, Docker, Local)
	}
	if err := dockerHealth(); err != nil {
		return Local, fmt.Sprintf("no Docker engine answers (%v)", err), nil
	}
	return Docker, "a Docker engine answers", nil
}

// dockerHealth reports whether a Docker engine answers. It is the check of
// testcontainers.SkipIfProviderIsNotHealthy, returned instead of skipping, so that the
// harness can fall back to local processes.
func dockerHealth() (err error) {
	defer func() {
		// testcontainers panics on some broken Docker configurations, which for
		// choosing a backend means the same as an engine that does not answer.
		if r := recover(); r != nil {
			err = fmt.Errorf("docker provider panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	provider, err := testcontainers.ProviderDocker.GetProvider(testcontainers.WithLogger(discardLogger{}))
	if err != nil {
		return err
	}
	return provider.Health(ctx)
}

// discardLogger silences testcontainers while probing: a missing engine is an
// expected outcome, not something to print.
type discardLogger struct{}

// Printf discards its arguments.
func (discardLogger) Printf(string, ...any) {}

// logBackend notes in the test's log which backend started a server and why, so a
// failure report says what ran.
func logBackend(tb testing.TB, what string) {
	tb.Helper()
	tb.Logf("testenv: %s on the %s backend (%s)", what, backend, backendReason)
}
