package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// LastExit is how the last run of a server ended.
type LastExit struct {
	Code   *int   `json:"code,omitempty"`
	Signal string `json:"signal,omitempty"`
	Time   string `json:"time"`
	Error  string `json:"error,omitempty"`
}

// ServerState is the live state of a server.
type ServerState struct {
	Status       string    `json:"status"`
	PID          int       `json:"pid,omitempty"`
	StartedAt    string    `json:"startedAt,omitempty"`
	Uptime       int64     `json:"uptime,omitempty"`
	RestartCount int       `json:"restartCount"`
	Restarts     int       `json:"restarts"`
	LastExit     *LastExit `json:"lastExit,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// ServerView is a definition with its live state.
type ServerView struct {
	registry.ServerDef
	State ServerState `json:"state"`
}

func (e *Engine) state(id string) ServerState {
	st, ok := e.sup.State(id)
	if !ok {
		return ServerState{Status: string(supervisor.Stopped)}
	}
	out := ServerState{
		Status:       string(st.Status),
		PID:          st.PID,
		RestartCount: st.RestartCount,
		Restarts:     st.Restarts,
		Error:        st.Error,
	}
	if !st.StartedAt.IsZero() && st.Status == supervisor.Running {
		out.StartedAt = protocol.Time(st.StartedAt)
		out.Uptime = int64(time.Since(st.StartedAt).Seconds())
	}
	if x := st.LastExit; x != nil {
		out.LastExit = &LastExit{Code: x.Code, Signal: x.Signal, Time: protocol.Time(x.Time), Error: x.Error}
	}
	return out
}

func (e *Engine) view(d registry.ServerDef, withEnv bool) ServerView {
	if !withEnv {
		d = d.Redacted()
	}
	return ServerView{ServerDef: d, State: e.state(d.ID)}
}

// Servers lists every server with its state; env values only when withEnv (token holders).
func (e *Engine) Servers(withEnv bool) []ServerView {
	defs := e.reg.Servers()
	out := make([]ServerView, len(defs))
	for i, d := range defs {
		out[i] = e.view(d, withEnv)
	}
	return out
}

// Server is one server with its state.
func (e *Engine) Server(id string, withEnv bool) (ServerView, error) {
	d, ok := e.reg.Server(id)
	if !ok {
		return ServerView{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	return e.view(d, withEnv), nil
}

// CreateServer validates and stores a new definition.
func (e *Engine) CreateServer(d registry.ServerDef) (ServerView, error) {
	created, err := e.reg.Create(d)
	if err != nil {
		return ServerView{}, mapRegistryErr(err)
	}
	e.sup.Define(created)
	e.refreshIDs()
	return e.view(created, true), nil
}

// UpdateServer replaces a definition; a running child keeps its old one until restarted.
func (e *Engine) UpdateServer(id string, d registry.ServerDef) (ServerView, error) {
	updated, err := e.reg.Update(id, d)
	if err != nil {
		return ServerView{}, mapRegistryErr(err)
	}
	e.sup.Define(updated)
	return e.view(updated, true), nil
}

// DeleteServer stops the server and removes its definition (its log files stay on disk).
func (e *Engine) DeleteServer(ctx context.Context, id string) error {
	if !e.Exists(id) {
		return fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err := e.sup.Remove(ctx, id); err != nil && !errors.Is(err, supervisor.ErrUnknownServer) {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	if err := e.reg.Delete(id); err != nil {
		return mapRegistryErr(err)
	}
	e.refreshIDs()
	e.smp.DropHistory(id)
	e.hub.Forget(id)
	e.mcp.Forget(id)
	return nil
}

func mapRegistryErr(err error) error {
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, registry.ErrConflict):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func mapSupervisorErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, supervisor.ErrUnknownServer):
		return fmt.Errorf("%w %q", ErrNotFound, id)
	case errors.Is(err, supervisor.ErrAlreadyRunning):
		return fmt.Errorf("%w: %s is already running", ErrConflict, id)
	case errors.Is(err, supervisor.ErrStartFailed):
		return nil // not the caller's fault: the state says crashed, with the reason
	}
	return err
}

// StartServer starts a server's child.
func (e *Engine) StartServer(id string) (ServerState, error) {
	if !e.Exists(id) {
		return ServerState{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err := mapSupervisorErr(id, e.sup.Start(id)); err != nil {
		return e.state(id), err
	}
	return e.state(id), nil
}

// StopServer stops a server's child tree and waits for it.
func (e *Engine) StopServer(ctx context.Context, id string) (ServerState, error) {
	if !e.Exists(id) {
		return ServerState{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err := mapSupervisorErr(id, e.sup.Stop(ctx, id)); err != nil {
		return e.state(id), err
	}
	return e.state(id), nil
}

// RestartServer stops and starts a server.
func (e *Engine) RestartServer(ctx context.Context, id string) (ServerState, error) {
	if !e.Exists(id) {
		return ServerState{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	if err := mapSupervisorErr(id, e.sup.Restart(ctx, id)); err != nil {
		return e.state(id), err
	}
	return e.state(id), nil
}

// Logs queries a server's stored log entries, newest last.
func (e *Engine) Logs(id string, q logstore.Query) ([]logstore.Entry, error) {
	if !e.Exists(id) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	return e.logs.Query(id, q)
}

// MetricsHistory is a server's recorded samples since a time, oldest first.
func (e *Engine) MetricsHistory(id string, since time.Time) ([]protocol.ProcessInfo, error) {
	if !e.Exists(id) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	st := e.state(id)
	samples := e.smp.History(id, since)
	out := make([]protocol.ProcessInfo, len(samples))
	for i, s := range samples {
		out[i] = protocol.NewProcessInfo(s, st.RestartCount)
	}
	return out, nil
}

// SystemMetrics is one sample of the machine.
func (e *Engine) SystemMetrics() (protocol.SystemMetrics, error) {
	s, err := e.smp.System()
	if err != nil {
		return protocol.SystemMetrics{}, fmt.Errorf("system metrics: %w", err)
	}
	return protocol.NewSystemMetrics(s), nil
}

// Settings as stored.
func (e *Engine) Settings() registry.Settings { return e.reg.Settings() }

// UpdateSettings validates and stores settings; host and port take effect at the next start.
func (e *Engine) UpdateSettings(s registry.Settings) (registry.Settings, error) {
	if err := e.reg.UpdateSettings(s); err != nil {
		return registry.Settings{}, err
	}
	return e.reg.Settings(), nil
}

// Health is the answer of GET /api/v1/health.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Uptime  int64  `json:"uptime"`
}

// Health of the monitor.
func (e *Engine) Health() Health {
	return Health{Status: "ok", Version: e.opts.Version, Uptime: int64(e.Uptime().Seconds())}
}
