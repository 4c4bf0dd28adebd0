package serving

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

const testSpecs = `
entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
  - {name: card, join_keys: [{name: card_id, type: string}]}
sources:
  - {name: p, table: ns.profile}
  - {name: b, table: ns.behavior}
  - {name: c, table: ns.card}
feature_views:
  - name: profile
    entity: user
    source: p
    features: [{name: age, type: int64}, {name: city, type: string}, {name: emb, type: float_vector, dim: 2}]
  - name: behavior
    entity: user
    source: b
    ttl: 1h
    features: [{name: score, type: double}, {name: premium, type: bool}, {name: seen, type: timestamp}]
  - name: card
    entity: card
    source: c
    features: [{name: spend, type: double}]
feature_services:
  - name: model
    features: [behavior:score, profile:age, profile:city, behavior:premium]
`

var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

type fixture struct {
	reg    *registry.Registry
	store  *online.Memory
	reader *Reader
}

func newFixture(t *testing.T, opts ...ReaderOption) *fixture {
	t.Helper()
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(testSpecs)})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{reg: reg, store: online.NewMemory()}
	f.reader = NewReader(reg, f.store, append([]ReaderOption{WithClock(func() time.Time { return now })}, opts...)...)
	return f
}

func (f *fixture) put(t *testing.T, view, id string, snap int64, eventTime time.Time, values ...online.Value) {
	t.Helper()
	v, _ := f.reg.FeatureView(view)
	b, err := online.NewRowEncoder(v).Encode(snap, eventTime.UnixMicro(), values)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Put(context.Background(), []online.Entry{{Key: online.Key(view, id), Value: b}}); err != nil {
		t.Fatal(err)
	}
}

func users(ids ...int64) []*floev1.EntityColumn {
	return []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: ids}}}}
}

func serviceReq(name string, entities []*floev1.EntityColumn) *floev1.GetOnlineFeaturesRequest {
	return &floev1.GetOnlineFeaturesRequest{Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: name}, Entities: entities}
}

const (
	present  = floev1.FeatureStatus_FEATURE_STATUS_PRESENT
	notFound = floev1.FeatureStatus_FEATURE_STATUS_NOT_FOUND
	expired  = floev1.FeatureStatus_FEATURE_STATUS_EXPIRED
	null     = floev1.FeatureStatus_FEATURE_STATUS_NULL
)

func TestReadFeatureService(t *testing.T) {
	f := newFixture(t)
	f.put(t, "profile", "1", 11, now.Add(-time.Hour), online.Value{Int: 34}, online.Value{Str: "Lyon"}, online.Value{Vector: []float32{1, 2}})
	f.put(t, "behavior", "1", 22, now.Add(-time.Minute), online.Value{Float: 0.7}, online.Value{Bool: true}, online.Value{Int: 5})
	f.put(t, "profile", "2", 11, now.Add(-time.Hour), online.Value{Null: true}, online.Value{Str: "Oslo"}, online.Value{Vector: []float32{3, 4}})
	f.put(t, "behavior", "2", 21, now.Add(-2*time.Hour), online.Value{Float: 0.1}, online.Value{Bool: false}, online.Value{Int: 6})

	resp, err := f.reader.Read(context.Background(), serviceReq("model", users(1, 2, 3)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range resp.Columns {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "behavior:score,profile:age,profile:city,behavior:premium" {
		t.Fatalf("column order %s does not follow the feature service", got)
	}
	if resp.RowCount != 3 || resp.RegistryVersion != f.reg.Version {
		t.Fatalf("row count %d, version %q", resp.RowCount, resp.RegistryVersion)
	}
	score := resp.Columns[0]
	if v := score.GetDoubleValues().Values; v[0] != 0.7 || v[1] != 0.1 || v[2] != 0 {
		t.Errorf("scores %v", v)
	}
	// Row 2's behavior is two hours old with a one-hour TTL: expired, value kept.
	if s := score.Statuses; s[0] != present || s[1] != expired || s[2] != notFound {
		t.Errorf("score statuses %v", s)
	}
	age := resp.Columns[1]
	if age.GetInt64Values().Values[0] != 34 || age.Statuses[1] != null || age.Statuses[2] != notFound {
		t.Errorf("age %v %v", age.GetInt64Values().Values, age.Statuses)
	}
	if city := resp.Columns[2].GetStringValues().Values; city[0] != "Lyon" || city[1] != "Oslo" || city[2] != "" {
		t.Errorf("city %q", city)
	}
	if p := resp.Columns[3].GetBoolValues().Values; !p[0] || p[1] {
		t.Errorf("premium %v", p)
	}
	if len(resp.Views) != 2 || resp.Views[0].View != "behavior" || resp.Views[1].View != "profile" {
		t.Fatalf("views %v", resp.Views)
	}
	b := resp.Views[0]
	if b.SnapshotIds[0] != 22 || b.SnapshotIds[1] != 21 || b.SnapshotIds[2] != 0 {
		t.Errorf("snapshot ids %v", b.SnapshotIds)
	}
	if b.EventTimeUnixMicros[0] != now.Add(-time.Minute).UnixMicro() {
		t.Errorf("event time %v", b.EventTimeUnixMicros)
	}
	if b.Tiers[0] != floev1.Tier_TIER_ONLINE || b.Tiers[2] != floev1.Tier_TIER_NONE {
		t.Errorf("tiers %v", b.Tiers)
	}
}

func TestReadRefsAllTypes(t *testing.T) {
	f := newFixture(t)
	f.put(t, "profile", "7", 1, now, online.Value{Int: 1}, online.Value{Str: "x"}, online.Value{Vector: []float32{0.5, -0.5}})
	f.put(t, "behavior", "7", 1, now, online.Value{Float: 1}, online.Value{Bool: true}, online.Value{Int: now.UnixMicro()})
	req := &floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"profile:emb", "behavior:seen"}}},
		Entities: users(8, 7),
	}
	resp, err := f.reader.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	emb := resp.Columns[0].GetFloatVectorValues()
	if emb.Dim != 2 || len(emb.Values) != 4 || emb.Values[2] != 0.5 || emb.Values[3] != -0.5 || emb.Values[0] != 0 {
		t.Errorf("embedding %v", emb)
	}
	if ts := resp.Columns[1].GetTimestampValues().UnixMicros; ts[1] != now.UnixMicro() {
		t.Errorf("timestamps %v", ts)
	}
}

