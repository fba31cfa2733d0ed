package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// watcher is the MCP side of one run of one server.
type watcher struct {
	m         *Monitor
	id        string
	transport string
	url       string
	pid       int
	ctx       context.Context // ends when the run ends (or the Monitor closes)
	cancel    context.CancelFunc
	refresh   chan struct{} // a list_changed arrived

	probeMu sync.Mutex      // one check (and HTTP connect) at a time
	ht      *http.Transport // HTTP servers: the connections of this run, closed when it ends

	mu         sync.Mutex
	status     Status
	message    string
	session    *mcp.ClientSession
	endSession context.CancelFunc
	init       *mcp.InitializeResult
	health     *protocol.MCPHealth
	published  *protocol.HealthChanged
	failures   int
	restarted  bool
	everOK     bool
	tools      []*mcp.Tool
	resources  []*mcp.Resource
	prompts    []*mcp.Prompt
}

func (w *watcher) setStatus(st Status, msg string) {
	w.mu.Lock()
	w.status, w.message = st, msg
	w.mu.Unlock()
}

func (w *watcher) system(level logstore.Level, msg string) {
	w.m.opts.Entry(w.id, logstore.System, level, msg, w.pid, nil)
}

func (w *watcher) view() View {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := View{
		Status: w.status, Message: w.message, Transport: w.transport, Health: w.health,
		Tools: nonNil(w.tools), Resources: nonNil(w.resources), Prompts: nonNil(w.prompts),
	}
	if w.init != nil {
		v.ServerInfo = serverInfo(w.init)
		v.Instructions = w.init.Instructions
		v.Capabilities = w.init.Capabilities
	}
	return v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func serverInfo(init *mcp.InitializeResult) *protocol.MCPServerInfo {
	si := &protocol.MCPServerInfo{ProtocolVersion: init.ProtocolVersion}
	if init.ServerInfo != nil {
		si.Name, si.Title, si.Version = init.ServerInfo.Name, init.ServerInfo.Title, init.ServerInfo.Version
	}
	return si
}

// connect opens a session over t within timeout. The session lives until w ends or the
// session is replaced (closeSession).
func (w *watcher) connect(t mcp.Transport, timeout time.Duration) (*mcp.ClientSession, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpwatch", Title: "MCP Watch", Version: w.m.opts.Version}, &mcp.ClientOptions{
		Logger:                     slog.New(slog.DiscardHandler),
		Capabilities:               &mcp.ClientCapabilities{}, // no roots, sampling or elicitation
		LoggingMessageHandler:      w.onLog,
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { w.wantRefresh() },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { w.wantRefresh() },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { w.wantRefresh() },
	})
	// The session's context must outlive the handshake (the sse transport's stream runs on it),
	// so the timeout cancels it only while the handshake is under way.
	sctx, end := context.WithCancel(w.ctx)
	timer := time.AfterFunc(timeout, end)
	cs, err := client.Connect(sctx, t, &mcp.ClientSessionOptions{ProtocolVersion: ProtocolVersion})
	if !timer.Stop() && err != nil {
		err = fmt.Errorf("no answer to initialize within %s: %w", timeout, err)
	}
	if err != nil {
		end()
		return nil, err
	}
	init := cs.InitializeResult()
	w.mu.Lock()
	if w.session != nil { // replaced
		_ = w.session.Close()
		w.endSession()
	}
	w.session, w.endSession, w.init = cs, end, init
	w.status, w.message = StatusReady, ""
	w.mu.Unlock()
	if init != nil && init.Capabilities != nil && init.Capabilities.Logging != nil {
		// The monitor wants every message; the log view filters.
		lctx, cancel := context.WithTimeout(sctx, timeout)
		if err := cs.SetLoggingLevel(lctx, &mcp.SetLoggingLevelParams{Level: "debug"}); err != nil {
			w.m.log.Debug("mcp set logging level", "server", w.id, "err", err)
		}
		cancel()
	}
	w.refreshLists(sctx, cs)
	return cs, nil
}

// closeSession ends the current session, if any.
func (w *watcher) closeSession() {
	w.mu.Lock()
	cs, end := w.session, w.endSession
	w.session, w.endSession = nil, nil
	w.mu.Unlock()
	if cs != nil {
		_ = cs.Close()
		end()
	}
}

func (w *watcher) currentSession() *mcp.ClientSession {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.session
}

func (w *watcher) wantRefresh() {
	select {
	case w.refresh <- struct{}{}:
	default:
	}
}

