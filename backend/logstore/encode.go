package logstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// buildEntry makes a complete entry (sanitized message, level, JSON) from one raw line.
// detectLevel false keeps lvl (system lines).
func buildEntry(stream Stream, line []byte, truncated bool, pid int, seq uint64, now time.Time,
	lvl Level, detectLevel bool) *Entry {
	msg, cut := sanitizeLine(line)
	e := &Entry{
		Seq:       seq,
		Time:      now.UTC().Truncate(time.Millisecond),
		Level:     lvl,
		Stream:    stream,
		PID:       pid,
		Truncated: truncated || cut,
	}
	var raw []byte
	if detectLevel {
		e.Level, e.Fields, raw = detect(msg)
	}
	e.Message = string(msg)
	e.JSON = appendEntryJSON(make([]byte, 0, len(msg)+len(raw)+160), e, raw)
	return e
}

// sanitizeLine makes a line safe to store: no trailing '\n' or '\r', valid UTF-8 (invalid bytes
// become U+FFFD), at most MaxLineBytes (cut at a rune boundary; cut reports it). ANSI codes and
// NULs are kept. The result aliases line when nothing had to change.
func sanitizeLine(line []byte) (msg []byte, cut bool) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > MaxLineBytes {
		line, cut = cutAtRune(line, MaxLineBytes), true
	}
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		if len(line) > MaxLineBytes {
			line, cut = cutAtRune(line, MaxLineBytes), true
		}
	}
	return line, cut
}

// cutAtRune returns at most max bytes of b without splitting a UTF-8 sequence.
func cutAtRune(b []byte, max int) []byte {
	if len(b) <= max {
		return b
	}
	i := max
	for k := 0; k < utf8.UTFMax && i > 0 && !utf8.RuneStart(b[i]); k++ {
		i--
	}
	if !utf8.RuneStart(b[i]) { // invalid bytes: a plain cut, sanitized later
		i = max
	}
	return b[:i]
}

// appendEntryJSON writes the protocol's logData object for e. raw, when not nil, is the JSON
// object text e.Fields was parsed from and is embedded as it is; otherwise e.Fields is marshalled.
func appendEntryJSON(dst []byte, e *Entry, raw []byte) []byte {
	dst = append(dst, `{"level":"`...)
	dst = append(dst, e.Level.String()...)
	dst = append(dst, `","message":`...)
	dst = appendJSONString(dst, e.Message)
	dst = append(dst, `,"timestamp":"`...)
	dst = appendTimestamp(dst, e.Time)
	dst = append(dst, `","metadata":{"stream":`...)
	dst = appendJSONString(dst, string(e.Stream))
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	if e.PID != 0 {
		dst = append(dst, `,"pid":`...)
		dst = strconv.AppendInt(dst, int64(e.PID), 10)
	}
	if e.Truncated {
		dst = append(dst, `,"truncated":true`...)
	}
	if raw == nil && e.Fields != nil {
		if b, err := json.Marshal(e.Fields); err == nil {
			raw = b
		}
	}
	if raw != nil {
		dst = append(dst, `,"fields":`...)
		dst = append(dst, raw...)
	}
	return append(dst, "}}"...)
}

// appendTimestamp writes t like JavaScript's toISOString: UTC, milliseconds, Z.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	}
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return dst
}

// jsonSafe marks the ASCII bytes that need no escaping inside a JSON string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string the way encoding/json reads it back: control
// characters escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// replayJSON adds "replay":true to the metadata of an encoded logData object.
func replayJSON(j []byte) []byte {
	if !bytes.HasSuffix(j, []byte("}}")) {
		return j
	}
	const add = `,"replay":true}}`
	out := make([]byte, 0, len(j)-2+len(add))
	out = append(out, j[:len(j)-2]...)
	return append(out, add...)
}

// diskEntry is the stored form of an entry, as written by appendEntryJSON.
type diskEntry struct {
	Level     string `json:"level"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
	Metadata  struct {
		Stream    string          `json:"stream"`
		Seq       uint64          `json:"seq"`
		PID       int             `json:"pid"`
		Truncated bool            `json:"truncated"`
		Fields    json.RawMessage `json:"fields"`
	} `json:"metadata"`
}

// decodeEntry reads one stored line back into an entry; JSON is a copy of line.
func decodeEntry(line []byte) (Entry, error) {
	var d diskEntry
	if err := json.Unmarshal(line, &d); err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := e.Level.UnmarshalText([]byte(d.Level)); err != nil {
		return Entry{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, d.Timestamp)
	if err != nil {
		return Entry{}, err
	}
	if d.Metadata.Seq == 0 {
		return Entry{}, errNoSeq
	}
	e.Seq, e.Time, e.Stream, e.Message = d.Metadata.Seq, t.UTC(), Stream(d.Metadata.Stream), d.Message
	e.PID, e.Truncated = d.Metadata.PID, d.Metadata.Truncated
	if len(d.Metadata.Fields) > 0 && !strings.EqualFold(string(d.Metadata.Fields), "null") {
		if err := json.Unmarshal(d.Metadata.Fields, &e.Fields); err != nil {
			return Entry{}, err
		}
	}
	e.JSON = bytes.Clone(line)
	return e, nil
}
