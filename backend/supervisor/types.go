// Package supervisor starts, stops and restarts the child processes, each in its own process
// group, applies the restart policy, and hands every output line to a Sink.
package supervisor

import "time"

// Status is a server's lifecycle state.
type Status string

const (
	Stopped  Status = "stopped"
	Starting Status = "starting"
	Running  Status = "running"
	Stopping Status = "stopping"
	Crashed  Status = "crashed"
	Backoff  Status = "backoff"
)

// Event is one lifecycle transition (protocol.md: server-status-changed).
type Event struct {
	ServerID     string
	Status       Status
	Previous     Status
	PID          int    // 0 when there is no process
	ExitCode     *int   // set when the transition is an exit with a code
	Signal       string // set when the process was ended by a signal, e.g. "SIGKILL"
	RestartCount int
	Error        string // why it crashed or could not start
	Time         time.Time
}

// Exit describes how the last run of a server ended.
type Exit struct {
	Code   *int
	Signal string
	Time   time.Time
	Error  string
}

// State is a snapshot of one server's process state.
type State struct {
	Status       Status
	PID          int
	StartedAt    time.Time // zero when not running
	RestartCount int       // restarts in a row since the last stable run
	Restarts     int       // all restarts since the monitor started
	LastExit     *Exit
	Error        string
}

// Sink receives everything a supervisor observes. Its methods are called from the supervisor's
// goroutines and must return quickly; calls for one server are never concurrent for one stream.
type Sink interface {
	// Line is one line of a child's stdout or stderr ("stdout" | "stderr"), without its newline,
	// at most 64 KiB; truncated says the rest of the line was cut. line is a fresh copy: the
	// sink may keep it.
	Line(serverID, stream string, line []byte, truncated bool, pid int)
	// System is a line the monitor writes about a server: started, exited, restart scheduled.
	System(serverID string, level string, message string, pid int)
	// Status is a lifecycle transition.
	Status(ev Event)
}