func TestReadStringKeys(t *testing.T) {
	f := newFixture(t)
	f.put(t, "card", "c-1", 1, now, online.Value{Float: 9.5})
	req := &floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"card:spend"}}},
		Entities: []*floev1.EntityColumn{{JoinKey: "card_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"c-1", "c-2"}}}}},
	}
	resp, err := f.reader.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Columns[0]; c.GetDoubleValues().Values[0] != 9.5 || c.Statuses[1] != notFound {
		t.Errorf("card spend %v %v", c.GetDoubleValues().Values, c.Statuses)
	}
}

func TestReadIgnoresRowsOfAnotherSchema(t *testing.T) {
	f := newFixture(t)
	// A row written under a different spec of the view must not be misread.
	other, err := registry.Compile(map[string][]byte{"s.yaml": []byte(strings.Replace(testSpecs, "{name: spend, type: double}", "{name: spend, type: int64}", 1))})
	if err != nil {
		t.Fatal(err)
	}
	ov, _ := other.FeatureView("card")
	b, _ := online.NewRowEncoder(ov).Encode(1, now.UnixMicro(), []online.Value{{Int: 3}})
	_ = f.store.Put(context.Background(), []online.Entry{{Key: online.Key("card", "c-1"), Value: b}})
	req := &floev1.GetOnlineFeaturesRequest{
		Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"card:spend"}}},
		Entities: []*floev1.EntityColumn{{JoinKey: "card_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"c-1"}}}}},
	}
	resp, err := f.reader.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if s := resp.Columns[0].Statuses[0]; s != notFound {
		t.Fatalf("status %v, want NOT_FOUND", s)
	}
}

func TestReadInvalidRequests(t *testing.T) {
	f := newFixture(t, WithMaxEntities(3))
	refs := func(r ...string) *floev1.GetOnlineFeaturesRequest {
		return &floev1.GetOnlineFeaturesRequest{Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: r}}, Entities: users(1)}
	}
	strs := []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"1"}}}}}
	cases := []struct {
		name string
		req  *floev1.GetOnlineFeaturesRequest
		want string
	}{
		{"no selector", &floev1.GetOnlineFeaturesRequest{Entities: users(1)}, "selector"},
		{"unknown service", serviceReq("nope", users(1)), `unknown feature service "nope"`},
		{"unknown view", refs("nope:x"), `unknown feature view "nope"`},
		{"unknown feature", refs("profile:nope"), `has no feature "nope"`},
		{"bad ref", refs("profile"), "view:feature"},
		{"repeated ref", refs("profile:age", "profile:age"), "requested twice"},
		{"no entities", serviceReq("model", nil), "at least one entity column"},
		{"empty entities", serviceReq("model", users()), "empty"},
		{"too many", serviceReq("model", users(1, 2, 3, 4)), "limit is 3"},
		{"wrong id type", serviceReq("model", strs), "int64, but string values were given"},
		{"unknown key", serviceReq("model", []*floev1.EntityColumn{{JoinKey: "uid", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: []int64{1}}}}}), `"uid" is not the join key`},
		{"missing key", &floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_Features{Features: &floev1.FeatureRefs{Refs: []string{"card:spend"}}},
			Entities: users(1),
		}, `needs join key "card_id"`},
		{"ragged", serviceReq("model", append(users(1, 2), &floev1.EntityColumn{JoinKey: "card_id", Values: &floev1.EntityColumn_StringValues{StringValues: &floev1.StringList{Values: []string{"a"}}}})), "one value per row"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.reader.Read(context.Background(), tc.req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %q does not mention %q", err, tc.want)
			}
		})
	}
}

type downStore struct{ online.Store }

func (downStore) Get(context.Context, []string) ([][]byte, error) {
	return nil, errors.Join(online.ErrUnavailable, errors.New("dial tcp 127.0.0.1:1: connection refused"))
}

func TestReadStoreDown(t *testing.T) {
	reg, _ := registry.Compile(map[string][]byte{"s.yaml": []byte(testSpecs)})
	r := NewReader(reg, downStore{})
	_, err := r.Read(context.Background(), serviceReq("model", users(1)))
	if !errors.Is(err, online.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if ce := toConnect(err); ce.Error() == "" || !strings.Contains(ce.Error(), "unavailable") {
		t.Fatalf("connect error %v", ce)
	}
}
