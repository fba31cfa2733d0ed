package protocol

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/sampler"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// Memory is processInfo.memory: heap fields stay 0 (a child's V8 heap cannot be read from outside)
// and are kept for clients of the original.
type Memory struct {
	RSS       uint64 `json:"rss"`
	HeapUsed  uint64 `json:"heapUsed"`
	HeapTotal uint64 `json:"heapTotal"`
	External  uint64 `json:"external"`
}

// ProcessInfo is processInfo of process:info, and one sample of the metrics history.
type ProcessInfo struct {
	PID          int          `json:"pid"`
	CPU          float64      `json:"cpu"`
	Memory       Memory       `json:"memory"`
	Uptime       int64        `json:"uptime"`
	Timestamp    string       `json:"timestamp"`
	Status       string       `json:"status"`
	Tree         sampler.Tree `json:"tree"`
	Threads      int          `json:"threads,omitempty"`
	FDs          int          `json:"fds,omitempty"`
	RestartCount int          `json:"restartCount"`
	MCP          *MCPHealth   `json:"mcp,omitempty"` // the server's MCP health, once checked
}

// NewProcessInfo turns a sample into processInfo.
func NewProcessInfo(s sampler.ProcSample, restartCount int) ProcessInfo {
	return ProcessInfo{
		PID:          s.PID,
		CPU:          s.CPU,
		Memory:       Memory{RSS: s.RSS},
		Uptime:       s.Uptime,
		Timestamp:    Time(s.Time),
		Status:       string(supervisor.Running),
		Tree:         s.Tree,
		Threads:      s.Threads,
		FDs:          s.FDs,
		RestartCount: restartCount,
	}
}

type processInfoEvent struct {
	ServerID    string      `json:"serverId"`
	Timestamp   string      `json:"timestamp"`
	ProcessInfo ProcessInfo `json:"processInfo"`
}

// EncodeProcessInfo encodes a process:info payload.
func EncodeProcessInfo(serverID string, pi ProcessInfo, now time.Time) []byte {
	return mustJSON(processInfoEvent{ServerID: serverID, Timestamp: Time(now), ProcessInfo: pi})
}

// EncodeLog encodes a process:logs payload around an entry's logData, which was encoded once by
// the log store.
func EncodeLog(serverID string, logData []byte, now time.Time) []byte {
	b := make([]byte, 0, len(logData)+len(serverID)+64)
	b = append(b, `{"serverId":`...)
	b = strconv.AppendQuote(b, serverID) // ids are [a-z0-9-]: Go and JSON quoting agree
	b = append(b, `,"timestamp":"`...)
	b = AppendTime(b, now)
	b = append(b, `","logData":`...)
	b = append(b, logData...)
	return append(b, '}')
}

// EncodeLogBatch encodes a process:logs:batch payload from logData objects.
func EncodeLogBatch(serverID string, entries [][]byte, now time.Time) []byte {
	n := 64 + len(serverID)
	for _, e := range entries {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"serverId":`...)
	b = strconv.AppendQuote(b, serverID)
	b = append(b, `,"timestamp":"`...)
	b = AppendTime(b, now)
	b = append(b, `","entries":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	return append(b, "]}"...)
}

// Dropped is the payload of process:logs:dropped.
type Dropped struct {
	ServerID  string `json:"serverId"`
	Count     uint64 `json:"count"`
	FromSeq   uint64 `json:"fromSeq"`
	ToSeq     uint64 `json:"toSeq"`
	Timestamp string `json:"timestamp"`
}

// StatusChanged is the payload of server-status-changed.
type StatusChanged struct {
	ServerID       string `json:"serverId"`
	Status         string `json:"status"`
	PreviousStatus string `json:"previousStatus"`
	PID            int    `json:"pid,omitempty"`
	ExitCode       *int   `json:"exitCode,omitempty"`
	Signal         string `json:"signal,omitempty"`
	RestartCount   int    `json:"restartCount"`
	Error          string `json:"error,omitempty"`
	Timestamp      string `json:"timestamp"`
}

// NewStatusChanged turns a supervisor event into its payload.
func NewStatusChanged(ev supervisor.Event) StatusChanged {
	return StatusChanged{
		ServerID:       ev.ServerID,
		Status:         string(ev.Status),
		PreviousStatus: string(ev.Previous),
		PID:            ev.PID,
		ExitCode:       ev.ExitCode,
		Signal:         ev.Signal,
		RestartCount:   ev.RestartCount,
		Error:          ev.Error,
		Timestamp:      Time(ev.Time),
	}
}

// SystemMetrics is the payload of system-metrics-update.
type SystemMetrics struct {
	CPU       float64        `json:"cpu"`
	CPUs      int            `json:"cpus"`
	Memory    sampler.Memory `json:"memory"`
	Load      [3]float64     `json:"load"`
	Timestamp string         `json:"timestamp"`
}

// NewSystemMetrics turns a system sample into its payload.
func NewSystemMetrics(s sampler.SystemSample) SystemMetrics {
	return SystemMetrics{CPU: s.CPU, CPUs: s.CPUs, Memory: s.Memory, Load: s.Load, Timestamp: Time(s.Time)}
}

// Confirmed is the payload of subscription-confirmed.
type Confirmed struct {
	Room      string `json:"room"`
	ServerID  string `json:"serverId,omitempty"`
	Interval  int64  `json:"interval,omitempty"`
	Level     string `json:"level,omitempty"`
	Timestamp string `json:"timestamp"`
}

// SubscriptionError is the payload of subscription-error.
type SubscriptionError struct {
	Event     string `json:"event"`
	ServerID  string `json:"serverId,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// Ack is the acknowledgement of every client event: {ok:true, ...} or {ok:false, code, message}.
type Ack map[string]any

// OK builds a positive ack with extra fields.
func OK(fields map[string]any) Ack {
	a := Ack{"ok": true}
	for k, v := range fields {
		a[k] = v
	}
	return a
}

// Fail builds a negative ack.
func Fail(e *Error) Ack {
	return Ack{"ok": false, "code": e.Code, "message": e.Message}
}

// Marshal encodes a payload struct; the payloads above cannot fail to encode.
func Marshal(v any) []byte { return mustJSON(v) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("protocol: encode " + err.Error()) // only for types above, which always encode
	}
	return b
}
