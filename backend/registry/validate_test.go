package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// validServer is a definition that passes validation; each case breaks one thing.
func validServer() registry.ServerDef {
	return registry.ServerDef{
		ID:        "weather",
		Name:      "Weather API",
		Command:   "npx",
		Args:      []string{"-y", "server-everything"},
		Env:       map[string]string{"PORT": "3322"},
		Transport: registry.TransportStdio,
		Restart:   registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: 5, BackoffMs: 1000},
		Tags:      []string{},
	}
}

// wantProblems checks that err is a *ValidationError (matching ErrInvalid) whose message is
// exactly want.
func wantProblems(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	var ve *registry.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	if !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	if got := ve.Error(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestValidateServer(t *testing.T) {
	tests := []struct {
		name   string
		change func(d *registry.ServerDef)
		want   string // "" = valid
	}{
		{"valid", func(d *registry.ServerDef) {}, ""},
		{"id 63 chars", func(d *registry.ServerDef) { d.ID = "a" + strings.Repeat("b-", 31) }, ""},
		{"id digit first", func(d *registry.ServerDef) { d.ID = "1st" }, ""},
		{"id upper", func(d *registry.ServerDef) { d.ID = "Weather" }, "id: must match [a-z0-9][a-z0-9-]{0,62}"},
		{"id dash first", func(d *registry.ServerDef) { d.ID = "-w" }, "id: must match [a-z0-9][a-z0-9-]{0,62}"},
		{"id underscore", func(d *registry.ServerDef) { d.ID = "a_b" }, "id: must match [a-z0-9][a-z0-9-]{0,62}"},
		{"id 64 chars", func(d *registry.ServerDef) { d.ID = strings.Repeat("a", 64) }, "id: must match [a-z0-9][a-z0-9-]{0,62}"},
		{"id newline", func(d *registry.ServerDef) { d.ID = "a\n" }, "id: must match [a-z0-9][a-z0-9-]{0,62}"},
		{"id empty, name given", func(d *registry.ServerDef) { d.ID = "" }, "id: cannot be made from name, set it"},
		{"id and name empty", func(d *registry.ServerDef) { d.ID, d.Name = "", "" }, "id: must be set, or a name to make it from"},
		{"command empty", func(d *registry.ServerDef) { d.Command = "" }, "command: must not be empty"},
		{"command blank", func(d *registry.ServerDef) { d.Command = " \t" }, "command: must not be empty"},
		{"command NUL", func(d *registry.ServerDef) { d.Command = "np\x00x" }, "command: must not contain NUL"},
		{"arg NUL", func(d *registry.ServerDef) { d.Args = []string{"ok", "a\x00"} }, "args[1]: must not contain NUL"},
		{"cwd NUL", func(d *registry.ServerDef) { d.Cwd = "/tmp\x00" }, "cwd: must not contain NUL"},
		{"env key with =", func(d *registry.ServerDef) { d.Env = map[string]string{"A=B": "1"} }, `env["A=B"]: name must not be empty or contain "=" or NUL`},
		{"env key empty", func(d *registry.ServerDef) { d.Env = map[string]string{"": "1"} }, `env[""]: name must not be empty or contain "=" or NUL`},
		{"env key NUL", func(d *registry.ServerDef) { d.Env = map[string]string{"A\x00": "1"} }, `env["A\x00"]: name must not be empty or contain "=" or NUL`},
		{"env value NUL", func(d *registry.ServerDef) { d.Env = map[string]string{"K": "v\x00"} }, `env["K"]: must not contain NUL`},
		{"env value empty is fine", func(d *registry.ServerDef) { d.Env = map[string]string{"K": ""} }, ""},
		{"transport unknown", func(d *registry.ServerDef) { d.Transport = "http" }, "transport: must be stdio, sse or streamable-http"},
		{"transport empty", func(d *registry.ServerDef) { d.Transport = "" }, "transport: must be stdio, sse or streamable-http"},
		{"sse without url", func(d *registry.ServerDef) { d.Transport = registry.TransportSSE }, "url: required for transport sse"},
		{"streamable-http without url", func(d *registry.ServerDef) { d.Transport = registry.TransportStreamableHTTP }, "url: required for transport streamable-http"},
		{"sse with url", func(d *registry.ServerDef) { d.Transport, d.URL = registry.TransportSSE, "http://127.0.0.1:3322/sse" }, ""},
		{"https url", func(d *registry.ServerDef) {
			d.Transport, d.URL = registry.TransportStreamableHTTP, "https://[::1]:8443/mcp"
		}, ""},
		{"url relative", func(d *registry.ServerDef) { d.Transport, d.URL = registry.TransportSSE, "/mcp" }, "url: must be an http or https URL"},
		{"url ws", func(d *registry.ServerDef) { d.Transport, d.URL = registry.TransportSSE, "ws://localhost/mcp" }, "url: must be an http or https URL"},
		{"url no host", func(d *registry.ServerDef) { d.Transport, d.URL = registry.TransportSSE, "http:///mcp" }, "url: must be an http or https URL"},
		{"url bad port", func(d *registry.ServerDef) { d.Transport, d.URL = registry.TransportSSE, "http://h:99999/" }, "url: must be an http or https URL"},
		{"url on stdio checked too", func(d *registry.ServerDef) { d.URL = "localhost:3000" }, "url: must be an http or https URL"},
		{"policy unknown", func(d *registry.ServerDef) { d.Restart.Policy = "sometimes" }, "restart.policy: must be never, on-failure or always"},
		{"policy empty", func(d *registry.ServerDef) { d.Restart.Policy = "" }, "restart.policy: must be never, on-failure or always"},
		{"maxRetries 0", func(d *registry.ServerDef) { d.Restart.MaxRetries = 0 }, ""},
		{"maxRetries 1000", func(d *registry.ServerDef) { d.Restart.MaxRetries = 1000 }, ""},
		{"maxRetries -1", func(d *registry.ServerDef) { d.Restart.MaxRetries = -1 }, "restart.maxRetries: must be between 0 and 1000"},
		{"maxRetries 1001", func(d *registry.ServerDef) { d.Restart.MaxRetries = 1001 }, "restart.maxRetries: must be between 0 and 1000"},
		{"backoff 100", func(d *registry.ServerDef) { d.Restart.BackoffMs = 100 }, ""},
		{"backoff 600000", func(d *registry.ServerDef) { d.Restart.BackoffMs = 600000 }, ""},
		{"backoff 99", func(d *registry.ServerDef) { d.Restart.BackoffMs = 99 }, "restart.backoffMs: must be between 100 and 600000"},
		{"backoff 600001", func(d *registry.ServerDef) { d.Restart.BackoffMs = 600001 }, "restart.backoffMs: must be between 100 and 600000"},
		{"several problems, in field order", func(d *registry.ServerDef) {
			d.ID, d.Command, d.Restart.Policy = "X", "", "x"
		}, "id: must match [a-z0-9][a-z0-9-]{0,62}; command: must not be empty; restart.policy: must be never, on-failure or always"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validServer()
			tt.change(&d)
			err := registry.ValidateServer(d)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			wantProblems(t, err, tt.want)
		})
	}
}

func TestValidateSettings(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *registry.Settings)
		want   string
	}{
		{"zero is all defaults", func(s *registry.Settings) {}, ""},
		{"port 1", func(s *registry.Settings) { s.Port = 1 }, ""},
		{"port 65535", func(s *registry.Settings) { s.Port = 65535 }, ""},
		{"port -1", func(s *registry.Settings) { s.Port = -1 }, "port: must be between 1 and 65535"},
		{"port 65536", func(s *registry.Settings) { s.Port = 65536 }, "port: must be between 1 and 65535"},
		{"host blank", func(s *registry.Settings) { s.Host = "  " }, "host: must not be empty"},
		{"host set", func(s *registry.Settings) { s.Host = "0.0.0.0" }, ""},
		{"theme light", func(s *registry.Settings) { s.Theme = "light" }, ""},
		{"theme dark", func(s *registry.Settings) { s.Theme = "dark" }, ""},
		{"theme blue", func(s *registry.Settings) { s.Theme = "blue" }, "theme: must be light, dark or empty"},
		{"origins fine", func(s *registry.Settings) {
			s.AllowedOrigins = []string{"http://localhost:3000", "https://example.com", "wails://wails", "http://[::1]:5173"}
		}, ""},
		{"origin with path", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://localhost:3000", "http://x.com/app"} }, "allowedOrigins[1]: must be an origin like http://localhost:3000"},
		{"origin trailing slash", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://x.com/"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin without scheme", func(s *registry.Settings) { s.AllowedOrigins = []string{"localhost:3000"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin with query", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://x.com?a=1"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin with fragment", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://x.com#"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin with user", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://u@x.com"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin upper case", func(s *registry.Settings) { s.AllowedOrigins = []string{"HTTP://X.COM"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin empty", func(s *registry.Settings) { s.AllowedOrigins = []string{""} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"origin bad port", func(s *registry.Settings) { s.AllowedOrigins = []string{"http://x.com:0"} }, "allowedOrigins[0]: must be an origin like http://localhost:3000"},
		{"stopGrace 100", func(s *registry.Settings) { s.StopGraceMs = 100 }, ""},
		{"stopGrace 99", func(s *registry.Settings) { s.StopGraceMs = 99 }, "stopGraceMs: must be between 100 and 600000"},
		{"stopGrace 600001", func(s *registry.Settings) { s.StopGraceMs = 600001 }, "stopGraceMs: must be between 100 and 600000"},
		{"stopGrace negative", func(s *registry.Settings) { s.StopGraceMs = -5 }, "stopGraceMs: must be between 100 and 600000"},
		{"ring 100", func(s *registry.Settings) { s.LogRingSize = 100 }, ""},
		{"ring 1e6", func(s *registry.Settings) { s.LogRingSize = 1_000_000 }, ""},
		{"ring 99", func(s *registry.Settings) { s.LogRingSize = 99 }, "logRingSize: must be between 100 and 1000000"},
		{"ring 1e6+1", func(s *registry.Settings) { s.LogRingSize = 1_000_001 }, "logRingSize: must be between 100 and 1000000"},
		{"log files 1", func(s *registry.Settings) { s.LogFiles = 1 }, ""},
		{"log files 100", func(s *registry.Settings) { s.LogFiles = 100 }, ""},
		{"log files 101", func(s *registry.Settings) { s.LogFiles = 101 }, "logFiles: must be between 1 and 100"},
		{"log files -1", func(s *registry.Settings) { s.LogFiles = -1 }, "logFiles: must be between 1 and 100"},
		{"log file bytes -1", func(s *registry.Settings) { s.LogFileMaxBytes = -1 }, "logFileMaxBytes: must be 0 or more"},
		{"history off", func(s *registry.Settings) { s.HistoryIntervalMs = -1 }, ""},
		{"history -2", func(s *registry.Settings) { s.HistoryIntervalMs = -2 }, "historyIntervalMs: must be -1 (off), 0 or more"},
		{"history minutes -1", func(s *registry.Settings) { s.HistoryMinutes = -1 }, "historyMinutes: must be 0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s registry.Settings
			tt.change(&s)
			err := registry.ValidateSettings(s)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				wantProblems(t, err, tt.want)
			}

			// Inside a Config the same problem carries the "settings." prefix.
			c := registry.Config{Settings: s}
			err = c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Config.Validate: unexpected error: %v", err)
				}
				return
			}
			wantProblems(t, err, "settings."+tt.want)
		})
	}
}

func TestConfigValidatePaths(t *testing.T) {
	a, b, c, d := validServer(), validServer(), validServer(), validServer()
	a.ID, b.ID, c.ID, d.ID = "x", "y", "z", "x"
	c.Restart.Policy = "bad"
	cfg := registry.Config{Servers: []registry.ServerDef{a, b, c, d}}
	wantProblems(t, cfg.Validate(),
		`servers[2].restart.policy: must be never, on-failure or always; servers[3].id: "x" is already used by servers[0]`)

	// The duplicate names the first holder of the id, even when it is not the one before.
	b.ID = "x"
	d.ID = "x"
	cfg = registry.Config{Servers: []registry.ServerDef{validServerID("q"), b, validServerID("r"), d}}
	wantProblems(t, cfg.Validate(), `servers[3].id: "x" is already used by servers[1]`)
}

func validServerID(id string) registry.ServerDef {
	d := validServer()
	d.ID = id
	return d
}

func TestProblemWithoutField(t *testing.T) {
	e := &registry.ValidationError{Problems: []registry.Problem{{Rule: "must be an object"}, {Field: "id", Rule: "x"}}}
	if got, want := e.Error(), "must be an object; id: x"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
