package logstore

import (
	"bytes"
	"testing"
	"time"
)

// detectCases is the table that grows a row for every level-guessing bug found.
var detectCases = []struct {
	name   string
	line   string
	want   Level
	fields bool // a JSON object line: fields are returned
}{
	// NestJS
	{"nest error", "[Nest] 1234  - 01/01/2024, 10:00:00 AM   ERROR [ExceptionHandler] boom", Error, false},
	{"nest log", "[Nest] 1234  - 01/01/2024, 10:00:00 AM     LOG [NestFactory] Starting Nest application...", Info, false},
	{"nest warn", "[Nest] 1234  - 01/01/2024, 10:00:00 PM    WARN [Scheduler] slow job", Warn, false},
	{"nest debug", "[Nest] 1234  - 01/01/2024, 10:00:00 AM   DEBUG [Cache] miss", Debug, false},
	{"nest verbose", "[Nest] 1234  - 01/01/2024, 10:00:00 AM VERBOSE [Router] mapped {/, GET}", Debug, false},
	// pino / bunyan numeric JSON
	{"pino 30", `{"level":30,"time":1704067200000,"pid":1234,"hostname":"h","msg":"listening"}`, Info, true},
	{"pino 50", `{"level":50,"time":1704067200000,"msg":"db down","err":{"type":"Error"}}`, Error, true},
	{"pino 40", `{"level":40,"msg":"slow"}`, Warn, true},
	{"pino 20", `{"level":20,"msg":"details"}`, Debug, true},
	{"pino 10 trace", `{"level":10,"msg":"trace"}`, Debug, true},
	{"bunyan 60 fatal", `{"name":"app","hostname":"h","pid":1,"level":60,"msg":"fatal","time":"2024-01-01T00:00:00.000Z","v":0}`, Error, true},
	// winston / generic JSON
	{"winston json", `{"level":"error","message":"connection refused","service":"mcp"}`, Error, true},
	{"winston json warn", `{"message":"deprecated","level":"warn"}`, Warn, true},
	{"severity gcp", `{"severity":"WARNING","message":"quota"}`, Warn, true},
	{"serilog @l", `{"@t":"2024-01-01T00:00:00Z","@mt":"Started","@l":"Information"}`, Info, true},
	{"serilog @l error", `{"@t":"2024-01-01T00:00:00Z","@mt":"Boom","@l":"Error"}`, Error, true},
	{"ecs log.level", `{"@timestamp":"2024-01-01T00:00:00Z","log.level":"warn","message":"x"}`, Warn, true},
	{"ecs nested", `{"log":{"level":"error"},"message":"x"}`, Error, true},
	{"python json levelname", `{"levelname": "CRITICAL", "message": "disk"}`, Error, true},
	{"lvl key", `{"lvl":"dbug","msg":"x","lvl2":"x"}`, Info, true},
	{"json without level", `{"msg":"hello","n":1}`, Info, true},
	{"json with timestamp prefix", `2024-01-01T00:00:00.000Z {"level":"warn","msg":"x"}`, Warn, true},
	{"mcp notification", `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"critical","data":"x"}}`, Error, true},
	{"json numeric string", `{"level":"50","msg":"x"}`, Error, true},
	{"broken json", `{"level":"error", "msg": `, Info, false},
	// Go slog text and JSON, logfmt
	{"slog text", `time=2024-01-01T12:00:00.000Z level=WARN msg="disk almost full" free=1%`, Warn, false},
	{"slog text offset", `time=2024-01-01T12:00:00.000Z level=ERROR+2 msg="x"`, Error, false},
	{"slog json", `{"time":"2024-01-01T12:00:00Z","level":"DEBUG","msg":"tick"}`, Debug, true},
	{"slog default log", `2024/01/01 12:00:00 ERROR failed to bind addr=:8080`, Error, false},
	{"slog default info", `2024/01/01 12:00:00 INFO listening addr=:8080`, Info, false},
	{"logfmt quoted", `ts=2024-01-01T00:00:00Z level="error" msg="boom"`, Error, false},
	{"logfmt lvl", `t=2024-01-01T00:00:00+0000 lvl=warn msg="retry"`, Warn, false},
	{"logfmt severity", `severity=notice msg=ok`, Info, false},
	{"logfmt not a key", `loglevel=error msg=x`, Info, false},
	// Python logging
	{"python format", "2024-01-01 12:00:00,123 - app - WARNING - msg", Warn, false},
	{"python dotted logger", "2024-01-01 12:00:00,123 - mcp.server.lowlevel - ERROR - Processing request failed", Error, false},
	{"python basic", "WARNING:root:msg", Warn, false},
	{"python basic error", "ERROR:mcp.server:boom", Error, false},
	{"python traceback", "Traceback (most recent call last):", Error, false},
	{"uvicorn", "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)", Info, false},
	// Rust
	{"env_logger", "[2024-01-01T00:00:00Z ERROR app] x", Error, false},
	{"env_logger warn module", "[2024-01-01T00:00:00Z WARN  my_crate::net] retrying", Warn, false},
	{"tracing fmt", "2024-01-01T00:00:00.123456Z DEBUG my_crate: polling", Debug, false},
	{"rust panic", "thread 'main' panicked at src/main.rs:2:5:", Error, false},
	// Java
	{"log4j", "12:00:00.123 [main] ERROR com.x - y", Error, false},
	{"logback warn", "2024-01-01 12:00:00.123 [http-nio-8080-exec-1] WARN  o.a.c.Foo - slow", Warn, false},
	{"spring boot", "2024-01-01T12:00:00.123+01:00  WARN 1234 --- [main] o.s.b.App : msg", Warn, false},
	{"jul severe", "SEVERE: Servlet.service() threw exception", Error, false},
	// MCP / syslog names
	{"mcp notice", "notice: server ready", Info, false},
	{"mcp critical", "[critical] out of memory", Error, false},
	{"mcp alert", "ALERT: certificate expired", Error, false},
	{"mcp emergency", "[emergency] system unusable", Error, false},
	{"syslog prio 4", "<4>low disk space", Warn, false},
	{"syslog prio 3", "<3>cannot open device", Error, false},
	{"syslog prio 6", "<6>started", Info, false},
	{"syslog prio 7", "<7>poll", Debug, false},
	// leading words and brackets
	{"leading ERROR", "ERROR something failed", Error, false},
	{"bracket warn", "[warn] low memory", Warn, false},
	{"WARN colon", "WARN: deprecated option", Warn, false},
	{"angle letter", "<E> write failed", Error, false},
	{"bracket letter", "[W] slow", Warn, false},
	{"lowercase error colon", "error: ENOENT: no such file or directory", Error, false},
	{"winston text", "info: server started on port 3000", Info, false},
	{"title Error first word", "Error loading config: bad json", Error, false},
	{"Warning colon", "Warning: Accessing non-existent property", Warn, false},
	{"node warning", "(node:1234) Warning: Accessing non-existent property 'x'", Warn, false},
	{"go panic", "panic: runtime error: invalid memory address or nil pointer dereference", Error, false},
	{"npm err", "npm ERR! code ENOENT", Error, false},
	{"npm warn", "npm WARN deprecated request@2.88.2", Warn, false},
	{"glog", "E0102 15:04:05.000000    1234 main.go:12] failed", Error, false},
	{"klog info", "I0102 15:04:05.000000    1234 main.go:12] ok", Info, false},
	{"zerolog console", "12:00PM WRN retry attempt=2", Warn, false},
	{"elixir", "12:00:00.123 [error] GenServer terminating", Error, false},
	{"pino pretty", "[12:00:00.123] ERROR (app/1234): boom", Error, false},
	{"ruby logger", "E, [2024-01-01T12:00:00.123 #1234] ERROR -- : boom", Error, false},
	{"timestamp lowercase", "2024-01-01 12:00:00 error reading file", Error, false},
	{"syslog date", "Jan  2 15:04:05 WARN disk", Warn, false},
	// ANSI-coloured
	{"ansi nest", "\x1b[32m[Nest] 1234  - \x1b[39m01/01/2024, 10:00:00 AM \x1b[31m  ERROR\x1b[39m \x1b[33m[ExceptionHandler] \x1b[39m\x1b[31mboom\x1b[39m", Error, false},
	{"ansi level word", "\x1b[33mWARN\x1b[0m cache is cold", Warn, false},
	{"ansi json", "\x1b[2m{\"level\":\"error\",\"msg\":\"x\"}\x1b[0m", Error, true},
	{"ansi tracing", "\x1b[2m2024-01-01T00:00:00.123Z\x1b[0m \x1b[31mERROR\x1b[0m \x1b[2mapp\x1b[0m\x1b[2m:\x1b[0m boom", Error, false},
	// plain text → info
	{"plain", "Server listening on port 3000", Info, false},
	{"stderr-looking plain", "MCP server running on stdio", Info, false},
	{"error mid-sentence", "Retrying after an error in fetch, attempt 2", Info, false},
	{"ERROR mid-sentence", "Request to upstream returned ERROR 500", Info, false},
	{"error colon mid-sentence", "Connection error: timeout", Info, false},
	{"debug word plain", "Debug mode enabled", Info, false},
	{"alert word plain", "Alert sent to user", Info, false},
	{"url", "http://localhost:3000/error is the handler", Info, false},
	{"empty", "", Info, false},
	{"spaces", "   ", Info, false},
	{"timestamp only", "2024-01-01T00:00:00Z", Info, false},
	{"go log plain", "2024/01/01 12:00:00 listening on :8080 error=none", Info, false},
}

