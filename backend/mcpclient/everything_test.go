//go:build linux

package mcpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/mcpclient"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// The reference server, installed by `make test-go` (build/make/mcp.mk: npm ci in
// testdata/everything).
const everythingJS = "testdata/everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

// probeInterval is the health check period of these tests.
const probeInterval = 400 * time.Millisecond

func everything(t *testing.T) string {
	t.Helper()
	js, err := filepath.Abs(everythingJS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(js); err != nil {
		t.Fatalf("@modelcontextprotocol/server-everything is not installed (%v).\n"+
			"Install it with: make backend/mcpclient/testdata/everything/node_modules/.installed\n"+
			"(or: cd backend/mcpclient/testdata/everything && npm ci)", err)
	}
	return js
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// env is a running engine and a servers-status subscriber that collects health events.
type env struct {
	eng    *engine.Engine
	mu     sync.Mutex
	health []protocol.HealthChanged
	status []protocol.StatusChanged
	info   []protocol.ProcessInfo
	change chan struct{}
}

func newEnv(t *testing.T, settings registry.Settings, defs ...registry.ServerDef) *env {
	t.Helper()
	dir := t.TempDir()
	settings.HistoryIntervalMs = registry.HistoryOff
	b, err := json.Marshal(registry.Config{Servers: defs, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(engine.Options{
		ConfigPath: path, DataDir: filepath.Join(dir, "data"), Version: "test",
		Getenv: func(string) string { return "" }, StopGrace: 3 * time.Second,
		MCPProbeInterval: probeInterval, MCPHandshake: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{eng: eng, change: make(chan struct{})}
	c := eng.Hub().NewClient("test")
	c.SubscribeStatus()
	ctx, cancel := context.WithCancel(context.Background())
	ran, read := make(chan error, 1), make(chan struct{})
	go func() { ran <- eng.Run(ctx) }()
	go func() {
		defer close(read)
		for {
			msgs, err := c.Next(ctx)
			if err != nil {
				return
			}
			for _, m := range msgs {
				e.add(m)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		c.Close()
		<-read
		if err := <-ran; err != nil {
			t.Errorf("engine run: %v", err)
		}
	})
	return e
}

func (e *env) add(m *hub.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch m.Event {
	case protocol.EvServerHealthChanged:
		var h protocol.HealthChanged
		if err := json.Unmarshal(m.Data, &h); err != nil {
			h.Error = "undecodable event: " + err.Error()
		}
		e.health = append(e.health, h)
	case protocol.EvStatusChanged:
		var s protocol.StatusChanged
		_ = json.Unmarshal(m.Data, &s)
		e.status = append(e.status, s)
	case protocol.EvProcessInfo:
		var p struct {
			ProcessInfo protocol.ProcessInfo `json:"processInfo"`
		}
		_ = json.Unmarshal(m.Data, &p)
		e.info = append(e.info, p.ProcessInfo)
	}
	close(e.change)
	e.change = make(chan struct{})
}

// waitFor waits until cond (called with e.mu held) holds, at most d.
func (e *env) waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond) // conditions on logs and views are polled
	defer tick.Stop()
	for {
		e.mu.Lock()
		ok, ch := cond(), e.change
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timeout (%s) waiting for %s; health events: %+v", d, what, e.healthOf(""))
		}
	}
}

// healthOf is the health events of id ("" = all); call without e.mu.
func (e *env) healthOf(id string) []protocol.HealthChanged {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []protocol.HealthChanged
	for _, h := range e.health {
		if id == "" || h.ServerID == id {
			out = append(out, h)
		}
	}
	return out
}

// lastHealth is the last health event of id (call with e.mu held).
func (e *env) lastHealth(id string) *protocol.HealthChanged {
	for i := len(e.health) - 1; i >= 0; i-- {
		if e.health[i].ServerID == id {
			return &e.health[i]
		}
	}
	return nil
}

// logs is the stored entries of one stream (called inside waitFor conditions too: no t).
func (e *env) logs(id string, stream logstore.Stream) []logstore.Entry {
	got, err := e.eng.Logs(id, logstore.Query{Streams: []logstore.Stream{stream}, Limit: 10000})
	if err != nil {
		panic(err) // only for an invalid id, which the tests never use
	}
	return got
}

func (e *env) pid(id string) int {
	v, err := e.eng.Server(id, false)
	if err != nil {
		panic(err)
	}
	return v.State.PID
}

// childOf is the first child process of pid (the node server under `exec sleep`).
func childOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		t.Fatalf("pid %d has no child", pid)
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

func defs(t *testing.T) (stdio, sse, streamable registry.ServerDef) {
	js := everything(t)
	restart := registry.RestartPolicy{Policy: registry.PolicyNever, MaxRetries: 0, BackoffMs: 1000}
	stdio = registry.ServerDef{ID: "ev-stdio", Name: "ev-stdio", Command: "node", Args: []string{js, "stdio"},
		Transport: registry.TransportStdio, Restart: restart}
	// The HTTP servers run under `exec sleep` so that a test can kill the listener (node) while
	// the supervised process lives on; PORT is always set: its default 3001 is the monitor's.
	httpDef := func(id, mode, path string) registry.ServerDef {
		port := freePort(t)
		return registry.ServerDef{ID: id, Name: id, Command: "sh",
			Args:      []string{"-c", "node \"$EVERYTHING\" " + mode + " & exec sleep 3600"},
			Env:       map[string]string{"PORT": strconv.Itoa(port), "EVERYTHING": js},
			Transport: map[string]string{"sse": registry.TransportSSE, "streamableHttp": registry.TransportStreamableHTTP}[mode],
			URL:       fmt.Sprintf("http://127.0.0.1:%d%s", port, path), Restart: restart}
	}
	return stdio, httpDef("ev-sse", "sse", "/sse"), httpDef("ev-http", "streamableHttp", "/mcp")
}

func TestEverythingInAllTransports(t *testing.T) {
	stdio, sse, streamable := defs(t)
	e := newEnv(t, registry.Settings{}, stdio, sse, streamable)
	for _, d := range []registry.ServerDef{stdio, sse, streamable} {
		if _, err := e.eng.StartServer(d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []registry.ServerDef{stdio, sse, streamable} {
		t.Run(d.Transport, func(t *testing.T) {
			checkServer(t, e, d)
		})
	}
	t.Run("listener killed turns red, then health restart", func(t *testing.T) {
		// sse: no restart configured: red within one probe period and stays red.
		e.waitFor(t, "sse healthy", 30*time.Second, func() bool { h := e.lastHealth(sse.ID); return h != nil && h.Healthy })
		node := childOf(t, e.pid(sse.ID))
		killed := time.Now()
		if err := syscall.Kill(node, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "sse red", probeInterval+2*time.Second, func() bool { h := e.lastHealth(sse.ID); return h != nil && !h.Healthy })
		t.Logf("sse: red %s after its listener was killed (probe period %s)", time.Since(killed).Round(time.Millisecond), probeInterval)
		if v, _ := e.eng.MCP(sse.ID); v.Health == nil || v.Health.Healthy || v.Health.Error == "" {
			t.Errorf("view after kill: %+v", v.Health)
		}

		// streamable-http with healthRestartAfter 2: red, restarted, green again with a new pid.
		st := e.eng.Settings()
		st.HealthRestartAfter = 2
		if _, err := e.eng.UpdateSettings(st); err != nil {
			t.Fatal(err)
		}
		oldPID := e.pid(streamable.ID)
		node = childOf(t, oldPID)
		killed = time.Now()
		if err := syscall.Kill(node, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "streamable red", probeInterval+2*time.Second, func() bool {
			h := e.lastHealth(streamable.ID)
			return h != nil && !h.Healthy
		})
		red := time.Since(killed)
		e.waitFor(t, "streamable restarted and healthy", 60*time.Second, func() bool {
			h := e.lastHealth(streamable.ID)
			return h != nil && h.Healthy && h.Timestamp > protocol.Time(killed)
		})
		if p := e.pid(streamable.ID); p == oldPID || p == 0 {
			t.Errorf("pid %d after the health restart, was %d", p, oldPID)
		}
		t.Logf("streamable-http: red after %s, restarted and healthy after %s", red.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
		sys := e.logs(streamable.ID, logstore.System)
		if !containsMsg(sys, "MCP health failed 2 times in a row: restarting") {
			t.Errorf("no restart system line in %v", messages(sys))
		}
	})
	t.Run("stdio: a stopped child turns red, resumed green", func(t *testing.T) {
		pid := e.pid(stdio.ID)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := time.Now()
		e.waitFor(t, "stdio red", 2*probeInterval+2*time.Second, func() bool { h := e.lastHealth(stdio.ID); return h != nil && !h.Healthy })
		t.Logf("stdio: red %s after SIGSTOP", time.Since(stopped).Round(time.Millisecond))
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "stdio green again", 10*time.Second, func() bool { h := e.lastHealth(stdio.ID); return h != nil && h.Healthy })
	})
	t.Run("stop ends the session", func(t *testing.T) {
		if _, err := e.eng.StopServer(context.Background(), stdio.ID); err != nil {
			t.Fatal(err)
		}
		v, _ := e.eng.MCP(stdio.ID)
		if v.Status != mcpclient.StatusInactive || v.Health != nil || len(v.Tools) != 0 {
			t.Errorf("view of a stopped server: %+v", v)
		}
		if _, err := e.eng.CallTool(context.Background(), stdio.ID, "echo", nil); !errors.Is(err, engine.ErrConflict) {
			t.Errorf("call on a stopped server: %v, want ErrConflict", err)
		}
		if _, err := e.eng.ProbeMCP(context.Background(), stdio.ID); !errors.Is(err, engine.ErrConflict) {
			t.Errorf("probe of a stopped server: %v, want ErrConflict", err)
		}
	})
}

func checkServer(t *testing.T, e *env, d registry.ServerDef) {
	start := time.Now()
	e.waitFor(t, d.ID+" healthy", 60*time.Second, func() bool { h := e.lastHealth(d.ID); return h != nil && h.Healthy })
	t.Logf("%s healthy %s after start", d.Transport, time.Since(start).Round(time.Millisecond))
	e.mu.Lock()
	h := *e.lastHealth(d.ID)
	e.mu.Unlock()
	if h.ServerInfo == nil || h.ServerInfo.Name != "mcp-servers/everything" || h.ServerInfo.ProtocolVersion == "" {
		t.Errorf("health event serverInfo = %+v", h.ServerInfo)
	}

	v, err := e.eng.MCP(d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != mcpclient.StatusReady || v.Health == nil || !v.Health.Healthy || v.Capabilities == nil ||
		v.Capabilities.Tools == nil || v.Capabilities.Logging == nil || v.ServerInfo.Version == "" {
		t.Fatalf("view = %+v", v)
	}
	if !hasTool(v.Tools, "echo") || len(v.Resources) == 0 || len(v.Prompts) == 0 {
		t.Fatalf("tools %d (echo: %v), resources %d, prompts %d", len(v.Tools), hasTool(v.Tools, "echo"), len(v.Resources), len(v.Prompts))
	}

	// On demand.
	pv, err := e.eng.ProbeMCP(context.Background(), d.ID)
	if err != nil || pv.Health == nil || !pv.Health.Healthy {
		t.Fatalf("probe = %+v, %v", pv.Health, err)
	}

	// A tool call and its result.
	res, err := e.eng.CallTool(context.Background(), d.ID, "echo", json.RawMessage(`{"message":"hello `+d.Transport+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || len(res.Content) == 0 || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "hello "+d.Transport) {
		t.Fatalf("echo result = %+v", res)
	}
	if _, err := e.eng.CallTool(context.Background(), d.ID, "no-such-tool", nil); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("unknown tool: %v, want ErrNotFound", err)
	}

	// Its log notifications, with their levels (the server sends one at once, then one every 5 s).
	if _, err := e.eng.CallTool(context.Background(), d.ID, "toggle-simulated-logging", nil); err != nil {
		t.Fatal(err)
	}
	var got []logstore.Entry
	e.waitFor(t, d.ID+" mcp log entries", 15*time.Second, func() bool { got = e.logs(d.ID, logstore.MCP); return len(got) > 0 })
	for _, en := range got {
		lvl, _ := en.Fields["mcpLevel"].(string)
		if lvl == "" || en.Level != mcpclient.LevelOf(mcp.LoggingLevel(lvl)) || !strings.Contains(strings.ToLower(en.Message), "message") {
			t.Errorf("mcp entry %+v: level %s for mcpLevel %q", en, en.Level, lvl)
		}
	}

	// Every message in and out, as protocol entries.
	proto := e.logs(d.ID, logstore.Protocol)
	var out, in bool
	for _, en := range proto {
		out = out || (en.Fields["direction"] == "out" && en.Fields["method"] == "tools/call" && strings.HasPrefix(en.Message, "→ {"))
		in = in || (en.Fields["direction"] == "in" && strings.Contains(en.Message, "hello "+d.Transport) && strings.HasPrefix(en.Message, "← {"))
	}
	if !out || !in {
		t.Errorf("protocol entries lack the echo call (out %v) or its answer (in %v): %d entries", out, in, len(proto))
	}
	if d.Transport == registry.TransportStdio && len(e.logs(d.ID, logstore.Stdout)) != 0 {
		t.Errorf("stdio protocol leaked into the stdout log: %v", messages(e.logs(d.ID, logstore.Stdout)))
	}

	// processInfo.mcp reaches metrics subscribers.
	c := e.eng.Hub().NewClient("metrics-" + d.ID)
	defer c.Close()
	c.SubscribeMetrics(d.ID, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := c.Next(ctx)
	if err != nil || len(msgs) == 0 || msgs[0].Event != protocol.EvProcessInfo {
		t.Fatalf("process:info: %v, %v", msgs, err)
	}
	var p struct {
		ProcessInfo protocol.ProcessInfo `json:"processInfo"`
	}
	if err := json.Unmarshal(msgs[0].Data, &p); err != nil || p.ProcessInfo.MCP == nil || !p.ProcessInfo.MCP.Healthy || p.ProcessInfo.MCP.CheckedAt == "" {
		t.Errorf("process:info = %s", msgs[0].Data)
	}
}

func hasTool(tools []*mcp.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

func containsMsg(es []logstore.Entry, msg string) bool {
	for _, e := range es {
		if strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}

func messages(es []logstore.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Message
	}
	return out
}

func TestPlainScriptStdoutStaysLogs(t *testing.T) {
	d := registry.ServerDef{ID: "ticker", Name: "ticker", Command: "sh",
		Args:      []string{"-c", `echo "INFO tick 1"; echo '{"level":30,"msg":"json line"}'; echo "WARN on stderr" >&2; exec sleep 3600`},
		Transport: registry.TransportStdio, Restart: registry.RestartPolicy{Policy: registry.PolicyNever, BackoffMs: 1000}}
	e := newEnv(t, registry.Settings{}, d)
	if _, err := e.eng.StartServer(d.ID); err != nil {
		t.Fatal(err)
	}
	var out []logstore.Entry
	e.waitFor(t, "two stdout lines", 10*time.Second, func() bool { out = e.logs(d.ID, logstore.Stdout); return len(out) == 2 })
	if out[0].Message != "INFO tick 1" || out[1].Level != logstore.Info || out[1].Fields["msg"] != "json line" {
		t.Errorf("stdout entries = %+v", out)
	}
	e.waitFor(t, "not-mcp view", 10*time.Second, func() bool {
		v, _ := e.eng.MCP(d.ID)
		return v.Status == mcpclient.StatusNotMCP
	})
	if sys := e.logs(d.ID, logstore.System); !containsMsg(sys, "stdout is read as log lines") {
		t.Errorf("no system line about it: %v", messages(sys))
	}
	if got := e.logs(d.ID, logstore.Stderr); len(got) != 1 || got[0].Level != logstore.Warn {
		t.Errorf("stderr = %+v", got)
	}
	if h := e.healthOf(d.ID); len(h) != 0 {
		t.Errorf("health events for a script: %+v", h)
	}
}

func TestMCPProbeOffKeepsDevNull(t *testing.T) {
	stdio, _, _ := defs(t)
	off := false
	e := newEnv(t, registry.Settings{MCPProbe: &off}, stdio)
	if _, err := e.eng.StartServer(stdio.ID); err != nil {
		t.Fatal(err)
	}
	// stdin is /dev/null: the stdio server sees its end and exits on its own.
	e.waitFor(t, "exit", 20*time.Second, func() bool {
		for _, s := range e.status {
			if s.ServerID == stdio.ID && (s.Status == "stopped" || s.Status == "crashed") {
				return true
			}
		}
		return false
	})
	if v, _ := e.eng.MCP(stdio.ID); v.Status != mcpclient.StatusInactive {
		t.Errorf("view with mcpProbe off: %+v", v)
	}
}
