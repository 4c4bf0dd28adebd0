// Package console serves Floe's operations console, a static single-page app
// built from services/console with `nuxt generate` and embedded into the binary,
// so that `floe serve` needs no Node.js to offer it.
//
// dist/ is generated: run `npm run build:embed` in services/console after
// changing the console, and commit the result.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path the console is served under; the app is built with the
// same base URL (app.baseURL in services/console/nuxt.config.ts).
const Prefix = "/console/"

//go:embed all:dist
var dist embed.FS

// file is one embedded file, read once.
type file struct {
	body        []byte
	contentType string
	etag        string
	// immutable is true for build assets whose names carry a content hash.
	immutable bool
}

// Handler serves the console under Prefix; mount it on a mux at Prefix
// (mux.Handle("/console/", console.Handler())). Build assets (/console/_nuxt/,
// file names hashed by content) are cached for a year as immutable; the HTML
// shell is revalidated on every load (no-cache, with an ETag) so a new binary's
// console is picked up at once. Any other path without a file extension is a
// client-side route and gets the shell (SPA fallback); a missing file is 404.
func Handler() http.Handler {
	files, err := load(dist)
	if err != nil {
		// The embedded tree is fixed at build time; a failure here is a build bug.
		panic("console: " + err.Error())
	}
	return &handler{files: files}
}

type handler struct {
	files map[string]*file
}

func load(fsys fs.FS) (map[string]*file, error) {
	sub, err := fs.Sub(fsys, "dist")
	if err != nil {
		return nil, err
	}
	files := map[string]*file{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(body)
		}
		sum := sha256.Sum256(body)
		files[p] = &file{
			body:        body,
			contentType: ct,
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			immutable:   strings.HasPrefix(p, "_nuxt/"),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if files["index.html"] == nil {
		return nil, fs.ErrNotExist
	}
	return files, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rel, ok := strings.CutPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rel == "" {
		// "/console" → "/console/", keeping the query (a shared link).
		target := Prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	name := strings.TrimPrefix(path.Clean(rel), "/")
	if name == "" || name == "." {
		name = "index.html"
	}
	f := h.files[name]
	if f == nil {
		// Assets and anything that looks like a file must not be answered with
		// HTML: a browser would run it as a script or style and fail obscurely.
		if strings.HasPrefix(name, "_nuxt/") || path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
		f = h.files["index.html"] // a client-side route
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("ETag", f.etag)
	if f.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
		// The console is an operator tool: it is never framed by another site.
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
	}
	// ServeContent answers HEAD, ranges and If-None-Match (a 304 for the ETag).
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
