package registry_test

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestAllowedOrigins(t *testing.T) {
	builtIn := func(port string) []string {
		return []string{"http://localhost:" + port, "http://127.0.0.1:" + port, "http://[::1]:" + port,
			"wails://wails", "wails://wails.localhost", "http://wails.localhost"}
	}
	tests := []struct {
		name     string
		settings registry.Settings
		cors     string
		want     []string
	}{
		{"defaults", registry.Settings{}, "", append(builtIn("3001"), "http://localhost:3000")},
		{"blank env is the default", registry.Settings{}, "  ", append(builtIn("3001"), "http://localhost:3000")},
		{"port setting", registry.Settings{Port: 8080}, "", append(builtIn("8080"), "http://localhost:3000")},
		{"env replaces the default", registry.Settings{}, " https://a.example , ,http://b.example:8080/,",
			append(builtIn("3001"), "https://a.example", "http://b.example:8080")},
		{"settings added, duplicates dropped", registry.Settings{Port: 3000, AllowedOrigins: []string{"http://x.y", "http://localhost:3000"}},
			"http://x.y,http://127.0.0.1:3000",
			append(builtIn("3000"), "http://x.y")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := registry.AllowedOrigins(tt.settings, tt.cors); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestIsOrigin(t *testing.T) {
	for _, o := range registry.AllowedOrigins(registry.Settings{}, "") {
		if !registry.IsOrigin(o) {
			t.Errorf("built-in origin %q is not an origin", o)
		}
	}
}

func TestDefaultPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "cfg"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	if got, want := registry.DefaultConfigPath(), filepath.Join(dir, "cfg", "mcpwatch", "config.json"); got != want {
		t.Errorf("DefaultConfigPath() = %q, want %q", got, want)
	}
	if got, want := registry.DefaultDataDir(), filepath.Join(dir, "state", "mcpwatch"); got != want {
		t.Errorf("DefaultDataDir() = %q, want %q", got, want)
	}
	// The environment is read again on each call.
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "other"))
	if got, want := registry.DefaultConfigPath(), filepath.Join(dir, "other", "mcpwatch", "config.json"); got != want {
		t.Errorf("after a change: DefaultConfigPath() = %q, want %q", got, want)
	}
}
