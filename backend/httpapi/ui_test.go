package httpapi

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestUI: the built frontend at /, index.html for the app's routes, the right content types and
// cache policies, real 404s for missing files, and the security headers.
func TestUI(t *testing.T) {
	index := `<!doctype html><html><head><script type="module" src="/assets/index-a1b2c3.js"></script></head><body><div id="app"></div></body></html>`
	ui := fstest.MapFS{
		"index.html":              {Data: []byte(index)},
		"assets/index-a1b2c3.js":  {Data: []byte(`console.log("app")`)},
		"assets/index-d4e5f6.css": {Data: []byte(`body{margin:0}`)},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
	}
	e := newEnv(t, envOptions{ui: ui})

	cases := []struct {
		name        string
		method      string
		path        string
		headers     map[string]string
		wantStatus  int
		wantType    string
		wantCache   string
		wantBody    string
		wantNotBody string
	}{
		{name: "root", path: "/", wantStatus: 200, wantType: "text/html", wantCache: "no-cache", wantBody: `<div id="app">`},
		{name: "index.html", path: "/index.html", wantStatus: 200, wantType: "text/html", wantCache: "no-cache", wantBody: `<div id="app">`},
		{name: "app route falls back to index", path: "/servers/weather/logs", wantStatus: 200, wantType: "text/html", wantCache: "no-cache", wantBody: `<div id="app">`},
		{name: "hashed script", path: "/assets/index-a1b2c3.js", wantStatus: 200, wantType: "text/javascript", wantCache: "immutable", wantBody: `console.log`},
		{name: "hashed stylesheet", path: "/assets/index-d4e5f6.css", wantStatus: 200, wantType: "text/css", wantCache: "immutable"},
		{name: "svg", path: "/favicon.svg", wantStatus: 200, wantType: "image/svg+xml", wantCache: "no-cache"},
		{name: "missing asset is 404", path: "/assets/index-old.js", wantStatus: 404, wantNotBody: `<div id="app">`},
		{name: "missing file with extension is 404", path: "/robots.txt", wantStatus: 404, wantNotBody: `<div id="app">`},
		{name: "path traversal stays inside", path: "/../../etc/passwd", wantStatus: 200, wantType: "text/html", wantNotBody: "root:"},
		{name: "api is never the app", path: "/api/v1/nothing", headers: map[string]string{"Authorization": "Bearer " + e.token}, wantStatus: 404, wantType: "application/json", wantNotBody: `<div id="app">`},
		{name: "post is not allowed", method: "POST", path: "/", wantStatus: 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.method
			if m == "" {
				m = "GET"
			}
			r := e.req(m, c.path, nil, c.headers)
			if r.status != c.wantStatus {
				t.Fatalf("status %d, want %d; %s", r.status, c.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); c.wantType != "" && !strings.HasPrefix(ct, c.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, c.wantType)
			}
			if cc := r.header.Get("Cache-Control"); c.wantCache != "" && !strings.Contains(cc, c.wantCache) {
				t.Errorf("Cache-Control %q, want %q", cc, c.wantCache)
			}
			if c.wantBody != "" && !strings.Contains(string(r.body), c.wantBody) {
				t.Errorf("body %q, want %q in it", r.body, c.wantBody)
			}
			if c.wantNotBody != "" && strings.Contains(string(r.body), c.wantNotBody) {
				t.Errorf("body %q has %q", r.body, c.wantNotBody)
			}
		})
	}

	t.Run("security headers", func(t *testing.T) {
		r := e.req("GET", "/", nil, nil)
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "connect-src 'self' ws://127.0.0.1:", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if got := r.header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("Referrer-Policy %q", got)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("X-Content-Type-Options %q", got)
		}
	})
	t.Run("revalidation with the ETag", func(t *testing.T) {
		r := e.req("GET", "/", nil, nil)
		tag := r.header.Get("ETag")
		if tag == "" {
			t.Fatal("no ETag on index.html")
		}
		if r := e.req("GET", "/", nil, map[string]string{"If-None-Match": tag}); r.status != 304 {
			t.Errorf("If-None-Match: status %d, want 304", r.status)
		}
	})
}

// TestUINotBuilt: without a built frontend (nil, or a dist folder without index.html) / says so.
func TestUINotBuilt(t *testing.T) {
	cases := []struct {
		name string
		env  envOptions
	}{
		{"nil fs", envOptions{}},
		{"empty dist", envOptions{ui: fstest.MapFS{".gitkeep": {Data: nil}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.env)
			for _, p := range []string{"/", "/servers/x"} {
				r := e.req("GET", p, nil, nil)
				if r.status != 200 || !strings.Contains(string(r.body), "not built") {
					t.Errorf("%s: %d %s", p, r.status, r.body)
				}
			}
		})
	}
}