// refreshLists reads the tools, resources and prompts the server has capabilities for.
func (w *watcher) refreshLists(ctx context.Context, cs *mcp.ClientSession) {
	init := cs.InitializeResult()
	if init == nil || init.Capabilities == nil {
		return
	}
	caps := init.Capabilities
	ctx, cancel := context.WithTimeout(ctx, w.m.opts.HandshakeTimeout)
	defer cancel()
	var (
		tools     []*mcp.Tool
		resources []*mcp.Resource
		prompts   []*mcp.Prompt
	)
	if caps.Tools != nil {
		tools = collect(cs.Tools(ctx, nil), w, "tools")
	}
	if caps.Resources != nil {
		resources = collect(cs.Resources(ctx, nil), w, "resources")
	}
	if caps.Prompts != nil {
		prompts = collect(cs.Prompts(ctx, nil), w, "prompts")
	}
	w.mu.Lock()
	if w.session == cs {
		w.tools, w.resources, w.prompts = tools, resources, prompts
	}
	w.mu.Unlock()
}

func collect[T any](seq func(func(T, error) bool), w *watcher, what string) []T {
	out := []T{}
	for v, err := range seq {
		if err != nil {
			w.m.log.Debug("mcp list", "server", w.id, "what", what, "err", err)
			break
		}
		if out = append(out, v); len(out) >= maxListItems {
			break
		}
	}
	return out
}

// ping checks the session and records the outcome.
func (w *watcher) ping(ctx context.Context, cs *mcp.ClientSession) error {
	timeout := min(w.m.settings().Interval, maxPingTimeout)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := cs.Ping(pctx, nil)
	if err != nil && w.ctx.Err() != nil {
		return err // the run ended meanwhile: nothing to record
	}
	w.record(err == nil, time.Since(start), err)
	return err
}

// probe is one health check: a ping over the session; an HTTP server without a working
// session is (re)connected first.
func (w *watcher) probe(ctx context.Context) error {
	w.probeMu.Lock()
	defer w.probeMu.Unlock()
	if cs := w.currentSession(); cs != nil {
		if err := w.ping(ctx, cs); err == nil || w.transport == registry.TransportStdio {
			return err
		}
		w.closeSession() // the server may have restarted or dropped the session: connect anew
	}
	if w.transport == registry.TransportStdio {
		w.mu.Lock()
		defer w.mu.Unlock()
		return fmt.Errorf("%w: %s (%s)", ErrNoSession, w.message, w.status)
	}
	cs, err := w.connect(w.httpTransport(), w.m.opts.HandshakeTimeout)
	if err != nil {
		if w.ctx.Err() == nil {
			w.record(false, 0, err)
		}
		return err
	}
	return w.ping(ctx, cs)
}

// record keeps a check's outcome, publishes a change and restarts the server after too many
// failures in a row.
func (w *watcher) record(ok bool, latency time.Duration, err error) {
	now := w.m.opts.Now()
	h := &protocol.MCPHealth{Healthy: ok, CheckedAt: protocol.Time(now)}
	if ok {
		h.LatencyMs = math.Round(float64(max(latency, 0).Microseconds())/10) / 100
	} else {
		h.Error = err.Error()
	}
	restartAfter := w.m.settings().RestartAfter
	w.mu.Lock()
	w.health = h
	restart := false
	if ok {
		w.failures = 0
		w.everOK = true
		if w.status == StatusFailed {
			w.status, w.message = StatusReady, ""
		}
	} else {
		w.failures++
		if w.session == nil {
			w.status, w.message = StatusFailed, h.Error
		}
		if restartAfter > 0 && w.failures >= restartAfter && !w.restarted {
			w.restarted, restart = true, true
		}
	}
	ev := protocol.HealthChanged{ServerID: w.id, Healthy: ok, LatencyMs: h.LatencyMs, Error: h.Error, Timestamp: h.CheckedAt}
	if w.init != nil && ok {
		ev.ServerInfo = serverInfo(w.init)
	}
	changed := w.published == nil || w.published.Healthy != ev.Healthy || w.published.Error != ev.Error ||
		!sameInfo(w.published.ServerInfo, ev.ServerInfo)
	if changed {
		w.published = &ev
	}
	failures := w.failures
	w.mu.Unlock()
	if changed {
		w.m.opts.Health(ev)
		if ok {
			w.system(logstore.Info, fmt.Sprintf("MCP health: ok (%g ms)", h.LatencyMs))
		} else {
			w.system(logstore.Warn, "MCP health: failing: "+h.Error)
		}
	}
	if restart {
		w.system(logstore.Warn, fmt.Sprintf("MCP health failed %d times in a row: restarting", failures))
		w.m.restart(w.id)
	}
}

