package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// childDef is a server definition running the test child with args, never restarted.
func childDef(t *testing.T, id string, args ...string) map[string]any {
	return map[string]any{
		"id":      id,
		"command": testutil.BuildTestChild(t),
		"args":    args,
		"restart": map[string]any{"policy": "never"},
	}
}

func (e *env) state(id string) engine.ServerState {
	e.t.Helper()
	r := e.api("GET", "/api/v1/servers/"+id, nil)
	if r.status != 200 {
		e.t.Fatalf("GET server %s: %d %s", id, r.status, r.body)
	}
	var v engine.ServerView
	r.json(e.t, &v)
	return v.State
}

func (e *env) waitStatus(id string, want ...string) engine.ServerState {
	e.t.Helper()
	var st engine.ServerState
	eventually(e.t, 20*time.Second, id+" to be "+strings.Join(want, " or "), func() bool {
		st = e.state(id)
		for _, w := range want {
			if st.Status == w {
				return true
			}
		}
		return false
	})
	return st
}

// TestServersCRUD: create, read, update, delete with the statuses and messages of protocol.md
// section 6: 400 naming the field, 404, 405, 409 on a duplicate id and on starting a running server.
func TestServersCRUD(t *testing.T) {
	e := newEnv(t, envOptions{})

	r := e.api("POST", "/api/v1/servers", map[string]any{"name": "Weather API", "command": "npx", "args": []string{"-y", "x"}, "env": map[string]string{"PORT": "3322"}})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created engine.ServerView
	r.json(t, &created)
	if created.ID != "weather-api" || created.Transport != "stdio" || created.Restart.Policy != "on-failure" || created.Env["PORT"] != "3322" {
		t.Fatalf("created %+v: want id from the name, defaults applied, env shown", created)
	}
	if created.State.Status != "stopped" {
		t.Errorf("state %q, want stopped", created.State.Status)
	}
	if got := r.header.Get("Location"); got != "/api/v1/servers/weather-api" {
		t.Errorf("Location %q", got)
	}
	if data, err := os.ReadFile(e.cfg); err != nil || !strings.Contains(string(data), `"weather-api"`) {
		t.Errorf("config file does not hold the new server (err %v)", err)
	}

	invalid := []struct {
		name        string
		body        any
		contentType string
		wantStatus  int
		wantMsg     string
	}{
		{name: "unknown field", body: `{"name":"a","comand":"x"}`, wantStatus: 400, wantMsg: `unknown field "comand"`},
		{name: "wrong type", body: `{"name":"a","command":"x","args":"-v"}`, wantStatus: 400, wantMsg: "args: must be an array of strings"},
		{name: "bad transport", body: `{"name":"a","command":"x","transport":"tcp"}`, wantStatus: 400, wantMsg: "transport: must be stdio, sse or streamable-http"},
		{name: "missing command", body: `{"name":"a"}`, wantStatus: 400, wantMsg: "command: must not be empty"},
		{name: "bad id", body: `{"id":"Bad_ID","command":"x"}`, wantStatus: 400, wantMsg: "id: must match"},
		{name: "bad restart policy", body: `{"name":"a","command":"x","restart":{"policy":"sometimes"}}`, wantStatus: 400, wantMsg: "restart.policy: must be never, on-failure or always"},
		{name: "url required", body: `{"name":"a","command":"x","transport":"sse"}`, wantStatus: 400, wantMsg: "url: required for transport sse"},
		{name: "syntax error", body: `{"name":`, wantStatus: 400, wantMsg: "invalid JSON: line 1"},
		{name: "trailing data", body: `{"name":"a","command":"x"} {}`, wantStatus: 400, wantMsg: "invalid JSON"},
		{name: "empty body", body: ``, wantStatus: 400, wantMsg: "must be an object"},
		{name: "not an object", body: `[1,2]`, wantStatus: 400, wantMsg: "must be an object"},
		{name: "not JSON content type", body: `{"name":"a","command":"x"}`, contentType: "text/plain", wantStatus: 415, wantMsg: "must be JSON"},
		{name: "duplicate id", body: `{"id":"weather-api","command":"x"}`, wantStatus: 409, wantMsg: "weather-api"},
	}
	for _, c := range invalid {
		t.Run("create "+c.name, func(t *testing.T) {
			h := map[string]string{"Authorization": "Bearer " + e.token, "Content-Type": "application/json"}
			if c.contentType != "" {
				h["Content-Type"] = c.contentType
			}
			r := e.req("POST", "/api/v1/servers", c.body, h)
			if r.status != c.wantStatus {
				t.Fatalf("status %d, want %d; %s", r.status, c.wantStatus, r.body)
			}
			if !strings.Contains(r.errMessage(), c.wantMsg) {
				t.Errorf("message %q, want it to contain %q", r.errMessage(), c.wantMsg)
			}
			wantCode := map[int]string{400: codeInvalid, 409: codeConflict, 415: codeUnsupportedMedia}[c.wantStatus]
			if r.errCode() != wantCode {
				t.Errorf("code %q, want %q", r.errCode(), wantCode)
			}
		})
	}
	t.Run("validation problems listed by field", func(t *testing.T) {
		r := e.api("POST", "/api/v1/servers", `{"id":"ok","command":"","transport":"x"}`)
		var b errorBody
		r.json(t, &b)
		fields := map[string]bool{}
		for _, p := range b.Error.Problems {
			fields[p.Field] = true
		}
		if !fields["command"] || !fields["transport"] {
			t.Errorf("problems %+v: want command and transport", b.Error.Problems)
		}
	})

	steps := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		check      func(t *testing.T, r response)
	}{
		{name: "get one", method: "GET", path: "/api/v1/servers/weather-api", wantStatus: 200, check: func(t *testing.T, r response) {
			var v engine.ServerView
			r.json(t, &v)
			if v.Name != "Weather API" || v.Env["PORT"] != "3322" {
				t.Errorf("got %+v", v)
			}
		}},
		{name: "get unknown", method: "GET", path: "/api/v1/servers/nope", wantStatus: 404, wantCode: codeNotFound},
		{name: "list", method: "GET", path: "/api/v1/servers", wantStatus: 200, check: func(t *testing.T, r response) {
			var l struct{ Servers []engine.ServerView }
			r.json(t, &l)
			if len(l.Servers) != 1 || l.Servers[0].ID != "weather-api" || l.Servers[0].State.Status != "stopped" {
				t.Errorf("list %+v", l)
			}
		}},
		{name: "update", method: "PUT", path: "/api/v1/servers/weather-api", body: map[string]any{"name": "Weather 2", "command": "node", "args": []string{"s.js"}}, wantStatus: 200, check: func(t *testing.T, r response) {
			var v engine.ServerView
			r.json(t, &v)
			if v.ID != "weather-api" || v.Name != "Weather 2" || v.Command != "node" {
				t.Errorf("updated %+v", v)
			}
		}},
		{name: "update with another id", method: "PUT", path: "/api/v1/servers/weather-api", body: map[string]any{"id": "other", "command": "node"}, wantStatus: 400, wantCode: codeInvalid, check: func(t *testing.T, r response) {
			if !strings.HasPrefix(r.errMessage(), "id: ") {
				t.Errorf("message %q, want it to name id", r.errMessage())
			}
		}},
		{name: "update invalid", method: "PUT", path: "/api/v1/servers/weather-api", body: map[string]any{"command": "node", "restart": map[string]any{"backoffMs": 5}}, wantStatus: 400, wantCode: codeInvalid, check: func(t *testing.T, r response) {
			if !strings.Contains(r.errMessage(), "restart.backoffMs: must be between 100 and 600000") {
				t.Errorf("message %q", r.errMessage())
			}
		}},
		{name: "update unknown", method: "PUT", path: "/api/v1/servers/nope", body: map[string]any{"command": "node"}, wantStatus: 404, wantCode: codeNotFound},
		{name: "wrong method on the collection", method: "DELETE", path: "/api/v1/servers", wantStatus: 405, wantCode: codeMethodNotAllowed, check: func(t *testing.T, r response) {
			if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
				t.Errorf("Allow %q", allow)
			}
		}},
		{name: "wrong method on an action", method: "GET", path: "/api/v1/servers/weather-api/start", wantStatus: 405, wantCode: codeMethodNotAllowed},
		{name: "unknown api path", method: "GET", path: "/api/v1/nothing", wantStatus: 404, wantCode: codeNotFound},
		{name: "unknown api version", method: "GET", path: "/api/v2/servers", wantStatus: 404, wantCode: codeNotFound},
		{name: "start unknown", method: "POST", path: "/api/v1/servers/nope/start", wantStatus: 404, wantCode: codeNotFound},
		{name: "delete", method: "DELETE", path: "/api/v1/servers/weather-api", wantStatus: 204},
		{name: "get deleted", method: "GET", path: "/api/v1/servers/weather-api", wantStatus: 404, wantCode: codeNotFound},
		{name: "delete again", method: "DELETE", path: "/api/v1/servers/weather-api", wantStatus: 404, wantCode: codeNotFound},
	}
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			r := e.api(c.method, c.path, c.body)
			if r.status != c.wantStatus {
				t.Fatalf("status %d, want %d; %s", r.status, c.wantStatus, r.body)
			}
			if c.wantCode != "" && r.errCode() != c.wantCode {
				t.Errorf("code %q, want %q", r.errCode(), c.wantCode)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// TestLifecycle: start, a second start of the running server (409), restart, stop, with real
// children.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	if r := e.api("POST", "/api/v1/servers", childDef(t, "sleeper", "-ready", "up", "-sleep", "1h")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var ans struct {
		ID    string             `json:"id"`
		State engine.ServerState `json:"state"`
	}
	r := e.api("POST", "/api/v1/servers/sleeper/start", nil)
	if r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	r.json(t, &ans)
	if ans.ID != "sleeper" || (ans.State.Status != "starting" && ans.State.Status != "running") {
		t.Fatalf("start answer %+v", ans)
	}
	first := e.waitStatus("sleeper", "running")
	if first.PID <= 0 || !testutil.ProcessAlive(first.PID) {
		t.Fatalf("running without a live pid: %+v", first)
	}
	if r := e.api("POST", "/api/v1/servers/sleeper/start", nil); r.status != 409 || r.errCode() != codeConflict {
		t.Fatalf("second start: %d %s, want 409 CONFLICT", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/sleeper/restart", nil); r.status != 200 {
		t.Fatalf("restart: %d %s", r.status, r.body)
	}
	second := e.waitStatus("sleeper", "running")
	if second.PID == first.PID {
		t.Errorf("restart kept pid %d", first.PID)
	}
	r = e.api("POST", "/api/v1/servers/sleeper/stop", nil)
	if r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
	r.json(t, &ans)
	if ans.State.Status != "stopped" {
		t.Errorf("stop answered %q, want stopped", ans.State.Status)
	}
	eventually(t, 10*time.Second, "the child to be gone", func() bool { return !testutil.ProcessAlive(second.PID) })
}

