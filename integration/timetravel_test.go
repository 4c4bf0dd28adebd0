package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
)

// profileCSV writes a user_profile file giving every user in ids the given age.
func profileCSV(t *testing.T, dir, name string, eventTime time.Time, age int, ids ...int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("user_id,event_time,age,city,last_updated\n")
	for _, id := range ids {
		fmt.Fprintf(&b, "%d,%s,%d,Lyon,%s\n", id, eventTime.UTC().Format(time.RFC3339), age, eventTime.UTC().Format(time.RFC3339))
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func ages(t *testing.T, resp *floev1.GetOnlineFeaturesResponse) []int64 {
	t.Helper()
	for _, c := range resp.Columns {
		if c.Name == "user_profile:age" {
			return c.GetInt64Values().Values
		}
	}
	t.Fatal("no user_profile:age column")
	return nil
}

// TestFollowTimeTravelDiff commits three versions of a view from outside the
// server and checks that (1) the running server serves each without being told,
// (2) as_of reads by time and by snapshot return the older versions, (3) a diff
// names what changed and (4) freshness and snapshot listings agree.
func TestFollowTimeTravelDiff(t *testing.T) {
	specs := filepath.Join(repoRoot(t), "specs", "examples", "pricing")
	p := newProject(t, specs, "online: {type: memory}\nmaterialize: {interval: 100ms}")
	srv := p.serve()
	srv.waitReady()
	c := floev1connect.NewServingServiceClient(http.DefaultClient, srv.url)
	read := func(asOf *floev1.AsOf, ids ...int64) (*floev1.GetOnlineFeaturesResponse, error) {
		resp, err := c.GetOnlineFeatures(context.Background(), connect.NewRequest(&floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age", "user_profile:city"}}},
			Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: ids}}}},
			AsOf:     asOf,
		}))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}

	now := time.Now()
	var snaps []int64
	var commitTimes []time.Time
	for version, age := range []int{30, 31, 32} {
		file := profileCSV(t, p.dir, fmt.Sprintf("v%d.csv", version), now.Add(time.Duration(version-3)*time.Minute), age, 1, 2)
		p.must("ingest", "--config", p.config, "--view", "user_profile", "--file", file)
		commitTimes = append(commitTimes, time.Now())
		// The follower publishes the snapshot online; nobody calls materialize.
		waitFor(t, fmt.Sprintf("version %d served online", version), func() bool {
			resp, err := read(nil, 1)
			return err == nil && ages(t, resp)[0] == int64(age) && resp.Views[0].Tiers[0] == floev1.Tier_TIER_ONLINE
		})
		resp, _ := read(nil, 1)
		snaps = append(snaps, resp.Views[0].SnapshotIds[0])
	}

	// As of just after the first commit: age 30, from Iceberg.
	first, err := read(&floev1.AsOf{Point: &floev1.AsOf_Time{Time: timestamppb.New(commitTimes[0])}}, 1, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a := ages(t, first); a[0] != 30 || a[1] != 30 || first.Columns[0].Statuses[2] != floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND {
		t.Fatalf("as of first commit: ages %v statuses %v", a, first.Columns[0].Statuses)
	}
	if first.Views[0].SnapshotIds[0] != snaps[0] || first.Views[0].Tiers[0] != floev1.Tier_TIER_OFFLINE {
		t.Fatalf("as of first commit: snapshot %d (want %d), tier %v", first.Views[0].SnapshotIds[0], snaps[0], first.Views[0].Tiers[0])
	}
	// Before any commit: nothing existed.
	before, err := read(&floev1.AsOf{Point: &floev1.AsOf_Time{Time: timestamppb.New(now.Add(-time.Hour))}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if before.Columns[0].Statuses[0] != floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND {
		t.Fatalf("before any commit: %v", before.Columns[0].Statuses)
	}
	// Replay by pinned snapshot ids returns exactly what was served then.
	pinned, err := read(&floev1.AsOf{Point: &floev1.AsOf_Snapshots{Snapshots: &floev1.ViewSnapshots{SnapshotIds: map[string]int64{"user_profile": snaps[1]}}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a := ages(t, pinned); a[0] != 31 {
		t.Fatalf("pinned to the second snapshot: age %d", a[0])
	}
	for _, bad := range []*floev1.AsOf{
		{Point: &floev1.AsOf_Snapshots{Snapshots: &floev1.ViewSnapshots{SnapshotIds: map[string]int64{"user_profile": 12345}}}},
		{Point: &floev1.AsOf_Snapshots{Snapshots: &floev1.ViewSnapshots{SnapshotIds: map[string]int64{"user_behavior": snaps[0]}}}},
		{},
	} {
		if _, err := read(bad, 1); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("as_of %v: %v, want INVALID_ARGUMENT", bad, err)
		}
	}

	diff, err := c.DiffFeatures(context.Background(), connect.NewRequest(&floev1.DiffFeaturesRequest{
		Selector: &floev1.DiffFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"user_profile:age", "user_profile:city"}}},
		Entities: []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1}}}}},
		From:     &floev1.AsOf{Point: &floev1.AsOf_Time{Time: timestamppb.New(commitTimes[0])}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(diff.Msg.Changed, ","); got != "user_profile:age" {
		t.Fatalf("diff changed %q, want only user_profile:age", got)
	}
	if ages(t, diff.Msg.From)[0] != 30 || ages(t, diff.Msg.To)[0] != 32 {
		t.Fatalf("diff from %d to %d", ages(t, diff.Msg.From)[0], ages(t, diff.Msg.To)[0])
	}

	admin := floev1connect.NewAdminServiceClient(http.DefaultClient, srv.url)
	list, err := admin.ListSnapshots(context.Background(), connect.NewRequest(&floev1.ListSnapshotsRequest{View: "user_profile"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Msg.Snapshots) != 3 || list.Msg.Snapshots[0].SnapshotId != snaps[2] || !list.Msg.Snapshots[2].Materialized || list.Msg.Snapshots[0].AddedRecords != 2 {
		t.Fatalf("snapshots %v", list.Msg.Snapshots)
	}
	fresh, err := admin.GetFreshness(context.Background(), connect.NewRequest(&floev1.GetFreshnessRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range fresh.Msg.Views {
		if v.View == "user_profile" && (v.MaterializedSnapshotId != snaps[2] || v.LagSeconds != 0 || v.Latest.SnapshotId != snaps[2]) {
			t.Fatalf("freshness %v", v)
		}
	}
	// The in-process store has one follower, this server, whose passes succeed.
	if m := fresh.Msg.Materializer; m.GetRole() != floev1.MaterializerStatus_ROLE_FOLLOWER || m.GetLastPassAt() == nil || m.GetLastError() != "" {
		t.Fatalf("materializer status %v", m)
	}
	out := p.must("snapshots", "--config", p.config, "--view", "user_profile")
	for _, s := range snaps {
		if !strings.Contains(out, fmt.Sprint(s)) {
			t.Fatalf("floe snapshots does not list %d:\n%s", s, out)
		}
	}
}
