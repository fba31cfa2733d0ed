package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

func openEngine(t testing.TB) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	eng, err := engine.Open(engine.Options{
		ConfigPath: filepath.Join(dir, "config.json"),
		DataDir:    filepath.Join(dir, "data"),
		Getenv:     func(string) string { return "" },
		Logger:     quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

func fakeFactory(f *fakeSocket) SocketFactory {
	return func(_ *engine.Engine, require func() bool) (SocketServer, error) {
		f.require = require
		return f, nil
	}
}

// TestListen: the port is bound at Listen (a taken port is the error main prints), URL names the
// bound host and the real port, Serve stops cleanly with its context and closes the socket server.
func TestListen(t *testing.T) {
	eng := openEngine(t)

	t.Run("port in use", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		port := taken.Addr().(*net.TCPAddr).Port
		_, err = Listen(eng, Options{Host: "127.0.0.1", Port: port, Socket: fakeFactory(&fakeSocket{})})
		want := fmt.Sprintf("listen 127.0.0.1:%d: address already in use", port)
		if err == nil || err.Error() != want {
			t.Fatalf("err %v, want %q", err, want)
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("err %v does not match EADDRINUSE", err)
		}
	})

	t.Run("bad port", func(t *testing.T) {
		if _, err := Listen(eng, Options{Port: 70000, Socket: fakeFactory(&fakeSocket{})}); err == nil {
			t.Fatal("port 70000 accepted")
		}
	})

	t.Run("socket factory failure", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Listen(eng, Options{Port: -1, Socket: func(*engine.Engine, func() bool) (SocketServer, error) { return nil, boom }})
		if !errors.Is(err, boom) {
			t.Fatalf("err %v, want boom", err)
		}
	})

	t.Run("serve and stop", func(t *testing.T) {
		sock := &fakeSocket{}
		s, err := Listen(eng, Options{Port: -1, Socket: fakeFactory(sock), Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		port := s.Addr().(*net.TCPAddr).Port
		if port == 0 || s.URL() != fmt.Sprintf("http://127.0.0.1:%d", port) {
			t.Fatalf("URL %q, port %d", s.URL(), port)
		}
		if sock.require() {
			t.Error("requireToken() on a loopback bind with default settings")
		}
		// Bound before Serve: a connection is accepted by the kernel already.
		c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatalf("not bound after Listen: %v", err)
		}
		c.Close()

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		resp, err := client.Get(s.URL() + "/api/v1/health")
		if err != nil {
			t.Fatalf("health while serving: %v", err)
		}
		resp.Body.Close()
		if on, why := s.ExternalAccess(); !on {
			t.Errorf("ExternalAccess = false (%s) while serving", why)
		}
		if err := s.Serve(ctx); !errors.Is(err, ErrServing) {
			t.Errorf("second Serve: %v, want ErrServing", err)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve returned %v after a clean stop", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
		if !sock.closed.Load() {
			t.Error("the socket server was not closed")
		}
		if on, why := s.ExternalAccess(); on || why == "" {
			t.Errorf("ExternalAccess after stop = %v %q", on, why)
		}
		if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
			t.Error("still accepting after Serve returned")
		}
	})

	t.Run("close without serving", func(t *testing.T) {
		sock := &fakeSocket{}
		s, err := Listen(eng, Options{Port: -1, Socket: fakeFactory(sock)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if !sock.closed.Load() {
			t.Error("the socket server was not closed")
		}
		if err := s.Serve(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Serve after Close: %v, want ErrClosed", err)
		}
	})
}

// TestRealSocketServer runs the default Socket.IO server (backend/socketio) behind the guard: an
// Engine.IO handshake over polling and a WebSocket upgrade from an allowed origin work, a
// foreign origin is refused before the library sees it.
func TestRealSocketServer(t *testing.T) {
	e := newEnv(t, envOptions{realSocket: true})
	host := fmt.Sprintf("127.0.0.1:%d", e.port)

	r := e.req("GET", "/socket.io/?EIO=4&transport=polling", nil, map[string]string{"Origin": "http://localhost:3000"})
	if r.status != 200 || !strings.HasPrefix(string(r.body), "0{") {
		t.Fatalf("polling handshake: %d %s", r.status, r.body)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "http://localhost:3000" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(r.body[1:], &hs); err != nil || hs.SID == "" {
		t.Fatalf("handshake %s: %v", r.body, err)
	}

	cases := []struct {
		name string
		req  string
		want int
	}{
		{"websocket allowed origin", wsUpgrade(host, "", map[string]string{"Origin": "http://localhost:3000"}), 101},
		{"websocket foreign origin", wsUpgrade(host, "", map[string]string{"Origin": "http://evil.example"}), 403},
		{"upgrade of the session from a foreign origin", wsUpgrade(host, "&sid="+hs.SID, map[string]string{"Origin": "http://evil.example"}), 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := e.raw(c.req); r.status != c.want {
				t.Fatalf("status %d, want %d; %s", r.status, c.want, r.body)
			}
		})
	}
}
