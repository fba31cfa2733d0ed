package app

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

// GetMCP is GET /api/v1/servers/{id}/mcp: the server's MCP health, info and capabilities.
func (a *App) GetMCP(id string) (engine.MCPView, error) {
	v, err := a.eng.MCP(id)
	return v, a.toAPIError("GetMCP", err)
}

// ProbeMCP is POST /api/v1/servers/{id}/mcp/probe: check the server's health now.
func (a *App) ProbeMCP(id string) (engine.MCPView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	v, err := a.eng.ProbeMCP(ctx, id)
	return v, a.toAPIError("ProbeMCP", err)
}

// CallTool is POST /api/v1/servers/{id}/tools/{name}/call (the window also reaches it through
// Emit("call-tool"), as Socket.IO clients do).
func (a *App) CallTool(id, name string, arguments json.RawMessage) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	res, err := a.eng.CallTool(ctx, id, name, arguments)
	if errors.Is(err, engine.ErrUpstream) {
		return nil, &apiError{codeUpstream, err.Error(), err}
	}
	return res, a.toAPIError("CallTool", err)
}
