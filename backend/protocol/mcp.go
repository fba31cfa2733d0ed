package protocol

import (
	"bytes"
	"encoding/json"
)

// MCPHealth is processInfo.mcp: the last MCP health check of a server (a ping over its MCP
// session).
type MCPHealth struct {
	Healthy   bool    `json:"healthy"`
	LatencyMs float64 `json:"latencyMs"` // the ping's round trip in ms (0.01 ms steps); 0 when it failed
	CheckedAt string  `json:"checkedAt"` // ISO-8601 UTC
	Error     string  `json:"error,omitempty"`
}

// MCPServerInfo is what a server said about itself in its initialize result.
type MCPServerInfo struct {
	Name            string `json:"name"`
	Title           string `json:"title,omitempty"`
	Version         string `json:"version"`
	ProtocolVersion string `json:"protocolVersion"`
}

// HealthChanged is the payload of server-health-changed (to servers-status): sent when a
// server's health turns (healthy ↔ not), its error changes, or it (re)connects.
type HealthChanged struct {
	ServerID   string         `json:"serverId"`
	Healthy    bool           `json:"healthy"`
	LatencyMs  float64        `json:"latencyMs"`
	Error      string         `json:"error,omitempty"`
	ServerInfo *MCPServerInfo `json:"serverInfo,omitempty"`
	Timestamp  string         `json:"timestamp"`
}

// CallTool is the payload of call-tool.
type CallTool struct {
	ServerID  string
	Name      string
	Arguments json.RawMessage // a JSON object, or nil
}

// DecodeCallTool validates a call-tool payload: serverId, a non-empty name, and arguments that
// are an object when given.
func DecodeCallTool(raw []byte) (CallTool, *Error) {
	m, err := object(raw, false)
	if err != nil {
		return CallTool{}, err
	}
	id, err := serverID(m)
	if err != nil {
		return CallTool{}, err
	}
	name, _, err := stringField(m, "name", true)
	if err != nil {
		return CallTool{}, err
	}
	if name == "" || len(name) > 256 {
		return CallTool{}, invalid("name must be a tool name (1 to 256 characters)")
	}
	out := CallTool{ServerID: id, Name: name}
	if a, ok := m["arguments"]; ok && !bytes.Equal(bytes.TrimSpace(a), []byte("null")) {
		if t := bytes.TrimSpace(a); len(t) == 0 || t[0] != '{' {
			return CallTool{}, invalid("arguments must be an object")
		}
		out.Arguments = a
	}
	return out, nil
}

// Error codes of a failed call-tool ack (besides INVALID_PAYLOAD, UNAUTHORIZED, UNKNOWN_SERVER
// and CONFLICT: the server has no MCP session).
const (
	CodeUnknownTool = "UNKNOWN_TOOL"
	CodeUpstream    = "UPSTREAM_ERROR" // the MCP server failed the call
)
