// Package app is the desktop side of MCP Watch: the struct whose methods the Wails window calls
// (App, bound as window.go.app.App), and the bridge that forwards the hub's events to the window
// under the same names and payloads as Socket.IO. Both are thin adapters over the engine, like the
// REST handlers of backend/httpapi.
//
// Only the files with the desktop build tag import Wails; everything else here builds and is
// tested without cgo, WebKit or a display.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/httpapi"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// controlWait bounds a stop or restart asked from the window.
const controlWait = 30 * time.Second

// dialogWait is how long shutdown waits for an open notice dialog.
const dialogWait = 2 * time.Second

// Listener binds the HTTP side (httpapi.Listen; tests may pass another).
type Listener func(*engine.Engine, httpapi.Options) (*httpapi.Server, error)

// Options configure the desktop app.
type Options struct {
	Engine *engine.Engine
	Host   string // --host; "" → the settings
	Port   int    // --port; 0 → the settings, -1 → any free port (tests)
	UI     fs.FS  // the web UI served over HTTP (the window gets it from Wails)
	Logger *slog.Logger
	// StateFile keeps the window's size and position; "" → window.json in the data dir.
	StateFile string
	// SelfTest is the result file of the self-test (MCPWATCH_SELFTEST); "" → off.
	SelfTest string
	// SelfTestHold is how long the self-test keeps the window open after writing its result (for
	// a screenshot) before it quits on its own; 0 → 15 s. A SIGTERM ends it sooner.
	SelfTestHold time.Duration
	Listen       Listener // nil → httpapi.Listen
}

// App is bound to the window: every exported method is callable from JavaScript as
// window.go.app.App.<Method> and answers what the REST API answers for the same operation.
type App struct {
	eng  *engine.Engine
	log  *slog.Logger
	opts Options

	mu        sync.Mutex
	rt        Runtime
	srv       *httpapi.Server // nil: external access is off (extReason says why)
	extReason string
	bridge    *bridge
	ctx       context.Context    // ends at stop
	stopAll   context.CancelFunc // ends the engine and the HTTP server
	stopBr    context.CancelFunc // ends the bridge
	runErr    error
	serveErr  error
	started   bool
	stopped   bool

	wg          sync.WaitGroup // engine, HTTP server, bridge writer, self-test
	bridgeDone  chan struct{}
	dialogs     sync.WaitGroup
	quitting    atomic.Bool
	toldHidden  atomic.Bool
	selfReports chan json.RawMessage
	selfOnce    sync.Once
	domSeen     bool // the page loaded (possibly before start finished: Wails runs OnStartup beside it)
}

// New prepares the app; nothing runs until start (OnStartup).
func New(o Options) *App {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Listen == nil {
		o.Listen = httpapi.Listen
	}
	if o.StateFile == "" && o.Engine != nil {
		o.StateFile = filepath.Join(o.Engine.DataDir(), "window.json")
	}
	if o.SelfTestHold <= 0 {
		o.SelfTestHold = 15 * time.Second
	}
	a := &App{eng: o.Engine, log: o.Logger, opts: o}
	if o.SelfTest != "" {
		a.selfReports = make(chan json.RawMessage, 1)
	}
	return a
}

// start runs the engine, the HTTP server (if its port is free) and the bridge. It returns at
// once: Wails calls it from OnStartup, before the window shows.
func (a *App) start(rt Runtime) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		return
	}
	a.started = true
	a.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	a.ctx, a.stopAll = ctx, cancel

	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		err := a.eng.Run(ctx) // returns once ctx ends and every child is stopped
		a.mu.Lock()
		a.runErr = err
		a.mu.Unlock()
	}()

	srv, err := a.opts.Listen(a.eng, httpapi.Options{Host: a.opts.Host, Port: a.opts.Port, UI: a.opts.UI, Logger: a.log})
	if err != nil {
		a.extReason = fmt.Sprintf("external access is off: %v (the window works without it)", err)
		a.log.Warn("HTTP server not started; the window works over the bridge", "err", err)
	} else {
		a.srv = srv
		a.log.Info("listening", "url", srv.URL())
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			err := srv.Serve(ctx)
			a.mu.Lock()
			a.serveErr = err
			a.mu.Unlock()
		}()
	}

	bctx, bcancel := context.WithCancel(context.Background())
	a.stopBr = bcancel
	a.bridge = newBridge(a.eng, rt)
	a.bridgeDone = make(chan struct{})
	go func() {
		defer close(a.bridgeDone)
		a.bridge.run(bctx)
	}()
	if a.domSeen {
		a.startSelfTestLocked()
	}
}

