package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
)

// Limits of client payloads.
const (
	MaxPayloadBytes  = 1 << 20 // a larger event payload is refused with INVALID_PAYLOAD
	DefaultInterval  = 5000 * time.Millisecond
	MinInterval      = 1000 * time.Millisecond
	MaxInterval      = 60000 * time.Millisecond
	maxAskedInterval = 3600000 // ms; above this an interval is nonsense, not something to clamp
	DefaultTail      = 100
	MaxTail          = 5000
)

var serverIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Error is a refused request: the code and message of subscription-error and of an ok:false ack.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf(format, args...)}
}

// SubscribeMetrics is the payload of subscribe-server-metrics.
type SubscribeMetrics struct {
	ServerID string
	Interval time.Duration // clamped to [MinInterval, MaxInterval]
}

// SubscribeLogs is the payload of subscribe-server-logs.
type SubscribeLogs struct {
	ServerID string
	Level    logstore.Level
	Tail     int
	Batch    bool
}

// Unsubscribe is the payload of unsubscribe: either Room, or ServerID with an optional Type.
type Unsubscribe struct {
	Room     string
	ServerID string
	Type     string // "", "metrics" or "logs"
}

// SubscribeSystem is the payload of subscribe-system-metrics.
type SubscribeSystem struct {
	Interval time.Duration
}

// ServerRef is the payload of start-server, stop-server and restart-server.
type ServerRef struct {
	ServerID string
}

// object decodes raw as a JSON object. A missing payload counts as an empty object only when
// emptyOK says so.
func object(raw []byte, emptyOK bool) (map[string]json.RawMessage, *Error) {
	if len(raw) > MaxPayloadBytes {
		return nil, invalid("payload is %d bytes, over the limit of %d", len(raw), MaxPayloadBytes)
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if emptyOK {
			return map[string]json.RawMessage{}, nil
		}
		return nil, invalid("payload must be an object")
	}
	if raw[0] != '{' {
		return nil, invalid("payload must be an object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, invalid("payload is not valid JSON: %v", err)
	}
	return m, nil
}

func stringField(m map[string]json.RawMessage, name string, required bool) (string, bool, *Error) {
	v, ok := m[name]
	if !ok || bytes.Equal(v, []byte("null")) {
		if required {
			return "", false, invalid("%s is required", name)
		}
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false, invalid("%s must be a string", name)
	}
	return s, true, nil
}

func numberField(m map[string]json.RawMessage, name string) (float64, bool, *Error) {
	v, ok := m[name]
	if !ok || bytes.Equal(v, []byte("null")) {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, invalid("%s must be a number", name)
	}
	return f, true, nil
}

func boolField(m map[string]json.RawMessage, name string) (bool, *Error) {
	v, ok := m[name]
	if !ok || bytes.Equal(v, []byte("null")) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, invalid("%s must be true or false", name)
	}
	return b, nil
}

func serverID(m map[string]json.RawMessage) (string, *Error) {
	id, _, err := stringField(m, "serverId", true)
	if err != nil {
		return "", err
	}
	if !serverIDPattern.MatchString(id) {
		return "", invalid("serverId must match [a-z0-9][a-z0-9-]{0,62}")
	}
	return id, nil
}

// interval reads an interval in ms: missing → DefaultInterval; ≤ 0 or absurd → error; else clamped.
func interval(m map[string]json.RawMessage) (time.Duration, *Error) {
	f, ok, err := numberField(m, "interval")
	if err != nil {
		return 0, err
	}
	if !ok {
		return DefaultInterval, nil
	}
	if f <= 0 || f > maxAskedInterval {
		return 0, invalid("interval must be between 1 and %d ms (it is clamped to [%d, %d])",
			maxAskedInterval, MinInterval.Milliseconds(), MaxInterval.Milliseconds())
	}
	d := time.Duration(f) * time.Millisecond
	return min(max(d, MinInterval), MaxInterval), nil
}

