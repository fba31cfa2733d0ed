package socketio

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	socket "github.com/zishang520/socket.io/servers/socket/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"

	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/session"
)

// maxInFlight is how many writes of one socket may wait for their transport at once. Past it the
// writer stops taking messages from the hub, whose bounded queue then drops the oldest log
// entries of that socket alone and reports them (process:logs:dropped). Two rather than one
// because the library may report a write done one flush late (after a polling → websocket
// upgrade, or when an ack's flush takes our packet); drainWait covers anything worse.
const maxInFlight = 2

// stats are counters for tests and debugging.
type stats struct {
	connections   atomic.Uint64
	framesBuilt   atomic.Uint64 // distinct messages framed: one per message, whatever the sockets
	framesWritten atomic.Uint64 // frames handed to a socket
	drainTimeouts atomic.Uint64 // writes assumed done after drainWait
}

// conn is one socket on /monitoring with its session.
type conn struct {
	srv     *Server
	sock    *socket.Socket
	sess    *session.Session
	ctx     context.Context // ends at disconnect
	cancel  context.CancelFunc
	endOnce sync.Once
}

func newConn(s *Server, sk *socket.Socket, sess *session.Session) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{srv: s, sock: sk, sess: sess, ctx: ctx, cancel: cancel}
}

// end is called once the socket is gone: the writer stops and the session leaves every room.
func (c *conn) end(reason string) {
	c.endOnce.Do(func() {
		c.cancel()
		c.sess.Close()
		c.srv.remove(c)
		c.srv.log.Debug("socket.io disconnected", "client", string(c.sock.Id()), "reason", reason)
	})
}

// onEvent handles every client event (OnAny). The library calls it on the socket's own task
// queue, one event after the other in arrival order.
func (c *conn) onEvent(args ...any) {
	if len(args) == 0 {
		return
	}
	event := eventName(args[0])
	rest := args[1:]
	var ack socket.Ack
	if n := len(rest); n > 0 {
		if a, ok := rest[n-1].(socket.Ack); ok {
			ack, rest = a, rest[:n-1]
		}
	}
	var payload []byte
	if len(rest) > 0 {
		// The first argument as the client sent it, re-encoded; a non-object reaches the
		// session too, which refuses it with INVALID_PAYLOAD.
		b, err := json.Marshal(rest[0])
		if err != nil {
			b = []byte(`"unencodable payload"`)
		}
		payload = b
	}
	// A subscribe racing the disconnect cannot leave the closed session in a room: the hub's
	// Close and Subscribe see to that.
	res := c.sess.Handle(event, payload)
	if ack != nil {
		ack([]any{map[string]any(res)}, nil)
	}
}

func eventName(v any) string {
	switch e := v.(type) {
	case string:
		return e
	case float64:
		return strconv.FormatFloat(e, 'f', -1, 64)
	}
	return ""
}

// writeLoop is the one writer of the socket: it takes what the session's hub client has queued
// and writes it, until the socket disconnects. It waits for the transport to report earlier writes
// done (at most maxInFlight outstanding), so a socket that reads slowly loses its own oldest
// entries in the hub instead of growing the library's unbounded write buffer.
func (c *conn) writeLoop() {
	defer c.srv.wg.Done()
	done := make(chan struct{}, maxInFlight)
	signal := func(transports.Transport) {
		select {
		case done <- struct{}{}:
		default: // a late report after drainWait gave up on it
		}
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	inFlight := 0
	for {
	collect:
		for inFlight > 0 {
			select {
			case <-done:
				inFlight--
			default:
				break collect
			}
		}
		for inFlight >= maxInFlight {
			if timer == nil {
				timer = time.NewTimer(drainWait)
			} else {
				timer.Reset(drainWait)
			}
			select {
			case <-done:
				inFlight--
			case <-c.ctx.Done():
				return
			case <-timer.C:
				c.srv.stats.drainTimeouts.Add(1)
				inFlight = 0
			}
			timer.Stop()
		}
		msgs, err := c.sess.Client().Next(c.ctx)
		if err != nil {
			return // ctx ended or session closed: the socket is gone
		}
		if len(msgs) == 0 {
			continue
		}
		c.write(msgs, signal)
		inFlight++
	}
}

// write hands msgs to the Engine.IO socket, the last one with cb, which the transport calls once
// the batch is written. Each message is framed once (Message.Frame) and the same bytes go to
// every socket: on WebSocket as the pre-encoded frame our transport writes as it is
// (wsTransport), on polling as the packet's data.
func (c *conn) write(msgs []*hub.Message, cb func(transports.Transport)) {
	ec := c.sock.Conn()
	for i, m := range msgs {
		frame := m.Frame(c.srv.buildFrame)
		var done func(transports.Transport)
		if i == len(msgs)-1 {
			done = cb
		}
		// The capacity is clipped so that nothing can ever append into the shared frame.
		frame = frame[:len(frame):len(frame)]
		opts := &packet.Options{WsPreEncodedFrame: types.NewStringBuffer(frame)}
		// Engine.IO adds the "4" (message) itself on polling.
		ec.Write(types.NewStringBuffer(frame[1:]), opts, done)
		c.srv.stats.framesWritten.Add(1)
	}
}
