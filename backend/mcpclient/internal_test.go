package mcpclient

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestIsJSONRPC(t *testing.T) {
	for line, want := range map[string]bool{
		`{"jsonrpc":"2.0","id":1,"result":{}}`: true,
		` {"jsonrpc":"2.0","method":"x"} `:     true,
		`[{"jsonrpc":"2.0","id":1}]`:           true,
		`{"level":30,"msg":"pino"}`:            false,
		`{"jsonrpc":"1.0"}`:                    false,
		`INFO tick 1`:                          false,
		`{"jsonrpc":"2.0"`:                     false,
		``:                                     false,
	} {
		if got := isJSONRPC([]byte(line)); got != want {
			t.Errorf("isJSONRPC(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestLevelOf(t *testing.T) {
	want := map[string]logstore.Level{"debug": logstore.Debug, "info": logstore.Info, "notice": logstore.Info,
		"warning": logstore.Warn, "error": logstore.Error, "critical": logstore.Error, "alert": logstore.Error,
		"emergency": logstore.Error, "odd": logstore.Info}
	for l, w := range want {
		if got := LevelOf(loggingLevel(l)); got != w {
			t.Errorf("LevelOf(%s) = %s, want %s", l, got, w)
		}
	}
}

// recorder collects what a Monitor writes.
type recorder struct {
	mu      sync.Mutex
	entries []string // "stream level message"
	lines   []string
}

func (r *recorder) options() Options {
	return Options{
		Entry: func(_ string, s logstore.Stream, l logstore.Level, msg string, _ int, _ map[string]any) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.entries = append(r.entries, string(s)+" "+l.String()+" "+msg)
		},
		Line: func(_, stream string, line []byte, _ bool, _ int) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.lines = append(r.lines, stream+" "+string(line))
		},
	}
}

func (r *recorder) snapshot() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.entries...), append([]string(nil), r.lines...)
}

func TestSSETeeRecordsMessageEvents(t *testing.T) {
	rec := &recorder{}
	m := New(rec.options())
	defer m.Close()
	w := &watcher{m: m, id: "s"}
	stream := "event: endpoint\ndata: /message?sessionId=1\n\n" +
		"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1,\"result\":{}}\r\n\r\n" +
		": comment\n\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\n\n"
	tee := &sseTee{ReadCloser: io.NopCloser(iotestOneByte(strings.NewReader(stream))), w: w}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		t.Fatal(err)
	}
	entries, _ := rec.snapshot()
	want := []string{
		`protocol debug ← {"jsonrpc":"2.0","id":1,"result":{}}`,
		`protocol debug ← {"jsonrpc":"2.0","method":"notifications/message"}`,
	}
	if strings.Join(entries, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(entries, "\n"), strings.Join(want, "\n"))
	}
}

// iotestOneByte reads one byte at a time (events split across reads).
func iotestOneByte(r io.Reader) io.Reader { return oneByte{r} }

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// A stdio child that never writes to stdout: the handshake times out, stdout becomes log lines,
// stdin is closed (as /dev/null would be).
func TestSilentStdoutFallsBackAfterHandshakeTimeout(t *testing.T) {
	rec := &recorder{}
	opts := rec.options()
	opts.StdioHandshake = 300 * time.Millisecond
	m := New(opts)
	defer m.Close()
	m.StatusChanged(registry.ServerDef{ID: "quiet", Transport: registry.TransportStdio}, true, 7, true)
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	stdinSeen := make(chan string, 1)
	go func() { // the child: read stdin to its end
		b, _ := io.ReadAll(inR)
		stdinSeen <- string(b)
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Channel("quiet", 7, outR, inW)
	}()
	var sent string
	select {
	case sent = <-stdinSeen:
	case <-time.After(10 * time.Second):
		t.Fatal("stdin was not closed after the handshake timed out")
	}
	if !strings.Contains(sent, `"method":"initialize"`) {
		t.Errorf("stdin got %q, want an initialize request", sent)
	}
	if v := m.View("quiet"); v.Status != StatusNotMCP || !strings.Contains(v.Message, "handshake") {
		t.Errorf("view = %+v", v)
	}
	if _, err := io.WriteString(outW, "late line\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n"); err != nil {
		t.Fatal(err)
	}
	outW.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Channel did not return at the end of stdout")
	}
	entries, lines := rec.snapshot()
	if strings.Join(lines, "|") != `stdout late line|stdout {"jsonrpc":"2.0","id":1,"result":{}}` {
		t.Errorf("lines = %q", lines)
	}
	if !strings.Contains(strings.Join(entries, "\n"), "system info not an MCP server over stdio") ||
		!strings.Contains(strings.Join(entries, "\n"), `protocol debug → {"jsonrpc":"2.0","id":1,"method":"initialize"`) {
		t.Errorf("entries:\n%s", strings.Join(entries, "\n"))
	}
	if _, err := m.CallTool(context.Background(), "quiet", "x", nil); err == nil {
		t.Error("CallTool after the run ended succeeded")
	}
}

func loggingLevel(s string) mcp.LoggingLevel { return mcp.LoggingLevel(s) }
