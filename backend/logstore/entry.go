// Package logstore turns a child's output lines into log entries: level detection, a sequence
// number per server, a ring per server for live tails, NDJSON files rotated by size, and queries.
package logstore

import (
	"fmt"
	"time"
)

// Level is a log level; the order matters (filters keep entries at or above a level).
type Level uint8

const (
	Debug Level = iota
	Info
	Warn
	Error
)

var levelNames = [...]string{"debug", "info", "warn", "error"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", l)
}

// MarshalText writes the protocol's name of the level.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText accepts exactly the four protocol names.
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if string(b) == n {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("level %q: must be debug, info, warn or error", b)
}

// Stream says where an entry came from.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
	System Stream = "system" // written by the monitor itself
	// MCP is a server's notifications/message (MCP logging), at the level the server gave it.
	MCP Stream = "mcp"
	// Protocol is one JSON-RPC message between the monitor and an MCP server, in or out.
	Protocol Stream = "protocol"
)

// MaxLineBytes is where a line is cut (metadata.truncated = true).
const MaxLineBytes = 64 << 10

// Entry is one stored log line of one server.
type Entry struct {
	Seq       uint64         // per server, strictly increasing, also across child restarts
	Time      time.Time      // when the line was read
	Level     Level          //
	Stream    Stream         //
	Message   string         // one line, no trailing newline
	PID       int            // 0 when unknown
	Truncated bool           // the line was longer than MaxLineBytes
	Fields    map[string]any // parsed JSON fields of a JSON log line, if any

	// JSON is the protocol's logData object for this entry, encoded once when the entry is
	// appended and shared read-only by the disk file and every transport.
	JSON []byte
}
