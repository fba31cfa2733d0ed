package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// everythingJS is the reference MCP server installed for backend/mcpclient's tests (make test-go).
func everythingJS(t *testing.T) string {
	t.Helper()
	js, _ := filepath.Abs("../mcpclient/testdata/everything/node_modules/@modelcontextprotocol/server-everything/dist/index.js")
	if _, err := os.Stat(js); err != nil {
		t.Fatalf("@modelcontextprotocol/server-everything is not installed (%v): make deps-mcp", err)
	}
	return js
}

func TestCallTool(t *testing.T) {
	eng := newEngine(t)
	anon := New(eng, Info{ID: "anon", Transport: "websocket"})
	defer anon.Close()
	owner := New(eng, Info{ID: "owner", Transport: "websocket", Authorized: true})
	defer owner.Close()

	for _, tc := range []struct {
		who           *Session
		payload, code string
	}{
		{anon, `{"serverId":"echo","name":"echo"}`, protocol.CodeUnauthorized},
		{owner, `{"serverId":"echo"}`, protocol.CodeInvalidPayload},
		{owner, `{"serverId":"echo","name":"echo","arguments":[1]}`, protocol.CodeInvalidPayload},
		{owner, `{"serverId":"nope","name":"echo"}`, protocol.CodeUnknownServer},
		{owner, `{"serverId":"echo","name":"echo"}`, protocol.CodeConflict}, // not running
	} {
		if ack := tc.who.Handle(protocol.EvCallTool, []byte(tc.payload)); ack["code"] != tc.code {
			t.Errorf("%s: ack %v, want code %s", tc.payload, ack, tc.code)
		}
	}

	if _, err := eng.CreateServer(registry.ServerDef{ID: "ev", Command: "node", Args: []string{everythingJS(t), "stdio"},
		Restart: registry.RestartPolicy{Policy: registry.PolicyNever}}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.StartServer("ev"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for v, _ := eng.MCP("ev"); v.Health == nil || !v.Health.Healthy; v, _ = eng.MCP("ev") {
		if time.Now().After(deadline) {
			t.Fatalf("ev not healthy: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ack := owner.Handle(protocol.EvCallTool, []byte(`{"serverId":"ev","name":"echo","arguments":{"message":"over socket"}}`))
	res, _ := ack["result"].(map[string]any)
	content, _ := res["content"].([]any)
	if ack["ok"] != true || len(content) == 0 || !strings.Contains(content[0].(map[string]any)["text"].(string), "over socket") {
		t.Fatalf("call-tool ack = %v", ack)
	}
	if ack := owner.Handle(protocol.EvCallTool, []byte(`{"serverId":"ev","name":"nope"}`)); ack["code"] != protocol.CodeUnknownTool {
		t.Errorf("unknown tool: %v", ack)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := eng.StopServer(ctx, "ev"); err != nil {
		t.Fatal(err)
	}
}
