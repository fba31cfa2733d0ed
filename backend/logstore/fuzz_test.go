package logstore

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// Seeds live in testdata/fuzz/FuzzDetectLevel and testdata/fuzz/FuzzEncode; plain `go test`
// runs them.

func FuzzDetectLevel(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := bytes.Clone(line)
		l, fields := DetectLevel(line)
		if l > Error {
			t.Fatalf("level %d out of range", l)
		}
		if !bytes.Equal(line, orig) {
			t.Fatal("DetectLevel modified its input")
		}
		if fields != nil && !bytes.Contains(line, []byte("{")) {
			t.Fatalf("fields %v from a line without an object", fields)
		}
		if fields != nil && len(line) > maxJSONLineBytes+4096 && bytes.IndexByte(line, 0x1b) < 0 {
			t.Fatal("parsed a line over the JSON cap")
		}
		_ = StripANSI(string(line))
	})
}

func FuzzEncode(f *testing.F) {
	f.Fuzz(func(t *testing.T, line []byte, pid int, truncated bool) {
		e := buildEntry(Stderr, line, truncated, pid, 7, t0, Info, true)
		if !utf8.ValidString(e.Message) || len(e.Message) > MaxLineBytes {
			t.Fatalf("message not valid UTF-8 or too long: %d bytes", len(e.Message))
		}
		if truncated && !e.Truncated {
			t.Fatal("truncated flag lost")
		}
		d := checkJSON(t, e) // valid JSON that decodes to exactly the entry's fields
		if d.Message != e.Message {
			t.Fatalf("message %q round-trips as %q", e.Message, d.Message)
		}
		if utf8.Valid(line) && len(line) <= MaxLineBytes && bytes.IndexAny(line, "\r\n") < 0 && e.Message != string(line) {
			t.Fatalf("a clean line changed: %q → %q", line, e.Message)
		}
		r := replayJSON(e.JSON)
		e2 := *e
		e2.JSON = r
		if dr := checkJSON(t, &e2); dr.Metadata.Replay == nil || !*dr.Metadata.Replay {
			t.Fatal("replay flag missing")
		}
	})
}
