// Package integration runs Floe end to end as a user does: the real `floe` binary,
// real processes, the embedded Iceberg catalog, real redis-server processes, and
// clients speaking Connect, gRPC, gRPC-Web, JSON and plain HTTP to one port.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// floeBin is the binary under test, built once by TestMain.
var floeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "floe-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	floeBin = filepath.Join(dir, "floe")
	build := exec.Command("go", "build", "-o", floeBin, "floe.dev/floe/services/featureserver/cmd/floe")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building floe:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the repository root (this package lives in integration/).
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// project is one Floe deployment under test: its own data directory and config.
type project struct {
	t      *testing.T
	dir    string
	config string
	env    []string
}

// newProject writes a config for specs (a directory) with the given online store
// section and returns a project whose commands run with it.
func newProject(t *testing.T, specs, onlineYAML string, env ...string) *project {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\nspecs: %s\ndata_dir: %s\nlog: {level: debug}\n%s\n", freePort(t), specs, filepath.Join(dir, "data"), onlineYAML)
	path := filepath.Join(dir, "floe.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return &project{t: t, dir: dir, config: path, env: env}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// run runs a floe command to completion and returns stdout, stderr and the error.
func (p *project) run(args ...string) (string, string, error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, floeBin, args...)
	cmd.Env = append(os.Environ(), p.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// must runs a floe command that has to succeed.
func (p *project) must(args ...string) string {
	p.t.Helper()
	out, errOut, err := p.run(args...)
	if err != nil {
		p.t.Fatalf("floe %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// exampleData writes the example project's CSVs and returns view → file.
func (p *project) exampleData(project string, rows int) map[string]string {
	p.t.Helper()
	out := p.must("example-data", "--project", project, "--rows", fmt.Sprint(rows), "--out", filepath.Join(p.dir, "input"))
	files := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		view, file, ok := strings.Cut(line, " ")
		if !ok {
			p.t.Fatalf("example-data printed %q", line)
		}
		files[view] = file
	}
	return files
}

// server is a running `floe serve` process.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	log  *syncBuffer
	done chan error

	stopOnce sync.Once
	exitErr  error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serve starts `floe serve` and waits until it listens. It does not wait for
// readiness: tests that need it call waitReady.
func (p *project) serve() *server {
	p.t.Helper()
	cmd := exec.Command(floeBin, "serve", "--config", p.config)
	cmd.Env = append(os.Environ(), p.env...)
	s := &server{t: p.t, cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout = s.log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.log.Write([]byte(line + "\n"))
			if strings.Contains(line, "floe serving") {
				if i := strings.Index(line, "addr="); i >= 0 {
					addrc <- strings.Fields(line[i+5:])[0]
				}
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	p.t.Cleanup(func() {
		s.stop()
		if p.t.Failed() {
			p.t.Logf("server log:\n%s", s.log.String())
		}
	})
	select {
	case addr := <-addrc:
		s.url = "http://" + addr
	case err := <-s.done:
		p.t.Fatalf("floe serve exited before listening: %v\n%s", err, s.log.String())
	case <-time.After(2 * time.Minute):
		p.t.Fatalf("floe serve did not start listening\n%s", s.log.String())
	}
	return s
}

// stop interrupts the server and waits for its graceful shutdown (killing it if
// that takes more than 15 s). Stopping twice is harmless.
func (s *server) stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case s.exitErr = <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			s.exitErr = <-s.done
		}
	})
}

// readyz returns /readyz's status code and body.
func (s *server) readyz() (int, map[string]any) {
	s.t.Helper()
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// waitFor polls cond until it holds or a minute passes; the polling interval is
// short because every condition here is a local process changing state.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) waitReady() {
	s.t.Helper()
	waitFor(s.t, "/readyz to answer 200", func() bool { code, _ := s.readyz(); return code == http.StatusOK })
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