func TestDetectLevel(t *testing.T) {
	for _, tc := range detectCases {
		t.Run(tc.name, func(t *testing.T) {
			got, fields := DetectLevel([]byte(tc.line))
			if got != tc.want {
				t.Errorf("DetectLevel(%q) = %v, want %v", tc.line, got, tc.want)
			}
			if (fields != nil) != tc.fields {
				t.Errorf("DetectLevel(%q) fields = %v, want fields: %v", tc.line, fields, tc.fields)
			}
		})
	}
}

func TestDetectLevelJSONFields(t *testing.T) {
	_, f := DetectLevel([]byte(`{"level":30,"msg":"hi","nested":{"a":[1,"b"]}}`))
	if f["msg"] != "hi" || f["level"] != float64(30) {
		t.Fatalf("fields = %#v", f)
	}
	if a := f["nested"].(map[string]any)["a"].([]any); len(a) != 2 || a[1] != "b" {
		t.Fatalf("nested fields = %#v", f["nested"])
	}
}

func TestDetectLevelJSONCap(t *testing.T) {
	big := make([]byte, 0, maxJSONLineBytes+100)
	big = append(big, `{"level":"error","msg":"`...)
	for len(big) < maxJSONLineBytes+10 {
		big = append(big, 'x')
	}
	big = append(big, `"}`...)
	l, f := DetectLevel(big)
	if f != nil {
		t.Fatalf("a line over 64 KiB was parsed as JSON")
	}
	if l != Info {
		t.Fatalf("level = %v, want info (not parsed)", l)
	}
}

