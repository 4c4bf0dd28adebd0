package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// installJava is the remedy printed when the Local backend finds no java.
const installJava = "install a Java 17+ runtime, e.g. `apt-get install openjdk-17-jre-headless` (or set JAVA_HOME)"

// icebergJVMOptions keep the fixture small and quick to start on a CI machine: it
// serves a handful of requests, so the serial collector and the C1 compiler are
// enough.
var icebergJVMOptions = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx512m"}

// localIceberg is the fixture run as a child java process.
type localIceberg struct {
	proc *process
	uri  string
}

// icebergJar returns the fixture jar: $FLOE_ICEBERG_REST_JAR, or where
// scripts/fetch-rest-fixture.sh puts it in the local Maven repository
// ($MAVEN_REPO, default ~/.m2/repository).
func icebergJar() (string, error) {
	if jar := os.Getenv(EnvIcebergRESTJar); jar != "" {
		if _, err := os.Stat(jar); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvIcebergRESTJar, jar, err)
		}
		return jar, nil
	}
	repo := os.Getenv("MAVEN_REPO")
	if repo == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the local Maven repository: %w; %s", err, fetchRESTFixture)
		}
		repo = filepath.Join(home, ".m2", "repository")
	}
	jar := filepath.Join(repo, "org", "apache", "iceberg", "iceberg-open-api", IcebergRESTVersion,
		"iceberg-open-api-"+IcebergRESTVersion+".jar")
	if _, err := os.Stat(jar); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("the Iceberg REST catalog fixture jar is not at %s: %s", jar, fetchRESTFixture)
		}
		return "", err
	}
	return jar, nil
}

// javaPath returns $JAVA_HOME/bin/java if there is one, else java from the PATH.
func javaPath(tb testing.TB) string {
	tb.Helper()
	if home := os.Getenv("JAVA_HOME"); home != "" {
		if p := filepath.Join(home, "bin", "java"); isExecutable(p) {
			return p
		}
	}
	return lookPath(tb, "java", installJava)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// startLocalIcebergREST is IcebergREST on the Local backend.
func startLocalIcebergREST(ctx context.Context, tb testing.TB) *IcebergRESTServer {
	tb.Helper()
	jar, err := icebergJar()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	java := javaPath(tb)
	// Hadoop's file system, which the fixture writes the warehouse with, logs the
	// process's user in and fails on every write when the uid has no name. LookupId,
	// unlike Current, does not fall back on $USER, which Hadoop does not read.
	if _, err := user.LookupId(strconv.Itoa(os.Getuid())); err != nil {
		tb.Fatalf("testenv: the Iceberg REST fixture needs a named user (Hadoop logs in as it), but uid %d has none: %v", os.Getuid(), err)
	}
	// The fixture is configured only by its environment, and the shared process
	// helper passes the test's on unchanged, so the command is `env`: it drops any
	// CATALOG_* variable the test inherited and sets the harness's own.
	envBin, err := exec.LookPath("env")
	if err != nil {
		tb.Fatalf("testenv: env: %v", err)
	}
	files := newIcebergFiles(tb)
	tmpDir := filepath.Join(files.dir, "tmp")
	if err := os.Mkdir(tmpDir, 0o755); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		l := &localIceberg{
			proc: &process{
				name:    "iceberg-rest-fixture",
				path:    envBin,
				args:    localIcebergArgs(files.catalogEnv(ports[0]), java, jar, tmpDir),
				dir:     files.dir,
				logPath: filepath.Join(files.dir, "rest-catalog.log"),
			},
			uri: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		}
		if err := l.proc.start(); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		tb.Cleanup(l.proc.stop)
		// Registered after stop, so it runs first: a failed test shows why the
		// catalog answered as it did, before the test's directory is removed.
		tb.Cleanup(func() {
			if tb.Failed() {
				tb.Logf("testenv: %s log (%s) ends:\n%s", l.proc.name, l.proc.logPath, l.proc.logTail())
			}
		})
		err = l.waitReady(ctx)
		if err == nil {
			return &IcebergRESTServer{uri: l.uri, warehouse: "file://" + files.warehouse, inst: l}
		}
		if l.proc.exited() && l.proc.logContains("Address already in use") && attempt < portAttempts {
			tb.Logf("testenv: %s lost its port to another process; picking another", l.proc.name)
			continue
		}
		tb.Fatalf("testenv: %v", err)
	}
}

// localIcebergArgs is the argument list of `env` that runs the fixture with exactly
// the given CATALOG_* variables.
func localIcebergArgs(catalogEnv map[string]string, java, jar, tmpDir string) []string {
	var args []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "CATALOG_") {
			args = append(args, "-u", name)
		}
	}
	var sets []string
	for k, v := range catalogEnv {
		sets = append(sets, k+"="+v)
	}
	slices.Sort(sets)
	args = append(args, sets...)
	args = append(args, java)
	args = append(args, icebergJVMOptions...)
	// java.io.tmpdir in the test's directory keeps the fixture's scratch files
	// (the SQLite driver's native library among them) out of the machine's /tmp.
	return append(args, "-Djava.io.tmpdir="+tmpDir, "-jar", jar)
}

func (l *localIceberg) waitReady(ctx context.Context) error {
	return l.proc.waitReady(ctx, func(ctx context.Context) error { return icebergReady(ctx, l.uri) })
}

// stop kills the server. Its state is in the SQLite file, whose commits survive
// SIGKILL.
func (l *localIceberg) stop(context.Context) error {
	l.proc.stop()
	return nil
}

// start runs the server again with the same command line: same port, same catalog
// database, same warehouse.
func (l *localIceberg) start(ctx context.Context) error {
	if !l.proc.exited() {
		return fmt.Errorf("%s is running", l.proc.name)
	}
	if err := l.proc.start(); err != nil {
		return err
	}
	return l.waitReady(ctx)
}

// Compile-time check that the Local backend implements icebergInstance.
var _ icebergInstance = (*localIceberg)(nil)
