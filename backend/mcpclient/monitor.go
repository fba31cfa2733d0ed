// Package mcpclient makes the monitor an MCP client of the servers it runs: it holds an MCP
// session with each of them (over a stdio server's stdin/stdout, handed over by the supervisor,
// or over an sse / streamable-http server's url), checks its health with pings, keeps its
// capabilities, tools, resources and prompts, turns its notifications/message into log entries
// (stream mcp), records every JSON-RPC message in and out (stream protocol), and calls tools.
//
// A stdio child whose stdout is not MCP (a script that prints log lines) is detected at once (its
// first stdout line is not JSON-RPC) or when the handshake fails, and its stdout is then read as
// log lines, exactly as without MCP awareness.
package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Errors of the Monitor's methods.
var (
	// ErrNoSession: the server does not run, is not MCP, or has no MCP session now.
	ErrNoSession = errors.New("no MCP session")
	// ErrUnknownTool: the server does not list a tool of that name.
	ErrUnknownTool = errors.New("unknown tool")
	// ErrInvalidArguments: the server refused the arguments of a call (JSON-RPC -32602).
	ErrInvalidArguments = errors.New("invalid arguments")
	// ErrCallFailed: the server answered with a JSON-RPC error, did not answer in time, or the
	// session broke during the call.
	ErrCallFailed = errors.New("MCP call failed")
)

// Defaults of Options.
const (
	DefaultInterval         = 15 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second // sse / streamable-http
	DefaultStdioHandshake   = 60 * time.Second // stdio: an npx server may download itself first
	DefaultStartupGrace     = 30 * time.Second
	DefaultCallTimeout      = 60 * time.Second
	maxPingTimeout          = 10 * time.Second
	maxListItems            = 2000
)

// ProtocolVersion is the MCP version the monitor offers; servers answer with theirs.
const ProtocolVersion = "2025-11-25"

// Settings are read at every health check, so that a change applies at once.
type Settings struct {
	Interval     time.Duration // between two health checks
	RestartAfter int           // failed checks in a row that restart the server; 0 = never
}

// Options wire a Monitor to the rest of the engine. Every callback must return quickly.
type Options struct {
	Settings func() Settings
	// Entry stores a log entry the monitor made (streams mcp, protocol and system).
	Entry func(serverID string, stream logstore.Stream, level logstore.Level, message string, pid int, fields map[string]any)
	// Line stores a stdout line of a stdio child that is not MCP traffic (as Sink.Line).
	Line func(serverID, stream string, line []byte, truncated bool, pid int)
	// Health publishes server-health-changed.
	Health func(protocol.HealthChanged)
	// Restart restarts a server whose health failed RestartAfter times in a row.
	Restart func(ctx context.Context, serverID string) error

	Version          string        // the monitor's version, sent as clientInfo
	HandshakeTimeout time.Duration // default DefaultHandshakeTimeout
	StdioHandshake   time.Duration // default DefaultStdioHandshake
	StartupGrace     time.Duration // how long an HTTP server may take to answer at all; default 30 s
	CallTimeout      time.Duration // default 60 s
	Now              func() time.Time
	Logger           *slog.Logger
}

// Status says where a server's MCP session stands.
type Status string

const (
	StatusInactive   Status = "inactive"   // not running, or MCP awareness is off
	StatusConnecting Status = "connecting" // handshake under way (or the HTTP server not up yet)
	StatusReady      Status = "ready"      // a session is open
	StatusFailed     Status = "failed"     // the last connection attempt or check failed
	StatusNotMCP     Status = "not-mcp"    // a stdio child whose stdout is not MCP: read as logs
)

// View is a server's MCP side as REST (GET /api/v1/servers/{id}/mcp) and the UI see it.
type View struct {
	Status       Status                  `json:"status"`
	Message      string                  `json:"message,omitempty"`
	Transport    string                  `json:"transport,omitempty"`
	Health       *protocol.MCPHealth     `json:"health"`
	ServerInfo   *protocol.MCPServerInfo `json:"serverInfo"`
	Instructions string                  `json:"instructions,omitempty"`
	Capabilities *mcp.ServerCapabilities `json:"capabilities"`
	Tools        []*mcp.Tool             `json:"tools"`
	Resources    []*mcp.Resource         `json:"resources"`
	Prompts      []*mcp.Prompt           `json:"prompts"`
}

// Monitor holds the MCP sessions of every server. Its methods are safe for concurrent use.
type Monitor struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // HTTP watchers and restarts

	mu       sync.Mutex
	closed   bool
	running  map[string]bool     // the supervisor says running
	watchers map[string]*watcher // the current run's watcher
}