func TestDetectLevelPlainLinesDoNotAllocate(t *testing.T) {
	lines := [][]byte{
		[]byte("Server listening on port 3000"),
		[]byte("2024-01-01 12:00:00,123 - app - WARNING - msg"),
		[]byte("[Nest] 1234  - 01/01/2024, 10:00:00 AM   ERROR [ExceptionHandler] boom"),
		[]byte(`time=2024-01-01T12:00:00.000Z level=WARN msg="disk almost full"`),
		[]byte("Retrying after an error in fetch, attempt 2"),
	}
	for _, l := range lines {
		if n := testing.AllocsPerRun(100, func() { DetectLevel(l) }); n != 0 {
			t.Errorf("DetectLevel(%q) allocates %v times", l, n)
		}
	}
}

func TestParseLevelName(t *testing.T) {
	tests := []struct {
		in   string
		want Level
		ok   bool
	}{
		{"debug", Debug, true}, {"TRACE", Debug, true}, {"verbose", Debug, true},
		{"info", Info, true}, {"Notice", Info, true}, {"log", Info, true},
		{"warn", Warn, true}, {" WARNING ", Warn, true},
		{"error", Error, true}, {"err", Error, true}, {"fatal", Error, true}, {"critical", Error, true},
		{"crit", Error, true}, {"alert", Error, true}, {"emerg", Error, true}, {"emergency", Error, true},
		{"panic", Error, true}, {"severe", Error, true}, {"WARN+2", Warn, true}, {"DEBUG-4", Debug, true},
		{"", 0, false}, {"loud", 0, false}, {"warn+", 0, false}, {"+2", 0, false},
		{"a-very-long-level-name-that-is-not-one-at-all", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseLevelName(tc.in)
			if ok != tc.ok || ok && got != tc.want {
				t.Errorf("ParseLevelName(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestStripANSI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"\x1b[1;38;5;196mbold\x1b[22m x", "bold x"},
		{"\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"},
		{"\x1b]0;title\x1b\\after", "after"},
		{"\x1b(Bx", "x"},
		{"a\x1b", "a"},
		{"\x1b[", ""},
		{"\x1b[38;5", ""},
		{"k\x1bMv", "kv"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := StripANSI(tc.in); got != tc.want {
				t.Errorf("StripANSI(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestDetectLevelLinearTime guards against quadratic scans of long pathological lines: such a
// scan of 64 KiB takes seconds, a linear one well under a millisecond; the bound leaves a margin
// of more than a thousand for a loaded machine and the race detector.
func TestDetectLevelLinearTime(t *testing.T) {
	lines := map[string][]byte{
		"equals":   bytes.Repeat([]byte("="), MaxLineBytes),
		"key=":     bytes.Repeat([]byte("ab="), MaxLineBytes/3),
		"brackets": bytes.Repeat([]byte("["), MaxLineBytes),
		"colons":   bytes.Repeat([]byte(":"), MaxLineBytes),
		"escapes":  bytes.Repeat([]byte("\x1b["), MaxLineBytes/2),
		"braces":   append(bytes.Repeat([]byte("{"), MaxLineBytes-1), '}'),
		"digits":   bytes.Repeat([]byte("1 "), MaxLineBytes/2),
	}
	for name, line := range lines {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			DetectLevel(line)
			buildEntry(Stdout, line, false, 1, 1, t0, Info, true)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("DetectLevel of a 64 KiB line took %v", d)
			}
		})
	}
}
