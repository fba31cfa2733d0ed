package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

const testToken = "test-token-0123456789abcdef"

// wait is the deadline of every wait in these tests: generous, for a loaded 2-core machine.
const wait = 20 * time.Second

type fixture struct {
	eng  *engine.Engine
	srv  *Server
	http *httptest.Server
	hc   *http.Client
}

// newFixture runs an engine (one defined server, "alpha", never started) and the Socket.IO
// server behind an httptest server; everything is closed at cleanup, in order.
func newFixture(t *testing.T, requireToken bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	const config = `{"servers":[{"id":"alpha","name":"alpha","command":"/bin/sleep","args":["3600"],"transport":"stdio",
		"restart":{"policy":"never","maxRetries":0,"backoffMs":1000}}],"settings":{}}`
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := engine.Open(engine.Options{
		ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Version: "test", Logger: logger,
		Getenv: func(k string) string {
			if k == "MCPWATCH_TOKEN" {
				return testToken
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- eng.Run(ctx) }()

	srv, err := New(eng, Options{RequireToken: func() bool { return requireToken }, Logger: logger})
	if err != nil {
		cancel()
		<-runDone
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, srv.Handler())
	hs := httptest.NewServer(mux)
	tr := &http.Transport{}
	f := &fixture{eng: eng, srv: srv, http: hs, hc: &http.Client{Transport: tr, Timeout: wait}}
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		tr.CloseIdleConnections()
		cancel()
		select {
		case err := <-runDone:
			if err != nil {
				t.Errorf("engine run: %v", err)
			}
		case <-time.After(wait):
			t.Error("engine did not stop")
		}
	})
	return f
}

// wsClient is a minimal Engine.IO 4 / Socket.IO 5 client over WebSocket: enough to see the exact
// frames the server writes.
type wsClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan string // text frames other than pings, in order
	done   chan struct{}
	nextID int

	mu      sync.Mutex
	events  []string // frames taken from frames but not yet asked for
	readErr error    // why the connection ended
}

func (f *fixture) wsURL() string {
	return "ws" + strings.TrimPrefix(f.http.URL, "http") + Path + "?EIO=4&transport=websocket"
}

// dialWS opens a WebSocket Engine.IO connection without joining a namespace.
func (f *fixture) dialWS(t *testing.T) *wsClient {
	t.Helper()
	return f.dialWSHeader(t, nil)
}

// dialWSHeader is dialWS with extra request headers.
func (f *fixture) dialWSHeader(t *testing.T, h http.Header) *wsClient {
	t.Helper()
	return f.dial(t, f.wsURL(), h)
}

// dialWSQuery is dialWS with extra query parameters ("&name=value").
func (f *fixture) dialWSQuery(t *testing.T, query string) *wsClient {
	t.Helper()
	return f.dial(t, f.wsURL()+query, nil)
}

func (f *fixture) dial(t *testing.T, u string, h http.Header) *wsClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: wait}
	conn, resp, err := d.Dial(u, h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	c := &wsClient{t: t, conn: conn, frames: make(chan string, 1<<14), done: make(chan struct{})}
	go c.read()
	t.Cleanup(c.close)
	open := c.next()
	if !strings.HasPrefix(open, "0{") {
		t.Fatalf("open packet = %q", open)
	}
	return c
}

// connect joins /monitoring with auth (nil: none) and returns the CONNECT or CONNECT_ERROR answer.
func (c *wsClient) connect(nsp string, auth map[string]any) string {
	c.t.Helper()
	msg := "40" + nsp + ","
	if auth != nil {
		b, _ := json.Marshal(auth)
		msg += string(b)
	}
	c.send(msg)
	for {
		fr := c.next()
		if strings.HasPrefix(fr, "40"+nsp+",") || strings.HasPrefix(fr, "44"+nsp+",") {
			return fr
		}
	}
}

// dialMonitoring opens a connection on /monitoring and checks it was accepted.
func (f *fixture) dialMonitoring(t *testing.T, auth map[string]any) *wsClient {
	t.Helper()
	c := f.dialWS(t)
	if ans := c.connect(Namespace, auth); !strings.HasPrefix(ans, "40"+Namespace+",{") {
		t.Fatalf("connect answer = %q", ans)
	}
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	defer close(c.frames)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		s := string(b)
		if s == "2" { // Engine.IO ping
			_ = c.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		c.frames <- s
	}
}

