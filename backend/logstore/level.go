package logstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONLineBytes is the largest line DetectLevel tries to parse as a JSON object.
const maxJSONLineBytes = 64 << 10

// levelNamesLenient maps every lower-case level name DetectLevel and ParseLevelName accept.
var levelNamesLenient = map[string]Level{
	"debug": Debug, "trace": Debug, "verbose": Debug, "dbg": Debug, "trc": Debug, "fine": Debug,
	"finer": Debug, "finest": Debug,

	"info": Info, "notice": Info, "log": Info, "inf": Info, "information": Info, "informational": Info,

	"warn": Warn, "warning": Warn, "wrn": Warn,

	"error": Error, "err": Error, "fatal": Error, "critical": Error, "crit": Error, "alert": Error,
	"emerg": Error, "emergency": Error, "panic": Error, "severe": Error, "ftl": Error, "pnc": Error,
	"dpanic": Error,
}

// strongNames are level words that count without decoration (brackets, a colon, upper case)
// when they follow a timestamp or another header token: ordinary English words such as "log",
// "alert" or "critical" are left out.
var strongNames = map[string]bool{
	"trace": true, "debug": true, "info": true, "warn": true, "warning": true,
	"error": true, "fatal": true,
}

// firstWordNames are the level words that count as the very first word of a line in any case,
// without decoration: "Error loading config", "warning something".
var firstWordNames = map[string]bool{"error": true, "warn": true, "warning": true, "fatal": true}

// levelKeys are the JSON keys (in order of preference) and key=value keys that name a level.
var levelKeys = [...]string{"level", "severity", "lvl", "@l", "log.level", "levelname"}

// ParseLevelName reads a level name leniently: any case, surrounding spaces, and every name
// DetectLevel knows (trace, verbose, notice, warning, err, fatal, critical, alert, emergency, …);
// a Go slog offset such as "WARN+2" or "DEBUG-4" counts as its base level.
func ParseLevelName(s string) (Level, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 32 {
		return 0, false
	}
	var buf [32]byte
	return lookupLevel(lowerInto(&buf, s))
}

// lookupLevel finds the level of an already lower-cased name; it strips a slog offset (+N, -N).
func lookupLevel(b []byte) (Level, bool) {
	// every name is 3 to 13 letters; a slog offset adds +N or -N
	if len(b) < 3 || b[0] < 'a' || b[0] > 'z' {
		return 0, false
	}
	i := 1
	for i < len(b) && (b[i] >= 'a' && b[i] <= 'z') {
		i++
	}
	if i > 13 {
		return 0, false
	}
	if i < len(b) && (i == len(b)-1 || b[i] != '+' && b[i] != '-' || !allDigits(b[i+1:])) {
		return 0, false
	}
	l, ok := levelNamesLenient[string(b[:i])]
	return l, ok
}

// lowerInto lower-cases the ASCII letters of s (at most len(buf) bytes) into buf.
func lowerInto[S ~string | ~[]byte](buf *[32]byte, s S) []byte {
	n := min(len(s), len(buf))
	for i := 0; i < n; i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:n]
}

// StripANSI removes ANSI escape sequences (CSI such as colours, OSC such as hyperlinks, and
// two-byte escapes). A string without ESC is returned as it is, without allocating.
func StripANSI(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	return string(appendStripANSI(make([]byte, 0, len(s)), s))
}

// stripANSIBytes is StripANSI for bytes; b itself is returned when it holds no ESC.
func stripANSIBytes(b []byte) []byte {
	if bytes.IndexByte(b, 0x1b) < 0 {
		return b
	}
	return appendStripANSI(make([]byte, 0, len(b)), b)
}

func appendStripANSI[S ~string | ~[]byte](dst []byte, s S) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != 0x1b {
			dst = append(dst, c)
			i++
			continue
		}
		i++ // ESC
		if i >= len(s) {
			break
		}
		switch s[i] {
		case '[': // CSI: parameters and intermediates, then one final byte 0x40–0x7e
			i++
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			if i < len(s) {
				i++
			}
		case ']': // OSC: up to BEL or ESC \
			i++
			for i < len(s) {
				if s[i] == 0x07 {
					i++
					break
				}
				if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\' {
					i += 2
					break
				}
				i++
			}
		case '(', ')', '*', '+': // character set designation: one more byte
			i += 2
		default: // two-byte escape
			i++
		}
	}
	return dst
}

