package registry_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestIDFromName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Weather API", "weather-api"},
		{"  --Hello__World--  ", "hello-world"},
		{"file-system v2.1", "file-system-v2-1"},
		{"ÜberServer", "berserver"},
		{"日本", ""},
		{"!!!", ""},
		{"", ""},
		{strings.Repeat("a", 100), strings.Repeat("a", 63)},
		// the cut lands just after a dash: the dash goes too
		{strings.Repeat("a", 62) + " bc", strings.Repeat("a", 62)},
		{strings.Repeat("a", 61) + " bc", strings.Repeat("a", 61) + "-b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := registry.IDFromName(tt.name)
			if got != tt.want {
				t.Errorf("IDFromName(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if got != "" {
				d := validServer()
				d.ID = got
				if err := registry.ValidateServer(d); err != nil {
					t.Errorf("made id %q does not validate: %v", got, err)
				}
			}
		})
	}
}

func TestApplyDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   registry.ServerDef
		want registry.ServerDef
	}{
		{
			name: "everything empty but the name",
			in:   registry.ServerDef{Name: "Git Hub", Command: "x"},
			want: registry.ServerDef{ID: "git-hub", Name: "Git Hub", Command: "x", Args: []string{}, Env: map[string]string{},
				Transport: "stdio", Restart: registry.RestartPolicy{Policy: "on-failure", MaxRetries: 5, BackoffMs: 1000}, Tags: []string{}},
		},
		{
			name: "name from id, explicit values kept",
			in: registry.ServerDef{ID: "gh", Command: "x", Args: []string{"a"}, Env: map[string]string{"K": "v"}, Transport: "sse",
				Restart: registry.RestartPolicy{Policy: "never"}, Tags: []string{"t"}},
			want: registry.ServerDef{ID: "gh", Name: "gh", Command: "x", Args: []string{"a"}, Env: map[string]string{"K": "v"}, Transport: "sse",
				Restart: registry.RestartPolicy{Policy: "never", MaxRetries: 0, BackoffMs: 1000}, Tags: []string{"t"}},
		},
		{
			name: "maxRetries alone keeps its value and gets a policy",
			in:   registry.ServerDef{ID: "a", Restart: registry.RestartPolicy{MaxRetries: 2}},
			want: registry.ServerDef{ID: "a", Name: "a", Args: []string{}, Env: map[string]string{}, Transport: "stdio",
				Restart: registry.RestartPolicy{Policy: "on-failure", MaxRetries: 2, BackoffMs: 1000}, Tags: []string{}},
		},
		{
			name: "unusable name leaves the id empty",
			in:   registry.ServerDef{Name: "??"},
			want: registry.ServerDef{Name: "??", Args: []string{}, Env: map[string]string{}, Transport: "stdio",
				Restart: registry.RestartPolicy{Policy: "on-failure", MaxRetries: 5, BackoffMs: 1000}, Tags: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			got.ApplyDefaults()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			again := got.Clone()
			again.ApplyDefaults()
			if !reflect.DeepEqual(again, got) {
				t.Errorf("ApplyDefaults is not idempotent: %+v then %+v", got, again)
			}
		})
	}
}

func TestSettingsWithDefaults(t *testing.T) {
	on, off := true, false
	want := registry.Settings{Host: "127.0.0.1", Port: 3001, StopGraceMs: 5000, LogRingSize: 10000,
		LogFileMaxBytes: 10 << 20, LogFiles: 5, HistoryIntervalMs: 2000, HistoryMinutes: 60,
		MCPProbe: &on, MCPProbeIntervalMs: 15000}
	if got := (registry.Settings{}).WithDefaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("zero settings: got %+v, want %+v", got, want)
	}
	set := registry.Settings{Host: "::1", Port: 8080, StopGraceMs: 100, LogRingSize: 100, LogFileMaxBytes: 1,
		LogFiles: 1, HistoryIntervalMs: -1, HistoryMinutes: 1, Theme: "dark", AllowedOrigins: []string{"http://a"},
		MCPProbe: &off, MCPProbeIntervalMs: 1000, HealthRestartAfter: 3}
	got := set.WithDefaults()
	if !reflect.DeepEqual(got, set) {
		t.Errorf("set values must be kept (history -1 = off): got %+v, want %+v", got, set)
	}
	got.AllowedOrigins[0] = "changed"
	if set.AllowedOrigins[0] != "http://a" {
		t.Error("WithDefaults shares the AllowedOrigins slice")
	}
	*got.MCPProbe = true
	if *set.MCPProbe || set.MCPProbeOn() || !(registry.Settings{}).MCPProbeOn() {
		t.Error("WithDefaults shares MCPProbe, or MCPProbeOn is wrong")
	}
}

func TestDecodeMCPSettings(t *testing.T) {
	s, err := registry.DecodeSettings([]byte(`{"mcpProbe":false,"mcpProbeIntervalMs":2000,"healthRestartAfter":3}`))
	if err != nil || s.MCPProbe == nil || *s.MCPProbe || s.MCPProbeIntervalMs != 2000 || s.HealthRestartAfter != 3 {
		t.Fatalf("DecodeSettings = %+v, %v", s, err)
	}
	if err := registry.ValidateSettings(s); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []registry.Settings{{MCPProbeIntervalMs: 999}, {HealthRestartAfter: -1}, {HealthRestartAfter: 101}} {
		if registry.ValidateSettings(bad) == nil {
			t.Errorf("%+v passed validation", bad)
		}
	}
	if _, err := registry.DecodeSettings([]byte(`{"mcpProbe":"yes"}`)); err == nil {
		t.Error(`mcpProbe "yes" accepted`)
	}
}

func TestCloneAndRedacted(t *testing.T) {
	d := validServer()
	d.Env = map[string]string{"API_KEY": "secret", "PORT": "1"}
	d.Tags = []string{"t"}

	c := d.Clone()
	c.Args[0], c.Env["API_KEY"], c.Tags[0] = "changed", "changed", "changed"
	if d.Args[0] != "-y" || d.Env["API_KEY"] != "secret" || d.Tags[0] != "t" {
		t.Errorf("Clone shares memory with the original: %+v", d)
	}

	r := d.Redacted()
	if want := map[string]string{"API_KEY": "", "PORT": ""}; !reflect.DeepEqual(r.Env, want) {
		t.Errorf("Redacted env = %v, want %v", r.Env, want)
	}
	if d.Env["API_KEY"] != "secret" {
		t.Error("Redacted changed the original")
	}
	r.Env = d.Env
	if !reflect.DeepEqual(r, d) {
		t.Errorf("Redacted changed more than env values: %+v", r)
	}

	var zero registry.ServerDef
	if got := zero.Redacted(); got.Env != nil || got.Args != nil {
		t.Errorf("nil stays nil: %+v", got)
	}
}
