package session

import (
	"context"
	"encoding/json"

	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// callTool runs call-tool for token holders: the ack is { ok: true, serverId, name, result }
// with the server's CallToolResult, or a failure (UNKNOWN_TOOL, CONFLICT when the server has no
// MCP session, INVALID_PAYLOAD for arguments the server refused, UPSTREAM_ERROR).
func (s *Session) callTool(event string, payload []byte) protocol.Ack {
	req, perr := protocol.DecodeCallTool(payload)
	if perr != nil {
		return s.fail(event, "", perr)
	}
	if !s.info.Authorized {
		return s.fail(event, req.ServerID, errNeedsToken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	res, err := s.eng.CallTool(ctx, req.ServerID, req.Name, req.Arguments)
	if err != nil {
		return s.fail(event, req.ServerID, s.refusal(req.ServerID, err))
	}
	// The ack goes through the transport's own JSON encoder: hand it plain values.
	var result any
	if b, err := json.Marshal(res); err == nil {
		_ = json.Unmarshal(b, &result)
	}
	return protocol.OK(map[string]any{"serverId": req.ServerID, "name": req.Name, "result": result})
}
