package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(t *testing.T, method, target string, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// anAsset returns the path of an embedded build asset with the given extension.
func anAsset(t *testing.T, ext string) string {
	t.Helper()
	var found string
	_ = fs.WalkDir(dist, "dist/_nuxt", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) && found == "" {
			found = strings.TrimPrefix(p, "dist/")
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no embedded %s asset: run `npm run build:embed` in services/console", ext)
	}
	return found
}

func TestShell(t *testing.T) {
	for _, target := range []string{"/console/", "/console/index.html"} {
		rec := serve(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", target, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", target, cc)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `<div id="__nuxt"`) || !strings.Contains(body, `/console/_nuxt/`) {
			t.Errorf("GET %s: not the console shell built for /console/:\n%.300s", target, body)
		}
	}
}

func TestClientRoutesFallBackToTheShell(t *testing.T) {
	shell := serve(t, http.MethodGet, "/console/", nil).Body.String()
	for _, target := range []string{"/console/time-travel", "/console/registry/views/user_behavior", "/console/freshness?view=x"} {
		rec := serve(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK || rec.Body.String() != shell {
			t.Errorf("GET %s: %d, shell served: %v", target, rec.Code, rec.Body.String() == shell)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q", target, cc)
		}
	}
}

func TestAssetsAreImmutableWithTheirContentType(t *testing.T) {
	for ext, want := range map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"} {
		target := "/console/" + anAsset(t, ext)
		rec := serve(t, http.MethodGet, target, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", target, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, ct, want)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q", target, cc)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", target)
		}
	}
}

func TestMissingFilesAreNotFound(t *testing.T) {
	for _, target := range []string{"/console/_nuxt/nope.js", "/console/_nuxt/nope", "/console/favicon.ico", "/console/registry/_payload.json"} {
		if rec := serve(t, http.MethodGet, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", target, rec.Code)
		}
	}
}

func TestRevalidationAnswers304(t *testing.T) {
	first := serve(t, http.MethodGet, "/console/", nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on the shell")
	}
	if rec := serve(t, http.MethodGet, "/console/", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
}

func TestRedirectKeepsTheQuery(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console?entity=user&user_id=42", nil))
	if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/console/?entity=user&user_id=42" {
		t.Errorf("GET /console?…: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestMethodsAndPaths(t *testing.T) {
	if rec := serve(t, http.MethodHead, "/console/", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := serve(t, http.MethodPost, "/console/", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	// Traversal stays inside the embedded tree.
	if rec := serve(t, http.MethodGet, "/console/../../console.go", nil); rec.Code == http.StatusOK && strings.Contains(rec.Body.String(), "package console") {
		t.Error("path traversal served a source file")
	}
	// Mounted elsewhere by mistake, the handler refuses rather than guesses.
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other/", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /other/: %d", rec.Code)
	}
}