func (c *wsClient) close() {
	_ = c.conn.Close()
	<-c.done
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next frame, failing the test after the deadline.
func (c *wsClient) next() string {
	c.t.Helper()
	select {
	case fr, ok := <-c.frames:
		if !ok {
			c.mu.Lock()
			err := c.readErr
			c.mu.Unlock()
			c.t.Fatalf("connection closed: %v", err)
		}
		return fr
	case <-time.After(wait):
		c.t.Fatal("no frame before the deadline")
	}
	return ""
}

// closed reports whether the server closed the connection before the deadline.
func (c *wsClient) closed(d time.Duration) bool {
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// emit sends an event with an ack id and returns the id.
func (c *wsClient) emit(event string, payload any) int {
	c.t.Helper()
	args := []any{event}
	if payload != nil {
		args = append(args, payload)
	}
	b, err := json.Marshal(args)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nextID++
	c.send("42" + Namespace + "," + strconv.Itoa(c.nextID) + string(b))
	return c.nextID
}

// emitRaw sends an event frame whose argument list is given as raw JSON (after the name).
func (c *wsClient) emitRaw(event, rawArgs string) int {
	c.t.Helper()
	c.nextID++
	name, _ := json.Marshal(event)
	c.send("42" + Namespace + "," + strconv.Itoa(c.nextID) + "[" + string(name) + rawArgs + "]")
	return c.nextID
}

// ack waits for the ack of id and returns its first argument.
func (c *wsClient) ack(id int) map[string]any {
	c.t.Helper()
	prefix := "43" + Namespace + "," + strconv.Itoa(id) + "["
	for {
		fr := c.take(func(fr string) bool { return strings.HasPrefix(fr, prefix) })
		var args []map[string]any
		if err := json.Unmarshal([]byte(fr[len(prefix)-1:]), &args); err != nil || len(args) != 1 {
			c.t.Fatalf("ack %q: %v", fr, err)
		}
		return args[0]
	}
}

// event waits for the next event called name and returns its whole frame.
func (c *wsClient) event(name string) string {
	c.t.Helper()
	nm, _ := json.Marshal(name)
	prefix := "42" + Namespace + ",[" + string(nm)
	return c.take(func(fr string) bool { return strings.HasPrefix(fr, prefix) })
}

// take returns the first frame, kept or new, that match accepts; others are kept.
func (c *wsClient) take(match func(string) bool) string {
	c.t.Helper()
	c.mu.Lock()
	for i, fr := range c.events {
		if match(fr) {
			c.events = append(c.events[:i], c.events[i+1:]...)
			c.mu.Unlock()
			return fr
		}
	}
	c.mu.Unlock()
	for {
		fr := c.next()
		if match(fr) {
			return fr
		}
		c.mu.Lock()
		c.events = append(c.events, fr)
		c.mu.Unlock()
	}
}

// eventData decodes the argument of an event frame.
func eventData(t *testing.T, frame string) map[string]any {
	t.Helper()
	i := strings.IndexByte(frame, '[')
	var args []json.RawMessage
	if i < 0 || json.Unmarshal([]byte(frame[i:]), &args) != nil || len(args) < 2 {
		t.Fatalf("event frame %q", frame)
	}
	var m map[string]any
	if err := json.Unmarshal(args[1], &m); err != nil {
		t.Fatalf("event data %s: %v", args[1], err)
	}
	return m
}

// pollClient is a minimal Engine.IO 4 long-polling client.
type pollClient struct {
	t   *testing.T
	f   *fixture
	sid string
	buf []string
}

func (f *fixture) dialPolling(t *testing.T, auth map[string]any) *pollClient {
	t.Helper()
	p := &pollClient{t: t, f: f}
	body := p.get("")
	if !strings.HasPrefix(body, "0{") {
		t.Fatalf("polling open = %q", body)
	}
	var open struct{ Sid string }
	if err := json.Unmarshal([]byte(body[1:]), &open); err != nil {
		t.Fatal(err)
	}
	p.sid = open.Sid
	msg := "40" + Namespace + ","
	if auth != nil {
		b, _ := json.Marshal(auth)
		msg += string(b)
	}
	p.post(msg)
	if fr := p.take(func(s string) bool { return strings.HasPrefix(s, "40"+Namespace) }); !strings.HasPrefix(fr, "40"+Namespace+",{") {
		t.Fatalf("polling connect answer = %q", fr)
	}
	t.Cleanup(func() { p.postQuiet("1") })
	return p
}

func (p *pollClient) url() string {
	u := p.f.http.URL + Path + "?EIO=4&transport=polling"
	if p.sid != "" {
		u += "&sid=" + url.QueryEscape(p.sid)
	}
	return u
}

func (p *pollClient) get(_ string) string {
	p.t.Helper()
	resp, err := p.f.hc.Get(p.url())
	if err != nil {
		p.t.Fatalf("poll: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		p.t.Fatalf("poll: %d %q %v", resp.StatusCode, b, err)
	}
	return string(b)
}

func (p *pollClient) post(body string) {
	p.t.Helper()
	if err := p.postErr(body); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pollClient) postQuiet(body string) { _ = p.postErr(body) }

func (p *pollClient) postErr(body string) error {
	resp, err := p.f.hc.Post(p.url(), "text/plain;charset=UTF-8", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post: %d %q", resp.StatusCode, b)
	}
	return nil
}

// take polls until a packet that match accepts arrives; the others are kept.
func (p *pollClient) take(match func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		for i, s := range p.buf {
			if match(s) {
				p.buf = append(p.buf[:i], p.buf[i+1:]...)
				return s
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatal("polling: no matching packet before the deadline")
		}
		for _, pkt := range strings.Split(p.get(""), "\x1e") {
			if pkt == "2" { // ping
				p.post("3")
				continue
			}
			if pkt != "" && pkt != "6" {
				p.buf = append(p.buf, pkt)
			}
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not before the deadline", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
