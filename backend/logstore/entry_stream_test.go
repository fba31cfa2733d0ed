package logstore

import (
	"encoding/json"
	"testing"
)

func TestAppendEntryStreamsLevelsAndFields(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	mcp := s.AppendEntry("srv", MCP, Warn, "disk almost full", 42, map[string]any{"mcpLevel": "warning", "logger": "fs"})
	proto := s.AppendEntry("srv", Protocol, Debug, `→ {"jsonrpc":"2.0","id":1,"method":"ping"}`, 42, nil)
	if mcp.Seq != 1 || proto.Seq != 2 {
		t.Fatalf("seqs %d, %d", mcp.Seq, proto.Seq)
	}
	var d diskEntry
	if err := json.Unmarshal(mcp.JSON, &d); err != nil {
		t.Fatal(err)
	}
	if d.Level != "warn" || d.Metadata.Stream != "mcp" || d.Message != "disk almost full" || d.Metadata.PID != 42 ||
		string(d.Metadata.Fields) != `{"logger":"fs","mcpLevel":"warning"}` {
		t.Fatalf("mcp entry JSON = %s", mcp.JSON)
	}
	// A protocol line is stored as given: no level guessing from the JSON inside it.
	if proto.Level != Debug || proto.Stream != Protocol || proto.Fields != nil {
		t.Fatalf("protocol entry = %+v", proto)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, Options{Dir: dir})
	got, err := s2.Query("srv", Query{Streams: []Stream{MCP}})
	if err != nil || len(got) != 1 || got[0].Fields["mcpLevel"] != "warning" {
		t.Fatalf("query mcp after reopen = %+v, %v", got, err)
	}
}
