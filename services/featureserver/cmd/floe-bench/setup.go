package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file starts and stops the processes the bench needs: a redis-server of its
// own and `floe serve`, and runs the one-shot `floe ingest` and `floe materialize`.
// Every wait is bounded, every address is on loopback.

// proc is a child process whose output goes to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// startProc starts name with args, stdout and stderr to logPath.
func startProc(name, logPath string, args ...string) (*proc, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log of %s: %w", name, err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: filepath.Base(name), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (SIGTERM), then kills it if it has not ended within
// grace. It is safe to call more than once.
func (p *proc) stop(grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(grace):
	}
}

// logTail returns the last max bytes of the process's log.
func (p *proc) logTail(max int64) string {
	return fileTail(p.log, max)
}

func fileTail(path string, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// freePort returns a TCP port that is free on 127.0.0.1 right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// checkLoopback fails unless addr is host:port with a loopback host: the bench
// floods what it talks to and must never be pointed at a shared server.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address; floe-bench only talks to 127.0.0.1/::1", addr)
}

// startRedis starts a throwaway redis-server (no persistence) on a free loopback
// port in dir and waits until it answers PING. A start that fails because another
// process took the port in between is retried on a new port, a few times.
func startRedis(ctx context.Context, bin, dir string) (*proc, string, error) {
	const attempts = 3
	var lastErr error
	for i := 0; i < attempts; i++ {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p, err := startProc(bin, filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)),
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no")
		if err != nil {
			return nil, "", fmt.Errorf("%w (is redis-server installed? pass --redis-server or --redis host:port)", err)
		}
		if err := waitRedis(ctx, addr, p, 10*time.Second); err != nil {
			p.stop(2 * time.Second)
			lastErr = fmt.Errorf("redis-server on %s: %w\n--- redis log ---\n%s", addr, err, p.logTail(4096))
			if ctx.Err() != nil {
				return nil, "", lastErr
			}
			continue
		}
		return p, addr, nil
	}
	return nil, "", lastErr
}

// waitRedis PINGs addr every 50 ms until it answers, p (if not nil) exits, or
// timeout passes.
func waitRedis(ctx context.Context, addr string, p *proc, timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err = c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if p != nil && p.exited() {
			return fmt.Errorf("exited before answering PING (%v)", p.err)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("no answer to PING within %s: %w", timeout, err)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writeConfig writes the floe configuration of the bench project: specs, catalog
// and warehouse in dir, Redis as the online store, the server on listen.
func writeConfig(dir, listen, redisAddr string) (string, error) {
	cfg := fmt.Sprintf(`# Generated by floe-bench.
listen: %q
specs: specs
data_dir: data
catalog:
  type: sql
online:
  type: redis
  redis:
    addrs: [%q]
log:
  level: warn
`, listen, redisAddr)
	path := filepath.Join(dir, "floe.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	return path, nil
}

// runFloe runs a one-shot floe command to completion and returns its stdout. On
// failure the error carries the command's whole output.
func runFloe(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("floe %s: %w\n--- stdout ---\n%s--- stderr ---\n%s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// startServer starts `floe serve` and waits until /readyz answers 200. On failure
// the server is stopped and the error carries the end of its log.
func startServer(ctx context.Context, bin, cfgPath, dir, baseURL string, timeout time.Duration) (*proc, error) {
	p, err := startProc(bin, filepath.Join(dir, "floe-serve.log"), "serve", "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, baseURL+"/readyz", p, timeout); err != nil {
		p.stop(5 * time.Second)
		return nil, fmt.Errorf("floe serve: %w\n--- server log (%s) ---\n%s", err, p.log, p.logTail(8192))
	}
	return p, nil
}

// waitReady polls url every 100 ms until it answers 200, p exits, or timeout passes.
func waitReady(ctx context.Context, url string, p *proc, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("exited before becoming ready (%v)", p.err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s not ready within %s; last answer: %s", url, timeout, last)
}

// redisVersion returns the server's redis_version from INFO, or "" if unknown.
func redisVersion(ctx context.Context, c *redis.Client) string {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return ""
}
