package registry_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestDecodeParseErrorPosition(t *testing.T) {
	tests := []struct {
		file string
		want string
		line int
		col  int
	}{
		{"trailing_comma.json", "line 6, column 5: invalid character '}' looking for beginning of object key string", 6, 5},
		{"missing_comma.json", `line 6, column 7: invalid character '"' after object key:value pair`, 6, 7},
		{"truncated.json", "line 3, column 1: unexpected end of JSON input", 3, 1},
		{"unicode_column.json", "line 1, column 17: invalid character 'x' looking for beginning of object key string", 1, 17},
		{"two_documents.json", "line 2, column 1: invalid character '{' after top-level value", 2, 1},
		{"bom.json", "line 2, column 2: invalid character 'x' looking for beginning of object key string", 2, 2},
		{"crlf.json", "line 3, column 16: invalid character '0' after object key:value pair", 3, 16},
		{"single_quotes.json", `line 3, column 10: invalid character '\'' looking for beginning of value`, 3, 10},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "parse", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := registry.Decode(data)
			if c != nil {
				t.Errorf("got a config %+v with the error", c)
			}
			var pe *registry.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line != tt.line || pe.Column != tt.col {
				t.Errorf("position = %d:%d, want %d:%d", pe.Line, pe.Column, tt.line, tt.col)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			var se *json.SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("the *json.SyntaxError is not reachable with errors.As")
			}
			if !errors.Is(err, registry.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false")
			}
		})
	}
}

func TestDecodeTypeAndUnknownFields(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"args not an array", `{"servers":[{"id":"a","command":"x"},{"id":"b","command":"x"},{"id":"c","command":"x","args":"-y"}]}`,
			"servers[2].args: must be an array of strings"},
		{"args with a number", `{"servers":[{"id":"a","command":"x","args":["a",1]}]}`, "servers[0].args: must be an array of strings"},
		{"tags object", `{"servers":[{"id":"a","command":"x","tags":{}}]}`, "servers[0].tags: must be an array of strings"},
		{"env value number", `{"servers":[{"id":"a","command":"x","env":{"A":1}}]}`, "servers[0].env: must be an object with string values"},
		{"env array", `{"servers":[{"id":"a","command":"x","env":["A=1"]}]}`, "servers[0].env: must be an object with string values"},
		{"command number", `{"servers":[{"id":"a","command":7}]}`, "servers[0].command: must be a string"},
		{"autoStart string", `{"servers":[{"id":"a","command":"x","autoStart":"yes"}]}`, "servers[0].autoStart: must be true or false"},
		{"restart string", `{"servers":[{"id":"a","command":"x","restart":"always"}]}`, "servers[0].restart: must be an object"},
		{"maxRetries string", `{"servers":[{"id":"a","command":"x","restart":{"maxRetries":"5"}}]}`, "servers[0].restart.maxRetries: must be an integer"},
		{"backoff fraction", `{"servers":[{"id":"a","command":"x","restart":{"backoffMs":1000.5}}]}`, "servers[0].restart.backoffMs: must be an integer"},
		{"server not an object", `{"servers":[{"id":"a","command":"x"},"b"]}`, "servers[1]: must be an object"},
		{"servers object", `{"servers":{"a":{}}}`, "servers: must be an array"},
		{"settings array", `{"settings":[]}`, "settings: must be an object"},
		{"port string", `{"settings":{"port":"3001"}}`, "settings.port: must be an integer"},
		{"port huge", `{"settings":{"port":99999999999999999999}}`, "settings.port: is too large"},
		{"port huge float", `{"settings":{"port":1e300}}`, "settings.port: is too large"},
		{"origins string", `{"settings":{"allowedOrigins":"http://a"}}`, "settings.allowedOrigins: must be an array of strings"},
		{"requireToken number", `{"settings":{"requireToken":1}}`, "settings.requireToken: must be true or false"},
		{"top level array", `[]`, "the top level must be an object"},
		{"top level null", `null`, "the top level must be an object"},
		{"top level string", `"x"`, "the top level must be an object"},
		{"unknown server field", `{"servers":[{"id":"a","comand":"x"}]}`, `servers[0]: unknown field "comand"`},
		{"unknown top field", `{"server":[]}`, `unknown field "server"`},
		{"unknown settings field", `{"settings":{"prot":1}}`, `settings: unknown field "prot"`},
		{"unknown restart field", `{"servers":[{"id":"a","command":"x","restart":{"retries":3}}]}`, `servers[0].restart: unknown field "retries"`},
		{"field names are case-sensitive", `{"servers":[{"id":"a","Command":"x"}]}`, `servers[0]: unknown field "Command"`},
		{"every problem, in key order", `{"settings":{"zzz":1,"port":"x"},"servers":[{"id":1,"b":2}],"extra":0}`,
			`unknown field "extra"; servers[0]: unknown field "b"; servers[0].id: must be a string; settings.port: must be an integer; settings: unknown field "zzz"`},
		// type checks pass, then defaults and validation run
		{"validation after decode", `{"servers":[{"id":"a","command":"x","transport":"sse"}]}`, "servers[0].url: required for transport sse"},
		{"id from an unusable name", `{"servers":[{"name":"!!!","command":"x"}]}`, "servers[0].id: cannot be made from name, set it"},
		{"duplicate made from names", `{"servers":[{"name":"My Server","command":"x"},{"name":"my-server","command":"y"}]}`,
			`servers[1].id: "my-server" is already used by servers[0]`},
		{"explicit maxRetries out of range", `{"servers":[{"id":"a","command":"x","restart":{"policy":"always","maxRetries":5000}}]}`,
			"servers[0].restart.maxRetries: must be between 0 and 1000"},
		{"settings validated", `{"settings":{"theme":"blue","port":70000}}`, "settings.port: must be between 1 and 65535; settings.theme: must be light, dark or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := registry.Decode([]byte(tt.in))
			if c != nil {
				t.Errorf("got a config with the error")
			}
			wantProblems(t, err, tt.want)
		})
	}
}

