package socketio

import (
	"errors"
	"net"
	"sync"

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
// one long-lived writer goroutine per connection. The library's writer starts a goroutine for
// every burst of writes, which then grows its stack through the write path, and copies every
// packet into a fresh buffer: in a profile of 50 sockets × 1 000 lines/s that was a third of the
// monitor's CPU. This writer sends each frame with one writev of the frame header and the bytes
// we framed once for every socket (packet.Options.WsPreEncodedFrame): no copy, no allocation.
//
// Everything else keeps the library's semantics: Send never blocks, and after each Send's packets
// are written the transport emits "drain", becomes writable and emits "ready" (the socket then
// flushes what was buffered meanwhile). Compression is never negotiated (the server does not
// enable permessage-deflate); were it, the library's own writer would be used.
type wsTransport struct {
	transports.Websocket
	conn *types.WebSocketConn

	mu      sync.Mutex
	pending [][]*packet.Packet // Send calls not yet written, in order
	wake    chan struct{}
	done    chan struct{} // closed once the connection is closed
	stop    sync.Once
}

func newWSTransport(ctx *types.HttpContext) *wsTransport {
	t := &wsTransport{
		Websocket: transports.MakeWebSocket(),
		conn:      ctx.Websocket,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	t.Prototype(t) // the library's base transport calls our methods
	t.Construct(ctx)
	// Every way the connection ends (peer close, read error, DoClose, OnClose) emits "close" on
	// it, which ends the writer.
	_ = t.conn.Once("close", func(...any) { t.stop.Do(func() { close(t.done) }) })
	go t.writeLoop()
	return t
}

// Send queues packets for the writer; it never blocks.
func (t *wsTransport) Send(packets []*packet.Packet) {
	if t.PerMessageDeflate() != nil {
		t.Websocket.Send(packets)
		return
	}
	t.SetWritable(false)
	t.mu.Lock()
	t.pending = append(t.pending, packets)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *wsTransport) writeLoop() {
	for {
		select {
		case <-t.done:
			return
		case <-t.wake:
		}
		for {
			t.mu.Lock()
			sends := t.pending
			t.pending = nil
			t.mu.Unlock()
			if len(sends) == 0 {
				break
			}
			for _, packets := range sends {
				t.write(packets)
				// As the library's writer does after each Send, also after an error: the
				// socket's callbacks run, and the error closes the connection.
				t.Emit("drain")
				t.SetWritable(true)
				t.Emit("ready")
			}
		}
	}
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
