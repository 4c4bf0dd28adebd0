package testenv_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"floe.dev/floe/services/featureserver/testenv"
)

// restCall makes one REST catalog request and decodes a JSON answer into out (if
// not nil), failing the test unless the status is want.
func restCall(t *testing.T, method, uri, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, uri, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d: %s", method, uri, resp.Status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, uri, err, b)
		}
	}
}

// The fixture is a real REST catalog: it creates namespaces and tables, writes
// table metadata into the warehouse on the local disk the test reads, and keeps
// all of it across Stop and Restart at the same URI.
func TestIcebergRESTStopRestartKeepsTables(t *testing.T) {
	srv := testenv.IcebergREST(t)
	uri := srv.URI()
	wh, err := url.Parse(srv.Warehouse())
	if err != nil || wh.Scheme != "file" || !filepath.IsAbs(wh.Path) {
		t.Fatalf("Warehouse() = %q, want a file:// URL of an absolute directory", srv.Warehouse())
	}

	var cfg struct {
		Defaults  map[string]string `json:"defaults"`
		Overrides map[string]string `json:"overrides"`
	}
	restCall(t, "GET", uri+"/v1/config", "", 200, &cfg)
	restCall(t, "POST", uri+"/v1/namespaces", `{"namespace":["testenv"]}`, 200, nil)
	var created struct {
		MetadataLocation string `json:"metadata-location"`
	}
	restCall(t, "POST", uri+"/v1/namespaces/testenv/tables", `{"name":"t","schema":{"type":"struct","schema-id":0,
		"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}}`, 200, &created)
	// The server wrote the table's first metadata file into the shared warehouse.
	loc, err := url.Parse(created.MetadataLocation)
	if err != nil || !strings.HasPrefix(loc.Path, wh.Path+"/") {
		t.Fatalf("metadata-location %q is not under the warehouse %s", created.MetadataLocation, wh.Path)
	}
	if _, err := os.Stat(loc.Path); err != nil {
		t.Fatalf("metadata file not on the shared disk: %v", err)
	}

	srv.Stop(t)
	host := strings.TrimPrefix(uri, "http://")
	if conn, err := net.Dial("tcp", host); err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections after Stop", host)
	}

	srv.Restart(t)
	if srv.URI() != uri {
		t.Errorf("Restart moved the server from %s to %s", uri, srv.URI())
	}
	var loaded struct {
		MetadataLocation string `json:"metadata-location"`
	}
	restCall(t, "GET", uri+"/v1/namespaces/testenv/tables/t", "", 200, &loaded)
	if loaded.MetadataLocation != created.MetadataLocation {
		t.Errorf("after restart the table's metadata is %s, want %s", loaded.MetadataLocation, created.MetadataLocation)
	}
	restCall(t, "GET", uri+"/v1/namespaces/testenv/tables/missing", "", 404, nil)
}

func TestIcebergRESTFromEnvironment(t *testing.T) {
	t.Setenv(testenv.EnvIcebergRESTURI, "http://catalog.example:8181/")
	t.Setenv(testenv.EnvIcebergRESTWarehouse, "s3://bucket/wh")
	srv := testenv.IcebergREST(t)
	if got := fmt.Sprint(srv.URI(), " ", srv.Warehouse()); got != "http://catalog.example:8181 s3://bucket/wh" {
		t.Errorf("URI, Warehouse = %s; want what %s and %s name", got, testenv.EnvIcebergRESTURI, testenv.EnvIcebergRESTWarehouse)
	}
}
