package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested() // children start through this binary re-executed as a shim
	goleak.VerifyTestMain(m)
}

// wait is the deadline of every wait in these tests: generous, for a loaded 2-core machine.
const wait = 20 * time.Second

const testToken = "app-test-token-0123456789abcdef"

// tickerDef is a real child that logs a line every 100 ms.
const tickerDef = `{"id":"ticker","name":"Ticker","command":"/bin/sh",
	"args":["-c","while true; do echo INFO tick; sleep 0.1; done"],"transport":"stdio","autoStart":true,
	"restart":{"policy":"never","maxRetries":0,"backoffMs":1000}}`

// emitted is one EventsEmit call.
type emitted struct {
	Event string
	Data  []any
}

// recRuntime is a Runtime that records what the app asks of the window.
type recRuntime struct {
	mu       sync.Mutex
	events   []emitted
	notify   chan struct{}
	calls    []string
	size     [2]int
	pos      [2]int
	maxed    bool
	clip     string
	opened   []string
	js       []string
	dialogs  []string
	onQuit   func()
	onExecJS func(js string)
}

func newRecRuntime() *recRuntime {
	return &recRuntime{notify: make(chan struct{}, 1), size: [2]int{1000, 700}, pos: [2]int{40, 30}}
}

func (r *recRuntime) record(call string) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

func (r *recRuntime) EventsEmit(event string, data ...any) {
	r.mu.Lock()
	r.events = append(r.events, emitted{event, data})
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}
func (r *recRuntime) WindowShow()       { r.record("WindowShow") }
func (r *recRuntime) WindowHide()       { r.record("WindowHide") }
func (r *recRuntime) WindowUnminimise() { r.record("WindowUnminimise") }
func (r *recRuntime) WindowIsMaximised() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.maxed
}
func (r *recRuntime) WindowGetSize() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size[0], r.size[1]
}
func (r *recRuntime) WindowGetPosition() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos[0], r.pos[1]
}
func (r *recRuntime) WindowSetPosition(x, y int) {
	r.mu.Lock()
	r.pos = [2]int{x, y}
	r.mu.Unlock()
	r.record("WindowSetPosition")
}
func (r *recRuntime) WindowExecJS(js string) {
	r.mu.Lock()
	r.js = append(r.js, js)
	f := r.onExecJS
	r.mu.Unlock()
	if f != nil {
		f(js)
	}
}
func (r *recRuntime) ClipboardSetText(t string) error {
	r.mu.Lock()
	r.clip = t
	r.mu.Unlock()
	return nil
}
func (r *recRuntime) BrowserOpenURL(u string) {
	r.mu.Lock()
	r.opened = append(r.opened, u)
	r.mu.Unlock()
}
func (r *recRuntime) InfoDialog(title, _ string) error {
	r.mu.Lock()
	r.dialogs = append(r.dialogs, title)
	r.mu.Unlock()
	return nil
}
func (r *recRuntime) Quit() {
	r.record("Quit")
	r.mu.Lock()
	f := r.onQuit
	r.mu.Unlock()
	if f != nil {
		f()
	}
}

func (r *recRuntime) called(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c == name {
			n++
		}
	}
	return n
}

// waitEvents waits until match accepts the recorded events.
func (r *recRuntime) waitEvents(t *testing.T, what string, match func([]emitted) bool) []emitted {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		evs := append([]emitted(nil), r.events...)
		r.mu.Unlock()
		if match(evs) {
			return evs
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; got %d events", what, len(evs))
		}
	}
}

// payloads returns the raw payloads of the recorded events called name; each must be exactly
// one json.RawMessage (the bridge passes the hub's bytes through).
func payloads(t *testing.T, evs []emitted, name string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, e := range evs {
		if e.Event != name {
			continue
		}
		if len(e.Data) != 1 {
			t.Fatalf("%s emitted with %d arguments, want 1", name, len(e.Data))
		}
		raw, ok := e.Data[0].(json.RawMessage)
		if !ok {
			t.Fatalf("%s payload is a %T, want json.RawMessage", name, e.Data[0])
		}
		out = append(out, raw)
	}
	return out
}

// fixture is a real engine over a temp config, wrapped in an App with a recording runtime.
type fixture struct {
	t   *testing.T
	eng *engine.Engine
	app *App
	rt  *recRuntime
	dir string
}

type fixtureOptions struct {
	servers  string // JSON array body; default: the ticker
	settings string // JSON object; default {}
	port     int    // default -1: any free port
	noStart  bool
}

func newFixture(t *testing.T, fo fixtureOptions) *fixture {
	t.Helper()
	dir := t.TempDir()
	if fo.servers == "" {
		fo.servers = tickerDef
	}
	if fo.settings == "" {
		fo.settings = "{}"
	}
	if fo.port == 0 {
		fo.port = -1
	}
	cfg := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfg, []byte(`{"servers":[`+fo.servers+`],"settings":`+fo.settings+`}`), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.Open(engine.Options{
		ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Version: "1.2.3-test", Logger: logger,
		StopGrace: 2 * time.Second,
		Getenv: func(k string) string {
			if k == "MCPWATCH_TOKEN" {
				return testToken
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, eng: eng, rt: newRecRuntime(), dir: dir}
	f.app = New(Options{Engine: eng, Host: "127.0.0.1", Port: fo.port, Logger: logger})
	if fo.noStart {
		t.Cleanup(func() { _ = eng.Close() })
		return f
	}
	f.app.start(f.rt)
	t.Cleanup(func() {
		if err := f.app.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return f
}

// waitRunning waits until the server runs and returns its pid.
func (f *fixture) waitRunning(id string) int {
	f.t.Helper()
	var pid int
	waitFor(f.t, id+" running", func() bool {
		v, err := f.eng.Server(id, false)
		pid = v.State.PID
		return err == nil && v.State.Status == "running" && pid > 0
	})
	return pid
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// occupy binds a loopback port and keeps it until the test ends.
func occupy(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// withoutKeys drops the named keys at every level of a decoded JSON value.
func withoutKeys(v any, keys ...string) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if !contains(keys, k) {
				out[k] = withoutKeys(val, keys...)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = withoutKeys(x[i], keys...)
		}
		return out
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", truncate(string(b)), err)
	}
	return v
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return strings.TrimSpace(s)
}
