package engine

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// The answers below are the bodies of the REST API (protocol.md section 6) as types, so that the
// REST handlers and the desktop app's bound methods (two thin adapters over the engine) give the
// same shapes.

// DefaultMetricsWindow is the metrics history returned when no since is given.
const DefaultMetricsWindow = time.Hour

// ServerList is the answer of GET /api/v1/servers.
type ServerList struct {
	Servers []ServerView `json:"servers"`
}

// LifecycleAnswer is the answer of POST /api/v1/servers/{id}/start, /stop and /restart.
type LifecycleAnswer struct {
	ID    string      `json:"id"`
	State ServerState `json:"state"`
}

// MetricsAnswer is the answer of GET /api/v1/servers/{id}/metrics.
type MetricsAnswer struct {
	ServerID string                 `json:"serverId"`
	Samples  []protocol.ProcessInfo `json:"samples"`
}

// LogsAnswer is the JSON answer of GET /api/v1/servers/{id}/logs: each entry is the logData the
// log store encoded once, passed on as it is.
type LogsAnswer struct {
	Entries []json.RawMessage `json:"entries"`
}

// TokenAnswer is the answer of POST /api/v1/token/regenerate.
type TokenAnswer struct {
	Token string `json:"token"`
}

// ExternalAccess says whether browsers and Socket.IO clients can reach the monitor over HTTP,
// and if not, why.
type ExternalAccess struct {
	Enabled bool   `json:"enabled"`
	Reason  string `json:"reason,omitempty"`
}

// SettingsView is the answer of GET and PUT /api/v1/settings.
type SettingsView struct {
	Settings       registry.Settings `json:"settings"`
	Effective      registry.Settings `json:"effective"`
	ListenURL      string            `json:"listenURL"`
	ExternalAccess ExternalAccess    `json:"externalAccess"`
	ConfigPath     string            `json:"configPath"`
	DataDir        string            `json:"dataDir"`
	Version        string            `json:"version"`
}

// SettingsView describes stored settings s together with where the HTTP side listens.
func (e *Engine) SettingsView(s registry.Settings, listenURL string, access ExternalAccess) SettingsView {
	return SettingsView{
		Settings:       s,
		Effective:      s.WithDefaults(),
		ListenURL:      listenURL,
		ExternalAccess: access,
		ConfigPath:     e.ConfigPath(),
		DataDir:        e.DataDir(),
		Version:        e.Version(),
	}
}

// LogsAnswer queries a server's stored log entries (Logs) and wraps them as the REST body.
func (e *Engine) LogsAnswer(id string, q logstore.Query) (LogsAnswer, error) {
	entries, err := e.Logs(id, q)
	if err != nil {
		return LogsAnswer{}, err
	}
	out := LogsAnswer{Entries: make([]json.RawMessage, len(entries))}
	for i := range entries {
		out.Entries[i] = entries[i].JSON
	}
	return out, nil
}

// MetricsAnswer is a server's history since a time; a zero since means DefaultMetricsWindow.
func (e *Engine) MetricsAnswer(id string, since time.Time) (MetricsAnswer, error) {
	if since.IsZero() {
		since = time.Now().Add(-DefaultMetricsWindow)
	}
	samples, err := e.MetricsHistory(id, since)
	if err != nil {
		return MetricsAnswer{}, err
	}
	if samples == nil {
		samples = []protocol.ProcessInfo{}
	}
	return MetricsAnswer{ServerID: id, Samples: samples}, nil
}

// QueryError is a bad parameter of a logs or metrics query (an HTTP 400 / INVALID). Its message
// names the parameter.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

// Is matches registry.ErrInvalid, so an adapter that maps invalid input maps this too.
func (e *QueryError) Is(target error) bool { return target == registry.ErrInvalid }

// LogQueryParams are the parameters of a logs query as text, as both adapters receive them.
type LogQueryParams struct {
	Level string `json:"level"`
	Q     string `json:"q"`
	Since string `json:"since"`
	Until string `json:"until"`
	Limit int    `json:"limit"` // 0: the store's default
}

// ParseLogQuery checks the parameters and makes a store query; a bad one is a *QueryError.
func ParseLogQuery(p LogQueryParams) (logstore.Query, error) {
	var q logstore.Query
	if p.Level != "" {
		l, ok := logstore.ParseLevelName(p.Level)
		if !ok {
			return q, &QueryError{"level: must be debug, info, warn or error"}
		}
		q.MinLevel = l
	}
	if p.Q != "" {
		text, re, err := logstore.ParsePattern(p.Q)
		if err != nil {
			return q, &QueryError{"q: " + err.Error()}
		}
		q.Text, q.Regex = text, re
	}
	var err error
	if q.Since, err = ParseQueryTime("since", p.Since); err != nil {
		return q, err
	}
	if q.Until, err = ParseQueryTime("until", p.Until); err != nil {
		return q, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since) {
		return q, &QueryError{"until: must not be before since"}
	}
	if p.Limit != 0 {
		if p.Limit < 1 || p.Limit > logstore.MaxQueryLimit {
			return q, &QueryError{fmt.Sprintf("limit: must be between 1 and %d", logstore.MaxQueryLimit)}
		}
		q.Limit = p.Limit
	}
	return q, nil
}

// ParseQueryTime reads an ISO-8601 time parameter: RFC 3339 (fraction optional) or a date (UTC
// midnight); "" is the zero time. A "+" of an offset that arrived unescaped as a space is put back.
func ParseQueryTime(name, v string) (time.Time, error) {
	v = strings.ReplaceAll(strings.TrimSpace(v), " ", "+")
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, &QueryError{name + ": must be an ISO-8601 time such as 2026-01-02T15:04:05Z"}
}
