package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// defaultIcebergRESTImage is the image the Docker backend runs unless
// EnvIcebergRESTImage names another: the same server as the Local backend's jar.
const defaultIcebergRESTImage = "apache/iceberg-rest-fixture:" + IcebergRESTVersion

// icebergContainerPort is the port the fixture listens on inside its container.
const icebergContainerPort = 8181

// dockerIceberg is the fixture in a container.
type dockerIceberg struct {
	ctr *testcontainers.DockerContainer
	uri string
}

func icebergImage() string {
	if image := os.Getenv(EnvIcebergRESTImage); image != "" {
		return image
	}
	return defaultIcebergRESTImage
}

// startDockerIcebergREST is IcebergREST on the Docker backend. The test's directory
// (catalog database and warehouse) is bind-mounted at the same path inside the
// container, so the paths the server writes into table metadata are the paths the
// test process reads, which assumes a local engine. The container runs as the
// test's uid and gid so that both sides can write every directory either creates,
// and the test can delete them afterwards; a passwd entry is mounted for that uid
// because Hadoop's file system, which the fixture writes with, refuses a user
// without a name.
func startDockerIcebergREST(ctx context.Context, tb testing.TB) *IcebergRESTServer {
	tb.Helper()
	files := newIcebergFiles(tb)
	ports, err := freePorts(1)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	env := files.catalogEnv(icebergContainerPort)
	env["HOME"] = "/tmp"
	binds := []string{files.dir + ":" + files.dir}
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts(strconv.Itoa(icebergContainerPort) + "/tcp"),
		testcontainers.WithEnv(env),
		testcontainers.WithHostConfigModifier(bindPorts(map[int]int{icebergContainerPort: ports[0]})),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/v1/config").
			WithPort(strconv.Itoa(icebergContainerPort) + "/tcp").
			WithStartupTimeout(startTimeout)),
	}
	if uid, gid := os.Getuid(), os.Getgid(); uid > 0 {
		passwd := filepath.Join(tb.TempDir(), "passwd")
		content := "root:x:0:0:root:/root:/bin/sh\n" +
			fmt.Sprintf("floe:x:%d:%d:floe:/tmp:/bin/sh\n", uid, gid)
		if err := os.WriteFile(passwd, []byte(content), 0o644); err != nil {
			tb.Fatalf("testenv: %v", err)
		}
		binds = append(binds, passwd+":/etc/passwd:ro")
		opts = append(opts, testcontainers.WithConfigModifier(func(c *container.Config) {
			c.User = fmt.Sprintf("%d:%d", uid, gid)
		}))
	}
	opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.Binds = append(hc.Binds, binds...)
	}))
	ctr, err := testcontainers.Run(ctx, icebergImage(), opts...)
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		tb.Fatalf("testenv: start %s container: %v", icebergImage(), err)
	}
	host, err := dockerHost(ctx, ctr)
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	d := &dockerIceberg{ctr: ctr, uri: "http://" + net.JoinHostPort(host, strconv.Itoa(ports[0]))}
	if err := d.waitReady(ctx); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return &IcebergRESTServer{uri: d.uri, warehouse: "file://" + files.warehouse, inst: d}
}

// waitReady waits until the server answers through the published port; the
// container's wait strategy may have used another route to it.
func (d *dockerIceberg) waitReady(ctx context.Context) error {
	if err := icebergWaitReady(ctx, d.uri, nil); err != nil {
		return fmt.Errorf("%s container at %s: %w", icebergImage(), d.uri, err)
	}
	return nil
}

// stop stops the container, keeping it, its port binding and its files for start.
func (d *dockerIceberg) stop(ctx context.Context) error {
	timeout := icebergStopTimeout
	return d.ctr.Stop(ctx, &timeout)
}

// start starts the stopped container again, on the same catalog database and
// warehouse.
func (d *dockerIceberg) start(ctx context.Context) error {
	if err := d.ctr.Start(ctx); err != nil {
		return err
	}
	return d.waitReady(ctx)
}

// Compile-time check that the Docker backend implements icebergInstance.
var _ icebergInstance = (*dockerIceberg)(nil)
