package testenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIcebergJarLookup(t *testing.T) {
	t.Setenv(EnvIcebergRESTJar, "")
	repo := t.TempDir()
	t.Setenv("MAVEN_REPO", repo)
	_, err := icebergJar()
	if err == nil || !strings.Contains(err.Error(), "scripts/fetch-rest-fixture.sh") {
		t.Fatalf("missing jar: %v, want the remedy named", err)
	}
	want := filepath.Join(repo, "org/apache/iceberg/iceberg-open-api", IcebergRESTVersion, "iceberg-open-api-"+IcebergRESTVersion+".jar")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("jar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := icebergJar(); got != want || err != nil {
		t.Errorf("icebergJar() = %q, %v; want %s, where scripts/fetch-rest-fixture.sh puts it", got, err, want)
	}
	other := filepath.Join(t.TempDir(), "fixture.jar")
	t.Setenv(EnvIcebergRESTJar, other)
	if _, err := icebergJar(); err == nil {
		t.Errorf("%s naming a missing file accepted", EnvIcebergRESTJar)
	}
	if err := os.WriteFile(other, []byte("jar"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := icebergJar(); got != other || err != nil {
		t.Errorf("icebergJar() = %q, %v; want %s from %s", got, err, other, EnvIcebergRESTJar)
	}
}

func TestLocalIcebergArgsReplaceInheritedCatalogEnv(t *testing.T) {
	t.Setenv("CATALOG_IO__IMPL", "org.example.S3FileIO")
	files := icebergFiles{dir: "/d", warehouse: "/d/warehouse", catalogDB: "/d/catalog.db"}
	args := localIcebergArgs(files.catalogEnv(1234), "/usr/bin/java", "/r/fixture.jar", "/d/tmp")
	if i := slices.Index(args, "CATALOG_IO__IMPL"); i < 1 || args[i-1] != "-u" {
		t.Errorf("inherited CATALOG_IO__IMPL is not unset: %q", args)
	}
	for _, want := range []string{
		"CATALOG_URI=jdbc:sqlite:file:/d/catalog.db",
		"CATALOG_WAREHOUSE=file:///d/warehouse",
		"CATALOG_REST_PORT=1234",
		"CATALOG_CATALOG__IMPL=org.apache.iceberg.jdbc.JdbcCatalog",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("args lack %s: %q", want, args)
		}
	}
	if n := len(args); n < 3 || args[n-2] != "-jar" || args[n-1] != "/r/fixture.jar" {
		t.Errorf("args do not end in -jar JAR: %q", args)
	}
	if i, j := slices.Index(args, "/usr/bin/java"), slices.Index(args, "CATALOG_REST_PORT=1234"); i < j {
		t.Errorf("java comes before the environment it needs: %q", args)
	}
}
