package serving

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
	"google.golang.org/protobuf/proto"
)

// benchRegistry has one view of 50 doubles and services of its first 10 (raw and
// transformed) and all 50.
func benchRegistry(b *testing.B) *registry.Registry {
	var feats, refs, transformed []string
	for i := 0; i < 50; i++ {
		feats = append(feats, fmt.Sprintf("{name: f%02d, type: double}", i))
		refs = append(refs, fmt.Sprintf("v:f%02d", i))
	}
	for i := 0; i < 10; i++ {
		chain := "[{clip: {min: 0, max: 100}}, {standardize: {mean: 7, std: 3}}]"
		if i%2 == 1 {
			chain = "[{fill_null: {value: 0}}, {bucketize: {boundaries: [1, 5, 10, 50]}}]"
		}
		transformed = append(transformed, fmt.Sprintf("{ref: v:f%02d, name: t%02d, transform: %s}", i, i, chain))
	}
	spec := fmt.Sprintf(`
entities: [{name: user, join_keys: [{name: user_id, type: int64}]}]
sources: [{name: t, table: ns.t}]
feature_views: [{name: v, entity: user, source: t, features: [%s]}]
feature_services:
  - {name: s10, features: [%s]}
  - {name: s50, features: [%s]}
  - {name: s10t, features: [%s]}
`, strings.Join(feats, ", "), strings.Join(refs[:10], ", "), strings.Join(refs, ", "), strings.Join(transformed, ", "))
	reg, err := registry.Compile(map[string][]byte{"b.yaml": []byte(spec)})
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

// BenchmarkRead measures the read path above the store (plan, keys, decode, column
// building) and protobuf marshalling of the answer, with the in-process store.
func BenchmarkRead(b *testing.B) {
	reg := benchRegistry(b)
	v, _ := reg.FeatureView("v")
	store := online.NewMemory()
	enc := online.NewRowEncoder(v)
	values := make([]online.Value, 50)
	for i := range values {
		values[i] = online.Value{Float: float64(i) * 1.5}
	}
	var entries []online.Entry
	for id := 0; id < 1000; id++ {
		row, _ := enc.Encode(1, 1, values)
		entries = append(entries, online.Entry{Key: online.Key("v", fmt.Sprint(id)), Value: row})
	}
	if err := store.Put(context.Background(), entries); err != nil {
		b.Fatal(err)
	}
	readers := map[bool]*Reader{
		false: NewReader(reg, store),
		// The server always has an offline store behind the online one: all hits
		// must cost the miss path nothing.
		true: NewReader(reg, store, WithOffline(&emptyOffline{}, time.Second)),
	}
	for _, tc := range []struct {
		service  string
		entities int
		offline  bool
	}{{"s10", 1, false}, {"s10", 100, false}, {"s50", 100, false}, {"s10", 100, true}, {"s10t", 100, false}} {
		r := readers[tc.offline]
		ids := make([]int64, tc.entities)
		for i := range ids {
			ids[i] = int64(i * 7 % 1000)
		}
		req := serviceReq(tc.service, []*floev1.EntityColumn{{JoinKey: "user_id", Values: &floev1.EntityColumn_Int64Values{Int64Values: &floev1.Int64List{Values: ids}}}})
		name := fmt.Sprintf("%dx%s", tc.entities, strings.TrimSuffix(tc.service[1:], "t"))
		if strings.HasSuffix(tc.service, "t") {
			name += "/transformed"
		}
		if tc.offline {
			name += "/offline-behind"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resp, err := r.Read(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := proto.Marshal(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
