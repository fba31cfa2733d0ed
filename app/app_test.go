package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// rest calls the app's own HTTP side with the token and returns the status and decoded body.
func (f *fixture) rest(method, path, body string) (int, any) {
	f.t.Helper()
	f.app.mu.Lock()
	srv := f.app.srv
	f.app.mu.Unlock()
	if srv == nil {
		f.t.Fatal("no HTTP server")
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL()+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: wait}).Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, decode(f.t, b)
}

// volatile are the fields that change from one call to the next (time passes between the REST
// call and the bound one).
var volatile = []string{"uptime", "timestamp", "cpu", "rss", "threads", "fds"}

func sameShape(t *testing.T, what string, bound any, rest any) {
	t.Helper()
	b := withoutKeys(decode(t, mustJSON(t, bound)), volatile...)
	r := withoutKeys(rest, volatile...)
	if !reflect.DeepEqual(b, r) {
		t.Errorf("%s: bound method and REST differ\nbound: %s\nREST:  %s", what, mustJSON(t, b), mustJSON(t, r))
	}
}

// apiCode is the code a bound method's error carries ("CODE: message").
func apiCode(err error) string {
	code, _, _ := strings.Cut(err.Error(), ": ")
	return code
}

func restCode(t *testing.T, body any) string {
	t.Helper()
	m, _ := body.(map[string]any)
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Every bound method answers what the REST API answers for the same operation.
func TestBoundMethodsMatchREST(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.waitRunning("ticker")
	waitFor(t, "three tick lines", func() bool {
		l, err := f.eng.Logs("ticker", logstore.Query{Text: "tick"})
		return err == nil && len(l) >= 3
	})

	st, body := f.rest("GET", "/api/v1/health", "")
	if st != 200 {
		t.Fatalf("health: %d", st)
	}
	sameShape(t, "Health", f.app.Health(), body)

	_, body = f.rest("GET", "/api/v1/servers", "")
	sameShape(t, "ListServers", f.app.ListServers(), body)

	v, err := f.app.GetServer("ticker")
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.rest("GET", "/api/v1/servers/ticker", "")
	sameShape(t, "GetServer", v, body)

	until := time.Now().UTC().Format(time.RFC3339Nano)
	q := LogQuery{Level: "info", Q: "tick", Until: until, Limit: 3}
	logs, err := f.app.QueryLogs("ticker", q)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Entries) != 3 {
		t.Fatalf("QueryLogs gave %d entries, want 3", len(logs.Entries))
	}
	_, body = f.rest("GET", "/api/v1/servers/ticker/logs?level=info&q=tick&limit=3&until="+until, "")
	sameShape(t, "QueryLogs", logs, body)

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	m, err := f.app.MetricsHistory("ticker", future)
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.rest("GET", "/api/v1/servers/ticker/metrics?since="+future, "")
	sameShape(t, "MetricsHistory", m, body)
	if _, err := f.app.MetricsHistory("ticker", ""); err != nil {
		t.Fatalf("MetricsHistory without since: %v", err)
	}

	_, body = f.rest("GET", "/api/v1/settings", "")
	sameShape(t, "GetSettings", f.app.GetSettings(), body)
	if s := f.app.GetSettings(); !s.ExternalAccess.Enabled || s.Version != "1.2.3-test" {
		t.Errorf("GetSettings = %+v", s)
	}

	sys, err := f.app.SystemMetrics()
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.rest("GET", "/api/v1/system/metrics", "")
	sb := decode(t, mustJSON(t, sys)).(map[string]any)
	for k := range body.(map[string]any) {
		if _, ok := sb[k]; !ok {
			t.Errorf("SystemMetrics lacks %q of the REST body", k)
		}
	}

	// Create, update, lifecycle, delete: the bound side acts, REST sees the same.
	created, err := f.app.CreateServer(json.RawMessage(`{"name":"Second One","command":"/bin/sleep","args":["60"],"transport":"stdio"}`))
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != "second-one" {
		t.Fatalf("created id %q", created.ID)
	}
	_, body = f.rest("GET", "/api/v1/servers/second-one", "")
	sameShape(t, "CreateServer", created, body)

	def := created.ServerDef
	def.Args = []string{"120"}
	updated, err := f.app.UpdateServer("second-one", json.RawMessage(mustJSON(t, def)))
	if err != nil {
		t.Fatal(err)
	}
	_, body = f.rest("GET", "/api/v1/servers/second-one", "")
	sameShape(t, "UpdateServer", updated, body)

	started, err := f.app.StartServer("second-one")
	if err != nil {
		t.Fatal(err)
	}
	if started.ID != "second-one" {
		t.Errorf("StartServer = %+v", started)
	}
	f.waitRunning("second-one")
	stopped, err := f.app.StopServer("second-one")
	if err != nil {
		t.Fatal(err)
	}
	st, body = f.rest("POST", "/api/v1/servers/second-one/stop", "")
	if st != 200 {
		t.Fatalf("REST stop: %d %v", st, body)
	}
	sameShape(t, "StopServer", stopped, body)

	if err := f.app.DeleteServer("second-one"); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.rest("GET", "/api/v1/servers/second-one", ""); st != 404 {
		t.Errorf("after DeleteServer, REST GET = %d, want 404", st)
	}

	// Errors carry the REST codes.
	for _, tc := range []struct {
		name     string
		call     func() error
		method   string
		path     string
		body     string
		wantCode string
		wantHTTP int
	}{
		{"unknown server", func() error { _, err := f.app.GetServer("nope"); return err }, "GET", "/api/v1/servers/nope", "", codeNotFound, 404},
		{"invalid definition", func() error {
			_, err := f.app.CreateServer(json.RawMessage(`{"name":"x","command":"","transport":"stdio"}`))
			return err
		}, "POST", "/api/v1/servers", `{"name":"x","command":"","transport":"stdio"}`, codeInvalid, 400},
		{"unknown field", func() error {
			_, err := f.app.CreateServer(json.RawMessage(`{"name":"x","command":"a","bogus":1}`))
			return err
		}, "POST", "/api/v1/servers", `{"name":"x","command":"a","bogus":1}`, codeInvalid, 400},
		{"bad level", func() error { _, err := f.app.QueryLogs("ticker", LogQuery{Level: "loud"}); return err },
			"GET", "/api/v1/servers/ticker/logs?level=loud", "", codeInvalid, 400},
		{"bad since", func() error { _, err := f.app.MetricsHistory("ticker", "yesterday"); return err },
			"GET", "/api/v1/servers/ticker/metrics?since=yesterday", "", codeInvalid, 400},
		{"start twice", func() error { _, err := f.app.StartServer("ticker"); return err },
			"POST", "/api/v1/servers/ticker/start", "", codeConflict, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("bound method: no error")
			}
			st, body := f.rest(tc.method, tc.path, tc.body)
			if apiCode(err) != tc.wantCode || st != tc.wantHTTP || restCode(t, body) != tc.wantCode {
				t.Errorf("bound %q; REST %d %v; want %s / %d", err, st, body, tc.wantCode, tc.wantHTTP)
			}
		})
	}

	if _, err := f.app.RegenerateToken(); apiCode(err) != codeConflict {
		t.Errorf("RegenerateToken with MCPWATCH_TOKEN set: %v, want CONFLICT", err)
	}
	if err := f.app.OpenInBrowser(); err != nil {
		t.Fatal(err)
	}
	if len(f.rt.opened) != 1 || !strings.HasSuffix(f.rt.opened[0], "/#token="+testToken) {
		t.Errorf("opened %v", f.rt.opened)
	}
	if err := f.app.SelfTestReport(json.RawMessage(`{}`)); apiCode(err) != codeUnavailable {
		t.Errorf("SelfTestReport without a self-test: %v", err)
	}
}

