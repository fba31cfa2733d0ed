package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

// codeUpstream: the MCP server failed a call (502).
const codeUpstream = "UPSTREAM_ERROR"

// getMCP answers GET /api/v1/servers/{id}/mcp: { status, health, serverInfo, capabilities,
// tools, resources, prompts, ... } (engine.MCPView).
func (s *Server) getMCP(w http.ResponseWriter, r *http.Request, id string) {
	v, err := s.eng.MCP(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// probeMCP answers POST /api/v1/servers/{id}/mcp/probe: a health check now, then the view.
// 409 when the server does not run or is not MCP.
func (s *Server) probeMCP(w http.ResponseWriter, r *http.Request, id string) {
	v, err := s.eng.ProbeMCP(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// callTool answers POST /api/v1/servers/{id}/tools/{name}/call with body { arguments } (an
// object; the body may be empty): the server's CallToolResult, also when its isError is true.
func (s *Server) callTool(w http.ResponseWriter, r *http.Request, id string) {
	name := toolName(r.URL.Path)
	body, err := readJSONBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req struct {
		Arguments json.RawMessage `json:"arguments"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			s.fail(w, r, invalid("invalid JSON: the body must be { \"arguments\": { ... } }: "+err.Error()))
			return
		}
	}
	args := bytes.TrimSpace(req.Arguments)
	if bytes.Equal(args, []byte("null")) {
		args = nil
	}
	if len(args) > 0 && args[0] != '{' {
		s.fail(w, r, invalid("arguments: must be an object"))
		return
	}
	res, err := s.eng.CallTool(r.Context(), id, name, args)
	if errors.Is(err, engine.ErrUpstream) {
		writeError(w, http.StatusBadGateway, codeUpstream, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// toolName is the {name} of /api/v1/servers/{id}/tools/{name}/call.
func toolName(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, apiV1), "/")
	if len(segs) == 5 {
		return segs[3]
	}
	return ""
}