// logsAnswer is the json format.
type logsAnswer struct {
	Entries []struct {
		Level     string `json:"level"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
		Metadata  struct {
			Stream string `json:"stream"`
			Seq    uint64 `json:"seq"`
		} `json:"metadata"`
	} `json:"entries"`
}

// TestLogs queries a real child's output: level, substring, regex, limit, stream, time bounds,
// the three formats with their download headers, and 400s naming the parameter.
func TestLogs(t *testing.T) {
	e := newEnv(t, envOptions{})
	// 40 lines cycling debug, info, warn, error: 10 of each, "LEVEL line N".
	if r := e.api("POST", "/api/v1/servers", childDef(t, "talker", "-lines", "40", "-levels", "debug,info,warn,error", "-exit", "0")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/talker/start", nil); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	eventually(t, 20*time.Second, "40 stdout lines and the exit", func() bool {
		var a logsAnswer
		e.api("GET", "/api/v1/servers/talker/logs?stream=stdout", nil).json(t, &a)
		return len(a.Entries) == 40 && e.state("talker").Status == "stopped"
	})
	today := time.Now().UTC().Format(time.DateOnly)

	cases := []struct {
		name  string
		query string
		check func(t *testing.T, r response)
	}{
		{name: "all stdout, newest last", query: "stream=stdout", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 40 {
				t.Fatalf("%d entries, want 40", len(a.Entries))
			}
			for i, en := range a.Entries {
				if want := fmt.Sprintf("line %d", i+1); !strings.HasSuffix(en.Message, want) {
					t.Errorf("entry %d = %q, want it to end with %q", i, en.Message, want)
				}
				if i > 0 && en.Metadata.Seq <= a.Entries[i-1].Metadata.Seq {
					t.Errorf("seq not increasing at %d", i)
				}
			}
			if r.header.Get("Content-Disposition") != "" {
				t.Errorf("json without download=1 has Content-Disposition %q", r.header.Get("Content-Disposition"))
			}
		}},
		{name: "system lines stored too", query: "stream=system", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) == 0 {
				t.Fatal("no system entries (started, exited)")
			}
		}},
		{name: "level warn and above", query: "stream=stdout&level=warn", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 20 {
				t.Fatalf("%d entries, want 20", len(a.Entries))
			}
			for _, en := range a.Entries {
				if en.Level != "warn" && en.Level != "error" {
					t.Errorf("level %q passed level=warn", en.Level)
				}
			}
		}},
		{name: "substring, any case", query: "stream=stdout&q=error", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 10 {
				t.Fatalf("%d entries, want 10", len(a.Entries))
			}
		}},
		{name: "regex", query: "stream=stdout&q=" + urlEscape(`/line (1|2)$/`), check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 2 || a.Entries[0].Message != "DEBUG line 1" || a.Entries[1].Message != "INFO line 2" {
				t.Fatalf("entries %+v, want lines 1 and 2", a.Entries)
			}
		}},
		{name: "limit keeps the newest", query: "stream=stdout&limit=3", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 3 || !strings.HasSuffix(a.Entries[2].Message, "line 40") || !strings.HasSuffix(a.Entries[0].Message, "line 38") {
				t.Fatalf("entries %+v, want lines 38..40", a.Entries)
			}
		}},
		{name: "since in the future", query: "since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 0 {
				t.Fatalf("%d entries after an hour from now", len(a.Entries))
			}
		}},
		{name: "until in the past", query: "until=2000-01-01T00:00:00Z", check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 0 {
				t.Fatalf("%d entries before 2000", len(a.Entries))
			}
		}},
		{name: "since with an offset", query: "stream=stdout&since=" + urlEscape(time.Now().Add(-time.Hour).In(time.FixedZone("x", 2*3600)).Format(time.RFC3339)), check: func(t *testing.T, r response) {
			var a logsAnswer
			r.json(t, &a)
			if len(a.Entries) != 40 {
				t.Fatalf("%d entries since an hour ago, want 40", len(a.Entries))
			}
		}},
		{name: "json download", query: "stream=stdout&limit=2&download=1", check: func(t *testing.T, r response) {
			want := `attachment; filename="talker-logs-` + today + `.json"`
			if got := r.header.Get("Content-Disposition"); got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
		}},
		{name: "ndjson", query: "stream=stdout&format=ndjson&level=error", check: func(t *testing.T, r response) {
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
				t.Errorf("Content-Type %q", ct)
			}
			if got, want := r.header.Get("Content-Disposition"), `attachment; filename="talker-logs-`+today+`.ndjson"`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
			if len(lines) != 10 {
				t.Fatalf("%d lines, want 10", len(lines))
			}
			for _, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["level"] != "error" {
					t.Errorf("line %q: %v", l, err)
				}
			}
		}},
		{name: "text", query: "stream=stdout&format=text&limit=4", check: func(t *testing.T, r response) {
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q", ct)
			}
			if got, want := r.header.Get("Content-Disposition"), `attachment; filename="talker-logs-`+today+`.txt"`; got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
			want := []string{"DEBUG [stdout] DEBUG line 37", "INFO [stdout] INFO line 38", "WARN [stdout] WARN line 39", "ERROR [stdout] ERROR line 40"}
			if len(lines) != len(want) {
				t.Fatalf("lines %q", lines)
			}
			for i, l := range lines {
				ts, rest, _ := strings.Cut(l, " ")
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || rest != want[i] {
					t.Errorf("line %q, want TIMESTAMP %s", l, want[i])
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.api("GET", "/api/v1/servers/talker/logs?"+c.query, nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			c.check(t, r)
		})
	}

	bad := []struct {
		name, query, param string
	}{
		{"bad level", "level=loud", "level"},
		{"bad regex", "q=" + urlEscape("/(/"), "q"},
		{"bad since", "since=yesterday", "since"},
		{"bad until", "until=12:00", "until"},
		{"until before since", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		{"zero limit", "limit=0", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"limit too large", "limit=100001", "limit"},
		{"bad format", "format=xml", "format"},
		{"bad stream", "stream=stdin", "stream"},
		{"bad download", "download=maybe", "download"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := e.api("GET", "/api/v1/servers/talker/logs?"+c.query, nil)
			if r.status != 400 || r.errCode() != codeInvalid || !strings.HasPrefix(r.errMessage(), c.param+": ") {
				t.Fatalf("status %d body %s, want 400 INVALID naming %q", r.status, r.body, c.param)
			}
		})
	}
	if r := e.api("GET", "/api/v1/servers/nope/logs", nil); r.status != 404 || r.errCode() != codeNotFound {
		t.Fatalf("logs of an unknown server: %d %s", r.status, r.body)
	}
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// TestMetricsHistory: a child that ran a few seconds has a history (historyIntervalMs 200)
// with its pid; since filters; bad since is 400; an unknown server 404.
func TestMetricsHistory(t *testing.T) {
	e := newEnv(t, envOptions{settings: &registry.Settings{HistoryIntervalMs: 200}})
	if r := e.api("POST", "/api/v1/servers", childDef(t, "busy", "-mem", "8", "-sleep", "1h")); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/busy/start", nil); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	st := e.waitStatus("busy", "running")
	type answer struct {
		ServerID string `json:"serverId"`
		Samples  []struct {
			PID       int    `json:"pid"`
			Timestamp string `json:"timestamp"`
			Memory    struct {
				RSS uint64 `json:"rss"`
			} `json:"memory"`
		} `json:"samples"`
	}
	var a answer
	// The child touches its 8 MiB after it starts: the newest samples see it.
	eventually(t, 20*time.Second, "3 history samples, the newest with the child's memory", func() bool {
		a = answer{}
		r := e.api("GET", "/api/v1/servers/busy/metrics", nil)
		r.json(t, &a)
		return r.status == 200 && len(a.Samples) >= 3 && a.Samples[len(a.Samples)-1].Memory.RSS >= 8<<20
	})
	if a.ServerID != "busy" {
		t.Errorf("serverId %q", a.ServerID)
	}
	for i, s := range a.Samples {
		// (The very first sample, taken as the child execs, may read rss 0: not checked.)
		if s.PID != st.PID {
			t.Errorf("sample %d %+v, want pid %d", i, s, st.PID)
		}
		if i > 0 && s.Timestamp <= a.Samples[i-1].Timestamp {
			t.Errorf("samples not oldest first at %d: %s after %s", i, s.Timestamp, a.Samples[i-1].Timestamp)
		}
	}
	last, err := time.Parse(time.RFC3339Nano, a.Samples[len(a.Samples)-1].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	var after answer
	e.api("GET", "/api/v1/servers/busy/metrics?since="+urlEscape(last.Add(time.Millisecond).Format(time.RFC3339Nano)), nil).json(t, &after)
	for _, s := range after.Samples {
		if ts, _ := time.Parse(time.RFC3339Nano, s.Timestamp); ts.Before(last.Add(time.Millisecond)) {
			t.Errorf("sample at %s passed since %s", s.Timestamp, last)
		}
	}
	var none answer
	r := e.api("GET", "/api/v1/servers/busy/metrics?since=2999-01-01T00:00:00Z", nil)
	r.json(t, &none)
	if none.Samples == nil || len(none.Samples) != 0 {
		t.Errorf("samples %v, want an empty list (not null): %s", none.Samples, r.body)
	}
	if r := e.api("GET", "/api/v1/servers/busy/metrics?since=soon", nil); r.status != 400 || !strings.HasPrefix(r.errMessage(), "since: ") {
		t.Errorf("bad since: %d %s", r.status, r.body)
	}
	if r := e.api("GET", "/api/v1/servers/nope/metrics", nil); r.status != 404 {
		t.Errorf("unknown server: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/busy/stop", nil); r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
}

// TestSettingsTokenAndStats: the settings answer, a validated update, token regeneration (the old
// token stops working at once) and the debug and system endpoints.
func TestSettingsTokenAndStats(t *testing.T) {
	e := newEnv(t, envOptions{})
	var s engine.SettingsView
	r := e.api("GET", "/api/v1/settings", nil)
	r.json(t, &s)
	if r.status != 200 || s.ListenURL != e.srv.URL() || !s.ExternalAccess.Enabled || s.ConfigPath != e.cfg ||
		s.Version != "test-1.0" || s.Effective.Port != registry.DefaultPort || s.Effective.Host != registry.DefaultHost || s.Settings.Port != 0 {
		t.Fatalf("settings %d %+v", r.status, s)
	}

	cases := []struct {
		name       string
		body       any
		wantStatus int
		wantMsg    string
	}{
		{"valid", map[string]any{"historyMinutes": 30, "allowedOrigins": []string{"http://x.example"}}, 200, ""},
		{"port out of range", map[string]any{"port": 70000}, 400, "port: must be between 1 and 65535"},
		{"unknown field", map[string]any{"colour": "red"}, 400, `unknown field "colour"`},
		{"wrong type", map[string]any{"requireToken": "yes"}, 400, "requireToken: must be true or false"},
		{"bad origin", map[string]any{"allowedOrigins": []string{"x.example"}}, 400, "allowedOrigins[0]: must be an origin"},
	}
	for _, c := range cases {
		t.Run("put "+c.name, func(t *testing.T) {
			r := e.api("PUT", "/api/v1/settings", c.body)
			if r.status != c.wantStatus || !strings.Contains(r.errMessage(), c.wantMsg) {
				t.Fatalf("status %d body %s, want %d with %q", r.status, r.body, c.wantStatus, c.wantMsg)
			}
		})
	}
	e.api("GET", "/api/v1/settings", nil).json(t, &s)
	if s.Settings.HistoryMinutes != 30 || s.Effective.HistoryMinutes != 30 {
		t.Errorf("after the valid update: %+v", s.Settings)
	}
	// The origin added in settings is allowed at once.
	if r := e.req("GET", "/api/v1/health", nil, map[string]string{"Origin": "http://x.example"}); r.status != 200 {
		t.Errorf("origin from the updated settings: %d", r.status)
	}

	var st struct {
		Hub        map[string]any `json:"hub"`
		Goroutines int            `json:"goroutines"`
	}
	e.api("GET", "/api/v1/debug/stats", nil).json(t, &st)
	if st.Goroutines <= 0 || st.Hub == nil || st.Hub["clients"] == nil {
		t.Errorf("debug stats %+v", st)
	}
	var sys struct {
		CPUs   int `json:"cpus"`
		Memory struct {
			Total uint64 `json:"total"`
		} `json:"memory"`
		Timestamp string `json:"timestamp"`
	}
	e.api("GET", "/api/v1/system/metrics", nil).json(t, &sys)
	if sys.CPUs <= 0 || sys.Memory.Total == 0 || sys.Timestamp == "" {
		t.Errorf("system metrics %+v", sys)
	}
	var h engine.Health
	e.req("GET", "/api/v1/health", nil, nil).json(t, &h)
	if h.Status != "ok" || h.Version != "test-1.0" {
		t.Errorf("health %+v", h)
	}

	old := e.token
	var tok struct{ Token string }
	r = e.api("POST", "/api/v1/token/regenerate", nil)
	r.json(t, &tok)
	if r.status != 200 || tok.Token == "" || tok.Token == old {
		t.Fatalf("regenerate: %d %s", r.status, r.body)
	}
	if r := e.api("GET", "/api/v1/servers", nil); r.status != 401 {
		t.Errorf("old token after regeneration: %d", r.status)
	}
	e.token = tok.Token
	if r := e.api("GET", "/api/v1/servers", nil); r.status != 200 {
		t.Errorf("new token: %d", r.status)
	}
}

// TestTokenFromEnvCannotBeRegenerated: MCPWATCH_TOKEN wins; regeneration is a 409.
func TestTokenFromEnvCannotBeRegenerated(t *testing.T) {
	e := newEnv(t, envOptions{getenv: func(k string) string {
		if k == registry.TokenEnvVar {
			return "env-token-0123456789"
		}
		return ""
	}})
	if e.token != "env-token-0123456789" {
		t.Fatalf("token %q", e.token)
	}
	if r := e.api("POST", "/api/v1/token/regenerate", nil); r.status != 409 || r.errCode() != codeConflict {
		t.Fatalf("regenerate: %d %s, want 409", r.status, r.body)
	}
}

// TestNoMonitorEnvironment: nothing the REST API or the UI sends contains a variable of the
// monitor's own environment (which its children inherit), while a server's own env values are
// shown to the token holder.
func TestNoMonitorEnvironment(t *testing.T) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	canary := "canary-" + hex.EncodeToString(b)
	t.Setenv("MCPWATCH_SECRET_CANARY", canary)
	own := "own-" + hex.EncodeToString(b[:8])

	e := newEnv(t, envOptions{settings: &registry.Settings{HistoryIntervalMs: 200}})
	def := childDef(t, "envy", "-lines", "3", "-sleep", "1h")
	def["env"] = map[string]string{"OWN_SECRET": own}
	if r := e.api("POST", "/api/v1/servers", def); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/servers/envy/start", nil); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	e.waitStatus("envy", "running")
	eventually(t, 20*time.Second, "a metrics sample", func() bool {
		var a struct{ Samples []any }
		e.api("GET", "/api/v1/servers/envy/metrics", nil).json(t, &a)
		return len(a.Samples) > 0
	})

	gets := []string{
		"/api/v1/health", "/api/v1/servers", "/api/v1/servers/envy", "/api/v1/servers/envy/logs",
		"/api/v1/servers/envy/logs?format=text", "/api/v1/servers/envy/metrics", "/api/v1/system/metrics",
		"/api/v1/settings", "/api/v1/debug/stats", "/", "/servers/envy",
	}
	for _, p := range gets {
		t.Run(p, func(t *testing.T) {
			r := e.api("GET", p, nil)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if strings.Contains(string(r.body), canary) {
				t.Fatalf("the monitor's environment leaked: %s", r.body)
			}
			for k, vs := range r.header {
				if strings.Contains(strings.Join(vs, " "), canary) {
					t.Fatalf("header %s leaks the monitor's environment", k)
				}
			}
		})
	}
	for _, p := range []string{"/api/v1/servers", "/api/v1/servers/envy"} {
		if r := e.api("GET", p, nil); !strings.Contains(string(r.body), own) {
			t.Errorf("%s does not show the server's own env value to the token holder: %s", p, r.body)
		}
	}
	if r := e.api("POST", "/api/v1/servers/envy/stop", nil); r.status != 200 {
		t.Fatalf("stop: %d %s", r.status, r.body)
	}
}