// DetectLevel guesses the level of one output line. ANSI escape codes and a leading timestamp
// are ignored. In order:
//
//	(a) a JSON object: the first of the keys level, severity, lvl, @l, log.level, levelname
//	    (also log: {level}, and an MCP notifications/message's params.level), as a name or a
//	    pino/bunyan number (10, 20 debug; 30 info; 40 warn; 50, 60 error); the parsed object is
//	    returned as fields (lines over 64 KiB are not parsed);
//	(b) level=NAME (also lvl=, severity=, quoted) anywhere as a key=value (slog text, logfmt);
//	(c) a level word in the line's header: first word ("ERROR ...", "[warn] ...", "WARN: ...",
//	    "<E> ..."), or after header tokens such as timestamps, pids, [thread] and one logger
//	    name (Python logging, NestJS, log4j, Rust env_logger, npm, glog, syslog "<3>");
//	(d) otherwise info. The stream does not matter: stderr is not an error by itself.
func DetectLevel(line []byte) (Level, map[string]any) {
	l, fields, _ := detect(line)
	return l, fields
}

// detect is DetectLevel that also returns the JSON object text the fields were parsed from.
func detect(line []byte) (Level, map[string]any, []byte) {
	b := bytes.TrimSpace(stripANSIBytes(line))
	rest, stamped := skipTimestamp(b)
	if len(rest) >= 2 && rest[0] == '{' && rest[len(rest)-1] == '}' && len(rest) <= maxJSONLineBytes {
		var fields map[string]any
		if err := json.Unmarshal(rest, &fields); err == nil && fields != nil {
			if l, ok := jsonLevel(fields); ok {
				return l, fields, rest
			}
			return Info, fields, rest
		}
	}
	if l, ok := keyValueLevel(b); ok {
		return l, nil, nil
	}
	if l, ok := headerLevel(rest, stamped); ok {
		return l, nil, nil
	}
	return Info, nil, nil
}

func jsonLevel(m map[string]any) (Level, bool) {
	for _, k := range levelKeys {
		if v, ok := m[k]; ok {
			if l, ok := jsonLevelValue(v); ok {
				return l, true
			}
		}
	}
	if lg, ok := m["log"].(map[string]any); ok { // ECS nested form
		if l, ok := jsonLevelValue(lg["level"]); ok {
			return l, true
		}
	}
	if m["method"] == "notifications/message" { // an MCP log notification
		if p, ok := m["params"].(map[string]any); ok {
			return jsonLevelValue(p["level"])
		}
	}
	return 0, false
}

func jsonLevelValue(v any) (Level, bool) {
	switch v := v.(type) {
	case string:
		if l, ok := ParseLevelName(v); ok {
			return l, true
		}
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return numericLevel(n), true
		}
	case float64:
		return numericLevel(v), true
	}
	return 0, false
}

// numericLevel maps pino/bunyan numbers: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal.
func numericLevel(n float64) Level {
	switch {
	case n < 30:
		return Debug
	case n < 40:
		return Info
	case n < 50:
		return Warn
	default:
		return Error
	}
}

// keyValueLevel finds level=NAME (or another level key) as a key=value anywhere in b.
func keyValueLevel(b []byte) (Level, bool) {
	for off := 0; ; {
		i := bytes.IndexByte(b[off:], '=')
		if i < 0 {
			return 0, false
		}
		eq := off + i
		off = eq + 1
		start := eq // look back at most 17 bytes: keys are short, and a long run of '=' stays linear
		for start > 0 && eq-start <= 16 && b[start-1] != ' ' && b[start-1] != '\t' {
			start--
		}
		key := b[start:eq]
		if len(key) == 0 || len(key) > 16 || start > 0 && b[start-1] != ' ' && b[start-1] != '\t' {
			continue
		}
		var kb [32]byte
		lk := lowerInto(&kb, key)
		isKey := false
		for _, k := range levelKeys {
			if string(lk) == k {
				isKey = true
				break
			}
		}
		if !isKey {
			continue
		}
		val := b[eq+1:]
		if len(val) > 0 && val[0] == '"' {
			val = val[1:]
			if j := bytes.IndexByte(val, '"'); j >= 0 {
				val = val[:j]
			}
		} else if j := bytes.IndexAny(val, " \t"); j >= 0 {
			val = val[:j]
		}
		if len(val) == 0 || len(val) > 32 {
			continue
		}
		var vb [32]byte
		if l, ok := lookupLevel(lowerInto(&vb, val)); ok {
			return l, true
		}
	}
}

