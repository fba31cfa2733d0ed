package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// TestGuard holds every rule of protocol.md section 8 to a request on each transport (REST,
// Socket.IO polling, a raw WebSocket upgrade, the UI). Each case fails when its rule is removed.
func TestGuard(t *testing.T) {
	e := newEnv(t, envOptions{
		settings: &registry.Settings{AllowedOrigins: []string{"http://settings.example:8080"}},
	})
	host := fmt.Sprintf("127.0.0.1:%d", e.port)
	bearer := "Bearer " + e.token
	polling := "/socket.io/?EIO=4&transport=polling"

	type tc struct {
		name        string
		method      string
		path        string
		headers     map[string]string
		raw         string // a hand-written request (WebSocket upgrades) instead
		wantStatus  int
		wantCode    string // error.code when refused
		wantReached bool   // for /socket.io/: the request got through to the socket server
		check       func(t *testing.T, r response)
	}
	hdr := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cors := func(origin string) func(t *testing.T, r response) {
		return func(t *testing.T, r response) {
			t.Helper()
			if got := r.header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
			}
			if got := r.header.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want true", got)
			}
			if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin in it", r.header.Values("Vary"))
			}
		}
	}
	noCORS := func(t *testing.T, r response) {
		t.Helper()
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q on a refused or origin-less request", got)
		}
	}
	cases := []tc{
		// Origin on REST.
		{name: "rest foreign origin", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "http://evil.example"), wantStatus: 403, wantCode: codeForbidden, check: noCORS},
		{name: "rest origin null", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "null"), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest empty origin", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", ""), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest origin of own host on another port", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "http://127.0.0.1:1"), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest default CORS origin", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "http://localhost:3000"), wantStatus: 200, check: cors("http://localhost:3000")},
		{name: "rest own origin on the real port", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "http://"+host), wantStatus: 200, check: cors("http://" + host)},
		{name: "rest desktop window origin", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "wails://wails"), wantStatus: 200, check: cors("wails://wails")},
		{name: "rest origin from settings", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Origin", "http://settings.example:8080"), wantStatus: 200, check: cors("http://settings.example:8080")},
		{name: "rest no origin", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer), wantStatus: 200, check: noCORS},
		{name: "rest preflight allowed", method: "OPTIONS", path: "/api/v1/servers", headers: hdr("Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type"), wantStatus: 204, check: func(t *testing.T, r response) {
			cors("http://localhost:3000")(t, r)
			if got := r.header.Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Authorization") || !strings.Contains(got, "Content-Type") {
				t.Errorf("Access-Control-Allow-Headers = %q", got)
			}
			if got := r.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
				t.Errorf("Access-Control-Allow-Methods = %q", got)
			}
		}},
		{name: "rest preflight foreign", method: "OPTIONS", path: "/api/v1/servers", headers: hdr("Origin", "http://evil.example", "Access-Control-Request-Method", "DELETE"), wantStatus: 403, wantCode: codeForbidden, check: noCORS},

		// Origin on Socket.IO polling.
		{name: "polling foreign origin", method: "GET", path: polling, headers: hdr("Origin", "http://evil.example"), wantStatus: 403, wantCode: codeForbidden},
		{name: "polling origin null", method: "GET", path: polling, headers: hdr("Origin", "null"), wantStatus: 403, wantCode: codeForbidden},
		{name: "polling post of a session from a foreign origin", method: "POST", path: polling + "&sid=abc", headers: hdr("Origin", "http://evil.example"), wantStatus: 403, wantCode: codeForbidden},
		{name: "polling allowed origin", method: "GET", path: polling, headers: hdr("Origin", "http://localhost:3000"), wantStatus: 200, wantReached: true, check: cors("http://localhost:3000")},
		{name: "polling no origin", method: "GET", path: polling, wantStatus: 200, wantReached: true},

		// Origin on a raw WebSocket upgrade (not covered by CORS).
		{name: "websocket foreign origin", raw: wsUpgrade(host, "", hdr("Origin", "http://evil.example")), wantStatus: 403, wantCode: codeForbidden},
		{name: "websocket foreign origin upgrading a session", raw: wsUpgrade(host, "&sid=Zx8AAAAAAAAAAAAB", hdr("Origin", "http://evil.example")), wantStatus: 403, wantCode: codeForbidden},
		{name: "websocket origin null", raw: wsUpgrade(host, "", hdr("Origin", "null")), wantStatus: 403, wantCode: codeForbidden},
		{name: "websocket allowed origin", raw: wsUpgrade(host, "", hdr("Origin", "http://localhost:3000")), wantStatus: 200, wantReached: true},
		{name: "websocket no origin", raw: wsUpgrade(host, "", nil), wantStatus: 200, wantReached: true},

		// Host header (DNS rebinding).
		{name: "rest foreign host", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Host", fmt.Sprintf("evil.example:%d", e.port)), wantStatus: 403, wantCode: codeForbidden},
		{name: "health foreign host", method: "GET", path: "/api/v1/health", headers: hdr("Host", fmt.Sprintf("evil.example:%d", e.port)), wantStatus: 403, wantCode: codeForbidden},
		{name: "polling foreign host", method: "GET", path: polling, headers: hdr("Host", fmt.Sprintf("evil.example:%d", e.port)), wantStatus: 403, wantCode: codeForbidden},
		{name: "websocket foreign host", raw: wsUpgrade(fmt.Sprintf("evil.example:%d", e.port), "", nil), wantStatus: 403, wantCode: codeForbidden},
		{name: "ui foreign host", method: "GET", path: "/", headers: hdr("Host", fmt.Sprintf("evil.example:%d", e.port)), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest loopback host on another port", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Host", "localhost:1"), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest host without port", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Host", "localhost"), wantStatus: 403, wantCode: codeForbidden},
		{name: "rest host localhost", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Host", fmt.Sprintf("localhost:%d", e.port)), wantStatus: 200},
		{name: "rest host ipv6 loopback", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer, "Host", fmt.Sprintf("[::1]:%d", e.port)), wantStatus: 200},

		// Token on REST.
		{name: "rest without token", method: "GET", path: "/api/v1/servers", wantStatus: 401, wantCode: codeUnauthorized, check: func(t *testing.T, r response) {
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want Bearer", got)
			}
		}},
		{name: "rest wrong token", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", "Bearer "+strings.Repeat("0", len(e.token))), wantStatus: 401, wantCode: codeUnauthorized},
		{name: "rest token as basic auth", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", "Basic "+e.token), wantStatus: 401, wantCode: codeUnauthorized},
		{name: "rest token in the query is not enough", method: "GET", path: "/api/v1/servers?token=" + e.token, wantStatus: 401, wantCode: codeUnauthorized},
		{name: "rest right token", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", bearer), wantStatus: 200},
		{name: "rest right token lower-case scheme", method: "GET", path: "/api/v1/servers", headers: hdr("Authorization", "bearer "+e.token), wantStatus: 200},
		{name: "rest unknown path without token", method: "GET", path: "/api/v1/nothing-here", wantStatus: 401, wantCode: codeUnauthorized},
		{name: "rest control action without token", method: "POST", path: "/api/v1/servers/x/start", wantStatus: 401, wantCode: codeUnauthorized},
		{name: "health without token", method: "GET", path: "/api/v1/health", wantStatus: 200},
		{name: "health post needs the token", method: "POST", path: "/api/v1/health", wantStatus: 401, wantCode: codeUnauthorized},

		// Socket.IO without the token is fine while the token is not required.
		{name: "polling without token while not required", method: "GET", path: polling, wantStatus: 200, wantReached: true},

		// UI.
		{name: "ui foreign origin", method: "GET", path: "/", headers: hdr("Origin", "http://evil.example"), wantStatus: 403, wantCode: codeForbidden},
		{name: "ui no token needed", method: "GET", path: "/", wantStatus: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.socket.reached.Load()
			var r response
			if c.raw != "" {
				r = e.raw(c.raw)
			} else {
				r = e.req(c.method, c.path, nil, c.headers)
			}
			if r.status != c.wantStatus {
				t.Fatalf("status %d, want %d; body %s", r.status, c.wantStatus, r.body)
			}
			if c.wantCode != "" && r.errCode() != c.wantCode {
				t.Errorf("error code %q, want %q (body %s)", r.errCode(), c.wantCode, r.body)
			}
			reached := e.socket.reached.Load() > before
			if strings.Contains(c.path+c.raw, "/socket.io/") && reached != c.wantReached {
				t.Errorf("reached the socket server: %v, want %v", reached, c.wantReached)
			}
			if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestGuardCORSOriginsEnv: CORS_ORIGINS replaces the default http://localhost:3000; "null" in it
// (sandboxed frames, file: pages) is still refused.
func TestGuardCORSOriginsEnv(t *testing.T) {
	e := newEnv(t, envOptions{getenv: func(k string) string {
		if k == "CORS_ORIGINS" {
			return "http://dev.example:5173, http://other.example/, null"
		}
		return ""
	}})
	cases := []struct {
		name   string
		origin string
		want   int
	}{
		{"first entry", "http://dev.example:5173", 200},
		{"trailing slash trimmed", "http://other.example", 200},
		{"default dropped when the variable is set", "http://localhost:3000", 403},
		{"own origin still allowed", fmt.Sprintf("http://localhost:%d", e.port), 200},
		{"null stays foreign even when listed", "null", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.req("GET", "/api/v1/servers", nil, map[string]string{"Authorization": "Bearer " + e.token, "Origin": c.origin})
			if r.status != c.want {
				t.Fatalf("status %d, want %d; %s", r.status, c.want, r.body)
			}
		})
	}
}

// TestGuardRequireTokenSetting: with settings.requireToken a Socket.IO request is refused
// without the token (early, at the HTTP level), on polling and WebSocket alike, and the socket
// server is told the token is required.
func TestGuardRequireTokenSetting(t *testing.T) {
	e := newEnv(t, envOptions{settings: &registry.Settings{RequireToken: true}})
	host := fmt.Sprintf("127.0.0.1:%d", e.port)
	if !e.socket.require() {
		t.Fatal("requireToken() = false with settings.requireToken")
	}
	polling := "/socket.io/?EIO=4&transport=polling"
	cases := []struct {
		name        string
		path        string
		headers     map[string]string
		raw         string
		want        int
		wantReached bool
	}{
		// Without a token the request goes on to the Socket.IO handshake, which refuses the
		// connection unless auth.token is right (backend/socketio tests, nodetest requireToken).
		{name: "polling without token goes to the handshake", path: polling, want: 200, wantReached: true},
		{name: "polling wrong token", path: polling + "&token=nope", want: 401},
		{name: "polling wrong bearer token", path: polling, headers: map[string]string{"Authorization": "Bearer nope"}, want: 401},
		{name: "polling token in query", path: polling + "&token=" + e.token, want: 200, wantReached: true},
		{name: "polling bearer token", path: polling, headers: map[string]string{"Authorization": "Bearer " + e.token}, want: 200, wantReached: true},
		{name: "websocket without token goes to the handshake", raw: wsUpgrade(host, "", nil), want: 200, wantReached: true},
		{name: "websocket wrong token", raw: wsUpgrade(host, "&token=nope", nil), want: 401},
		{name: "websocket token in query", raw: wsUpgrade(host, "&token="+e.token, nil), want: 200, wantReached: true},
		{name: "health still open", path: "/api/v1/health", want: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.socket.reached.Load()
			var r response
			if c.raw != "" {
				r = e.raw(c.raw)
			} else {
				r = e.req("GET", c.path, nil, c.headers)
			}
			if r.status != c.want {
				t.Fatalf("status %d, want %d; %s", r.status, c.want, r.body)
			}
			if c.want == 401 && r.errCode() != codeUnauthorized {
				t.Errorf("code %q, want %s", r.errCode(), codeUnauthorized)
			}
			if reached := e.socket.reached.Load() > before; reached != c.wantReached {
				t.Errorf("reached the socket server: %v, want %v", reached, c.wantReached)
			}
		})
	}

	// Turning the setting off over REST takes effect at once.
	if r := e.api("PUT", "/api/v1/settings", map[string]any{"requireToken": false}); r.status != 200 {
		t.Fatalf("PUT settings: %d %s", r.status, r.body)
	}
	if e.socket.require() {
		t.Fatal("requireToken() still true after the setting was turned off")
	}
	if r := e.req("GET", polling, nil, nil); r.status != 200 {
		t.Fatalf("polling without token after the setting went off: %d %s", r.status, r.body)
	}
}

// TestGuardNonLoopback serves as if bound to a LAN address (the listener itself is loopback, so
// the test exposes nothing): every Socket.IO request needs the token, the bound host is a valid
// Host, REST still needs the token and health stays open.
func TestGuardNonLoopback(t *testing.T) {
	e := newEnv(t, envOptions{host: "192.0.2.10"})
	if !e.socket.require() {
		t.Fatal("requireToken() = false when bound beyond loopback")
	}
	lan := fmt.Sprintf("192.0.2.10:%d", e.port)
	polling := "/socket.io/?EIO=4&transport=polling"
	cases := []struct {
		name    string
		path    string
		headers map[string]string
		raw     string
		want    int
	}{
		{name: "polling without token goes to the handshake", path: polling, headers: map[string]string{"Host": lan}, want: 200},
		{name: "polling wrong token", path: polling + "&token=nope", headers: map[string]string{"Host": lan}, want: 401},
		{name: "polling with token", path: polling + "&token=" + e.token, headers: map[string]string{"Host": lan}, want: 200},
		{name: "websocket without token goes to the handshake", raw: wsUpgrade(lan, "", nil), want: 200},
		{name: "websocket wrong token", raw: wsUpgrade(lan, "&token=nope", nil), want: 401},
		{name: "websocket with token", raw: wsUpgrade(lan, "&token="+e.token, nil), want: 200},
		{name: "rest without token", path: "/api/v1/servers", headers: map[string]string{"Host": lan}, want: 401},
		{name: "rest with token", path: "/api/v1/servers", headers: map[string]string{"Host": lan, "Authorization": "Bearer " + e.token}, want: 200},
		{name: "same-origin request from the bound host", path: "/api/v1/servers", headers: map[string]string{"Host": lan, "Origin": "http://" + lan, "Authorization": "Bearer " + e.token}, want: 200},
		{name: "health without token", path: "/api/v1/health", headers: map[string]string{"Host": lan}, want: 200},
		{name: "foreign host", path: "/api/v1/health", headers: map[string]string{"Host": fmt.Sprintf("evil.example:%d", e.port)}, want: 403},
		{name: "other ip literal is not the bound host", path: "/api/v1/health", headers: map[string]string{"Host": fmt.Sprintf("192.0.2.11:%d", e.port)}, want: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r response
			if c.raw != "" {
				r = e.raw(c.raw)
			} else {
				r = e.req("GET", c.path, nil, c.headers)
			}
			if r.status != c.want {
				t.Fatalf("status %d, want %d; %s", r.status, c.want, r.body)
			}
		})
	}
}

// TestHostDecision unit-tests the loopback and Host decisions for binds a test cannot make.
func TestHostDecision(t *testing.T) {
	loop := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"localhost", true}, {"::1", true}, {"127.0.0.2", true},
		{"0.0.0.0", false}, {"::", false}, {"192.168.1.5", false}, {"example.com", false}, {"", false},
	}
	for _, c := range loop {
		t.Run("loopback "+c.host, func(t *testing.T) {
			if got := isLoopbackHost(c.host); got != c.want {
				t.Errorf("isLoopbackHost(%q) = %v, want %v", c.host, got, c.want)
			}
		})
	}
	hosts := []struct {
		name   string
		bound  string
		header string
		want   bool
	}{
		{"loopback bind, localhost", "127.0.0.1", "localhost:3001", true},
		{"loopback bind, upper-case localhost", "127.0.0.1", "LOCALHOST:3001", true},
		{"loopback bind, ipv6", "127.0.0.1", "[::1]:3001", true},
		{"loopback bind, wrong port", "127.0.0.1", "127.0.0.1:3002", false},
		{"loopback bind, rebinding name", "127.0.0.1", "attacker.example:3001", false},
		{"loopback bind, lan ip", "127.0.0.1", "192.168.1.5:3001", false},
		{"loopback bind, localhost subdomain", "127.0.0.1", "a.localhost:3001", false},
		{"lan bind, its own address", "192.168.1.5", "192.168.1.5:3001", true},
		{"lan bind, another address", "192.168.1.5", "192.168.1.6:3001", false},
		{"lan bind, loopback still fine", "192.168.1.5", "localhost:3001", true},
		{"all interfaces, any ip literal", "0.0.0.0", "10.1.2.3:3001", true},
		{"all interfaces, ipv6 literal", "::", "[fe80::1]:3001", true},
		{"all interfaces, a name", "0.0.0.0", "attacker.example:3001", false},
		{"all interfaces, wrong port", "0.0.0.0", "10.1.2.3:80", false},
	}
	for _, c := range hosts {
		t.Run("host "+c.name, func(t *testing.T) {
			s := &Server{host: c.bound, port: 3001, nonLoopback: !isLoopbackHost(c.bound)}
			if got := s.hostAllowed(c.header); got != c.want {
				t.Errorf("hostAllowed(%q) bound %s = %v, want %v", c.header, c.bound, got, c.want)
			}
		})
	}
	// Port 80: browsers leave the port out.
	s := &Server{host: "127.0.0.1", port: 80}
	if !s.hostAllowed("localhost") || s.hostAllowed("evil.example") {
		t.Error("port 80: want localhost without port allowed and a foreign name refused")
	}
	if (&Server{host: "127.0.0.1", port: 3001}).hostAllowed("localhost") {
		t.Error("a Host without port is only right on port 80")
	}
	// requireToken is forced beyond loopback whatever the settings say (no engine needed).
	if !(&Server{nonLoopback: true}).requireToken() {
		t.Error("requireToken() = false for a non-loopback bind")
	}
}

// TestBodyLimit: a body over 1 MiB is 413 TOO_LARGE, whether its length is announced or not.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	big := `{"name":"x","command":"sh","args":["` + strings.Repeat("a", MaxBodyBytes) + `"]}`
	cases := []struct {
		name    string
		chunked bool
	}{
		{"content-length", false},
		{"chunked", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head := fmt.Sprintf("POST /api/v1/servers HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n", e.port, e.token)
			body := big
			if c.chunked {
				head += "Transfer-Encoding: chunked\r\n\r\n"
				body = fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big)
			} else {
				head += fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big))
			}
			r := e.rawWhileWriting(head, body)
			if r.status != http.StatusRequestEntityTooLarge || r.errCode() != codeTooLarge {
				t.Fatalf("status %d code %q, want 413 TOO_LARGE; %s", r.status, r.errCode(), r.body)
			}
		})
	}
	// Just under the limit is read (and judged on its content).
	ok := `{"name":"under","command":"sh","args":["` + strings.Repeat("a", MaxBodyBytes-100) + `"]}`
	if r := e.api("POST", "/api/v1/servers", ok); r.status != 201 {
		t.Fatalf("a body under the limit: %d %s", r.status, r.body[:min(len(r.body), 300)])
	}
}
