package materialize

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
)

type env struct {
	t     *testing.T
	v     *registry.FeatureView
	off   *offline.Store
	store *online.Memory
	mat   *Materializer
	dir   string
	n     int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg, err := registry.Compile(map[string][]byte{"s.yaml": []byte(`
entities: [{name: user, join_keys: [{name: user_id, type: int64}]}]
sources: [{name: t, table: ns.t}]
feature_views: [{name: v, entity: user, source: t, features: [{name: score, type: int64}]}]
`)})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := reg.FeatureView("v")
	dir := t.TempDir()
	off, err := offline.Open(context.Background(), offline.Config{Type: "sql", URI: "file:" + filepath.Join(dir, "c.db"), Warehouse: "file://" + filepath.Join(dir, "wh")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { off.Close() })
	store := online.NewMemory()
	return &env{t: t, v: v, off: off, store: store, mat: New(off, store), dir: dir}
}

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// commit ingests rows "id:score@minute" in the given mode and returns the snapshot.
func (e *env) commit(mode offline.IngestMode, rows ...string) int64 {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("user_id,event_time,score\n")
	for _, r := range rows {
		var id, score, minute int
		if _, err := fmt.Sscanf(r, "%d:%d@%d", &id, &score, &minute); err != nil {
			e.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d,%s,%d\n", id, base.Add(time.Duration(minute)*time.Minute).Format(time.RFC3339), score)
	}
	e.n++
	path := filepath.Join(e.dir, fmt.Sprintf("f%d.csv", e.n))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
	res, err := e.off.IngestWithOptions(context.Background(), e.v, path, offline.IngestOptions{Mode: mode})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.SnapshotID
}

// online returns id → score of what the online store holds for ids, and the
// snapshot each came from.
func (e *env) online(ids ...int) (map[int]int64, map[int]int64) {
	e.t.Helper()
	return e.onlineIn(e.store, ids...)
}

// onlineIn is online over another store.
func (e *env) onlineIn(store online.Store, ids ...int) (map[int]int64, map[int]int64) {
	e.t.Helper()
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = online.Key("v", fmt.Sprint(id))
	}
	vals, err := store.Get(context.Background(), keys)
	if err != nil {
		e.t.Fatal(err)
	}
	scores, snaps := map[int]int64{}, map[int]int64{}
	for i, b := range vals {
		if b == nil {
			continue
		}
		h, off, err := online.DecodeHeader(b)
		if err != nil {
			e.t.Fatal(err)
		}
		var sink intSink
		if err := online.DecodeRow(e.v, b, off, 1, &sink); err != nil {
			e.t.Fatal(err)
		}
		scores[ids[i]], snaps[ids[i]] = sink.v, h.SnapshotID
	}
	return scores, snaps
}

type intSink struct{ v int64 }

func (s *intSink) Null(int)           {}
func (s *intSink) Int(_ int, v int64) { s.v = v }
func (s *intSink) Float(int, float64) {}
func (s *intSink) Bool(int, bool)     {}
func (s *intSink) String(int, []byte) {}
func (s *intSink) Vector(int, []byte) {}

func (e *env) sync() {
	e.t.Helper()
	if err := e.mat.Sync(context.Background(), e.v, nil); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) want(desc string, want map[int]int64, ids ...int) {
	e.t.Helper()
	got, _ := e.online(ids...)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Fatalf("%s: online %v, want %v", desc, got, want)
	}
}

func TestSyncFullThenIncremental(t *testing.T) {
	e := newEnv(t)
	s1 := e.commit(offline.ModeAppend, "1:10@0", "1:11@5", "2:20@0")
	e.sync()
	e.want("full", map[int]int64{1: 11, 2: 20}, 1, 2, 3)
	if wm, ok, _ := e.mat.Watermark(context.Background(), e.v); !ok || wm != s1 {
		t.Fatalf("watermark %d %v, want %d", wm, ok, s1)
	}

	// An append: a newer row for 2, a late (older) row for 1, a new entity 3.
	s2 := e.commit(offline.ModeAppend, "2:21@10", "1:9@1", "3:30@0")
	e.sync()
	e.want("incremental append", map[int]int64{1: 11, 2: 21, 3: 30}, 1, 2, 3)
	_, snaps := e.online(1, 2)
	if snaps[2] != s2 || snaps[1] != s1 {
		t.Fatalf("snapshot stamps %v, want 1→%d 2→%d", snaps, s1, s2)
	}

	// An upsert replaces every row of entity 1, even with an older event time.
	e.commit(offline.ModeUpsert, "1:5@2")
	e.sync()
	e.want("upsert", map[int]int64{1: 5, 2: 21, 3: 30}, 1, 2, 3)

	// An evicted entity cannot be compared with an appended late row: it is re-read.
	if err := e.store.Delete(context.Background(), []string{online.Key("v", "2")}); err != nil {
		t.Fatal(err)
	}
	e.commit(offline.ModeAppend, "2:1@3")
	e.sync()
	e.want("late row for an evicted entity", map[int]int64{1: 5, 2: 21, 3: 30}, 1, 2, 3)
}

func TestSyncIsIdempotentAndResumable(t *testing.T) {
	e := newEnv(t)
	e.commit(offline.ModeAppend, "1:1@0")
	e.sync()
	e.sync() // nothing new: no work, no error
	e.commit(offline.ModeAppend, "1:2@1")
	e.commit(offline.ModeAppend, "2:2@1")
	// Two snapshots behind: one sync applies both.
	e.sync()
	e.want("two snapshots at once", map[int]int64{1: 2, 2: 2}, 1, 2)

	// A flushed online store (no watermark) is rebuilt in full.
	fresh := online.NewMemory()
	m := New(e.off, fresh)
	if err := m.Materialize(context.Background(), []*registry.FeatureView{e.v}, nil); err != nil {
		t.Fatal(err)
	}
	vals, _ := fresh.Get(context.Background(), []string{online.Key("v", "1"), online.Key("v", "2")})
	if vals[0] == nil || vals[1] == nil {
		t.Fatal("rebuild from an empty store missed entities")
	}
}