// stop ends the bridge first (the window is going), then the engine, which stops every child
// tree, and the HTTP server; it waits for all of them. Wails calls it from OnShutdown.
func (a *App) stop() error {
	a.mu.Lock()
	if !a.started || a.stopped {
		a.mu.Unlock()
		return nil
	}
	a.stopped = true
	a.stopBr()
	a.stopAll()
	a.mu.Unlock()

	<-a.bridgeDone
	a.bridge.close()
	a.wg.Wait()
	waitTimeout(&a.dialogs, dialogWait)

	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	if a.runErr != nil {
		errs = append(errs, fmt.Errorf("stop servers: %w", a.runErr))
	}
	if a.serveErr != nil {
		errs = append(errs, fmt.Errorf("http server: %w", a.serveErr))
	}
	return errors.Join(errs...)
}

// domReady starts the self-test, when asked for, once the page is loaded (OnDomReady).
func (a *App) domReady() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.domSeen = true
	if a.started {
		a.startSelfTestLocked()
	}
}

func (a *App) startSelfTestLocked() {
	if a.opts.SelfTest == "" || a.stopped {
		return
	}
	a.selfOnce.Do(func() {
		ctx, rt := a.ctx, a.rt
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.runSelfTest(ctx, rt)
		}()
	})
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func (a *App) runtime() Runtime {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rt
}

// quit closes the window for good, even with keepRunningInBackground.
func (a *App) quit() {
	a.quitting.Store(true)
	if rt := a.runtime(); rt != nil {
		rt.Quit()
	}
}

// beforeClose decides what closing the window does (OnBeforeClose): it remembers the window's
// size and position; with keepRunningInBackground (and unless the user chose Quit) it hides the
// window and keeps the engine running, else the application ends.
func (a *App) beforeClose() (prevent bool) {
	rt := a.runtime()
	if rt == nil {
		return false
	}
	a.saveWindowState(rt)
	if a.quitting.Load() || !a.eng.Settings().KeepRunningInBackground {
		return false
	}
	if a.toldHidden.CompareAndSwap(false, true) {
		// Say it once per run, then hide; on Windows this hook runs on the UI thread, so the
		// dialog runs beside it.
		a.dialogs.Add(1)
		go func() {
			defer a.dialogs.Done()
			if err := rt.InfoDialog("MCP Watch keeps running", backgroundNotice); err != nil {
				a.log.Debug("notice dialog", "err", err)
			}
			rt.WindowHide()
		}()
		return true
	}
	rt.WindowHide()
	return true
}

const backgroundNotice = "The setting \"Keep running in the background\" is on: your MCP servers keep running " +
	"and the web UI stays available. Start MCP Watch again to bring this window back, or choose " +
	"Quit in the MCP Watch menu to stop every server and exit."

// secondInstance brings the window back when MCP Watch is started again.
func (a *App) secondInstance() {
	if rt := a.runtime(); rt != nil {
		rt.WindowUnminimise()
		rt.WindowShow()
	}
}

// browserURL is the web UI's address with the token in the fragment.
func (a *App) browserURL() (string, error) {
	a.mu.Lock()
	srv, why := a.srv, a.extReason
	a.mu.Unlock()
	if srv == nil {
		return "", unavailable("%s", why)
	}
	if on, reason := srv.ExternalAccess(); !on {
		return "", unavailable("external access is off: %s", reason)
	}
	return srv.URL() + "/#token=" + a.eng.Token(), nil
}

