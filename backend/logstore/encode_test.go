package logstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var t0 = time.Date(2026, 11, 25, 22, 0, 0, 123456789, time.UTC)

// decoded is how encoding/json reads a logData object.
type decoded struct {
	Level     string `json:"level"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Metadata  struct {
		Stream    string         `json:"stream"`
		Seq       uint64         `json:"seq"`
		PID       *int           `json:"pid"`
		Truncated *bool          `json:"truncated"`
		Replay    *bool          `json:"replay"`
		Fields    map[string]any `json:"fields"`
	} `json:"metadata"`
}

// checkJSON decodes e.JSON with encoding/json and compares every field with e.
func checkJSON(t testing.TB, e *Entry) decoded {
	t.Helper()
	if !json.Valid(e.JSON) {
		t.Fatalf("invalid JSON: %q", e.JSON)
	}
	dec := json.NewDecoder(bytes.NewReader(e.JSON))
	dec.DisallowUnknownFields()
	var d decoded
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %q: %v", e.JSON, err)
	}
	if d.Level != e.Level.String() || d.Message != e.Message || d.Metadata.Stream != string(e.Stream) ||
		d.Metadata.Seq != e.Seq {
		t.Fatalf("decoded %+v, entry %+v", d, e)
	}
	if want := e.Time.UTC().Format("2006-01-02T15:04:05.000Z"); d.Timestamp != want {
		t.Fatalf("timestamp %q, want %q", d.Timestamp, want)
	}
	if (d.Metadata.PID != nil) != (e.PID != 0) || d.Metadata.PID != nil && *d.Metadata.PID != e.PID {
		t.Fatalf("pid %v, entry pid %d", d.Metadata.PID, e.PID)
	}
	if (d.Metadata.Truncated != nil) != e.Truncated || d.Metadata.Truncated != nil && !*d.Metadata.Truncated {
		t.Fatalf("truncated %v, entry %v", d.Metadata.Truncated, e.Truncated)
	}
	if !reflect.DeepEqual(d.Metadata.Fields, e.Fields) {
		t.Fatalf("fields %#v, entry %#v", d.Metadata.Fields, e.Fields)
	}
	return d
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	long := strings.Repeat("é", MaxLineBytes) // 2 bytes each: cut at a rune boundary
	tests := []struct {
		name      string
		line      string
		stream    Stream
		pid       int
		truncated bool
		wantMsg   string
		wantTrunc bool
		wantLevel Level
	}{
		{"plain", "hello world", Stdout, 123, false, "hello world", false, Info},
		{"crlf", "windows line\r", Stderr, 0, false, "windows line", false, Info},
		{"only one cr", "two\r\r", Stderr, 0, false, "two\r", false, Info},
		{"trailing newline", "nl\r\n", Stdout, 1, false, "nl", false, Info},
		{"invalid utf8", "bad \xff\xfe byte", Stdout, 1, false, "bad \uFFFD byte", false, Info},
		{"nul kept", "a\x00b", Stdout, 1, false, "a\x00b", false, Info},
		{"ansi kept", "\x1b[31mERROR\x1b[0m red", Stderr, 7, false, "\x1b[31mERROR\x1b[0m red", false, Error},
		{"quotes and slashes", `say "hi" \ </script> & done`, Stdout, 1, false, `say "hi" \ </script> & done`, false, Info},
		{"controls", "tab\there\x01\x1f\x7f", Stdout, 1, false, "tab\there\x01\x1f\x7f", false, Info},
		{"line separators", "a\u2028b\u2029c", Stdout, 1, false, "a\u2028b\u2029c", false, Info},
		{"emoji and cjk", "日本語 🚀", Stdout, 1, false, "日本語 🚀", false, Info},
		{"truncated by reader", "partial", Stdout, 1, true, "partial", true, Info},
		{"over-long line", long, Stdout, 1, false, long[:MaxLineBytes], true, Info},
		{"over-long odd cut", "x" + long, Stdout, 1, false, ("x" + long)[:MaxLineBytes-1], true, Info},
		{"json fields", `{"level":"warn","msg":"m","n":1.5,"a":[true,null]}`, Stderr, 9, false,
			`{"level":"warn","msg":"m","n":1.5,"a":[true,null]}`, false, Warn},
		{"weird stream", "x", Stream("a\"b"), 0, false, "x", false, Info},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := buildEntry(tc.stream, []byte(tc.line), tc.truncated, tc.pid, 42, t0, Info, true)
			if e.Message != tc.wantMsg {
				t.Fatalf("message %q, want %q", e.Message, tc.wantMsg)
			}
			if e.Truncated != tc.wantTrunc || e.Level != tc.wantLevel {
				t.Fatalf("truncated %v level %v, want %v %v", e.Truncated, e.Level, tc.wantTrunc, tc.wantLevel)
			}
			if !utf8.ValidString(e.Message) || len(e.Message) > MaxLineBytes {
				t.Fatalf("message not valid UTF-8 or too long (%d)", len(e.Message))
			}
			checkJSON(t, e)
		})
	}
}

func TestEncodeExactBytes(t *testing.T) {
	e := buildEntry(Stdout, []byte("hi"), true, 123, 1, t0, Info, true)
	want := `{"level":"info","message":"hi","timestamp":"2026-11-25T22:00:00.123Z","metadata":{"stream":"stdout","seq":1,"pid":123,"truncated":true}}`
	if string(e.JSON) != want {
		t.Fatalf("JSON\n got %s\nwant %s", e.JSON, want)
	}
	e = buildEntry(System, []byte("exited"), false, 0, 7, t0, Warn, false)
	want = `{"level":"warn","message":"exited","timestamp":"2026-11-25T22:00:00.123Z","metadata":{"stream":"system","seq":7}}`
	if string(e.JSON) != want {
		t.Fatalf("JSON\n got %s\nwant %s", e.JSON, want)
	}
	if got, want := string(replayJSON(e.JSON)), want[:len(want)-2]+`,"replay":true}}`; got != want {
		t.Fatalf("replay\n got %s\nwant %s", got, want)
	}
}

func TestAppendTimestamp(t *testing.T) {
	loc := time.FixedZone("x", 2*3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 22, 0, 0, 123456789, time.UTC), "2026-11-25T22:00:00.123Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, loc), "2026-01-02T01:04:05.000Z"},
		{time.Date(999, 12, 31, 23, 59, 59, 999999999, time.UTC), "0999-12-31T23:59:59.999Z"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := string(appendTimestamp(nil, tc.in)); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			// JavaScript's toISOString and Go agree on this layout
			if got := tc.in.UTC().Format("2006-01-02T15:04:05.000Z"); got != tc.want {
				t.Fatalf("Format gives %s", got)
			}
		})
	}
}

func TestAppendJSONStringAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\/", "\x00\x01\n\r\t\b\f", "\xff", "a\xc3", "\u2028\u2029", "<>&", "€𝄞"} {
		t.Run(s, func(t *testing.T) {
			var got, want string
			if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
				t.Fatalf("ours does not decode: %v", err)
			}
			b, _ := json.Marshal(s)
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("ours decodes to %q, encoding/json to %q", got, want)
			}
		})
	}
}
