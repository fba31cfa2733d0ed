package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Cache policies: Vite puts content-hashed files under /assets/; everything else (index.html
// first) is revalidated on every load so a new build shows at once.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	hashedAssetsPath = "/assets/"
)

// notBuiltPage is served when there is no built frontend.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Watch</title></head>
<body><h1>MCP Watch</h1>
<p>The web UI is not built into this binary. Build it with <code>npm --prefix frontend run build</code>
and rebuild mcpwatch. The REST API (<code>/api/v1/</code>) and Socket.IO (<code>/monitoring</code>) work.</p>
</body></html>
`

// uiHandler serves the built frontend with index.html for the routes of the single-page app.
type uiHandler struct {
	fsys fs.FS // nil: not built

	mu    sync.Mutex
	etags map[string]string // file → ETag, computed once
}

func newUI(fsys fs.FS) *uiHandler {
	if fsys != nil {
		if st, err := fs.Stat(fsys, "index.html"); err != nil || st.IsDir() {
			fsys = nil // frontend/dist holds only .gitkeep: not built
		}
	}
	return &uiHandler{fsys: fsys, etags: map[string]string{}}
}

// setUIHeaders are the security headers of UI responses: the page may load only its own files
// and talk only to its own origin (Socket.IO's ws:// included), in no frame. The token travels in
// the URL fragment; Referrer-Policy (set by the guard) keeps the URL from leaking.
func setUIHeaders(h http.Header, host string) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; "+
		"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "+
		"connect-src 'self' ws://"+host+"; object-src 'none'; base-uri 'self'; form-action 'self'; "+
		"frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
}

func (u *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	setUIHeaders(w.Header(), r.Host)
	if u.fsys == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", cacheRevalidate)
		_, _ = io.WriteString(w, notBuiltPage)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		u.serveFile(w, r, "index.html")
		return
	}
	if st, err := fs.Stat(u.fsys, name); err == nil && !st.IsDir() {
		u.serveFile(w, r, name)
		return
	}
	// A missing file (a name with an extension, or anything under /assets/) is a real 404, so a
	// stale script reference fails loudly; any other path is a route of the app.
	if strings.HasPrefix("/"+name, hashedAssetsPath) || path.Ext(name) != "" {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	u.serveFile(w, r, "index.html")
}

func (u *uiHandler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(u.fsys, name)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			status = http.StatusNotFound
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(name, data))
	if strings.HasPrefix("/"+name, hashedAssetsPath) {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheRevalidate)
		h.Set("ETag", u.etag(name, data))
	}
	// ServeContent answers ranges and If-None-Match; the embedded files carry no mod time.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (u *uiHandler) etag(name string, data []byte) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if t, ok := u.etags[name]; ok {
		return t
	}
	sum := sha256.Sum256(data)
	t := `"` + hex.EncodeToString(sum[:12]) + `"`
	u.etags[name] = t
	return t
}

// contentType by extension, with the types a web app needs fixed (the system's mime tables
// vary), else sniffed.
func contentType(name string, data []byte) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".wasm":
		return "application/wasm"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".ico":
		return "image/x-icon"
	case ".webmanifest":
		return "application/manifest+json"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return http.DetectContentType(data)
}