// externalAccess is the HTTP side's state for GetSettings.
func (a *App) externalAccess() (listenURL string, access engine.ExternalAccess) {
	a.mu.Lock()
	srv, why := a.srv, a.extReason
	a.mu.Unlock()
	if srv != nil {
		on, reason := srv.ExternalAccess()
		return srv.URL(), engine.ExternalAccess{Enabled: on, Reason: reason}
	}
	st := a.eng.Settings().WithDefaults()
	host, port := st.Host, st.Port
	if a.opts.Host != "" {
		host = a.opts.Host
	}
	if a.opts.Port > 0 {
		port = a.opts.Port
	}
	if why == "" {
		why = "the HTTP server is not started"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), engine.ExternalAccess{Enabled: false, Reason: why}
}

// ---- bound methods: the REST API's operations, same shapes ---------------------------------

// Emit handles a client event of protocol.md section 2 (subscribe-server-metrics, …) for the
// window's connection and returns its ack; the events it causes arrive through EventsOn.
func (a *App) Emit(event string, payload json.RawMessage) (map[string]any, error) {
	a.mu.Lock()
	b := a.bridge
	a.mu.Unlock()
	if b == nil {
		return nil, a.toAPIError("Emit", unavailable("the monitor is not running"))
	}
	return map[string]any(b.handle(event, payload)), nil
}

// Health is GET /api/v1/health.
func (a *App) Health() engine.Health { return a.eng.Health() }

// ListServers is GET /api/v1/servers (the window holds the token: env values included).
func (a *App) ListServers() engine.ServerList {
	return engine.ServerList{Servers: a.eng.Servers(true)}
}

// GetServer is GET /api/v1/servers/{id}.
func (a *App) GetServer(id string) (engine.ServerView, error) {
	v, err := a.eng.Server(id, true)
	return v, a.toAPIError("GetServer", err)
}

// CreateServer is POST /api/v1/servers; the definition is decoded as strictly as the REST body.
func (a *App) CreateServer(def json.RawMessage) (engine.ServerView, error) {
	d, err := registry.DecodeServer(def)
	if err != nil {
		return engine.ServerView{}, a.toAPIError("CreateServer", asInvalid(err))
	}
	v, err := a.eng.CreateServer(d)
	return v, a.toAPIError("CreateServer", err)
}

// UpdateServer is PUT /api/v1/servers/{id}.
func (a *App) UpdateServer(id string, def json.RawMessage) (engine.ServerView, error) {
	d, err := registry.DecodeServer(def)
	if err != nil {
		return engine.ServerView{}, a.toAPIError("UpdateServer", asInvalid(err))
	}
	if d.ID != "" && d.ID != id {
		return engine.ServerView{}, a.toAPIError("UpdateServer", &registry.ValidationError{
			Problems: []registry.Problem{{Field: "id", Rule: "must be the id in the path (" + id + ") or left out"}},
		})
	}
	v, err := a.eng.UpdateServer(id, d)
	return v, a.toAPIError("UpdateServer", err)
}

// DeleteServer is DELETE /api/v1/servers/{id}: stops the server and removes its definition.
func (a *App) DeleteServer(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	return a.toAPIError("DeleteServer", a.eng.DeleteServer(ctx, id))
}

// StartServer is POST /api/v1/servers/{id}/start.
func (a *App) StartServer(id string) (engine.LifecycleAnswer, error) {
	st, err := a.eng.StartServer(id)
	return lifecycle(id, st, a.toAPIError("StartServer", err))
}

// StopServer is POST /api/v1/servers/{id}/stop; it returns once the child tree is gone.
func (a *App) StopServer(id string) (engine.LifecycleAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	st, err := a.eng.StopServer(ctx, id)
	return lifecycle(id, st, a.toAPIError("StopServer", err))
}

// RestartServer is POST /api/v1/servers/{id}/restart.
func (a *App) RestartServer(id string) (engine.LifecycleAnswer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	st, err := a.eng.RestartServer(ctx, id)
	return lifecycle(id, st, a.toAPIError("RestartServer", err))
}

