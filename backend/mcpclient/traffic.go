package mcpclient

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
)

// maxMessageBytes bounds one recorded or forwarded JSON-RPC message (the SDK's own default).
const maxMessageBytes = 16 << 20

// Direction arrows that start a protocol entry's message.
const (
	arrowOut = "→ "
	arrowIn  = "← "
)

// traffic records one JSON-RPC message (or batch) between the monitor and the server as an
// entry of stream protocol: the message is "→ " (sent) or "← " (received) and the JSON, compacted
// to one line; fields say direction, method and id. Level debug, warn for an error response.
func (w *watcher) traffic(out bool, raw []byte) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		raw = buf.Bytes()
	}
	dir, arrow := "in", arrowIn
	if out {
		dir, arrow = "out", arrowOut
	}
	fields := map[string]any{"direction": dir}
	level := logstore.Debug
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Error  json.RawMessage `json:"error"`
	}
	switch {
	case raw[0] == '[':
		fields["method"] = "batch"
	case json.Unmarshal(raw, &msg) == nil:
		if msg.Method != "" {
			fields["method"] = msg.Method
		}
		if len(msg.ID) > 0 && string(msg.ID) != "null" {
			var id any
			if json.Unmarshal(msg.ID, &id) == nil {
				fields["id"] = id
			}
		}
		if len(msg.Error) > 0 && string(msg.Error) != "null" {
			level = logstore.Warn
		}
	}
	w.m.opts.Entry(w.id, logstore.Protocol, level, arrow+string(raw), w.pid, fields)
}

// recordingRoundTripper records the JSON-RPC messages of the HTTP transports: POST bodies
// (sent), JSON answers and server-sent events (received).
type recordingRoundTripper struct {
	w    *watcher
	next http.RoundTripper
}

func (rt *recordingRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	if req.Body != nil && req.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(req.Body, maxMessageBytes))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = body
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return nil, err // nothing reached the server: not traffic
	}
	if sent != nil {
		rt.w.traffic(true, sent)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxMessageBytes))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode < 300 || bytes.Contains(body, []byte(`"jsonrpc"`)) {
			rt.w.traffic(false, body)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	case "text/event-stream":
		resp.Body = &sseTee{ReadCloser: resp.Body, w: rt.w}
	}
	return resp, nil
}

// sseTee passes a server-sent event stream through and records the data of every message event.
type sseTee struct {
	io.ReadCloser
	w       *watcher
	line    []byte
	event   string
	data    []byte
	hasData bool
}

func (t *sseTee) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	for _, c := range p[:n] {
		if c != '\n' {
			if len(t.line) < maxMessageBytes {
				t.line = append(t.line, c)
			}
			continue
		}
		t.endLine(strings.TrimSuffix(string(t.line), "\r"))
		t.line = t.line[:0]
	}
	return n, err
}

func (t *sseTee) endLine(line string) {
	switch {
	case line == "":
		if t.hasData && (t.event == "" || t.event == "message") {
			t.w.traffic(false, t.data)
		}
		t.event, t.data, t.hasData = "", t.data[:0], false
	case strings.HasPrefix(line, "data:"):
		if t.hasData {
			t.data = append(t.data, '\n')
		}
		t.data = append(t.data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")...)
		t.hasData = true
	case strings.HasPrefix(line, "event:"):
		t.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
	}
}
