package socketio

import (
	"bytes"
	"sync"
	"time"

	"github.com/zishang520/socket.io/parsers/engine/v3/packet"
	"github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// gateWait bounds how long packets wait for a namespace connection to be registered.
const gateWait = 5 * time.Second

// gate works around a race of the library: it answers a namespace CONNECT (the client's
// "connect") before it records the new socket in the connection, and a packet for the namespace
// that arrives in between is taken for a protocol violation that closes the whole connection.
// The JavaScript server runs both steps without a break; here the reading goroutine can overtake
// them when a client emits right on connect (as the original UI does) on a loaded machine. So the
// gate holds packets for /monitoring from the moment their connection's CONNECT is read until
// the socket is registered (onConnection) or refused (authenticate), at most gateWait.
type gate struct {
	mu   sync.Mutex
	wait chan struct{} // non-nil while a CONNECT to Namespace is being handled
}

func (g *gate) connecting() {
	g.mu.Lock()
	if g.wait == nil {
		g.wait = make(chan struct{})
	}
	g.mu.Unlock()
}

func (g *gate) release() {
	g.mu.Lock()
	if g.wait != nil {
		close(g.wait)
		g.wait = nil
	}
	g.mu.Unlock()
}

func (g *gate) hold() {
	g.mu.Lock()
	w := g.wait
	g.mu.Unlock()
	if w == nil {
		return
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case <-w:
	case <-t.C:
	}
}

// onPacket runs for every Engine.IO packet before the library decodes it, on the reading
// goroutine of the connection.
func (g *gate) onPacket(args ...any) {
	p, ok := args[0].(*packet.Packet)
	if !ok || p == nil || p.Type != packet.MESSAGE {
		return
	}
	buf, ok := p.Data.(types.BufferInterface)
	if !ok {
		return
	}
	typ, nsp := packetNamespace(buf.Bytes()) // Bytes does not consume the buffer
	if nsp != Namespace {
		return
	}
	if typ == '0' {
		g.connecting()
		return
	}
	g.hold()
}

// packetNamespace reads the type and namespace of an encoded Socket.IO packet:
// <type>[<attachments>-][/<nsp>,]...; the default namespace is "/".
func packetNamespace(b []byte) (byte, string) {
	if len(b) == 0 {
		return 0, ""
	}
	typ, rest := b[0], b[1:]
	if typ == '5' || typ == '6' { // binary event or ack: attachment count and '-'
		if i := bytes.IndexByte(rest, '-'); i >= 0 {
			rest = rest[i+1:]
		}
	}
	if len(rest) == 0 || rest[0] != '/' {
		return typ, "/"
	}
	end := bytes.IndexAny(rest, ",?")
	if end < 0 {
		end = len(rest)
	}
	return typ, string(rest[:end])
}

// onEngineConnection puts a gate on every new Engine.IO connection.
func (s *Server) onEngineConnection(args ...any) {
	ec, ok := args[0].(engine.Socket)
	if !ok || ec == nil {
		return
	}
	g := &gate{}
	id := ec.Id()
	s.gates.Store(id, g)
	_ = ec.On("packet", g.onPacket)
	_ = ec.Once("close", func(...any) {
		s.gates.Delete(id)
		g.release()
	})
	if ec.ReadyState() == "closed" { // closed before the listener was in place
		s.gates.Delete(id)
	}
}

// releaseGate lets the held packets of an Engine.IO connection go on.
func (s *Server) releaseGate(ec engine.Socket) {
	if g, ok := s.gates.Load(ec.Id()); ok {
		g.(*gate).release()
	}
}
