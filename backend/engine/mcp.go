package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/mcpclient"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// ErrUpstream is an MCP server's failure to answer a call: a JSON-RPC error, no answer in time,
// or a broken session (REST 502, protocol code UPSTREAM_ERROR).
var ErrUpstream = errors.New("MCP server error")

// MCPView is the answer of GET /api/v1/servers/{id}/mcp and of POST .../mcp/probe: the server's
// MCP health, what it said about itself, and its tools, resources and prompts.
type MCPView = mcpclient.View

// newMCPMonitor wires the MCP client side to the log store, the hub and the supervisor.
func (e *Engine) newMCPMonitor() *mcpclient.Monitor {
	return mcpclient.New(mcpclient.Options{
		Settings: func() mcpclient.Settings {
			s := e.reg.Settings().WithDefaults()
			iv := time.Duration(s.MCPProbeIntervalMs) * time.Millisecond
			if e.opts.MCPProbeInterval > 0 {
				iv = e.opts.MCPProbeInterval
			}
			return mcpclient.Settings{Interval: iv, RestartAfter: s.HealthRestartAfter}
		},
		Entry: func(id string, stream logstore.Stream, level logstore.Level, msg string, pid int, fields map[string]any) {
			e.logs.AppendEntry(id, stream, level, msg, pid, fields)
		},
		Line: func(id, stream string, line []byte, truncated bool, pid int) {
			e.logs.Append(id, logstore.Stream(stream), line, truncated, pid)
		},
		Health: func(ev protocol.HealthChanged) {
			e.hub.Broadcast(hub.NewMessage(protocol.EvServerHealthChanged, protocol.Marshal(ev)))
		},
		Restart: func(ctx context.Context, id string) error {
			_, err := e.RestartServer(ctx, id)
			return err
		},
		Version:          e.opts.Version,
		HandshakeTimeout: e.opts.MCPHandshake,
		StdioHandshake:   e.opts.MCPHandshake,
		Logger:           e.log,
	})
}

// useMCPChannel: a stdio server's stdin/stdout are its MCP channel when MCP awareness is on.
func (e *Engine) useMCPChannel(d registry.ServerDef) bool {
	return d.Transport == registry.TransportStdio && e.reg.Settings().MCPProbeOn()
}

// mcpStatus tells the MCP side about a lifecycle transition (from the supervisor's sink).
func (e *Engine) mcpStatus(ev supervisor.Event) {
	d, ok := e.reg.Server(ev.ServerID)
	if !ok {
		d = registry.ServerDef{ID: ev.ServerID}
	}
	e.mcp.StatusChanged(d, ev.Status == supervisor.Running, ev.PID, e.reg.Settings().MCPProbeOn())
}

// MCP is a server's MCP side now (GET /api/v1/servers/{id}/mcp; Wails: the same method).
func (e *Engine) MCP(id string) (MCPView, error) {
	if !e.Exists(id) {
		return MCPView{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	return e.mcp.View(id), nil
}

// ProbeMCP checks a server's MCP health now and returns its MCP side (POST
// /api/v1/servers/{id}/mcp/probe). ErrConflict when the server does not run or is not MCP.
func (e *Engine) ProbeMCP(ctx context.Context, id string) (MCPView, error) {
	if !e.Exists(id) {
		return MCPView{}, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	v, err := e.mcp.Probe(ctx, id)
	if errors.Is(err, mcpclient.ErrNoSession) {
		return v, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	// A failed check is an answer: the view says unhealthy, with the error.
	return v, nil
}

// CallTool calls a server's tool with arguments (a JSON object or nil) and returns the server's
// CallToolResult (POST /api/v1/servers/{id}/tools/{name}/call, Socket.IO call-tool). A result
// with isError true is a result. Errors: ErrNotFound (server or tool), ErrConflict (no MCP
// session), registry.ErrInvalid (arguments refused), ErrUpstream (the server failed).
func (e *Engine) CallTool(ctx context.Context, id, name string, arguments json.RawMessage) (*mcp.CallToolResult, error) {
	if !e.Exists(id) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, id)
	}
	res, err := e.mcp.CallTool(ctx, id, name, arguments)
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, mcpclient.ErrNoSession):
		return nil, fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, mcpclient.ErrUnknownTool):
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, mcpclient.ErrInvalidArguments):
		return nil, fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
}
