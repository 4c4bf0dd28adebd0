package materialize

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/testenv"
)

// TestPublisherOneShotUnderTheLease materializes once on a shared store: refused
// while another process holds the lease (nothing written), through when this
// process's own follower holds it, and, when nobody does, under the lease taken
// for the run and given back after it.
func TestPublisherOneShotUnderTheLease(t *testing.T) {
	if os.Getenv(testenv.EnvRedisAddr) != "" {
		t.Skipf("the view, watermark and lease keys must not be on the shared server %s names", testenv.EnvRedisAddr)
	}
	ctx := context.Background()
	e := newEnv(t)
	srv := testenv.Redis(t)
	store, err := online.NewRedisFromOptions(online.RedisOptions{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	views := []*registry.FeatureView{e.v}
	pub := NewPublisher(e.off, store, views, PublishOptions{Lease: true, LeaseTTL: time.Minute})
	if !pub.Leased() || pub.Holder() == "" {
		t.Fatalf("a Publisher over Redis with the lease on: leased %v, holder %q", pub.Leased(), pub.Holder())
	}
	name := LeaseName(views)
	first := e.commit(offline.ModeAppend, "1:10@0")

	// Another process holds the lease.
	if held, _, err := store.Lease(ctx, name, "other/1/ab", time.Minute); err != nil || !held {
		t.Fatalf("take the lease as another process: %v %v", held, err)
	}
	err = pub.Materialize(ctx, views, nil)
	if !errors.Is(err, ErrLeaseHeld) || !strings.Contains(err.Error(), "other/1/ab") {
		t.Fatalf("materialize while another process holds the lease: %v, want ErrLeaseHeld naming it", err)
	}
	if _, found, _ := pub.Watermark(ctx, e.v); found {
		t.Fatal("a refused materialization wrote the watermark")
	}
	if scores, _ := e.onlineIn(store, 1); len(scores) != 0 {
		t.Fatalf("a refused materialization wrote rows: %v", scores)
	}
	if err := store.Release(ctx, name, "other/1/ab"); err != nil {
		t.Fatal(err)
	}

	// Nobody holds it: the run takes it and gives it back.
	if err := pub.Materialize(ctx, views, nil); err != nil {
		t.Fatal(err)
	}
	if wm, _, _ := pub.Watermark(ctx, e.v); wm != first {
		t.Fatalf("watermark %d after the run, want %d", wm, first)
	}
	if held, by, err := store.Lease(ctx, name, "probe", time.Millisecond); err != nil || !held {
		t.Fatalf("the run kept the lease: held by %q (%v)", by, err)
	}
	_ = store.Release(ctx, name, "probe")

	// This process's follower leads: a one-shot run goes ahead next to it.
	roles := make(chan bool, 4)
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan error, 1)
	go func() {
		followed <- pub.Follow(fctx, views, 20*time.Millisecond, nil, nil, func(leader bool, _ string) { roles <- leader })
	}()
	if !<-roles {
		t.Fatal("the follower did not take the free lease")
	}
	second := e.commit(offline.ModeAppend, "1:11@1")
	if err := pub.Materialize(ctx, views, nil); err != nil {
		t.Fatalf("materialize next to this process's own follower: %v", err)
	}
	if wm, _, _ := pub.Watermark(ctx, e.v); wm != second {
		t.Fatalf("watermark %d, want %d", wm, second)
	}
	stop()
	if err := <-followed; err != nil {
		t.Fatal(err)
	}

	// Following some of the views under the lease would leave the rest to nobody.
	other := *e.v
	other.Name = "w"
	wide := NewPublisher(e.off, store, []*registry.FeatureView{e.v, &other}, PublishOptions{Lease: true, LeaseTTL: time.Minute})
	if err := wide.Follow(ctx, views, time.Second, nil, nil, nil); !errors.Is(err, ErrPartialFollow) {
		t.Fatalf("follow a subset under the lease: %v, want ErrPartialFollow", err)
	}
	// Without the lease (or with a private store) each process publishes freely.
	for _, p := range []*Publisher{
		NewPublisher(e.off, store, views, PublishOptions{Lease: false}),
		NewPublisher(e.off, online.NewMemory(), views, PublishOptions{Lease: true, LeaseTTL: time.Minute}),
	} {
		if p.Leased() || p.CanFollow(nil) != nil {
			t.Errorf("a Publisher without a lease: leased %v, CanFollow %v", p.Leased(), p.CanFollow(nil))
		}
	}
}

// TestOnlyPublishersPublish keeps the publishing policy in one place: no package
// outside this one builds a Materializer or a Lease, so every write to the online
// store goes through a Publisher.
func TestOnlyPublishersPublish(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if abs, _ := filepath.Abs(path); abs == mustAbs(t, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"floe.dev/floe/services/featureserver/internal/materialize"` {
				pkg = "materialize"
				if imp.Name != nil {
					pkg = imp.Name.Name
				}
			}
		}
		if pkg == "" {
			return nil
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkg {
					switch sel.Sel.Name {
					case "New", "Materializer", "Lease":
						t.Errorf("%s: %s.%s: publish through a materialize.Publisher", fset.Position(sel.Pos()), pkg, sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 3 {
		t.Fatalf("found %d files importing materialize; is the walk broken?", checked)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
