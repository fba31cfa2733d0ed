// Package engine wires the parts together (registry → supervisor → logstore/sampler → hub) and
// offers the one API that both the REST handlers and the Wails bound methods adapt.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/mcpclient"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/sampler"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// Errors the adapters map to HTTP statuses and protocol codes.
var (
	ErrNotFound = errors.New("unknown server")
	ErrConflict = errors.New("conflict")
)

// Options say where the engine keeps its files.
type Options struct {
	ConfigPath string // config.json
	DataDir    string // logs and state
	Version    string
	Getenv     func(string) string // default os.Getenv
	Logger     *slog.Logger
	// StopGrace overrides the setting (tests).
	StopGrace time.Duration
	// MCPProbeInterval overrides the mcpProbeIntervalMs setting, MCPHandshake the time a server
	// has to answer initialize (tests).
	MCPProbeInterval time.Duration
	MCPHandshake     time.Duration
}

// Engine is one running monitor.
type Engine struct {
	opts     Options
	log      *slog.Logger
	reg      *registry.Store
	logs     *logstore.Store
	smp      *sampler.Sampler
	sup      *supervisor.Supervisor
	hub      *hub.Hub
	mcp      *mcpclient.Monitor
	started  time.Time
	removeFn func()

	tokenMu     sync.RWMutex
	token       string
	tokenSource string

	idsMu sync.RWMutex
	ids   []string // defined servers, for the sampler's Running() without copying definitions
}

