package logstore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Query limits.
const (
	DefaultQueryLimit = 1000
	MaxQueryLimit     = 100000

	// maxStoredLine bounds a stored line: a message of MaxLineBytes escaped at worst six bytes a
	// byte, its fields and the rest of the object.
	maxStoredLine = 8*MaxLineBytes + 4096
)

// Query selects stored entries of one server.
type Query struct {
	MinLevel Level
	Text     string         // substring, case-insensitive, matched against the ANSI-stripped message
	Regex    *regexp.Regexp // against the ANSI-stripped message
	Since    time.Time      // zero = open; inclusive
	Until    time.Time      // zero = open; inclusive
	Limit    int            // default 1000, max 100000
	Streams  []Stream       // empty = all
}

// ParsePattern reads the q parameter of a logs query: "/re/" or "/re/i" is a regular expression
// (i: case-insensitive), anything else a substring.
func ParsePattern(q string) (text string, re *regexp.Regexp, err error) {
	body, flags := "", ""
	switch {
	case len(q) >= 2 && q[0] == '/' && q[len(q)-1] == '/':
		body = q[1 : len(q)-1]
	case len(q) >= 3 && q[0] == '/' && strings.HasSuffix(q, "/i"):
		body, flags = q[1:len(q)-2], "(?i)"
	default:
		return q, nil, nil
	}
	re, err = regexp.Compile(flags + body)
	if err != nil {
		return "", nil, fmt.Errorf("%w /%s/: %w", ErrBadPattern, body, err)
	}
	return "", re, nil
}

// matcher is a prepared Query.
type matcher struct {
	q     Query
	lower string // q.Text lower-cased
	ascii bool   // q.Text is ASCII
}

func newMatcher(q Query) matcher {
	return matcher{q: q, lower: strings.ToLower(q.Text), ascii: isASCII(q.Text)}
}

func (m *matcher) match(e *Entry) bool {
	q := &m.q
	if e.Level < q.MinLevel {
		return false
	}
	if !q.Since.IsZero() && e.Time.Before(q.Since) || !q.Until.IsZero() && e.Time.After(q.Until) {
		return false
	}
	if len(q.Streams) > 0 && !slices.Contains(q.Streams, e.Stream) {
		return false
	}
	if q.Text == "" && q.Regex == nil {
		return true
	}
	msg := StripANSI(e.Message)
	if q.Text != "" && !m.containsFold(msg) {
		return false
	}
	return q.Regex == nil || q.Regex.MatchString(msg)
}

func (m *matcher) containsFold(s string) bool {
	if m.ascii && isASCII(s) {
		n := len(m.lower)
		for i := 0; i+n <= len(s); i++ {
			if hasPrefixFoldASCII(s[i:], m.lower) {
				return true
			}
		}
		return false
	}
	return strings.Contains(strings.ToLower(s), m.lower)
}

func hasPrefixFoldASCII(s, lower string) bool {
	for j := 0; j < len(lower); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// window keeps the last limit entries appended to it.
type window struct {
	buf   []Entry
	start int
	limit int
}

func (w *window) add(e Entry) {
	if len(w.buf) < w.limit {
		w.buf = append(w.buf, e)
		return
	}
	w.buf[w.start] = e
	w.start = (w.start + 1) % w.limit
}

func (w *window) entries() []Entry {
	out := make([]Entry, 0, len(w.buf))
	out = append(out, w.buf[w.start:]...)
	return append(out, w.buf[:w.start]...)
}

// Query returns the last q.Limit stored entries of the server that match q, newest last. It
// flushes the server first, then reads its files oldest to newest, line by line (corrupt lines
// are skipped), and adds the entries still in memory that the files lack (never written, or
// rotated away); when the files cannot be read it answers from memory alone. Since and Until
// are inclusive.
func (s *Store) Query(serverID string, q Query) ([]Entry, error) {
	if !validID(serverID) {
		return nil, fmt.Errorf("%w %q", ErrInvalidServerID, serverID)
	}
	switch {
	case q.Limit <= 0:
		q.Limit = DefaultQueryLimit
	case q.Limit > MaxQueryLimit:
		q.Limit = MaxQueryLimit
	}
	m := newMatcher(q)

	// Under the server's lock: flush, open the files (so a rotation cannot move entries between
	// files while they are read) and take the entries in memory.
	var parts []filePart
	defer func() {
		for _, p := range parts {
			p.f.Close()
		}
	}()
	var mem []*Entry
	dir := filepath.Join(s.logDir, serverID)
	if sv := s.lookup(serverID); sv != nil {
		_ = s.flushLocked(sv) // a failure is reported through DiskError; memory fills the gap
		parts = openParts(dir)
		mem = make([]*Entry, sv.ring.len())
		for i := range mem {
			mem[i] = sv.ring.at(i)
		}
		sv.mu.Unlock()
	} else {
		parts = openParts(dir)
	}

	// Seqs in memory that are found on disk.
	var lo, hi uint64
	if len(mem) > 0 {
		lo, hi = mem[0].Seq, mem[len(mem)-1].Seq
	}
	var onDisk []bool
	if len(mem) > 0 { // the ring holds consecutive seqs: hi-lo+1 == len(mem)
		onDisk = make([]bool, hi-lo+1)
	}

	disk := window{limit: q.Limit}
	for _, p := range parts {
		lr := newLineReader(io.NewSectionReader(p.f, 0, p.size), maxStoredLine)
		for {
			line, ok := lr.next()
			if !ok {
				break
			}
			if !quickLevelOK(line, q.MinLevel) {
				continue // its twin in memory, if any, fails the level too
			}
			e, err := decodeEntry(line)
			if err != nil {
				continue // corrupt line
			}
			if len(onDisk) > 0 && e.Seq >= lo && e.Seq <= hi {
				onDisk[e.Seq-lo] = true
			}
			if m.match(&e) {
				disk.add(e)
			}
		}
		if lr.err != nil {
			s.log.Warn("logstore: cannot read log file", "server", serverID, "error", lr.err)
		}
	}

	extra := window{limit: q.Limit}
	for _, e := range mem {
		if len(onDisk) > 0 && e.Seq >= lo && e.Seq <= hi && onDisk[e.Seq-lo] {
			continue
		}
		if m.match(e) {
			extra.add(*e)
		}
	}
	out := mergeBySeq(disk.entries(), extra.entries())
	if len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, nil
}

// filePart is one open log file and its size when it was opened.
type filePart struct {
	f    *os.File
	size int64
}

// openParts opens a server's files, oldest first; a file that cannot be opened is left out.
func openParts(dir string) []filePart {
	idx, err := logFiles(dir)
	if err != nil {
		return nil
	}
	var parts []filePart
	for _, i := range idx {
		f, err := os.Open(filepath.Join(dir, rotatedName(i)))
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		parts = append(parts, filePart{f, st.Size()})
	}
	return parts
}

// quickLevelOK reads the level at the start of a stored line without decoding it; lines that
// do not start the usual way are let through to the full decoder.
func quickLevelOK(line []byte, min Level) bool {
	const prefix = `{"level":"`
	if min == Debug || !bytes.HasPrefix(line, []byte(prefix)) {
		return true
	}
	rest := line[len(prefix):]
	i := bytes.IndexByte(rest, '"')
	if i < 0 {
		return true
	}
	var l Level
	if l.UnmarshalText(rest[:i]) != nil {
		return true
	}
	return l >= min
}

// mergeBySeq merges two lists sorted by seq.
func mergeBySeq(a, b []Entry) []Entry {
	if len(b) == 0 {
		return a
	}
	out := make([]Entry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Seq <= b[0].Seq {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}