// New returns a Monitor; Close ends it.
func New(opts Options) *Monitor {
	if opts.Settings == nil {
		opts.Settings = func() Settings { return Settings{Interval: DefaultInterval} }
	}
	if opts.Entry == nil {
		opts.Entry = func(string, logstore.Stream, logstore.Level, string, int, map[string]any) {}
	}
	if opts.Line == nil {
		opts.Line = func(string, string, []byte, bool, int) {}
	}
	if opts.Health == nil {
		opts.Health = func(protocol.HealthChanged) {}
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.StdioHandshake <= 0 {
		opts.StdioHandshake = DefaultStdioHandshake
	}
	if opts.StartupGrace <= 0 {
		opts.StartupGrace = DefaultStartupGrace
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Monitor{
		opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel,
		running:  make(map[string]bool),
		watchers: make(map[string]*watcher),
	}
}

// Close ends every session the Monitor holds on its own (HTTP servers) and waits for them, and
// for pending restarts. Channel calls still running end with their child.
func (m *Monitor) Close() {
	m.mu.Lock()
	m.closed = true
	for _, w := range m.watchers {
		w.cancel()
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

func (m *Monitor) settings() Settings {
	s := m.opts.Settings()
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	return s
}

// StatusChanged follows the supervisor: when def's server runs, an sse / streamable-http server
// with a url gets a watcher that connects and checks it; when it stops running, its session
// ends. probe false (MCP awareness off) starts nothing. It never blocks.
func (m *Monitor) StatusChanged(def registry.ServerDef, running bool, pid int, probe bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running[def.ID] = running
	if !running {
		if w := m.watchers[def.ID]; w != nil {
			w.cancel()
			delete(m.watchers, def.ID)
		}
		return
	}
	if m.closed || !probe || def.URL == "" ||
		(def.Transport != registry.TransportSSE && def.Transport != registry.TransportStreamableHTTP) {
		return
	}
	if old := m.watchers[def.ID]; old != nil {
		old.cancel()
	}
	w := m.newWatcherLocked(def.ID, def.Transport, def.URL, pid)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.runHTTP()
	}()
}

// Forget drops what the Monitor knows about a deleted server.
func (m *Monitor) Forget(serverID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.watchers[serverID]; w != nil {
		w.cancel()
	}
	delete(m.watchers, serverID)
	delete(m.running, serverID)
}

func (m *Monitor) newWatcherLocked(id, transport, url string, pid int) *watcher {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &watcher{
		m: m, id: id, transport: transport, url: url, pid: pid,
		ctx: ctx, cancel: cancel,
		refresh: make(chan struct{}, 1),
		status:  StatusConnecting,
	}
	m.watchers[id] = w
	return w
}

// dropWatcher removes w if it is still the current watcher of its server.
func (m *Monitor) dropWatcher(w *watcher) {
	w.cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watchers[w.id] == w {
		delete(m.watchers, w.id)
	}
}

func (m *Monitor) watcher(id string) *watcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watchers[id]
}

// Health is a server's last health check, nil when there is none (for processInfo.mcp).
func (m *Monitor) Health(serverID string) *protocol.MCPHealth {
	w := m.watcher(serverID)
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.health
}

// View is a server's MCP side now.
func (m *Monitor) View(serverID string) View {
	w := m.watcher(serverID)
	if w == nil {
		return View{Status: StatusInactive, Tools: []*mcp.Tool{}, Resources: []*mcp.Resource{}, Prompts: []*mcp.Prompt{}}
	}
	return w.view()
}

// Probe checks a server's health now (an HTTP server without a session is connected first) and
// returns the view. ErrNoSession when nothing can be checked: not running, not MCP.
func (m *Monitor) Probe(ctx context.Context, serverID string) (View, error) {
	w := m.watcher(serverID)
	if w == nil {
		return m.View(serverID), fmt.Errorf("%w: %s is not running or MCP awareness is off", ErrNoSession, serverID)
	}
	if err := w.probe(ctx); err != nil {
		return w.view(), err
	}
	return w.view(), nil
}

// CallTool calls a tool of a server with arguments (a JSON object, or nil for none) and returns
// the server's result; a result with isError true is a result, not an error.
func (m *Monitor) CallTool(ctx context.Context, serverID, name string, arguments json.RawMessage) (*mcp.CallToolResult, error) {
	w := m.watcher(serverID)
	if w == nil {
		return nil, fmt.Errorf("%w: %s is not running or MCP awareness is off", ErrNoSession, serverID)
	}
	return w.callTool(ctx, name, arguments)
}

// Channel is the supervisor's Options.Channel: it speaks MCP with a stdio child over its stdin
// and stdout until stdout ends, and hands stdout to the log when the child is not MCP.
func (m *Monitor) Channel(serverID string, pid int, stdout io.Reader, stdin io.WriteCloser) {
	m.mu.Lock()
	w := m.newWatcherLocked(serverID, registry.TransportStdio, "", pid)
	if m.closed || !m.running[serverID] {
		w.cancel() // stopped already: the pump still reads stdout to its end
	}
	m.mu.Unlock()
	defer m.dropWatcher(w)
	w.runStdio(stdout, stdin)
}

// restart runs the configured restart of a server on a goroutine of the Monitor.
func (m *Monitor) restart(serverID string) {
	if m.opts.Restart == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.opts.Restart(m.ctx, serverID); err != nil && m.ctx.Err() == nil {
			m.log.Warn("health restart", "server", serverID, "err", err)
		}
	}()
}
