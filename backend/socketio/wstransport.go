package socketio

import (
	"errors"
	"net"
	"sync"
	"time"

	ws "github.com/gorilla/websocket"
	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3/transports"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// wsBuilder makes the Engine.IO "websocket" transport: the library's own, registered through
// the library's transport option, with another writer (wsTransport.Send).
type wsBuilder struct{ transports.WebSocketBuilder }

func (*wsBuilder) New(ctx *types.HttpContext) transports.Transport { return newWSTransport(ctx) }

// wsTransport is the library's WebSocket transport (reading, upgrade, close: all unchanged) with
// another writer. The library's writer hands every Send to a goroutine started for that burst,
// which then grows its stack through the write path, and copies every packet into a fresh
// buffer: in a profile of 50 sockets × 1 000 lines/s that was a third of the monitor's CPU. This
// one writes in the caller's goroutine (mostly our per-socket writer, which waits for the write
// anyway), each frame with one writev of its header and the bytes framed once for every socket
// (packet.Options.WsPreEncodedFrame): no goroutine switch, no copy, no allocation.
//
// Send runs inside the socket's flush, which holds the socket's flush lock: whatever another
// goroutine buffers meanwhile waits for that lock and is then flushed by that goroutine. So the
// transport stays writable and never emits "ready" (which would flush again under that same
// lock); it emits "drain" after each Send, as the library's does. A write that makes no progress
// for writeTimeout (a peer that stopped reading) fails and closes the connection, so that what
// waits behind it (the heartbeat, acks) does not wait for ever. Compression is never negotiated
// (the server does not enable permessage-deflate); were it, the library's own writer would be used.
type wsTransport struct {
	transports.Websocket
	conn *types.WebSocketConn
	mu   sync.Mutex // one write at a time: an upgrade's probe pong comes from the reader
}

// writeTimeout bounds one Send. Well above the heartbeat (25 s + 20 s): a peer that has read
// nothing for this long is gone, or stalled for good.
const writeTimeout = time.Minute

func newWSTransport(ctx *types.HttpContext) *wsTransport {
	t := &wsTransport{Websocket: transports.MakeWebSocket(), conn: ctx.Websocket}
	t.Prototype(t) // the library's base transport calls our methods
	t.Construct(ctx)
	return t
}

// Send writes packets, one WebSocket message each, before it returns.
func (t *wsTransport) Send(packets []*packet.Packet) {
	if t.PerMessageDeflate() != nil {
		t.Websocket.Send(packets)
		return
	}
	t.mu.Lock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	t.write(packets)
	t.mu.Unlock()
	// Also after an error, as the library does: the socket's callbacks run, and the error closes
	// the connection.
	t.Emit("drain")
}

// write sends each packet as one WebSocket message; it stops at the first error.
func (t *wsTransport) write(packets []*packet.Packet) {
	for _, p := range packets {
		mt, data, err := t.encode(p)
		if err == nil {
			err = t.conn.WriteMessage(mt, data)
		}
		if err != nil {
			t.fail(err)
			return
		}
	}
}

// encode returns the message of p: its pre-encoded frame when it has one, else the library's
// encoding.
func (t *wsTransport) encode(p *packet.Packet) (int, []byte, error) {
	if p.Options != nil && p.Options.WsPreEncodedFrame != nil {
		f := p.Options.WsPreEncodedFrame
		if _, ok := f.(*types.StringBuffer); ok {
			return ws.TextMessage, f.Bytes(), nil
		}
		return ws.BinaryMessage, f.Bytes(), nil
	}
	data, err := t.Parser().EncodePacket(p, t.SupportsBinary())
	if err != nil {
		return 0, nil, err
	}
	if _, ok := data.(*types.StringBuffer); ok {
		return ws.TextMessage, data.Bytes(), nil
	}
	return ws.BinaryMessage, data.Bytes(), nil
}

// fail reports a write error as the library's transport does: a closed connection closes the
// transport, anything else is a transport error (which closes it too).
func (t *wsTransport) fail(err error) {
	if ws.IsUnexpectedCloseError(err) || errors.Is(err, net.ErrClosed) {
		t.conn.Emit("close")
		return
	}
	t.conn.Emit("error", err)
}
