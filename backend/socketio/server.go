// Package socketio serves the monitoring protocol (shared/docs/protocol.md, and PROTOCOL.md beside
// this file) over Socket.IO v4 on the namespace /monitoring, on top of
// github.com/zishang520/socket.io. It only translates: every client event goes to a
// session.Session, and what the session's hub client queues is written out by one writer
// goroutine per socket, each message framed once and shared by every socket that gets it.
//
// The HTTP guard in front of the handler (package httpapi) enforces the Host and Origin rules;
// this package checks the token of the handshake.
package socketio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	socket "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/session"
)

// Namespace is the only namespace clients may connect to.
const Namespace = "/monitoring"

// Path is where the handler expects to be mounted.
const Path = "/socket.io/"

// MaxFrameBytes is the largest Engine.IO message accepted (the library closes the connection
// above it). It is well above the protocol's 1 MB payload limit, so that a payload a little over
// that limit reaches the session and is refused with ok:false while the connection stays up.
const MaxFrameBytes = 2 << 20

// Error messages of a refused connection (connect_error's err.message).
const (
	ErrMsgUnauthorized     = "UNAUTHORIZED"
	ErrMsgInvalidNamespace = "Invalid namespace"
	ErrMsgShuttingDown     = "SHUTTING_DOWN"
)

// ErrNilEngine is returned by New without an engine.
var ErrNilEngine = errors.New("socketio: nil engine")

// Options configure the server.
type Options struct {
	// RequireToken says, at each handshake, whether a connection must present the token even to
	// subscribe (settings.requireToken, or a non-loopback bind). Nil means never.
	RequireToken func() bool
	Logger       *slog.Logger
}

// Server is the Socket.IO endpoint.
type Server struct {
	eng     *engine.Engine
	opts    Options
	log     *slog.Logger
	io      *socket.Server
	handler http.Handler

	mu     sync.Mutex
	closed bool
	conns  map[*conn]struct{}
	wg     sync.WaitGroup // writer goroutines

	gates      sync.Map                  // Engine.IO id → *gate
	buildFrame func(*hub.Message) []byte // s.frame, made once
	stats      stats
}

// New builds the server; nothing listens until Handler is mounted.
func New(eng *engine.Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, ErrNilEngine
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RequireToken == nil {
		opts.RequireToken = func() bool { return false }
	}
	s := &Server{eng: eng, opts: opts, log: opts.Logger, conns: map[*conn]struct{}{}}
	s.buildFrame = s.frame

	so := socket.DefaultServerOptions()
	so.SetPath(strings.TrimSuffix(Path, "/"))
	so.SetServeClient(false)
	so.SetAllowEIO3(true)
	so.SetMaxHttpBufferSize(MaxFrameBytes)
	so.SetTransports(types.NewSet[socket.TransportCtor](socket.Polling, &wsBuilder{}))
	so.SetAllowUpgrades(true)
	// No Cors: the guard in front answers CORS for the allowed origins only.

	s.io = socket.NewServer(nil, so)
	// Only /monitoring: the default namespace exists in the library, so refuse it explicitly
	// (Engine.IO 3 clients are put in it implicitly; they are left there idle).
	s.io.Sockets().Use(func(sk *socket.Socket, next func(*socket.ExtendedError)) {
		if sk.Conn().Protocol() == 3 {
			next(nil)
			return
		}
		next(socket.NewExtendedError(ErrMsgInvalidNamespace, nil))
	})
	nsp := s.io.Of(Namespace, nil)
	nsp.Use(s.authenticate)
	if err := nsp.On("connection", s.onConnection); err != nil {
		return nil, fmt.Errorf("socketio: listen for connections: %w", err)
	}
	eio := s.io.ServeHandler(nil)
	if eio == nil || s.io.Engine() == nil {
		return nil, errors.New("socketio: the library made no handler")
	}
	s.handler = trustGuard(s.checkPolling(eio))
	if err := s.io.Engine().On("connection", s.onEngineConnection); err != nil {
		return nil, fmt.Errorf("socketio: listen for engine connections: %w", err)
	}
	return s, nil
}

// Handler serves Engine.IO at Path; mount it there behind the Host/Origin guard, which is the one
// place of the origin policy (the library would otherwise refuse every cross-origin WebSocket
// upgrade, including those from origins the guard allows, such as a dev UI on another port).
func (s *Server) Handler() http.Handler { return s.handler }

// trustGuard hands requests to the library without the Origin header of WebSocket upgrades: the
// guard in front has already checked it against the allow-list.
func trustGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Header["Origin"]; ok && websocket.IsWebSocketUpgrade(r) {
			r = r.Clone(r.Context())
			r.Header.Del("Origin")
		}
		next.ServeHTTP(w, r)
	})
}

