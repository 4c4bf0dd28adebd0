package integration

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do against a plain port.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// latestByUser reads a CSV written by `floe example-data` and returns, per user id,
// the row with the greatest event time, as column → cell.
func latestByUser(t *testing.T, path string) map[int64]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	out := map[int64]map[string]string{}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range header {
			m[h] = r[i]
		}
		id, _ := strconv.ParseInt(m["user_id"], 10, 64)
		// Example data writes RFC 3339 UTC times, which order as strings.
		if cur, ok := out[id]; !ok || cur["event_time"] <= m["event_time"] {
			out[id] = m
		}
	}
	return out
}

func TestEmbeddedEndToEnd(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}")
	files := p.exampleData("pricing", 200)
	srv := p.serve()
	srv.waitReady()

	// Ingest while the server runs, then ask it to publish: the real workflow.
	for _, view := range []string{"user_profile", "user_behavior"} {
		out := p.must("ingest", "--config", p.config, "--view", view, "--file", files[view])
		if !strings.Contains(out, "committed") {
			t.Fatalf("ingest printed %q", out)
		}
	}
	// Committed is servable without a materialization: a miss in the online store
	// reads Iceberg (whose table metadata the server caches for up to a second).
	waitFor(t, "GET user/1 answered after the ingest", func() bool {
		code, _ := httpGet(t, srv.url+"/v1/features/user/1")
		return code == http.StatusOK
	})
	out := p.must("materialize", "--config", p.config, "--server", srv.url)
	if !strings.Contains(out, "user_behavior: ") || !strings.Contains(out, "materialized in") {
		t.Fatalf("materialize printed %q", out)
	}
	again := p.must("materialize", "--config", p.config, "--server", srv.url)
	if !strings.Contains(again, "user_profile: already at snapshot") {
		t.Fatalf("second materialize printed %q, want already at snapshot", again)
	}

	profile := latestByUser(t, files["user_profile"])
	behavior := latestByUser(t, files["user_behavior"])
	req := &floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "pricing_agent_v1"},
		Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1, 2, 424242}}}}},
	}
	clients := map[string]floev1connect.ServingServiceClient{
		"connect":      floev1connect.NewServingServiceClient(http.DefaultClient, srv.url),
		"connect-json": floev1connect.NewServingServiceClient(http.DefaultClient, srv.url, connect.WithProtoJSON()),
		"grpc":         floev1connect.NewServingServiceClient(h2cClient(), srv.url, connect.WithGRPC()),
		"grpc-web":     floev1connect.NewServingServiceClient(http.DefaultClient, srv.url, connect.WithGRPCWeb()),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			resp, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			m := resp.Msg
			if m.RowCount != 3 || len(m.Columns) != 8 || m.Columns[0].Name != "user_profile:age" {
				t.Fatalf("shape: rows %d, %d columns, first %q", m.RowCount, len(m.Columns), m.Columns[0].Name)
			}
			if resp.Header().Get("X-Request-Id") == "" {
				t.Error("no request id in the response")
			}
			for _, col := range m.Columns {
				if col.Statuses[2] != floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND {
					t.Errorf("%s of unknown user: %v", col.Name, col.Statuses[2])
				}
			}
			for row, id := range []int64{1, 2} {
				if age := profile[id]["age"]; age != "" {
					if got := m.Columns[0].GetInt64Values().Values[row]; strconv.FormatInt(got, 10) != age {
						t.Errorf("user %d age %d, CSV latest %s", id, got, age)
					}
				}
				if city := profile[id]["city"]; city != "" && m.Columns[1].GetStringValues().Values[row] != city {
					t.Errorf("user %d city %q, CSV latest %q", id, m.Columns[1].GetStringValues().Values[row], city)
				}
				if s := behavior[id]["sessions_7d"]; s != "" {
					if got := m.Columns[2].GetInt64Values().Values[row]; strconv.FormatInt(got, 10) != s {
						t.Errorf("user %d sessions_7d %d, CSV latest %s", id, got, s)
					}
					if st := m.Columns[2].Statuses[row]; st != floev1.FeatureStatus_FEATURE_STATUS_PRESENT {
						t.Errorf("user %d sessions_7d status %v", id, st)
					}
				}
			}
			for _, v := range m.Views {
				if v.SnapshotIds[0] == 0 || v.Tiers[0] != floev1.Tier_TIER_ONLINE || v.EventTimeUnixMicros[0] == 0 {
					t.Errorf("view %s row 0: snapshot %d tier %v event time %d", v.View, v.SnapshotIds[0], v.Tiers[0], v.EventTimeUnixMicros[0])
				}
			}
		})
	}

	t.Run("invalid requests", func(t *testing.T) {
		c := clients["connect"]
		bad := []*floev1.GetOnlineFeaturesRequest{
			{Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "nope"}, Entities: req.Entities},
			{Selector: req.Selector},
			{Selector: req.Selector, Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"1"}}}}}},
			{Selector: req.Selector, Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: make([]int64, 1001)}}}}},
		}
		for i, r := range bad {
			_, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(r))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("bad request %d: %v, want INVALID_ARGUMENT", i, err)
			}
		}
	})

	t.Run("rest", func(t *testing.T) {
		code, body := httpGet(t, srv.url+"/v1/features/user/1")
		if code != http.StatusOK {
			t.Fatalf("GET user/1 = %d %s", code, body)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(body), &row); err != nil {
			t.Fatal(err)
		}
		if _, ok := row["user_behavior:embedding"]; !ok {
			t.Errorf("row lacks user_behavior:embedding: %s", body)
		}
		if code, _ := httpGet(t, srv.url+"/v1/features/user/424242"); code != http.StatusNotFound {
			t.Errorf("unknown id: %d, want 404", code)
		}
		if code, _ := httpGet(t, srv.url+"/v1/features/user/abc"); code != http.StatusBadRequest {
			t.Errorf("non-integer id: %d, want 400", code)
		}
		if code, _ := httpGet(t, srv.url+"/v1/features/nobody/1"); code != http.StatusNotFound {
			t.Errorf("unknown entity: %d, want 404", code)
		}
		code, body = httpGet(t, srv.url+"/v1/features/user/1?service=pricing_agent_v1")
		if code != http.StatusOK || strings.Contains(body, "embedding") {
			t.Errorf("service-scoped read: %d %s", code, body)
		}
	})

	t.Run("registry", func(t *testing.T) {
		c := floev1connect.NewRegistryServiceClient(http.DefaultClient, srv.url)
		all, err := c.GetRegistry(context.Background(), connect.NewRequest(&floev1.GetRegistryRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		if all.Msg.Version == "" || len(all.Msg.FeatureViews) != 2 || len(all.Msg.FeatureServices) == 0 {
			t.Fatalf("registry %v", all.Msg)
		}
		svc, err := c.GetFeatureService(context.Background(), connect.NewRequest(&floev1.GetFeatureServiceRequest{Name: "pricing_agent_v1"}))
		if err != nil || svc.Msg.FeatureService.Features[0] != "user_profile:age" || svc.Msg.FeatureService.Location.Line == 0 {
			t.Fatalf("GetFeatureService: %v %v", svc, err)
		}
		v2, err := c.GetFeatureService(context.Background(), connect.NewRequest(&floev1.GetFeatureServiceRequest{Name: "pricing_agent_v2"}))
		if err != nil {
			t.Fatal(err)
		}
		// The registry says what a transformed service returns, under which names.
		transformed := 0
		for i, o := range v2.Msg.FeatureService.Outputs {
			if o.Ref != v2.Msg.FeatureService.Features[i] {
				t.Errorf("output %d ref %q, feature %q", i, o.Ref, v2.Msg.FeatureService.Features[i])
			}
			if len(o.Transform) > 0 {
				transformed++
				if o.Name == o.Ref && o.ValueType == floev1.ValueType_VALUE_TYPE_UNSPECIFIED {
					t.Errorf("transformed output %+v has no type", o)
				}
			}
		}
		if transformed == 0 {
			t.Errorf("pricing_agent_v2 lists no transformed output: %v", v2.Msg.FeatureService.Outputs)
		}
		_, err = c.GetFeatureView(context.Background(), connect.NewRequest(&floev1.GetFeatureViewRequest{Name: "nope"}))
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("unknown view: %v", err)
		}
	})

	t.Run("reflection", func(t *testing.T) {
		client := grpcreflect.NewClient(h2cClient(), srv.url, connect.WithGRPC())
		stream := client.NewStream(context.Background())
		defer stream.Close()
		names, err := stream.ListServices()
		if err != nil {
			t.Fatal(err)
		}
		var joined string
		for _, n := range names {
			joined += string(n) + ","
		}
		if !strings.Contains(joined, "floe.v1.ServingService") || !strings.Contains(joined, "floe.v1.RegistryService") {
			t.Fatalf("reflection lists %s", joined)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, body := httpGet(t, srv.url+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics = %d", code)
		}
		wants := []string{
			`floe_rpc_duration_seconds_count{method="/floe.v1.ServingService/GetOnlineFeatures"}`,
			`floe_values_served_total{tier="online"}`,
			`floe_values_served_total{tier="none"}`,
			`floe_rpc_errors_total{code="invalid_argument",method="/floe.v1.ServingService/GetOnlineFeatures"}`,
		}
		// floe serve's garbage collection target, unless the environment sets one.
		if _, set := os.LookupEnv("GOGC"); !set {
			wants = append(wants, "\ngo_gc_gogc_percent 400\n")
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		// And a soft memory limit, on Linux, where the memory available is known.
		if _, set := os.LookupEnv("GOMEMLIMIT"); !set && runtime.GOOS == "linux" {
			if !strings.Contains(body, "\ngo_gc_gomemlimit_bytes ") || strings.Contains(body, "\ngo_gc_gomemlimit_bytes 9.223372036854776e+18\n") {
				t.Error("/metrics shows no memory limit (go_gc_gomemlimit_bytes)")
			}
		}
	})

	t.Run("restart rebuilds the online store from iceberg", func(t *testing.T) {
		srv.stop()
		again := p.serve()
		again.waitReady()
		if code, body := httpGet(t, again.url+"/v1/features/user/1"); code != http.StatusOK {
			t.Fatalf("after restart GET user/1 = %d %s", code, body)
		}
	})
}

func TestServeRefusesBadSpecs(t *testing.T) {
	specs := t.TempDir()
	bad := "entities:\n  - name: user\n    join_keys: [{name: user_id, type: int64}]\nfeature_views:\n  - name: v\n    entity: user\n    source: missing\n    features: [{name: a, type: int64}]\n"
	if err := os.WriteFile(filepath.Join(specs, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProject(t, specs, "online: {type: memory}")
	_, errOut, err := p.run("serve", "--config", p.config)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("serve with a bad spec: err = %v, want a non-zero exit", err)
	}
	if !strings.Contains(errOut, "bad.yaml:5: feature_views[0].source: unknown source \"missing\"") {
		t.Fatalf("stderr does not point at the spec line:\n%s", errOut)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: redis}", "FLOE_MAX_ENTITIES=-1")
	_, errOut, err := p.run("serve", "--config", p.config)
	if err == nil {
		t.Fatal("serve accepted an invalid configuration")
	}
	for _, want := range []string{"online.redis.addrs (FLOE_REDIS_ADDRS) is required", "serving.max_entities (FLOE_MAX_ENTITIES) must be positive"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestIngestRejectsBadFileAndCommitsNothing(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}")
	bad := filepath.Join(p.dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("user_id,event_time,agee,city\n1,2026-01-01T00:00:00Z,3,Paris\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := p.run("ingest", "--config", p.config, "--view", "user_profile", "--file", bad)
	if err == nil {
		t.Fatal("ingest accepted a file with wrong columns")
	}
	for _, want := range []string{"agee", "age", "last_updated"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error does not name column %q:\n%s", want, errOut)
		}
	}
	// Nothing was committed: the server starts with no data for the view.
	srv := p.serve()
	srv.waitReady()
	out := p.must("materialize", "--config", p.config, "--server", srv.url, "--view", "user_profile")
	if !strings.Contains(out, "user_profile: no data committed yet") {
		t.Fatalf("materialize after a failed ingest printed %q", out)
	}
}

func TestMaxEntitiesIsConfigurable(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}", "FLOE_MAX_ENTITIES=2")
	srv := p.serve()
	srv.waitReady()
	c := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
	_, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: "pricing_agent_v1"},
		Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1, 2, 3}}}}},
	}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "limit is 2") {
		t.Fatalf("3 entities with FLOE_MAX_ENTITIES=2: %v", err)
	}
}