// knownErrorPrefixes start lines that report a failure without naming a level.
var knownErrorPrefixes = [...]string{
	"Traceback (most recent call last):", // Python
	"Exception in thread ",               // Java
}

// headerLevel looks for a level word among the first tokens of b (a line with its timestamp
// already removed; stamped tells whether there was one).
func headerLevel(b []byte, stamped bool) (Level, bool) {
	if len(b) == 0 {
		return 0, false
	}
	// sd-daemon / syslog priority prefix: <3>message
	if b[0] == '<' && len(b) >= 3 && isDigit(b[1]) && b[2] == '>' {
		return syslogPriority(int(b[1] - '0')), true
	}
	for _, p := range knownErrorPrefixes {
		if bytes.HasPrefix(b, []byte(p)) {
			return Error, true
		}
	}
	if bytes.HasPrefix(b, []byte("thread '")) && bytes.Contains(b, []byte("' panicked at")) {
		return Error, true // Rust panic
	}
	plain := 0
	sawNoise := stamped
	rest := b
	for tok := 0; tok < 10 && len(rest) > 0; tok++ {
		var t []byte
		t, rest = nextToken(rest)
		if tok == 0 {
			if l, ok := glogLevel(t); ok {
				return l, true
			}
		}
		word, decorated := undecorate(t)
		if len(word) > 0 && len(word) <= 16 {
			var wb [32]byte
			lw := lowerInto(&wb, word)
			if l, ok := lookupLevel(lw); ok {
				upper := isUpper(word)
				switch {
				case plain == 0 && (upper || decorated):
					return l, true
				case plain == 0 && sawNoise && strongNames[string(lw)]:
					return l, true
				case plain == 0 && tok == 0 && firstWordNames[string(lw)]:
					return l, true
				case plain == 1 && upper && len(word) >= 3:
					return l, true
				}
			} else if decorated && len(word) == 1 && (t[0] == '[' || t[0] == '<') {
				if l, ok := letterLevel(word[0]); ok && plain == 0 {
					return l, true
				}
			}
		}
		if isNoise(t) {
			sawNoise = true
			continue
		}
		plain++
		if plain > 1 {
			return 0, false
		}
	}
	return 0, false
}

// nextToken splits off the next whitespace-separated token.
func nextToken(b []byte) (tok, rest []byte) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	j := i
	for j < len(b) && b[j] != ' ' && b[j] != '\t' {
		j++
	}
	return b[i:j], b[j:]
}

// undecorate strips brackets and a trailing ':', '!' or ',' from a token; a token such as
// "WARNING:root:msg" yields its part before the first colon. decorated reports brackets or a colon.
func undecorate(t []byte) (word []byte, decorated bool) {
	if len(t) == 0 {
		return t, false
	}
	switch t[0] {
	case '[', '<', '(':
		t = t[1:]
		decorated = true
	}
	for len(t) > 0 {
		c := t[len(t)-1]
		if c == ']' || c == '>' || c == ')' {
			decorated = true
		} else if c == ':' {
			decorated = true
		} else if c != '!' && c != ',' {
			break
		}
		t = t[:len(t)-1]
	}
	if i := bytes.IndexByte(t, ':'); i > 0 {
		t = t[:i]
		decorated = true
	}
	return t, decorated
}

