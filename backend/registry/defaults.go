package registry

import (
	"maps"
	"slices"
	"strings"
)

// Default values for a server definition's restart policy.
const (
	DefaultMaxRetries = 5
	DefaultBackoffMs  = 1000
)

// Default settings (see Settings.WithDefaults).
const (
	DefaultHost              = "127.0.0.1"
	DefaultPort              = 3001
	DefaultStopGraceMs       = 5000
	DefaultLogRingSize       = 10000
	DefaultLogFileMaxBytes   = 10 << 20
	DefaultLogFiles          = 5
	DefaultHistoryIntervalMs = 2000
	DefaultHistoryMinutes    = 60
	DefaultMCPProbeInterval  = 15000 // ms

	// HistoryOff as Settings.HistoryIntervalMs turns the metrics history off.
	HistoryOff = -1
)

// maxIDLen is the longest id: [a-z0-9][a-z0-9-]{0,62}.
const maxIDLen = 63

// ApplyDefaults fills the fields left empty: the id made from the name, the name from the id,
// the transport (stdio), the restart policy (on-failure, 5 retries, 1000 ms when the whole
// restart object is empty; a policy alone keeps its maxRetries, even 0), and empty, non-nil
// args, env and tags. An id that cannot be made from the name stays empty; validation reports it.
func (d *ServerDef) ApplyDefaults() {
	if d.ID == "" {
		d.ID = IDFromName(d.Name)
	}
	if d.Name == "" {
		d.Name = d.ID
	}
	if d.Transport == "" {
		d.Transport = TransportStdio
	}
	if d.Restart == (RestartPolicy{}) {
		d.Restart.MaxRetries = DefaultMaxRetries
	}
	if d.Restart.Policy == "" {
		d.Restart.Policy = PolicyOnFailure
	}
	if d.Restart.BackoffMs == 0 {
		d.Restart.BackoffMs = DefaultBackoffMs
	}
	if d.Args == nil {
		d.Args = []string{}
	}
	if d.Env == nil {
		d.Env = map[string]string{}
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
}

// IDFromName makes an id from a display name: lowercased, every run of characters outside
// [a-z0-9] turned into one '-', dashes trimmed from both ends, cut to 63 characters.
// It returns "" when nothing is left ("!!!", "", "日本").
func IDFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= maxIDLen {
				break
			}
			continue
		}
		dash = true
	}
	id := b.String()
	if len(id) > maxIDLen {
		id = id[:maxIDLen]
	}
	return strings.Trim(id, "-")
}

// WithDefaults returns the effective settings: every zero value replaced by its default.
// HistoryIntervalMs -1 (off) is kept.
func (s Settings) WithDefaults() Settings {
	s = s.Clone()
	if s.Host == "" {
		s.Host = DefaultHost
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.StopGraceMs == 0 {
		s.StopGraceMs = DefaultStopGraceMs
	}
	if s.LogRingSize == 0 {
		s.LogRingSize = DefaultLogRingSize
	}
	if s.LogFileMaxBytes == 0 {
		s.LogFileMaxBytes = DefaultLogFileMaxBytes
	}
	if s.LogFiles == 0 {
		s.LogFiles = DefaultLogFiles
	}
	if s.HistoryIntervalMs == 0 {
		s.HistoryIntervalMs = DefaultHistoryIntervalMs
	}
	if s.HistoryMinutes == 0 {
		s.HistoryMinutes = DefaultHistoryMinutes
	}
	if s.MCPProbe == nil {
		on := true
		s.MCPProbe = &on
	}
	if s.MCPProbeIntervalMs == 0 {
		s.MCPProbeIntervalMs = DefaultMCPProbeInterval
	}
	return s
}

// MCPProbeOn reports whether MCP awareness is on (mcpProbe, default true).
func (s Settings) MCPProbeOn() bool { return s.MCPProbe == nil || *s.MCPProbe }

// Clone returns a deep copy (nil slices and maps stay nil).
func (d ServerDef) Clone() ServerDef {
	d.Args = slices.Clone(d.Args)
	d.Env = maps.Clone(d.Env)
	d.Tags = slices.Clone(d.Tags)
	return d
}

// Redacted returns a deep copy whose env values are all "" (the keys are kept): what a caller
// without the token may see.
func (d ServerDef) Redacted() ServerDef {
	d = d.Clone()
	for k := range d.Env {
		d.Env[k] = ""
	}
	return d
}

// Clone returns a deep copy.
func (s Settings) Clone() Settings {
	s.AllowedOrigins = slices.Clone(s.AllowedOrigins)
	if s.MCPProbe != nil {
		b := *s.MCPProbe
		s.MCPProbe = &b
	}
	return s
}

// Clone returns a deep copy. Servers is never nil in the copy.
func (c Config) Clone() Config {
	out := Config{Servers: make([]ServerDef, len(c.Servers)), Settings: c.Settings.Clone()}
	for i, d := range c.Servers {
		out.Servers[i] = d.Clone()
	}
	return out
}
