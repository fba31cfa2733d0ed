package httpapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

// TestMCPRoutes: GET /mcp, POST /mcp/probe and POST /tools/{name}/call against the reference
// MCP server over stdio (installed for backend/mcpclient's tests by make test-go).
func TestMCPRoutes(t *testing.T) {
	js, _ := filepath.Abs("../mcpclient/testdata/everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	if _, err := os.Stat(js); err != nil {
		t.Fatalf("@modelcontextprotocol/server-everything is not installed (%v): make deps-mcp", err)
	}
	e := newEnv(t, envOptions{})
	if r := e.api("POST", "/api/v1/servers", map[string]any{"id": "ev", "command": "node", "args": []string{js, "stdio"},
		"restart": map[string]any{"policy": "never"}}); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}

	// Stopped: a view saying so; probe and call are conflicts.
	var v engine.MCPView
	r := e.api("GET", "/api/v1/servers/ev/mcp", nil)
	r.json(t, &v)
	if r.status != 200 || v.Status != "inactive" || v.Tools == nil {
		t.Fatalf("GET mcp of a stopped server: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/ev/mcp/probe", nil); r.status != 409 {
		t.Errorf("probe stopped: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/ev/tools/echo/call", map[string]any{"arguments": map[string]any{}}); r.status != 409 {
		t.Errorf("call stopped: %d %s", r.status, r.body)
	}
	if r := e.api("GET", "/api/v1/servers/nope/mcp", nil); r.status != 404 {
		t.Errorf("unknown server: %d", r.status)
	}

	if r := e.api("POST", "/api/v1/servers/ev/start", nil); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	eventually(t, 60*time.Second, "ev healthy", func() bool {
		r := e.api("GET", "/api/v1/servers/ev/mcp", nil)
		v = engine.MCPView{}
		r.json(t, &v)
		return v.Health != nil && v.Health.Healthy
	})
	if v.ServerInfo == nil || v.ServerInfo.Name != "mcp-servers/everything" || len(v.Tools) == 0 {
		t.Fatalf("view = %+v", v)
	}
	r = e.api("POST", "/api/v1/servers/ev/mcp/probe", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"healthy":true`) {
		t.Errorf("probe: %d %s", r.status, r.body)
	}

	r = e.api("POST", "/api/v1/servers/ev/tools/echo/call", map[string]any{"arguments": map[string]any{"message": "over rest"}})
	if r.status != 200 || !strings.Contains(string(r.body), "over rest") || !strings.Contains(string(r.body), `"content":[`) {
		t.Fatalf("call echo: %d %s", r.status, r.body)
	}
	// The JSON-RPC traffic is stored under its own stream, and the logs query can ask for it.
	var traffic struct {
		Entries []struct {
			Message  string `json:"message"`
			Metadata struct {
				Stream string `json:"stream"`
			} `json:"metadata"`
		} `json:"entries"`
	}
	e.api("GET", "/api/v1/servers/ev/logs?stream=protocol", nil).json(t, &traffic)
	sawCall := false
	for _, en := range traffic.Entries {
		if en.Metadata.Stream != "protocol" {
			t.Fatalf("stream=protocol gave a %s entry: %s", en.Metadata.Stream, en.Message)
		}
		sawCall = sawCall || strings.Contains(en.Message, `"tools/call"`)
	}
	if !sawCall {
		t.Fatalf("no tools/call among %d protocol entries", len(traffic.Entries))
	}
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/api/v1/servers/ev/tools/nope/call", `{}`, 404, codeNotFound},
		{"/api/v1/servers/ev/tools/echo/call", `{"arguments":[1]}`, 400, codeInvalid},
		{"/api/v1/servers/ev/tools/echo/call", `{"args":{}}`, 400, codeInvalid},
		{"/api/v1/servers/ev/tools/echo/call", `{`, 400, codeInvalid},
	} {
		if r := e.api("POST", tc.path, tc.body); r.status != tc.status || r.errCode() != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.path, tc.body, r.status, r.body, tc.status, tc.code)
		}
	}
	// A control action: no token, no call.
	if r := e.req("POST", "/api/v1/servers/ev/tools/echo/call", `{"arguments":{"message":"x"}}`, nil); r.status != 401 {
		t.Errorf("call without the token: %d", r.status)
	}
	if r := e.api("GET", "/api/v1/servers/ev/tools/echo/call", nil); r.status != 405 {
		t.Errorf("GET on the call route: %d", r.status)
	}
	if r := e.api("POST", "/api/v1/servers/ev/stop", nil); r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
}
