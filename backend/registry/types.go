// Package registry holds the server definitions and settings of MCP Watch: one JSON file,
// validated on every read and write, written atomically; and the access token beside it.
package registry

// Transports a server definition can name.
const (
	TransportStdio          = "stdio"
	TransportSSE            = "sse"
	TransportStreamableHTTP = "streamable-http"
)

// Restart policies.
const (
	PolicyNever     = "never"
	PolicyOnFailure = "on-failure"
	PolicyAlways    = "always"
)

// RestartPolicy says what the supervisor does when a child exits on its own.
type RestartPolicy struct {
	Policy     string `json:"policy"`     // never | on-failure | always
	MaxRetries int    `json:"maxRetries"` // restarts in a row before giving up (state crashed)
	BackoffMs  int    `json:"backoffMs"`  // first delay; doubled each retry, capped at 60 s
}

// ServerDef is one server definition (protocol.md section 6).
type ServerDef struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Command   string            `json:"command"`
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	Cwd       string            `json:"cwd"`
	Transport string            `json:"transport"`
	URL       string            `json:"url,omitempty"`
	AutoStart bool              `json:"autoStart"`
	Restart   RestartPolicy     `json:"restart"`
	Tags      []string          `json:"tags"`
}

// Settings are the monitor-wide settings stored under "settings" in config.json.
// Zero values mean "use the default" (see Defaults).
type Settings struct {
	Host           string   `json:"host,omitempty"`           // default 127.0.0.1
	Port           int      `json:"port,omitempty"`           // default 3001
	AllowedOrigins []string `json:"allowedOrigins,omitempty"` // added to the built-in allow-list
	RequireToken   bool     `json:"requireToken,omitempty"`   // monitoring subscriptions need the token too

	StopGraceMs       int `json:"stopGraceMs,omitempty"`       // SIGTERM → SIGKILL, default 5000
	LogRingSize       int `json:"logRingSize,omitempty"`       // entries kept in memory per server, default 10000
	LogFileMaxBytes   int `json:"logFileMaxBytes,omitempty"`   // rotate at, default 10 MiB
	LogFiles          int `json:"logFiles,omitempty"`          // files kept per server, default 5
	HistoryIntervalMs int `json:"historyIntervalMs,omitempty"` // metrics history base rate, default 2000; -1 = off
	HistoryMinutes    int `json:"historyMinutes,omitempty"`    // default 60

	// MCP awareness (backend/mcpclient): MCPProbe (default true) makes the monitor an MCP client
	// of every server: it holds a stdio server's stdin/stdout as the MCP channel and probes an
	// sse / streamable-http server's url; health checks every MCPProbeIntervalMs (default 15000);
	// HealthRestartAfter failed checks in a row restart the server (0, the default: never).
	MCPProbe           *bool `json:"mcpProbe,omitempty"`
	MCPProbeIntervalMs int   `json:"mcpProbeIntervalMs,omitempty"`
	HealthRestartAfter int   `json:"healthRestartAfter,omitempty"`

	KeepRunningInBackground bool   `json:"keepRunningInBackground,omitempty"` // desktop: closing the window keeps the engine
	Theme                   string `json:"theme,omitempty"`                   // "" (follow the OS) | light | dark
}

// Config is the whole config.json.
type Config struct {
	Servers  []ServerDef `json:"servers"`
	Settings Settings    `json:"settings"`
}
