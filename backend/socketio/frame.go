package socketio

import (
	"encoding/json"

	"github.com/mcpwatch/mcpwatch/backend/hub"
)

// framePrefix is an Engine.IO message ("4") carrying a Socket.IO EVENT ("2") of the namespace.
const framePrefix = "42" + Namespace + ","

// AppendFrame appends the Engine.IO message of an event: 42/monitoring,["event",data]. data must
// be JSON; empty data sends the event without an argument.
func AppendFrame(b []byte, event string, data []byte) []byte {
	name, err := json.Marshal(event) // a string always encodes
	if err != nil {
		name = []byte(`""`)
	}
	b = append(b, framePrefix...)
	b = append(b, '[')
	b = append(b, name...)
	if len(data) > 0 {
		b = append(b, ',')
		b = append(b, data...)
	}
	return append(b, ']')
}

// frame is the hub.Message framing cached by Message.Frame.
func (s *Server) frame(m *hub.Message) []byte {
	s.stats.framesBuilt.Add(1)
	return AppendFrame(make([]byte, 0, len(framePrefix)+len(m.Event)+len(m.Data)+8), m.Event, m.Data)
}