// isNoise tells header tokens that carry no words: numbers, dates, times, pids, separators,
// bracketed names such as [main] or [Nest], AM/PM.
func isNoise(t []byte) bool {
	if len(t) == 0 {
		return true
	}
	switch t[0] {
	case '[', '(', '<', '{':
		return true
	}
	if isDigit(t[0]) || t[0] == '+' {
		return true
	}
	if string(t) == "AM" || string(t) == "PM" || string(t) == "am" || string(t) == "pm" {
		return true
	}
	for _, c := range t {
		if c >= utf8.RuneSelf || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true // no letters: -, |, --, ---, >, ::, #1234
}

// glogLevel reads a glog/klog header "E0102 15:04:05.000000 ...".
func glogLevel(t []byte) (Level, bool) {
	if len(t) != 5 || !allDigits(t[1:]) {
		return 0, false
	}
	switch t[0] {
	case 'I':
		return Info, true
	case 'W':
		return Warn, true
	case 'E', 'F':
		return Error, true
	}
	return 0, false
}

func letterLevel(c byte) (Level, bool) {
	switch c {
	case 'D', 'T', 'V', 'd', 't', 'v':
		return Debug, true
	case 'I', 'N', 'i', 'n':
		return Info, true
	case 'W', 'w':
		return Warn, true
	case 'E', 'F', 'C', 'e', 'f', 'c':
		return Error, true
	}
	return 0, false
}

// syslogPriority maps a syslog severity 0–7 (emerg … debug).
func syslogPriority(p int) Level {
	switch {
	case p <= 3:
		return Error
	case p == 4:
		return Warn
	case p <= 6:
		return Info
	default:
		return Debug
	}
}

func isUpper(b []byte) bool {
	letters := 0
	for _, c := range b {
		if 'a' <= c && c <= 'z' {
			return false
		}
		if 'A' <= c && c <= 'Z' {
			letters++
		}
	}
	return letters > 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// skipTimestamp removes a leading timestamp (optionally in brackets) and the separators after
// it: 2024-01-02T15:04:05.000Z, 2024-01-02 15:04:05,123, 2024/01/02 15:04:05, 15:04:05.123,
// Jan  2 15:04:05. ok reports whether one was found.
func skipTimestamp(b []byte) (rest []byte, ok bool) {
	s := b
	bracket := len(s) > 0 && s[0] == '['
	if bracket {
		s = s[1:]
	}
	n := 0
	switch {
	case len(s) >= 10 && allDigits(s[0:4]) && (s[4] == '-' || s[4] == '/') && allDigits(s[5:7]) &&
		s[7] == s[4] && allDigits(s[8:10]):
		n = 10
		if len(s) > n+1 && (s[n] == 'T' || s[n] == ' ') && isDigit(s[n+1]) {
			if m := timeOfDay(s[n+1:]); m > 0 {
				n += 1 + m
			}
		}
	case len(s) >= 5 && isDigit(s[0]) && isDigit(s[1]) && s[2] == ':':
		n = timeOfDay(s)
	case len(s) >= 15 && isMonth(s[:3]) && s[3] == ' ':
		i := 4
		if s[i] == ' ' {
			i++
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j > i && j < len(s) && s[j] == ' ' {
			if m := timeOfDay(s[j+1:]); m > 0 {
				n = j + 1 + m
			}
		}
	}
	if n == 0 {
		return b, false
	}
	// time zone
	if n < len(s) && s[n] == 'Z' {
		n++
	} else if n+5 <= len(s) && (s[n] == '+' || s[n] == '-') && isDigit(s[n+1]) && isDigit(s[n+2]) {
		n += 3
		if n < len(s) && s[n] == ':' {
			n++
		}
		for k := 0; k < 2 && n < len(s) && isDigit(s[n]); k++ {
			n++
		}
	}
	if bracket {
		if n < len(s) && s[n] == ']' {
			n++
		} else if n < len(s) && s[n] == ' ' {
			// "[2024-01-01T00:00:00Z ERROR app] x": the bracket holds more than the time
		} else {
			return b, false
		}
	}
	if n < len(s) && s[n] != ' ' && s[n] != '\t' && s[n] != ']' {
		return b, false // not followed by a separator: e.g. 12:00:00abc
	}
	return bytes.TrimLeft(s[n:], " \t"), true
}

// timeOfDay measures hh:mm[:ss[.frac|,frac]] at the start of s; 0 when there is none.
func timeOfDay(s []byte) int {
	if len(s) < 5 || !isDigit(s[0]) || !isDigit(s[1]) || s[2] != ':' || !isDigit(s[3]) || !isDigit(s[4]) {
		return 0
	}
	n := 5
	if len(s) >= 8 && s[5] == ':' && isDigit(s[6]) && isDigit(s[7]) {
		n = 8
		if len(s) > 9 && (s[8] == '.' || s[8] == ',') && isDigit(s[9]) {
			n = 9
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
	}
	return n
}

func isMonth(b []byte) bool {
	for _, m := range months {
		if string(b) == m {
			return true
		}
	}
	return false
}