// Close disconnects every socket and waits for their writer goroutines. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	s.mu.Unlock()
	if first {
		// Each socket's disconnect handler ends its session and writer; then every Engine.IO
		// connection (including those not yet in a namespace) is closed.
		s.io.Close(nil)
		s.mu.Lock()
		rest := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			rest = append(rest, c)
		}
		s.mu.Unlock()
		for _, c := range rest { // a socket the library did not report as closed
			c.end("server shutting down")
		}
	}
	s.wg.Wait()
}

type authData struct{ authorized bool }

// authenticate is the namespace middleware: the token of the handshake decides whether the
// connection is authorized (control actions) and whether it may connect at all.
func (s *Server) authenticate(sk *socket.Socket, next func(*socket.ExtendedError)) {
	err := s.check(sk)
	if err != nil {
		s.releaseGate(sk.Conn()) // nothing to wait for: the packets that follow are refused
	}
	next(err)
}

func (s *Server) check(sk *socket.Socket) *socket.ExtendedError {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return socket.NewExtendedError(ErrMsgShuttingDown, nil)
	}
	tok, present := handshakeToken(sk.Handshake())
	authorized := present && s.eng.CheckToken(tok)
	switch {
	case present && !authorized:
		s.log.Debug("socket.io handshake refused: wrong token", "client", string(sk.Id()))
		return socket.NewExtendedError(ErrMsgUnauthorized, map[string]any{"code": ErrMsgUnauthorized, "message": "the token is wrong"})
	case !authorized && s.opts.RequireToken():
		s.log.Debug("socket.io handshake refused: token required", "client", string(sk.Id()))
		return socket.NewExtendedError(ErrMsgUnauthorized, map[string]any{"code": ErrMsgUnauthorized, "message": "this server requires the token (auth: { token })"})
	}
	sk.SetData(authData{authorized: authorized})
	return nil
}

// handshakeToken finds the token of a handshake, in this order: auth.token (Engine.IO 4; for
// Engine.IO 3 clients the library fills auth from the namespace query), the token query
// parameter of the Engine.IO request (which the HTTP guard accepts too), an Authorization: Bearer
// header. The first one present decides. An empty value counts as absent; a value of another
// type counts as present (and wrong).
func handshakeToken(h *socket.Handshake) (string, bool) {
	if h == nil {
		return "", false
	}
	for _, v := range []any{h.Auth["token"], h.Query["token"]} {
		switch t := v.(type) {
		case nil:
		case string:
			if t != "" {
				return t, true
			}
		case []string:
			if len(t) > 0 && t[0] != "" {
				return t[0], true
			}
		default:
			return "", true
		}
	}
	if v := h.Headers.Header().Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		if t := strings.TrimSpace(v[7:]); t != "" {
			return t, true
		}
	}
	return "", false
}

// onConnection starts a session and its writer for a socket that passed authenticate.
func (s *Server) onConnection(args ...any) {
	sk, ok := args[0].(*socket.Socket)
	if !ok || sk == nil {
		return
	}
	ad, _ := sk.Data().(authData)
	transport := sk.Conn().Transport().Name()
	c := newConn(s, sk, session.New(s.eng, session.Info{ID: string(sk.Id()), Transport: transport, Authorized: ad.authorized}))

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.sess.Close()
		c.cancel()
		s.releaseGate(sk.Conn())
		sk.Disconnect(true)
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.connections.Add(1)

	// Listeners first: a disconnect may come at any moment from here on.
	_ = sk.On("disconnect", func(reason ...any) {
		r, _ := firstString(reason)
		c.end(r)
	})
	sk.OnAny(c.onEvent)
	_ = sk.Conn().Once("upgrade", func(...any) {
		c.sess.SetTransport(sk.Conn().Transport().Name())
	})
	if now := sk.Conn().Transport().Name(); now != transport { // upgraded before the listener
		c.sess.SetTransport(now)
	}
	c.sess.Welcome()
	go c.writeLoop()
	s.releaseGate(sk.Conn()) // the library has registered the socket: its packets may go on
	if sk.Disconnected() {   // closed before the listener was in place
		c.end("transport close")
	}
	s.log.Debug("socket.io connected", "client", string(sk.Id()), "transport", transport, "authorized", ad.authorized)
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func firstString(args []any) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	v, ok := args[0].(string)
	return v, ok
}

// drainWait bounds how long the writer waits for the transport to report a write done before it
// writes again anyway (see conn.writeLoop).
const drainWait = 10 * time.Second
