// Package httpapi serves the REST API (protocol.md section 6), the embedded web UI and the
// Socket.IO endpoint on one port, behind the security rules of protocol.md section 8: a
// loopback Host header, an Origin allow-list on every transport and the access token.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Limits and timeouts of the HTTP server.
const (
	// MaxBodyBytes is the largest request body accepted; more is 413.
	MaxBodyBytes      = 1 << 20
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// Errors of Serve.
var (
	ErrServing = errors.New("httpapi: already serving")
	ErrClosed  = errors.New("httpapi: server closed")
)

// SocketServer is the Socket.IO endpoint mounted at /socket.io/.
type SocketServer interface {
	Handler() http.Handler
	Close()
}

// SocketFactory makes the Socket.IO server. requireToken says, at each handshake, whether a
// connection must present the token (auth.token) even to subscribe.
type SocketFactory func(eng *engine.Engine, requireToken func() bool) (SocketServer, error)

// Options of Listen.
type Options struct {
	Host   string // "" → the settings' host (default 127.0.0.1)
	Port   int    // 0 → the settings' port (default 3001); -1 → any free port (tests)
	UI     fs.FS  // the built frontend (frontend/dist); nil → a page saying the UI is not built
	Logger *slog.Logger
	Getenv func(string) string // default os.Getenv (CORS_ORIGINS)
	// Socket makes the Socket.IO server; nil → the backend/socketio server. A factory that
	// returns a nil SocketServer leaves /socket.io/ unserved (404 behind the guard).
	Socket SocketFactory
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Socket == nil {
		o.Socket = defaultSocket(o.Logger)
	}
	return o
}

// Server is the bound HTTP endpoint.
type Server struct {
	eng    *engine.Engine
	log    *slog.Logger
	getenv func(string) string
	ln     net.Listener
	host   string // as bound, without brackets
	port   int    // the real port
	// nonLoopback: the bound host is not loopback, so every request needs the token.
	nonLoopback bool
	socket      SocketServer
	http        *http.Server
	handler     http.Handler

	mu      sync.Mutex
	serving bool
	closed  bool
	failure string // why external access ended, "" while it works
}

// Listen binds the address now (a port in use is an error, "listen 127.0.0.1:3001: address
// already in use") and prepares the handlers; Serve serves.
func Listen(eng *engine.Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("httpapi: nil engine")
	}
	settings := eng.Settings().WithDefaults()
	host := opts.Host
	if host == "" {
		host = settings.Host
	}
	port := opts.Port
	switch {
	case port == 0:
		port = settings.Port
	case port == -1:
		port = 0
	case port < 0 || port > 65535:
		return nil, fmt.Errorf("listen: port %d: must be between 1 and 65535", port)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	return newServer(eng, opts, ln, host)
}

// newServer serves on ln, which is bound to host (the host decides the loopback rules).
func newServer(eng *engine.Engine, opts Options, ln net.Listener, host string) (*Server, error) {
	opts = opts.withDefaults()
	s := &Server{
		eng:         eng,
		log:         opts.Logger,
		getenv:      opts.Getenv,
		ln:          ln,
		host:        host,
		port:        ln.Addr().(*net.TCPAddr).Port,
		nonLoopback: !isLoopbackHost(host),
	}
	sock, err := opts.Socket(eng, s.requireToken)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("socket.io server: %w", err)
	}
	s.socket = sock
	var sockHandler http.Handler
	if sock != nil {
		sockHandler = sock.Handler()
	}
	s.handler = s.routes(newUI(opts.UI), sockHandler)
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// listenError words a bind failure as "listen HOST:PORT: reason", keeping the cause for errors.Is.
func listenError(addr string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("listen %s: %w", addr, errno)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return fmt.Errorf("listen %s: %w", addr, op.Err)
	}
	return fmt.Errorf("listen %s: %w", addr, err)
}

// isLoopbackHost reports whether a listen host reaches this machine only: localhost or a
// loopback IP. Anything else (a name, 0.0.0.0, ::, a LAN address) is not.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireToken says whether every Socket.IO connection must present the token: when bound
// beyond loopback, or when the requireToken setting is on.
func (s *Server) requireToken() bool {
	return s.nonLoopback || s.eng.Settings().RequireToken
}

// URL is http://HOST:PORT with the host as bound and the real port.
func (s *Server) URL() string {
	return "http://" + net.JoinHostPort(s.host, strconv.Itoa(s.port))
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handler is the whole guarded handler (REST, UI, Socket.IO), for serving it elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// ExternalAccess says whether browsers and Socket.IO clients can reach the monitor over HTTP,
// and if not, why.
func (s *Server) ExternalAccess() (enabled bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.failure != "":
		return false, s.failure
	case s.closed:
		return false, "the HTTP server is stopped"
	}
	return true, ""
}

// Serve serves until ctx ends, then shuts down gracefully (the Socket.IO server first, so its
// long polls and hijacked WebSockets end) and returns nil. A serving error is returned.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.serving:
		s.mu.Unlock()
		return ErrServing
	}
	s.serving = true
	s.mu.Unlock()

	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()

	select {
	case err := <-errc: // Serve ended on its own: the listener failed
		s.closeSocket()
		s.setFailure(fmt.Sprintf("serve: %v", err))
		return fmt.Errorf("serve %s: %w", s.URL(), err)
	case <-ctx.Done():
	}
	s.closeSocket()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if err != nil {
		_ = s.http.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	s.markClosed()
	if err != nil {
		return fmt.Errorf("shut down %s: %w", s.URL(), err)
	}
	return nil
}

// Close releases a server that was never served, or stops one at once.
func (s *Server) Close() error {
	s.mu.Lock()
	serving := s.serving
	s.mu.Unlock()
	s.closeSocket()
	var err error
	if serving {
		err = s.http.Close()
	} else {
		err = s.ln.Close()
	}
	s.markClosed()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close %s: %w", s.URL(), err)
	}
	return nil
}

func (s *Server) closeSocket() {
	s.mu.Lock()
	sock := s.socket
	s.socket = nil
	s.mu.Unlock()
	if sock != nil {
		sock.Close()
	}
}

func (s *Server) markClosed() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *Server) setFailure(reason string) {
	s.mu.Lock()
	s.failure = reason
	s.closed = true
	s.mu.Unlock()
}

// allowedOrigins is the Origin allow-list now: the registry's list plus the server's own
// origins on the real port (which differs from the settings' port with --port or in tests).
func (s *Server) allowedOrigins() []string {
	list := registry.AllowedOrigins(s.eng.Settings(), s.getenv("CORS_ORIGINS"))
	p := strconv.Itoa(s.port)
	list = append(list, "http://localhost:"+p, "http://127.0.0.1:"+p, "http://[::1]:"+p)
	if s.nonLoopback {
		list = append(list, "http://"+net.JoinHostPort(s.host, p))
	}
	return list
}
