package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested() // children are started through this binary re-executed as a shim
	// The Socket.IO library's timers (utils.SetTimeout: connect, heartbeat and upgrade timeouts)
	// each hold a goroutine until they fire or are cleared; when the machine is loaded, one of a
	// connection closed in the middle of its handshake can still be waiting at the end of the
	// run (seen before our WebSocket writer existed too). They are the library's, not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/zishang520/socket.io/v3/pkg/utils.SetTimeout.func1"))
}

// env is a real engine (its own config and data dir) running, and a real Server on a free
// loopback port serving it.
type env struct {
	t      *testing.T
	eng    *engine.Engine
	srv    *Server
	base   string // http://127.0.0.1:PORT
	port   int
	token  string
	socket *fakeSocket // nil when the real Socket.IO server is used
	client *http.Client
	cfg    string
}

type envOptions struct {
	settings   *registry.Settings
	getenv     func(string) string // engine and server (CORS_ORIGINS, MCPWATCH_TOKEN); default: nothing set
	ui         fs.FS
	realSocket bool // use the default backend/socketio server instead of the recording fake
	// listen overrides the bind (the non-loopback tests hand in a loopback listener with a
	// non-loopback host name).
	host string
}

// fakeSocket stands in for the Socket.IO server where a test only needs to see whether the
// guard let a request through: it answers 200 "reached" and counts.
type fakeSocket struct {
	reached atomic.Int64
	closed  atomic.Bool
	require func() bool
}

func (f *fakeSocket) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.reached.Add(1)
		_, _ = io.WriteString(w, "reached")
	})
}

func (f *fakeSocket) Close() { f.closed.Store(true) }

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config", "config.json")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if o.settings != nil {
		b, err := json.Marshal(registry.Config{Servers: []registry.ServerDef{}, Settings: *o.settings})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getenv := o.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	eng, err := engine.Open(engine.Options{
		ConfigPath: cfg,
		DataDir:    filepath.Join(dir, "data"),
		Version:    "test-1.0",
		Getenv:     getenv,
		Logger:     quietLogger(),
		StopGrace:  2 * time.Second,
	})
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- eng.Run(ctx) }()

	e := &env{t: t, eng: eng, token: eng.Token(), cfg: cfg}
	opts := Options{Host: "127.0.0.1", Port: -1, UI: o.ui, Logger: quietLogger(), Getenv: getenv}
	if !o.realSocket {
		e.socket = &fakeSocket{}
		opts.Socket = func(_ *engine.Engine, require func() bool) (SocketServer, error) {
			e.socket.require = require
			return e.socket, nil
		}
	}
	var srv *Server
	if o.host != "" {
		ln, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr != nil {
			t.Fatal(lerr)
		}
		srv, err = newServer(eng, opts, ln, o.host)
	} else {
		srv, err = Listen(eng, opts)
	}
	if err != nil {
		cancel()
		<-runDone
		t.Fatalf("Listen: %v", err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ctx) }()
	e.srv = srv
	e.port = srv.Addr().(*net.TCPAddr).Port
	e.base = fmt.Sprintf("http://127.0.0.1:%d", e.port)
	e.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		cancel()
		if err := <-serveDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := <-runDone; err != nil {
			t.Errorf("engine Run: %v", err)
		}
	})
	return e
}

// response is what a test looks at.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errCode is error.code of an error body ("" when there is none).
func (r response) errCode() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r response) errMessage() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// req sends one request; headers "Host" sets the Host header. A body of type string or []byte
// is sent as it is, anything else as JSON.
func (e *env) req(method, path string, body any, headers map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	resp, err := e.client.Do(r)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// api sends a request with the token.
func (e *env) api(method, path string, body any) response {
	e.t.Helper()
	return e.req(method, path, body, map[string]string{"Authorization": "Bearer " + e.token})
}

// raw writes a request by hand (WebSocket upgrades) and reads the status and body.
func (e *env) raw(request string) response {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", e.srv.Addr().String(), 10*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ = io.ReadAll(resp.Body)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// rawWhileWriting sends head, then body from another goroutine (the server may answer and close
// before the body is all written), and reads the answer.
func (e *env) rawWhileWriting(head, body string) response {
	e.t.Helper()
	conn, err := net.DialTimeout("tcp", e.srv.Addr().String(), 10*time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = io.WriteString(conn, head+body) // fails once the server closes: expected
	}()
	defer func() {
		conn.Close()
		<-wrote
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// wsUpgrade is a WebSocket upgrade request of Engine.IO, as a browser sends it.
func wsUpgrade(host, query string, extra map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET /socket.io/?EIO=4&transport=websocket%s HTTP/1.1\r\n", query)
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	b.WriteString("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n")
	b.WriteString("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
	for k, v := range extra {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	return b.String()
}

// eventually polls cond until it holds or the deadline passes (generous: a loaded 2-core machine).
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