func TestDecodeDefaults(t *testing.T) {
	in := `{
	  "servers": [
	    {"name": "My Weather API!", "command": "npx"},
	    {"id": "plain", "command": "x", "restart": {"policy": "always"}},
	    {"id": "no-retries", "command": "x", "restart": {"policy": "never", "maxRetries": 0}},
	    {"id": "nulls", "command": "x", "args": null, "env": null, "tags": null, "restart": null, "url": null},
	    {"id": "retries-null", "command": "x", "restart": {"maxRetries": null, "backoffMs": 250}},
	    {"id": "floats", "command": "x", "restart": {"maxRetries": 3.0, "backoffMs": 2e3}}
	  ],
	  "settings": {"port": 4000}
	}`
	c, err := registry.Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	empty := func(id, name string, r registry.RestartPolicy) registry.ServerDef {
		return registry.ServerDef{ID: id, Name: name, Command: "x", Args: []string{}, Env: map[string]string{},
			Transport: registry.TransportStdio, Restart: r, Tags: []string{}}
	}
	first := empty("my-weather-api", "My Weather API!", registry.RestartPolicy{Policy: "on-failure", MaxRetries: 5, BackoffMs: 1000})
	first.Command = "npx"
	want := []registry.ServerDef{
		first,
		empty("plain", "plain", registry.RestartPolicy{Policy: "always", MaxRetries: 5, BackoffMs: 1000}),
		empty("no-retries", "no-retries", registry.RestartPolicy{Policy: "never", MaxRetries: 0, BackoffMs: 1000}),
		empty("nulls", "nulls", registry.RestartPolicy{Policy: "on-failure", MaxRetries: 5, BackoffMs: 1000}),
		empty("retries-null", "retries-null", registry.RestartPolicy{Policy: "on-failure", MaxRetries: 5, BackoffMs: 250}),
		empty("floats", "floats", registry.RestartPolicy{Policy: "on-failure", MaxRetries: 3, BackoffMs: 2000}),
	}
	if !reflect.DeepEqual(c.Servers, want) {
		t.Errorf("servers:\n got %+v\nwant %+v", c.Servers, want)
	}
	if want := (registry.Settings{Port: 4000}); !reflect.DeepEqual(c.Settings, want) {
		t.Errorf("settings are returned as stored: got %+v, want %+v", c.Settings, want)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", " \n\t\r\n", "\xef\xbb\xbf", "{}", `{"servers":null,"settings":null}`, `{"servers":[]}`} {
		t.Run(strings.ReplaceAll(in, "\n", `\n`), func(t *testing.T) {
			c, err := registry.Decode([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Servers == nil || len(c.Servers) != 0 || !reflect.DeepEqual(c.Settings, registry.Settings{}) {
				t.Errorf("got %#v, want an empty config with non-nil servers", c)
			}
		})
	}
	// Whitespace outside JSON's own four characters is not "empty": it is a syntax error.
	var pe *registry.ParseError
	if _, err := registry.Decode([]byte("\u00a0")); !errors.As(err, &pe) {
		t.Errorf("NBSP only: got %v, want a *ParseError", err)
	}
}

func TestDecodeServerAndSettings(t *testing.T) {
	d, err := registry.DecodeServer([]byte(`{"name":"A","command":"x","args":["1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (registry.ServerDef{Name: "A", Command: "x", Args: []string{"1"}}); !reflect.DeepEqual(d, want) {
		t.Errorf("DecodeServer applies no defaults: got %+v, want %+v", d, want)
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"server unknown field", second(registry.DecodeServer([]byte(`{"comand":"x"}`))), `unknown field "comand"`},
		{"server type", second(registry.DecodeServer([]byte(`{"args":"x"}`))), "args: must be an array of strings"},
		{"server empty body", second(registry.DecodeServer(nil)), "must be an object"},
		{"server array", second(registry.DecodeServer([]byte(`[]`))), "must be an object"},
		{"settings type", second(registry.DecodeSettings([]byte(`{"port":true}`))), "port: must be an integer"},
		{"settings unknown", second(registry.DecodeSettings([]byte(`{"colour":"x"}`))), `unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantProblems(t, tt.err, tt.want) })
	}
	var pe *registry.ParseError
	if _, err := registry.DecodeServer([]byte(`{"id":`)); !errors.As(err, &pe) {
		t.Errorf("broken body: got %v, want a *ParseError", err)
	}
	s, err := registry.DecodeSettings([]byte(`{"port":1234,"allowedOrigins":[]}`))
	if err != nil || !reflect.DeepEqual(s, registry.Settings{Port: 1234}) {
		t.Errorf("DecodeSettings = %+v, %v", s, err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestEveryFieldRoundTrips fills every field of the shared types with a non-zero value and
// checks it survives Encode and Decode: a field added to types.go but not to the decoder
// fails here (the decoder would call it unknown).
func TestEveryFieldRoundTrips(t *testing.T) {
	d := registry.ServerDef{
		ID: "full", Name: "Full", Command: "cmd", Args: []string{"a"}, Env: map[string]string{"K": "V"},
		Cwd: "/tmp", Transport: registry.TransportSSE, URL: "http://127.0.0.1:1/sse", AutoStart: true,
		Restart: registry.RestartPolicy{Policy: registry.PolicyAlways, MaxRetries: 7, BackoffMs: 300},
		Tags:    []string{"t"},
	}
	s := registry.Settings{
		Host: "::1", Port: 9, AllowedOrigins: []string{"http://a.b"}, RequireToken: true,
		StopGraceMs: 200, LogRingSize: 200, LogFileMaxBytes: 2048, LogFiles: 2,
		HistoryIntervalMs: 500, HistoryMinutes: 5, KeepRunningInBackground: true, Theme: "dark",
		MCPProbe: new(false), MCPProbeIntervalMs: 2000, HealthRestartAfter: 2,
	}
	assertAllSet(t, reflect.ValueOf(d), "ServerDef")
	assertAllSet(t, reflect.ValueOf(s), "Settings")

	in := registry.Config{Servers: []registry.ServerDef{d}, Settings: s}
	data, err := registry.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := registry.Decode(data)
	if err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *out, in)
	}
}

func assertAllSet(t *testing.T, v reflect.Value, where string) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		name := where + "." + v.Type().Field(i).Name
		if f.IsZero() {
			t.Errorf("%s is zero: give it a value in this test", name)
		}
		if f.Kind() == reflect.Struct {
			assertAllSet(t, f, name)
		}
	}
}

func TestEncode(t *testing.T) {
	data, err := registry.Encode(registry.Config{Servers: []registry.ServerDef{{ID: "a", Args: []string{"<&>"}}}})
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{"{\n  \"servers\": [\n    {\n", `"<&>"`, "\"settings\": {}\n}\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("encoded config lacks %q:\n%s", want, text)
		}
	}
	empty, err := registry.Encode(registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(empty), "{\n  \"servers\": [],\n  \"settings\": {}\n}\n"; got != want {
		t.Errorf("empty config encodes as %q, want %q", got, want)
	}
}