// Open reads the configuration and prepares every part; nothing runs until Run. A configuration
// that cannot be read is an error (and its file is left as it was).
func Open(opts Options) (*Engine, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ConfigPath == "" {
		opts.ConfigPath = registry.DefaultConfigPath()
	}
	if opts.DataDir == "" {
		opts.DataDir = registry.DefaultDataDir()
	}
	reg, err := registry.Open(opts.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	settings := reg.Settings().WithDefaults()
	token, source, err := registry.ResolveToken(filepath.Dir(opts.ConfigPath), opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	logs, err := logstore.Open(logstore.Options{
		Dir:          opts.DataDir,
		RingSize:     settings.LogRingSize,
		MaxFileBytes: int64(settings.LogFileMaxBytes),
		MaxFiles:     settings.LogFiles,
		Logger:       opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("open log store: %w", err)
	}
	var historyEvery time.Duration
	historySize := 0
	if settings.HistoryIntervalMs > 0 {
		historyEvery = time.Duration(settings.HistoryIntervalMs) * time.Millisecond
		historySize = int(time.Duration(settings.HistoryMinutes) * time.Minute / historyEvery)
	}
	e := &Engine{
		opts:        opts,
		log:         opts.Logger,
		reg:         reg,
		logs:        logs,
		smp:         sampler.New(sampler.Options{HistorySize: max(historySize, 1)}),
		started:     time.Now(),
		token:       token,
		tokenSource: source,
	}
	grace := time.Duration(settings.StopGraceMs) * time.Millisecond
	if opts.StopGrace > 0 {
		grace = opts.StopGrace
	}
	e.mcp = e.newMCPMonitor()
	e.sup = supervisor.New(supervisor.Options{
		Sink: sink{e}, StopGrace: grace, Logger: opts.Logger,
		Channel: e.mcp.Channel, UseChannel: e.useMCPChannel,
	})
	e.hub = hub.New(hub.Options{
		Processes:       processes{e},
		Sampler:         e.smp,
		Logs:            logs,
		HistoryInterval: historyEvery,
		Logger:          opts.Logger,
	})
	e.removeFn = logs.AddListener(e.hub.PublishLog)
	for _, d := range reg.Servers() {
		e.sup.Define(d)
	}
	e.refreshIDs()
	return e, nil
}

// Run starts the auto-start servers and samples until ctx ends; then it stops every child tree
// and flushes the logs before returning.
func (e *Engine) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.hub.Run(ctx)
	}()
	for _, d := range e.reg.Servers() {
		if d.AutoStart {
			if err := e.sup.Start(d.ID); err != nil {
				e.log.Warn("auto start", "server", d.ID, "err", err)
			}
		}
	}
	<-ctx.Done()
	<-done
	return e.shutdown()
}

func (e *Engine) shutdown() error {
	grace := time.Duration(e.reg.Settings().WithDefaults().StopGraceMs) * time.Millisecond
	if e.opts.StopGrace > 0 {
		grace = e.opts.StopGrace
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
	defer cancel()
	err := e.sup.Shutdown(ctx)
	e.mcp.Close()
	e.removeFn()
	if cerr := e.logs.Close(); err == nil {
		err = cerr
	}
	return err
}

// Hub is where transports register their clients.
func (e *Engine) Hub() *hub.Hub { return e.hub }

// Version of the build.
func (e *Engine) Version() string { return e.opts.Version }

// ConfigPath is the configuration file in use.
func (e *Engine) ConfigPath() string { return e.reg.Path() }

// DataDir holds logs and state.
func (e *Engine) DataDir() string { return e.opts.DataDir }

// Uptime of the monitor.
func (e *Engine) Uptime() time.Duration { return time.Since(e.started) }

// Token is the current access token.
func (e *Engine) Token() string {
	e.tokenMu.RLock()
	defer e.tokenMu.RUnlock()
	return e.token
}

// RegenerateToken makes a new token (not possible when MCPWATCH_TOKEN sets it).
func (e *Engine) RegenerateToken() (string, error) {
	e.tokenMu.Lock()
	defer e.tokenMu.Unlock()
	if e.tokenSource == "env" {
		return "", fmt.Errorf("%w: the token comes from MCPWATCH_TOKEN; change it there", ErrConflict)
	}
	t, err := registry.RegenerateToken(filepath.Dir(e.reg.Path()))
	if err != nil {
		return "", err
	}
	e.token = t
	return t, nil
}

// CheckToken compares a presented token with the current one in constant time.
func (e *Engine) CheckToken(presented string) bool {
	return presented != "" && registry.TokenEqual(presented, e.Token())
}

func (e *Engine) refreshIDs() {
	defs := e.reg.Servers()
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = d.ID
	}
	sort.Strings(ids)
	e.idsMu.Lock()
	e.ids = ids
	e.idsMu.Unlock()
}

// Exists reports whether a server is defined.
func (e *Engine) Exists(id string) bool {
	e.idsMu.RLock()
	defer e.idsMu.RUnlock()
	i := sort.SearchStrings(e.ids, id)
	return i < len(e.ids) && e.ids[i] == id
}

// sink turns what the supervisor sees into log entries and hub events.
type sink struct{ e *Engine }

func (s sink) Line(serverID, stream string, line []byte, truncated bool, pid int) {
	s.e.logs.Append(serverID, logstore.Stream(stream), line, truncated, pid)
}

func (s sink) System(serverID, level, message string, pid int) {
	lv, ok := logstore.ParseLevelName(level)
	if !ok {
		lv = logstore.Info
	}
	s.e.logs.AppendSystem(serverID, lv, message, pid)
}

func (s sink) Status(ev supervisor.Event) {
	if ev.Status == supervisor.Running && ev.PID > 0 {
		s.e.smp.Prime(ev.PID)
	}
	if (ev.Status == supervisor.Stopped || ev.Status == supervisor.Crashed) && ev.PID > 0 {
		s.e.smp.Forget(ev.PID) // its tree is gone: no baselines or descriptors kept for it
	}
	s.e.mcpStatus(ev)
	s.e.hub.PublishStatus(ev)
}

// processes tells the hub which children run.
type processes struct{ e *Engine }

func (p processes) Running() []hub.Proc {
	p.e.idsMu.RLock()
	ids := p.e.ids
	p.e.idsMu.RUnlock()
	var out []hub.Proc
	for _, id := range ids {
		if pr, ok := p.Process(id); ok {
			out = append(out, pr)
		}
	}
	return out
}

func (p processes) Process(id string) (hub.Proc, bool) {
	st, ok := p.e.sup.State(id)
	if !ok || st.Status != supervisor.Running || st.PID <= 0 {
		return hub.Proc{}, false
	}
	return hub.Proc{ServerID: id, PID: st.PID, RestartCount: st.RestartCount, MCP: p.e.mcp.Health(id)}, true
}

// Close releases what Open took, for an engine that never ran (Run releases it itself).
func (e *Engine) Close() error {
	e.mcp.Close()
	e.removeFn()
	return e.logs.Close()
}
