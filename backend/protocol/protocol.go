// Package protocol is the vocabulary of the monitoring protocol (shared/docs/protocol.md): event
// and room names, the client payloads with their validation, and the server payloads. Both
// transports (Socket.IO and the Wails bridge) speak it through the session package.
package protocol

import (
	"strings"
	"time"
)

// Client → server events.
const (
	EvSubscribeMetrics    = "subscribe-server-metrics"
	EvSubscribeLogs       = "subscribe-server-logs"
	EvUnsubscribe         = "unsubscribe"
	EvSubscribeStatus     = "subscribe-server-status"
	EvSubscribeSystem     = "subscribe-system-metrics"
	EvStartServer         = "start-server"
	EvStopServer          = "stop-server"
	EvRestartServer       = "restart-server"
	EvPing                = "ping"
	EvGetConnectionStatus = "get-connection-status"
	EvCallTool            = "call-tool" // control action: { serverId, name, arguments? }
)

// Server → client events.
const (
	EvConnectionEstablished = "connection-established"
	EvSubscriptionConfirmed = "subscription-confirmed"
	EvUnsubscriptionDone    = "unsubscription-confirmed"
	EvSubscriptionError     = "subscription-error"
	EvProcessInfo           = "process:info"
	EvProcessLogs           = "process:logs"
	EvProcessLogsBatch      = "process:logs:batch"
	EvProcessLogsDropped    = "process:logs:dropped"
	EvStatusChanged         = "server-status-changed"
	EvSystemMetrics         = "system-metrics-update"
	EvPong                  = "pong"
	EvConnectionStatus      = "connection-status"
	EvServerHealthChanged   = "server-health-changed" // to servers-status
)

// Error codes of subscription-error and of failed acks.
const (
	CodeInvalidPayload = "INVALID_PAYLOAD"
	CodeUnknownServer  = "UNKNOWN_SERVER"
	CodeUnauthorized   = "UNAUTHORIZED"
	CodeRateLimited    = "RATE_LIMITED"
	CodeConflict       = "CONFLICT"
	CodeUnknownEvent   = "UNKNOWN_EVENT"
	CodeInternal       = "INTERNAL"
)

// Room names.
const (
	RoomStatus = "servers-status"
	RoomSystem = "system-metrics"

	metricsRoomPrefix = "server-metrics-"
	logsRoomPrefix    = "server-logs-"
)

// MetricsRoom is the room of a server's process:info events.
func MetricsRoom(serverID string) string { return metricsRoomPrefix + serverID }

// LogsRoom is the room of a server's process:logs events.
func LogsRoom(serverID string) string { return logsRoomPrefix + serverID }

// ParseRoom splits a room name into its kind ("metrics", "logs", "status", "system") and server id.
func ParseRoom(room string) (kind, serverID string, ok bool) {
	switch {
	case room == RoomStatus:
		return "status", "", true
	case room == RoomSystem:
		return "system", "", true
	case strings.HasPrefix(room, metricsRoomPrefix) && len(room) > len(metricsRoomPrefix):
		return "metrics", room[len(metricsRoomPrefix):], true
	case strings.HasPrefix(room, logsRoomPrefix) && len(room) > len(logsRoomPrefix):
		return "logs", room[len(logsRoomPrefix):], true
	}
	return "", "", false
}

// Time formats t as JavaScript's toISOString does: UTC, milliseconds, "Z".
func Time(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// AppendTime appends Time(t) to b without allocating.
func AppendTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}