func lifecycle(id string, st engine.ServerState, err error) (engine.LifecycleAnswer, error) {
	if err != nil {
		return engine.LifecycleAnswer{}, err
	}
	return engine.LifecycleAnswer{ID: id, State: st}, nil
}

// LogQuery are the parameters of QueryLogs, as in the REST query string.
type LogQuery = engine.LogQueryParams

// QueryLogs is GET /api/v1/servers/{id}/logs?format=json: stored entries, newest last.
func (a *App) QueryLogs(id string, q LogQuery) (engine.LogsAnswer, error) {
	lq, err := engine.ParseLogQuery(q)
	if err != nil {
		return engine.LogsAnswer{}, a.toAPIError("QueryLogs", err)
	}
	ans, err := a.eng.LogsAnswer(id, lq)
	return ans, a.toAPIError("QueryLogs", err)
}

// MetricsHistory is GET /api/v1/servers/{id}/metrics?since= ("" → the last hour).
func (a *App) MetricsHistory(id, since string) (engine.MetricsAnswer, error) {
	t, err := engine.ParseQueryTime("since", since)
	if err != nil {
		return engine.MetricsAnswer{}, a.toAPIError("MetricsHistory", err)
	}
	ans, err := a.eng.MetricsAnswer(id, t)
	return ans, a.toAPIError("MetricsHistory", err)
}

// SystemMetrics is GET /api/v1/system/metrics.
func (a *App) SystemMetrics() (protocol.SystemMetrics, error) {
	m, err := a.eng.SystemMetrics()
	return m, a.toAPIError("SystemMetrics", err)
}

// GetSettings is GET /api/v1/settings; externalAccess says whether the HTTP side runs and, if
// not, why (the port was taken, …).
func (a *App) GetSettings() engine.SettingsView {
	u, acc := a.externalAccess()
	return a.eng.SettingsView(a.eng.Settings(), u, acc)
}

// UpdateSettings is PUT /api/v1/settings (strictly decoded; host and port apply at next start).
func (a *App) UpdateSettings(s json.RawMessage) (engine.SettingsView, error) {
	st, err := registry.DecodeSettings(s)
	if err != nil {
		return engine.SettingsView{}, a.toAPIError("UpdateSettings", asInvalid(err))
	}
	stored, err := a.eng.UpdateSettings(st)
	if err != nil {
		return engine.SettingsView{}, a.toAPIError("UpdateSettings", err)
	}
	u, acc := a.externalAccess()
	return a.eng.SettingsView(stored, u, acc), nil
}

// RegenerateToken is POST /api/v1/token/regenerate.
func (a *App) RegenerateToken() (engine.TokenAnswer, error) {
	t, err := a.eng.RegenerateToken()
	if err != nil {
		return engine.TokenAnswer{}, a.toAPIError("RegenerateToken", err)
	}
	return engine.TokenAnswer{Token: t}, nil
}

// OpenInBrowser opens the web UI in the system browser, with the token in the URL fragment.
func (a *App) OpenInBrowser() error {
	u, err := a.browserURL()
	if err != nil {
		return a.toAPIError("OpenInBrowser", err)
	}
	rt := a.runtime()
	if rt == nil {
		return a.toAPIError("OpenInBrowser", unavailable("the window is not ready"))
	}
	rt.BrowserOpenURL(u)
	return nil
}

// SelfTestReport receives the window's half of the self-test (MCPWATCH_SELFTEST); without the
// self-test it is refused.
func (a *App) SelfTestReport(report json.RawMessage) error {
	if a.selfReports == nil {
		return a.toAPIError("SelfTestReport", unavailable("no self-test is running"))
	}
	select {
	case a.selfReports <- report:
	default: // one report is enough
	}
	return nil
}

// asInvalid keeps the registry's parse and validation errors and words any other decoding
// failure as invalid JSON.
func asInvalid(err error) error {
	if err == nil || errors.Is(err, registry.ErrInvalid) {
		return err
	}
	return &apiError{codeInvalid, "invalid JSON: " + err.Error(), err}
}
