package socketio

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"

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

// frame is the hub.Message framing cached by Message.Frame, in ASCII (asciiJSON).
func (s *Server) frame(m *hub.Message) []byte {
	s.stats.framesBuilt.Add(1)
	return asciiJSON(AppendFrame(make([]byte, 0, len(framePrefix)+len(m.Event)+len(m.Data)+8), m.Event, m.Data))
}

// asciiJSON returns the JSON text b with every non-ASCII character written as a \u escape (a
// pair of them beyond U+FFFF), the same JSON value; b itself when it is all ASCII already. Why:
// a browser turns a WebSocket text message with a single non-ASCII character into a two-byte
// string, and parses all of it markedly slower (a 7 MB batch of a log burst: 260 ms instead of
// 110 ms in Chromium, one "→" in it). Non-ASCII bytes only occur inside JSON strings, where an
// escape means the same; invalid UTF-8 becomes U+FFFD, as the client's decoder would make it.
func asciiJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b)+len(b)/2)
	copy(out, b[:i])
	for i < len(b) {
		if c := b[i]; c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = appendEscape(appendEscape(out, r1), r2)
		} else {
			out = appendEscape(out, r)
		}
	}
	return out
}

func appendEscape(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