func sameInfo(a, b *protocol.MCPServerInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// onLog turns a notifications/message into a log entry of stream mcp.
func (w *watcher) onLog(_ context.Context, req *mcp.LoggingMessageRequest) {
	p := req.Params
	if p == nil {
		return
	}
	msg, ok := p.Data.(string)
	if !ok {
		b, err := json.Marshal(p.Data)
		if err != nil {
			b = []byte(fmt.Sprint(p.Data))
		}
		msg = string(b)
	}
	fields := map[string]any{"mcpLevel": string(p.Level)}
	if p.Logger != "" {
		fields["logger"] = p.Logger
	}
	w.m.opts.Entry(w.id, logstore.MCP, LevelOf(p.Level), msg, w.pid, fields)
}

// LevelOf maps an MCP (syslog) level to a log level: notice is info, critical, alert and
// emergency are error; an unknown level is info.
func LevelOf(l mcp.LoggingLevel) logstore.Level {
	switch l {
	case "debug":
		return logstore.Debug
	case "warning":
		return logstore.Warn
	case "error", "critical", "alert", "emergency":
		return logstore.Error
	}
	return logstore.Info
}

// callTool calls a tool over the session (an HTTP server without one is connected first).
func (w *watcher) callTool(ctx context.Context, name string, arguments json.RawMessage) (*mcp.CallToolResult, error) {
	cs := w.currentSession()
	if cs == nil && w.transport != registry.TransportStdio {
		_ = w.probe(ctx)
		cs = w.currentSession()
	}
	if cs == nil {
		v := w.view()
		return nil, fmt.Errorf("%w with %s (%s)", ErrNoSession, w.id, joinNonEmpty(string(v.Status), v.Message))
	}
	w.mu.Lock()
	known := w.tools != nil && !slices.ContainsFunc(w.tools, func(t *mcp.Tool) bool { return t.Name == name })
	w.mu.Unlock()
	if known {
		return nil, fmt.Errorf("%w %q on %s", ErrUnknownTool, name, w.id)
	}
	if len(arguments) == 0 {
		arguments = json.RawMessage("{}")
	}
	ctx, cancel := context.WithTimeout(ctx, w.m.opts.CallTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: arguments})
	if err != nil {
		var je *jsonrpc.Error
		if errors.As(err, &je) && je.Code == jsonrpc.CodeInvalidParams {
			return nil, fmt.Errorf("%w: %s", ErrInvalidArguments, je.Message)
		}
		return nil, fmt.Errorf("%w: %s on %s: %w", ErrCallFailed, name, w.id, err)
	}
	return res, nil
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// httpTransport is the SDK transport for the server's url, over an HTTP client that records
// every JSON-RPC message in both directions.
func (w *watcher) httpTransport() mcp.Transport {
	hc := &http.Client{Transport: &recordingRoundTripper{w: w, next: w.ht}}
	if w.transport == registry.TransportSSE {
		return &mcp.SSEClientTransport{Endpoint: w.url, HTTPClient: hc}
	}
	return &mcp.StreamableClientTransport{Endpoint: w.url, HTTPClient: hc, MaxRetries: -1}
}

// loop runs the health checks every interval and refreshes the lists on
// list_changed, until the run ends or done is closed. startup says the server may not listen
// yet: failures are not recorded and checks come quickly until the first success or the grace.
func (w *watcher) loop(done <-chan struct{}, startup bool) {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-done:
			return
		case <-w.refresh:
			if cs := w.currentSession(); cs != nil {
				w.refreshLists(w.ctx, cs)
			}
			continue
		case <-timer.C:
		}
		interval := w.m.settings().Interval
		if startup && !w.isEverOK() && time.Since(start) < w.m.opts.StartupGrace {
			w.startupCheck()
			timer.Reset(min(500*time.Millisecond, interval))
			continue
		}
		_ = w.probe(w.ctx)
		timer.Reset(interval)
	}
}

func (w *watcher) isEverOK() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.everOK
}

// startupCheck tries to connect an HTTP server that may still be starting: a failure is not
// a health failure yet.
func (w *watcher) startupCheck() {
	w.probeMu.Lock()
	defer w.probeMu.Unlock()
	cs := w.currentSession()
	if cs == nil {
		var err error
		cs, err = w.connect(w.httpTransport(), w.m.opts.HandshakeTimeout)
		if err != nil {
			w.setStatus(StatusConnecting, "waiting for the server to answer: "+err.Error())
			return
		}
	}
	_ = w.ping(w.ctx, cs)
}

// runHTTP watches an sse or streamable-http server until its run ends.
func (w *watcher) runHTTP() {
	w.ht = http.DefaultTransport.(*http.Transport).Clone()
	defer w.ht.CloseIdleConnections()
	defer w.closeSession()
	w.loop(nil, true)
}