// DecodeSubscribeMetrics validates a subscribe-server-metrics payload.
func DecodeSubscribeMetrics(raw []byte) (SubscribeMetrics, *Error) {
	m, err := object(raw, false)
	if err != nil {
		return SubscribeMetrics{}, err
	}
	id, err := serverID(m)
	if err != nil {
		return SubscribeMetrics{}, err
	}
	iv, err := interval(m)
	if err != nil {
		return SubscribeMetrics{}, err
	}
	return SubscribeMetrics{ServerID: id, Interval: iv}, nil
}

// DecodeSubscribeLogs validates a subscribe-server-logs payload.
func DecodeSubscribeLogs(raw []byte) (SubscribeLogs, *Error) {
	m, err := object(raw, false)
	if err != nil {
		return SubscribeLogs{}, err
	}
	id, err := serverID(m)
	if err != nil {
		return SubscribeLogs{}, err
	}
	out := SubscribeLogs{ServerID: id, Level: logstore.Debug, Tail: DefaultTail}
	if s, ok, err := stringField(m, "level", false); err != nil {
		return SubscribeLogs{}, err
	} else if ok {
		if uerr := out.Level.UnmarshalText([]byte(s)); uerr != nil {
			return SubscribeLogs{}, invalid("level must be debug, info, warn or error")
		}
	}
	if f, ok, err := numberField(m, "tail"); err != nil {
		return SubscribeLogs{}, err
	} else if ok {
		if f < 0 || f != math.Trunc(f) {
			return SubscribeLogs{}, invalid("tail must be a whole number from 0 to %d", MaxTail)
		}
		out.Tail = int(min(f, MaxTail))
	}
	if out.Batch, err = boolField(m, "batch"); err != nil {
		return SubscribeLogs{}, err
	}
	return out, nil
}

// DecodeUnsubscribe validates an unsubscribe payload.
func DecodeUnsubscribe(raw []byte) (Unsubscribe, *Error) {
	m, err := object(raw, false)
	if err != nil {
		return Unsubscribe{}, err
	}
	room, hasRoom, err := stringField(m, "room", false)
	if err != nil {
		return Unsubscribe{}, err
	}
	if hasRoom {
		if _, _, ok := ParseRoom(room); !ok {
			return Unsubscribe{}, invalid("room %q is not a room of this server", room)
		}
		return Unsubscribe{Room: room}, nil
	}
	if _, ok := m["serverId"]; !ok {
		return Unsubscribe{}, invalid("room or serverId is required")
	}
	id, err := serverID(m)
	if err != nil {
		return Unsubscribe{}, err
	}
	typ, _, err := stringField(m, "type", false)
	if err != nil {
		return Unsubscribe{}, err
	}
	if typ != "" && typ != "metrics" && typ != "logs" {
		return Unsubscribe{}, invalid("type must be metrics or logs")
	}
	return Unsubscribe{ServerID: id, Type: typ}, nil
}

// DecodeSubscribeSystem validates a subscribe-system-metrics payload (which may be absent).
func DecodeSubscribeSystem(raw []byte) (SubscribeSystem, *Error) {
	m, err := object(raw, true)
	if err != nil {
		return SubscribeSystem{}, err
	}
	iv, err := interval(m)
	if err != nil {
		return SubscribeSystem{}, err
	}
	return SubscribeSystem{Interval: iv}, nil
}

// DecodeEmpty validates a payload that carries nothing (subscribe-server-status): absent or an object.
func DecodeEmpty(raw []byte) *Error {
	_, err := object(raw, true)
	return err
}

// DecodeServerRef validates the payload of the control events.
func DecodeServerRef(raw []byte) (ServerRef, *Error) {
	m, err := object(raw, false)
	if err != nil {
		return ServerRef{}, err
	}
	id, err := serverID(m)
	if err != nil {
		return ServerRef{}, err
	}
	return ServerRef{ServerID: id}, nil
}
