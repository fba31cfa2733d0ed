// Package session handles one client connection's protocol events (protocol.md section 2) on top
// of the hub and the engine. Socket.IO and the Wails bridge both hand it raw events and send what
// its hub client queues: the two paths cannot drift apart.
package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Rate limit of client events: a burst, then a steady rate per second.
const (
	burst       = 100
	perSecond   = 50
	maxRooms    = 1024
	controlWait = 30 * time.Second
)

// Info describes the connection.
type Info struct {
	ID         string
	Transport  string // "websocket" | "polling" | "wails"
	Authorized bool   // presented the token: control actions and env values allowed
}

// Session is one connection.
type Session struct {
	eng    *engine.Engine
	client *hub.Client
	info   Info
	since  time.Time

	mu     sync.Mutex // events of one connection are handled one at a time, in order
	tokens float64
	last   time.Time
}

// New registers a connection with the engine's hub.
func New(eng *engine.Engine, info Info) *Session {
	now := time.Now()
	return &Session{eng: eng, client: eng.Hub().NewClient(info.ID), info: info, since: now, tokens: burst, last: now}
}

// Client is the hub client whose messages the transport writes out.
func (s *Session) Client() *hub.Client { return s.client }

// Close leaves every room.
func (s *Session) Close() { s.client.Close() }

// SetTransport records an upgrade (polling → websocket).
func (s *Session) SetTransport(t string) {
	s.mu.Lock()
	s.info.Transport = t
	s.mu.Unlock()
}

// Welcome queues connection-established.
func (s *Session) Welcome() {
	s.client.Push(hub.NewMessage(protocol.EvConnectionEstablished, protocol.Marshal(map[string]any{
		"clientId":      s.info.ID,
		"transport":     s.info.Transport,
		"serverVersion": s.eng.Version(),
		"timestamp":     protocol.Time(s.since),
	})))
}