// The settings round trip through the bound method keeps strict decoding.
func TestUpdateSettings(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	got, err := f.app.UpdateSettings(json.RawMessage(`{"keepRunningInBackground":true,"theme":"dark"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Settings.KeepRunningInBackground || got.Settings.Theme != "dark" || !f.eng.Settings().KeepRunningInBackground {
		t.Errorf("UpdateSettings = %+v", got.Settings)
	}
	if _, err := f.app.UpdateSettings(json.RawMessage(`{"nope":1}`)); apiCode(err) != codeInvalid {
		t.Errorf("unknown settings field: %v, want INVALID", err)
	}
}

// With the port taken the window still works over the bridge, and GetSettings says why
// external access is off.
func TestPortTaken(t *testing.T) {
	port := occupy(t)
	f := newFixture(t, fixtureOptions{port: port})
	s := f.app.GetSettings()
	if s.ExternalAccess.Enabled || !strings.Contains(s.ExternalAccess.Reason, "address already in use") {
		t.Errorf("externalAccess = %+v, want off because the port is taken", s.ExternalAccess)
	}
	if want := "http://127.0.0.1:" + strconv.Itoa(port); s.ListenURL != want {
		t.Errorf("listenURL = %q, want %q", s.ListenURL, want)
	}
	if err := f.app.OpenInBrowser(); apiCode(err) != codeUnavailable {
		t.Errorf("OpenInBrowser: %v, want UNAVAILABLE", err)
	}
	ack, err := f.app.Emit("subscribe-server-logs", json.RawMessage(`{"serverId":"ticker","tail":0}`))
	if err != nil || ack["ok"] != true {
		t.Fatalf("Emit: %v %v", ack, err)
	}
	f.rt.waitEvents(t, "a live log line over the bridge", func(evs []emitted) bool {
		return len(payloads(t, evs, "process:logs")) > 0
	})
	if !strings.Contains(f.app.aboutText(), "off (") {
		t.Errorf("about text does not say external access is off:\n%s", f.app.aboutText())
	}
}

// Emit hands events to the session and returns its ack; refusals queue subscription-error.
func TestEmit(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		event, payload string
		ok             bool
		code           string
	}{
		{"subscribe-server-metrics", `{"serverId":"ticker","interval":1000}`, true, ""},
		{"subscribe-server-status", `{}`, true, ""},
		{"subscribe-server-logs", `{"serverId":"nope"}`, false, "UNKNOWN_SERVER"},
		{"subscribe-server-logs", `[1]`, false, "INVALID_PAYLOAD"},
		{"no-such-event", `null`, false, "UNKNOWN_EVENT"},
		{"ping", `null`, true, ""},
	} {
		ack, err := f.app.Emit(tc.event, json.RawMessage(tc.payload))
		if err != nil {
			t.Fatalf("%s: %v", tc.event, err)
		}
		if ack["ok"] != tc.ok || (tc.code != "" && ack["code"] != tc.code) {
			t.Errorf("%s %s: ack %v, want ok=%v code=%s", tc.event, tc.payload, ack, tc.ok, tc.code)
		}
	}
	evs := f.rt.waitEvents(t, "process:info, pong and two subscription errors", func(evs []emitted) bool {
		n := 0
		for _, e := range evs {
			if e.Event == "subscription-error" {
				n++
			}
		}
		return n >= 2 && len(payloads(t, evs, "process:info")) > 0 && len(payloads(t, evs, "pong")) > 0
	})
	welcome := payloads(t, evs, "connection-established")
	if len(welcome) != 1 || !strings.Contains(string(welcome[0]), `"transport":"wails"`) {
		t.Errorf("connection-established = %s", welcome)
	}
}

// Closing the window: by default the app ends (and the window state is saved); with
// keepRunningInBackground the window hides (with a notice once) until Quit.
func TestBeforeClose(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if f.app.beforeClose() {
		t.Fatal("closing without keepRunningInBackground was prevented")
	}
	s := LoadWindowState(f.app.opts.StateFile)
	if s.Width != 1000 || s.Height != 700 || s.X != 40 || s.Y != 30 || !s.HasPosition {
		t.Errorf("saved window state = %+v", s)
	}

	if _, err := f.app.UpdateSettings(json.RawMessage(`{"keepRunningInBackground":true}`)); err != nil {
		t.Fatal(err)
	}
	if !f.app.beforeClose() {
		t.Fatal("closing with keepRunningInBackground was not prevented")
	}
	waitFor(t, "the window to hide after the notice", func() bool { return f.rt.called("WindowHide") == 1 })
	if len(f.rt.dialogs) != 1 {
		t.Errorf("dialogs = %v, want one notice", f.rt.dialogs)
	}
	if !f.app.beforeClose() || f.rt.called("WindowHide") != 2 || len(f.rt.dialogs) != 1 {
		t.Errorf("second close: hide %d, dialogs %v", f.rt.called("WindowHide"), f.rt.dialogs)
	}
	if !strings.Contains(f.app.aboutText(), "background is on") {
		t.Errorf("about text does not mention the background setting:\n%s", f.app.aboutText())
	}

	f.app.secondInstance()
	if f.rt.called("WindowShow") != 1 || f.rt.called("WindowUnminimise") != 1 {
		t.Error("a second instance did not bring the window back")
	}

	f.app.quit()
	if f.rt.called("Quit") != 1 {
		t.Error("quit did not ask the runtime to quit")
	}
	if f.app.beforeClose() {
		t.Error("Quit was prevented by keepRunningInBackground")
	}
}

func TestWindowState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "window.json")
	if got := LoadWindowState(path); got.Width != DefaultWidth || got.Height != DefaultHeight || got.HasPosition {
		t.Errorf("missing file: %+v", got)
	}
	want := WindowState{Width: 900, Height: 600, X: -20, Y: 15, HasPosition: true}
	if err := SaveWindowState(path, want); err != nil {
		t.Fatal(err)
	}
	if got := LoadWindowState(path); got != want {
		t.Errorf("round trip: %+v, want %+v", got, want)
	}
	for name, content := range map[string]string{
		"broken":   `{"width":`,
		"too big":  `{"width":99999,"height":600}`,
		"too tiny": `{"width":10,"height":10,"x":5,"y":5,"hasPosition":true}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got := LoadWindowState(path)
		if got.Width != DefaultWidth || got.Height != DefaultHeight {
			t.Errorf("%s: %+v, want the default size", name, got)
		}
	}

	// The position is restored at start; a maximised window keeps its former size.
	f := newFixture(t, fixtureOptions{noStart: true})
	if err := SaveWindowState(f.app.opts.StateFile, WindowState{Width: 800, Height: 600, X: 77, Y: 88, HasPosition: true}); err != nil {
		t.Fatal(err)
	}
	f.app.restoreWindowPosition(f.rt)
	if f.rt.pos != [2]int{77, 88} {
		t.Errorf("position restored to %v", f.rt.pos)
	}
	f.rt.maxed = true
	f.app.saveWindowState(f.rt)
	if s := LoadWindowState(f.app.opts.StateFile); !s.Maximised || s.Width != 800 || s.Height != 600 {
		t.Errorf("maximised save: %+v", s)
	}
}

// The self-test: the window's script (simulated here) subscribes through Emit and reports; the
// app checks the report, the bridge and the HTTP side, writes the result and quits.
func TestSelfTest(t *testing.T) {
	f := newFixture(t, fixtureOptions{noStart: true})
	result := filepath.Join(f.dir, "selftest.json")
	f.app = New(Options{Engine: f.eng, Host: "127.0.0.1", Port: -1, Logger: f.app.log, SelfTest: result, SelfTestHold: time.Millisecond})
	quit := make(chan struct{})
	f.rt.onQuit = func() { close(quit) }
	f.rt.onExecJS = func(js string) {
		if !strings.Contains(js, `"ticker"`) || !strings.Contains(js, "SelfTestReport") {
			t.Errorf("self-test script: %s", truncate(js))
		}
		go func() { // the window's side, off the caller's goroutine like the real runtime
			_, _ = f.app.Emit("subscribe-server-metrics", json.RawMessage(`{"serverId":"ticker","interval":1000}`))
			_, _ = f.app.Emit("subscribe-server-logs", json.RawMessage(`{"serverId":"ticker","tail":0}`))
			evs := f.rt.waitEvents(t, "process:info and process:logs", func(evs []emitted) bool {
				return len(payloads(t, evs, "process:info")) > 0 && len(payloads(t, evs, "process:logs")) > 0
			})
			rep := map[string]any{
				"uiLoaded": true, "title": "MCP Watch", "version": "1.2.3-test",
				"processInfo": payloads(t, evs, "process:info")[0], "logLine": payloads(t, evs, "process:logs")[0],
			}
			_ = f.app.SelfTestReport(json.RawMessage(mustJSON(t, rep)))
		}()
	}
	f.app.domReady() // before start, as Wails may order them
	f.app.start(f.rt)
	select {
	case <-quit:
	case <-time.After(wait):
		t.Fatal("the self-test did not quit")
	}
	if err := f.app.stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	var res SelfTestResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.PID <= 0 || len(res.Checks) < 6 {
		t.Errorf("self-test result: %s", b)
	}
}

// Without any autoStart server the self-test fails (and says why) instead of passing vacuously.
func TestSelfTestNeedsAServer(t *testing.T) {
	f := newFixture(t, fixtureOptions{noStart: true, servers: `{"id":"idle","name":"Idle","command":"/bin/true","transport":"stdio"}`})
	result := filepath.Join(f.dir, "selftest.json")
	f.app = New(Options{Engine: f.eng, Host: "127.0.0.1", Port: -1, Logger: f.app.log, SelfTest: result, SelfTestHold: time.Millisecond})
	quit := make(chan struct{})
	f.rt.onQuit = func() { close(quit) }
	f.app.start(f.rt)
	f.app.domReady()
	select {
	case <-quit:
	case <-time.After(wait):
		t.Fatal("the self-test did not quit")
	}
	if err := f.app.stop(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(result)
	if !strings.Contains(string(b), `"ok": false`) || !strings.Contains(string(b), "autoStart") {
		t.Errorf("result: %s", b)
	}
}

func TestQuitGate(t *testing.T) {
	n := 0
	g := &quitGate{quit: func() { n++ }}
	g.request()
	if n != 0 {
		t.Fatal("quit before ready")
	}
	g.markReady()
	if n != 1 {
		t.Fatal("pending quit not run at ready")
	}
	g.markReady()
	g.request()
	if n != 2 {
		t.Fatalf("quits = %d, want 2", n)
	}
}

func TestErrorPageEscapes(t *testing.T) {
	page, err := ErrorPage("/tmp/<x>.json", `unexpected "<script>"`, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	if strings.Contains(s, "<script>") || !strings.Contains(s, "&lt;script&gt;") || !strings.Contains(s, "not changed") {
		t.Errorf("error page:\n%s", s)
	}
}

func TestToAPIError(t *testing.T) {
	a := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, tc := range []struct {
		err  error
		code string
	}{
		{engine.ErrNotFound, codeNotFound},
		{engine.ErrConflict, codeConflict},
		{&registry.ValidationError{Problems: []registry.Problem{{Field: "command", Rule: "is required"}}}, codeInvalid},
		{&engine.QueryError{Msg: "limit: bad"}, codeInvalid},
		{unavailable("no"), codeUnavailable},
		{errors.New("disk on fire"), codeInternal},
	} {
		err := a.toAPIError("Test", tc.err)
		if apiCode(err) != tc.code {
			t.Errorf("%v → %v, want code %s", tc.err, err, tc.code)
		}
	}
	if err := a.toAPIError("Test", errors.New("secret detail")); strings.Contains(err.Error(), "secret") {
		t.Errorf("internal error leaks its detail: %v", err)
	}
}

// The MCP bound methods answer as REST does: the view of a plain script (no MCP session), and a
// conflict for a tool call on it.
func TestMCPMethodsMatchREST(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.waitRunning("ticker")
	waitFor(t, "the monitor to see that ticker is no MCP server", func() bool {
		v, err := f.eng.MCP("ticker")
		return err == nil && v.Status == "not-mcp"
	})
	v, err := f.app.GetMCP("ticker")
	if err != nil {
		t.Fatal(err)
	}
	st, body := f.rest("GET", "/api/v1/servers/ticker/mcp", "")
	if st != 200 {
		t.Fatalf("GET mcp: %d %s", st, body)
	}
	sameShape(t, "GetMCP", v, body)

	_, err = f.app.CallTool("ticker", "echo", json.RawMessage(`{"message":"hi"}`))
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code() != codeConflict {
		t.Fatalf("CallTool on a server without an MCP session: %v", err)
	}
	st, _ = f.rest("POST", "/api/v1/servers/ticker/tools/echo/call", `{"arguments":{"message":"hi"}}`)
	if st != 409 {
		t.Fatalf("REST tool call: %d, want 409", st)
	}
	if _, err := f.app.GetMCP("nope"); !errors.As(err, &ae) || ae.Code() != codeNotFound {
		t.Fatalf("GetMCP of an unknown server: %v", err)
	}
}
