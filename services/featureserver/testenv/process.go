package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// process is a server the Local backend runs as a child process. It is the part every
// local server shares (Redis now, an Iceberg REST catalog later): start with output
// to a log file, wait until a check passes or the process dies, kill.
type process struct {
	name    string // what runs, for messages
	path    string
	args    []string
	dir     string // working directory
	logPath string // stdout and stderr, appended across restarts

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited
	err  error         // how it exited, once done is closed
}

// start starts the process; it does not wait for it to be ready.
func (p *process) start() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	// The child gets its own copy of the descriptor; ours is not needed after Start.
	defer log.Close()
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done, p.err = cmd, make(chan struct{}), nil
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return nil
}

// stop kills the process, if it runs, and waits for it to be gone. Servers under test
// hold nothing worth a graceful shutdown, and SIGKILL cannot be ignored.
func (p *process) stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill() // fails only if it has just exited, which done reports
		<-p.done
	}
	p.cmd = nil
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	if p.cmd == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady waits, as poll does, until check passes, failing early if the process
// exits.
func (p *process) waitReady(ctx context.Context, check func(ctx context.Context) error) error {
	err := poll(ctx, check, func() error {
		if !p.exited() {
			return nil
		}
		return fmt.Errorf("exited (%v) before it was ready", p.err)
	})
	if err != nil {
		return fmt.Errorf("%s: %w; its log ends:\n%s", p.name, err, p.logTail())
	}
	return nil
}

// poll calls check, with a short deadline each time, until it succeeds, dead (if not
// nil) reports that waiting is pointless, or ctx ends. Between failed attempts it
// backs off from 2 ms to 100 ms: a server that is still starting refuses connections
// at once, and polling is the only way to learn when it stops doing so.
func poll(ctx context.Context, check func(ctx context.Context) error, dead func() error) error {
	delay := 2 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		err := check(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if dead != nil {
			if deadErr := dead(); deadErr != nil {
				return deadErr
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w (last check: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// logTail returns the end of the process's log, for error messages.
func (p *process) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	const keep = 8192
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}

// logContains reports whether the process's log contains s.
func (p *process) logContains(s string) bool {
	b, _ := os.ReadFile(p.logPath)
	return strings.Contains(string(b), s)
}

// freePorts returns n distinct TCP ports that are free on the loopback interface now.
// Another process may take one before the server binds it; callers retry when a
// server reports its port in use.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	// Holding every listener until all are chosen makes the ports distinct.
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lookPath finds a server binary, failing the test with how to install it.
func lookPath(tb testing.TB, name, install string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			tb.Fatalf("testenv: the %s backend runs %s, which is not on PATH: %s (or start a Docker engine, which the harness uses when it answers)", Local, name, install)
		}
		tb.Fatalf("testenv: %s: %v", name, err)
	}
	return path
}