func (s *Session) allow(now time.Time) bool {
	s.tokens = min(burst, s.tokens+now.Sub(s.last).Seconds()*perSecond)
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// Handle runs one client event and returns its ack. A refused event also queues a
// subscription-error; nothing is joined and the connection stays up.
func (s *Session) Handle(event string, payload []byte) protocol.Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.allow(now) {
		return s.fail(event, "", &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many events; slow down"})
	}
	switch event {
	case protocol.EvSubscribeMetrics:
		req, perr := protocol.DecodeSubscribeMetrics(payload)
		if perr != nil {
			return s.fail(event, "", perr)
		}
		if perr := s.checkJoin(req.ServerID, protocol.MetricsRoom(req.ServerID)); perr != nil {
			return s.fail(event, req.ServerID, perr)
		}
		room := protocol.MetricsRoom(req.ServerID)
		s.confirm(protocol.Confirmed{Room: room, ServerID: req.ServerID, Interval: req.Interval.Milliseconds(), Timestamp: protocol.Time(now)})
		s.client.SubscribeMetrics(req.ServerID, req.Interval)
		return protocol.OK(map[string]any{"room": room, "interval": req.Interval.Milliseconds()})

	case protocol.EvSubscribeLogs:
		req, perr := protocol.DecodeSubscribeLogs(payload)
		if perr != nil {
			return s.fail(event, "", perr)
		}
		if perr := s.checkJoin(req.ServerID, protocol.LogsRoom(req.ServerID)); perr != nil {
			return s.fail(event, req.ServerID, perr)
		}
		room := protocol.LogsRoom(req.ServerID)
		s.confirm(protocol.Confirmed{Room: room, ServerID: req.ServerID, Level: req.Level.String(), Timestamp: protocol.Time(now)})
		s.client.SubscribeLogs(req.ServerID, req.Level, req.Tail, req.Batch)
		return protocol.OK(map[string]any{"room": room, "level": req.Level.String()})

	case protocol.EvUnsubscribe:
		req, perr := protocol.DecodeUnsubscribe(payload)
		if perr != nil {
			return s.fail(event, "", perr)
		}
		rooms := []string{req.Room}
		if req.Room == "" {
			switch req.Type {
			case "metrics":
				rooms = []string{protocol.MetricsRoom(req.ServerID)}
			case "logs":
				rooms = []string{protocol.LogsRoom(req.ServerID)}
			default:
				rooms = []string{protocol.MetricsRoom(req.ServerID), protocol.LogsRoom(req.ServerID)}
			}
		}
		for _, r := range rooms {
			s.client.Unsubscribe(r)
		}
		ts := protocol.Time(now)
		s.client.Push(hub.NewMessage(protocol.EvUnsubscriptionDone, protocol.Marshal(map[string]any{"rooms": rooms, "timestamp": ts})))
		return protocol.OK(map[string]any{"rooms": rooms})

	case protocol.EvSubscribeStatus:
		if perr := protocol.DecodeEmpty(payload); perr != nil {
			return s.fail(event, "", perr)
		}
		if perr := s.checkJoin("", protocol.RoomStatus); perr != nil {
			return s.fail(event, "", perr)
		}
		s.confirm(protocol.Confirmed{Room: protocol.RoomStatus, Timestamp: protocol.Time(now)})
		s.client.SubscribeStatus()
		return protocol.OK(map[string]any{"room": protocol.RoomStatus})

	case protocol.EvSubscribeSystem:
		req, perr := protocol.DecodeSubscribeSystem(payload)
		if perr != nil {
			return s.fail(event, "", perr)
		}
		if perr := s.checkJoin("", protocol.RoomSystem); perr != nil {
			return s.fail(event, "", perr)
		}
		s.confirm(protocol.Confirmed{Room: protocol.RoomSystem, Interval: req.Interval.Milliseconds(), Timestamp: protocol.Time(now)})
		s.client.SubscribeSystem(req.Interval)
		return protocol.OK(map[string]any{"room": protocol.RoomSystem, "interval": req.Interval.Milliseconds()})

	case protocol.EvStartServer, protocol.EvStopServer, protocol.EvRestartServer:
		return s.control(event, payload)

	case protocol.EvCallTool:
		return s.callTool(event, payload)

	case protocol.EvPing:
		s.client.Push(hub.NewMessage(protocol.EvPong, protocol.Marshal(map[string]any{
			"timestamp": protocol.Time(now), "serverTime": now.UnixMilli(),
		})))
		return protocol.OK(map[string]any{"timestamp": protocol.Time(now), "serverTime": now.UnixMilli()})

	case protocol.EvGetConnectionStatus:
		st := map[string]any{
			"clientId":      s.info.ID,
			"transport":     s.info.Transport,
			"connectedAt":   protocol.Time(s.since),
			"subscriptions": s.client.Rooms(),
		}
		s.client.Push(hub.NewMessage(protocol.EvConnectionStatus, protocol.Marshal(st)))
		return protocol.OK(st)
	}
	return s.fail(event, "", &protocol.Error{Code: protocol.CodeUnknownEvent, Message: "unknown event " + quote(event)})
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + s + `"`
}

// checkJoin refuses unknown servers and too many rooms.
func (s *Session) checkJoin(serverID, room string) *protocol.Error {
	if serverID != "" && !s.eng.Exists(serverID) {
		return &protocol.Error{Code: protocol.CodeUnknownServer, Message: "unknown server " + quote(serverID)}
	}
	if !s.client.InRoom(room) && len(s.client.Rooms()) >= maxRooms {
		return &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many subscriptions on one connection"}
	}
	return nil
}

func (s *Session) confirm(c protocol.Confirmed) {
	s.client.Push(hub.NewMessage(protocol.EvSubscriptionConfirmed, protocol.Marshal(c)))
}

func (s *Session) fail(event, serverID string, e *protocol.Error) protocol.Ack {
	if len(event) > 64 {
		event = event[:64]
	}
	s.client.Push(hub.NewMessage(protocol.EvSubscriptionError, protocol.Marshal(protocol.SubscriptionError{
		Event: event, ServerID: serverID, Code: e.Code, Message: e.Message, Timestamp: protocol.Time(time.Now()),
	})))
	return protocol.Fail(e)
}

// control runs start-server, stop-server and restart-server for token holders.
func (s *Session) control(event string, payload []byte) protocol.Ack {
	req, perr := protocol.DecodeServerRef(payload)
	if perr != nil {
		return s.fail(event, "", perr)
	}
	if !s.info.Authorized {
		return s.fail(event, req.ServerID, errNeedsToken)
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlWait)
	defer cancel()
	var (
		st  engine.ServerState
		err error
	)
	switch event {
	case protocol.EvStartServer:
		st, err = s.eng.StartServer(req.ServerID)
	case protocol.EvStopServer:
		st, err = s.eng.StopServer(ctx, req.ServerID)
	default:
		st, err = s.eng.RestartServer(ctx, req.ServerID)
	}
	if err != nil {
		return s.fail(event, req.ServerID, s.refusal(req.ServerID, err))
	}
	return protocol.OK(map[string]any{"status": st.Status, "serverId": req.ServerID})
}

// errNeedsToken refuses a control action to a connection without the token.
var errNeedsToken = &protocol.Error{Code: protocol.CodeUnauthorized, Message: "control actions need the token (handshake auth: { token })"}

// refusal maps an engine error of a control action on serverID to the protocol's error.
func (s *Session) refusal(serverID string, err error) *protocol.Error {
	code := protocol.CodeInternal
	switch {
	case errors.Is(err, engine.ErrNotFound) && !s.eng.Exists(serverID):
		code = protocol.CodeUnknownServer
	case errors.Is(err, engine.ErrNotFound): // the server exists: what is missing is its tool
		code = protocol.CodeUnknownTool
	case errors.Is(err, engine.ErrConflict):
		code = protocol.CodeConflict
	case errors.Is(err, registry.ErrInvalid):
		code = protocol.CodeInvalidPayload
	case errors.Is(err, engine.ErrUpstream):
		code = protocol.CodeUpstream
	}
	return &protocol.Error{Code: code, Message: err.Error()}
}
