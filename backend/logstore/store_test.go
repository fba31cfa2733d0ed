package logstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// clock is a test clock that advances by step at every reading.
type clock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

// recorder is a slog handler that keeps the records.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// count counts the records at level whose "server" attribute is server.
func (r *recorder) count(level slog.Level, server string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level != level {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "server" && a.Value.String() == server {
				n++
			}
			return true
		})
	}
	return n
}

func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// readFileEntries decodes every line of a log file, failing on corrupt ones.
func readFileEntries(t *testing.T, name string) []Entry {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxStoredLine)
	for sc.Scan() {
		e, err := decodeEntry(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: corrupt line %q: %v", name, sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func seqs(es []Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func TestOpenNeedsDir(t *testing.T) {
	if _, err := Open(Options{}); !errors.Is(err, ErrNoDir) {
		t.Fatalf("Open without Dir: %v, want ErrNoDir", err)
	}
}

func TestSeqIncreasesAcrossAppendsAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, MaxFileBytes: 8 << 10})
	var last uint64
	for i := range 3000 {
		var e Entry
		if i%7 == 0 {
			e = s.AppendSystem("weather", Warn, fmt.Sprintf("restart %d", i), 0)
		} else {
			e = s.Append("weather", Stderr, []byte(fmt.Sprintf("line %d", i)), false, 100+i/1000)
		}
		if e.Seq != last+1 {
			t.Fatalf("append %d: seq %d after %d", i, e.Seq, last)
		}
		last = e.Seq
	}
	if got := s.Append("other", Stdout, []byte("x"), false, 1).Seq; got != 1 {
		t.Fatalf("another server starts at seq %d, want 1", got)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2 := openStore(t, Options{Dir: dir, MaxFileBytes: 8 << 10})
	if got := s2.LastSeq("weather"); got != last {
		t.Fatalf("LastSeq after reopen = %d, want %d", got, last)
	}
	if got := s2.Append("weather", Stdout, []byte("after restart"), false, 5).Seq; got != last+1 {
		t.Fatalf("seq after reopen = %d, want %d", got, last+1)
	}
	if got := s2.LastSeq("other"); got != 1 {
		t.Fatalf("LastSeq(other) = %d, want 1", got)
	}
	if got := s2.LastSeq("never-seen"); got != 0 {
		t.Fatalf("LastSeq(never-seen) = %d, want 0", got)
	}
}

func TestSeqRecoveryFromTail(t *testing.T) {
	line := func(seq int) string {
		e := buildEntry(Stdout, []byte(fmt.Sprintf("m%d", seq)), false, 1, uint64(seq), t0, Info, true)
		return string(e.JSON) + "\n"
	}
	big := strings.Repeat("x", 3*tailWindow)
	tests := []struct {
		name    string
		files   map[string]string
		want    uint64
		wantAll []uint64 // seqs Query finds after one more append
	}{
		{"clean", map[string]string{currentName: line(1) + line(2) + line(3)}, 3, []uint64{1, 2, 3, 4}},
		{"half-written last line", map[string]string{currentName: line(1) + line(2) + `{"level":"info","mess`}, 2, []uint64{1, 2, 3}},
		{"corrupt tail", map[string]string{currentName: line(5) + "garbage\n\n"}, 5, []uint64{5, 6}},
		{"empty current", map[string]string{"current.1.ndjson": line(8) + line(9), currentName: ""}, 9, []uint64{8, 9, 10}},
		{"no current", map[string]string{"current.2.ndjson": line(1), "current.1.ndjson": line(2)}, 2, []uint64{1, 2, 3}},
		{"long lines before the end", map[string]string{currentName: line(1) + `{"x":"` + big + "\"}\n" + line(2)}, 2, []uint64{1, 2, 3}},
		{"last entry longer than the window", map[string]string{currentName: line(1) + string(buildEntry(Stdout, []byte(big), false, 0, 2, t0, Info, true).JSON) + "\n"}, 2, []uint64{1, 2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sdir := filepath.Join(dir, "logs", "srv")
			if err := os.MkdirAll(sdir, 0o700); err != nil {
				t.Fatal(err)
			}
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(sdir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := openStore(t, Options{Dir: dir, RingSize: 1})
			if got := s.LastSeq("srv"); got != tc.want {
				t.Fatalf("LastSeq = %d, want %d", got, tc.want)
			}
			s.Append("srv", Stdout, []byte("next"), false, 1)
			got, err := s.Query("srv", Query{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqs(got), tc.wantAll) {
				t.Fatalf("Query seqs = %v, want %v", seqs(got), tc.wantAll)
			}
		})
	}
}

func TestTail(t *testing.T) {
	s := openStore(t, Options{RingSize: 50})
	levels := []string{"DEBUG a", "INFO b", "WARN c", "ERROR d"}
	for i := range 100 {
		s.Append("srv", Stdout, []byte(fmt.Sprintf("%s %d", levels[i%4], i)), false, 1)
	}
	tests := []struct {
		name string
		n    int
		min  Level
		want []uint64
	}{
		{"last 3 of all", 3, Debug, []uint64{98, 99, 100}},
		{"last 3 warn+", 3, Warn, []uint64{96, 99, 100}},
		{"last 2 errors", 2, Error, []uint64{96, 100}},
		{"more than the ring", 1000, Error, []uint64{52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96, 100}},
		{"zero", 0, Debug, nil},
		{"negative", -1, Debug, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Tail("srv", tc.n, tc.min)
			if !slices.Equal(seqs(got), tc.want) {
				t.Fatalf("Tail(%d, %v) = %v, want %v", tc.n, tc.min, seqs(got), tc.want)
			}
			for _, e := range got {
				if e.Level < tc.min {
					t.Fatalf("entry %d has level %v", e.Seq, e.Level)
				}
			}
		})
	}
	if got := s.Tail("nobody", 10, Debug); got != nil {
		t.Fatalf("Tail of an unknown server = %v", got)
	}
	if got := len(s.Tail("srv", 1000, Debug)); got != 50 {
		t.Fatalf("ring keeps %d entries, want 50", got)
	}
}

func TestRingBytesBound(t *testing.T) {
	r := newRing(100, 10<<10)
	for i := range 100 {
		r.push(&Entry{Seq: uint64(i + 1), Message: strings.Repeat("x", 1000)})
		if r.bytes > r.maxBytes {
			t.Fatalf("ring holds %d bytes, max %d", r.bytes, r.maxBytes)
		}
	}
	if r.len() == 0 || r.len() > 10 || r.at(r.len()-1).Seq != 100 {
		t.Fatalf("ring len %d, newest %d", r.len(), r.at(r.len()-1).Seq)
	}
	for i := 1; i < r.len(); i++ {
		if r.at(i).Seq != r.at(i-1).Seq+1 {
			t.Fatalf("ring out of order at %d", i)
		}
	}
}

func TestListenersSeeStrictSeqOrderUnderConcurrency(t *testing.T) {
	s := openStore(t, Options{RingSize: 100})
	var mu sync.Mutex
	got := map[string][]uint64{}
	remove := s.AddListener(func(id string, e *Entry) {
		mu.Lock()
		got[id] = append(got[id], e.Seq)
		mu.Unlock()
	})
	var calls2 atomic.Int64
	remove2 := s.AddListener(func(string, *Entry) { calls2.Add(1) })
	const per = 2000
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := []string{"a", "b"}[g%2]
			for i := range per {
				if i%100 == 0 {
					s.AppendSystem(id, Info, "tick", 0)
				} else {
					s.Append(id, Stream([]string{"stdout", "stderr"}[g/2]), []byte(fmt.Sprintf("g%d %d", g, i)), false, g)
				}
			}
		}()
	}
	wg.Wait()
	for _, id := range []string{"a", "b"} {
		sq := got[id]
		if len(sq) != 2*per {
			t.Fatalf("%s: listener saw %d entries, want %d", id, len(sq), 2*per)
		}
		for i, v := range sq {
			if v != uint64(i+1) {
				t.Fatalf("%s: entry %d has seq %d: not strictly in order", id, i, v)
			}
		}
	}
	if calls2.Load() != 4*per {
		t.Fatalf("second listener saw %d entries", calls2.Load())
	}
	remove()
	remove() // idempotent
	remove2()
	s.Append("a", Stdout, []byte("after remove"), false, 1)
	if len(got["a"]) != 2*per || calls2.Load() != 4*per {
		t.Fatal("a removed listener was called")
	}
}

func TestListenerMayKeepEntry(t *testing.T) {
	s := openStore(t, Options{RingSize: 2})
	var kept []*Entry
	defer s.AddListener(func(_ string, e *Entry) { kept = append(kept, e) })()
	for i := range 10 {
		s.Append("srv", Stdout, []byte(fmt.Sprintf("m%d", i)), false, 1)
	}
	for i, e := range kept {
		if e.Message != fmt.Sprintf("m%d", i) || e.Seq != uint64(i+1) {
			t.Fatalf("kept entry %d changed: %+v", i, e)
		}
	}
}

func TestRotationAndQuery(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{now: t0, step: time.Second}
	const maxFiles = 3
	s := openStore(t, Options{Dir: dir, MaxFileBytes: 4 << 10, MaxFiles: maxFiles, RingSize: 5, Now: clk.Now})
	words := []string{"alpha", "Beta", "gamma", "DELTA"}
	levels := []string{"debug:", "info:", "warn:", "error:"}
	var all []Entry
	for i := range 600 {
		stream := Stdout
		if i%3 == 0 {
			stream = Stderr
		}
		msg := fmt.Sprintf("%s \x1b[1m%s\x1b[0m item-%04d", levels[i%4], words[i%4], i)
		all = append(all, s.Append("srv", stream, []byte(msg), false, 42))
	}
	s.Append("other", Stdout, []byte("not srv"), false, 1)

	res, err := s.Query("srv", Query{Limit: MaxQueryLimit})
	if err != nil {
		t.Fatal(err)
	}
	// files: at most maxFiles, each within MaxFileBytes, named current(.N).ndjson
	sdir := filepath.Join(dir, "logs", "srv")
	des, err := os.ReadDir(sdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(des) > maxFiles || len(des) < 2 {
		t.Fatalf("%d files, want 2..%d", len(des), maxFiles)
	}
	var onDisk int
	for _, de := range des {
		if _, ok := parseRotated(de.Name()); !ok {
			t.Fatalf("unexpected file %s", de.Name())
		}
		info, _ := de.Info()
		if info.Size() > 4<<10 {
			t.Fatalf("%s has %d bytes", de.Name(), info.Size())
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", de.Name(), info.Mode())
		}
		onDisk += len(readFileEntries(t, filepath.Join(sdir, de.Name())))
	}
	if info, _ := os.Stat(sdir); info.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", info.Mode())
	}
	// the oldest entries were rotated away; what is left is contiguous up to the newest
	first := res[0].Seq
	if first <= 1 || len(res) != onDisk || res[len(res)-1].Seq != 600 {
		t.Fatalf("query returned %d entries %d..%d, %d on disk", len(res), first, res[len(res)-1].Seq, onDisk)
	}
	for i, e := range res {
		if e.Seq != first+uint64(i) {
			t.Fatalf("gap at %d: %d", i, e.Seq)
		}
		want := all[e.Seq-1]
		if e.Message != want.Message || e.Level != want.Level || !e.Time.Equal(want.Time) ||
			e.Stream != want.Stream || e.PID != want.PID || string(e.JSON) != string(want.JSON) {
			t.Fatalf("entry %d read back as %+v, appended %+v", e.Seq, e, want)
		}
	}
	stored := all[first-1:]

	tests := []struct {
		name string
		q    Query
		keep func(e Entry) bool
		max  int
	}{
		{"level", Query{MinLevel: Warn}, func(e Entry) bool { return e.Level >= Warn }, 1000},
		{"substring ignores case and ANSI", Query{Text: "beta item"}, func(e Entry) bool { return strings.Contains(e.Message, "Beta") }, 1000},
		{"regex", Query{Regex: regexp.MustCompile(`item-05\d[05]$`)}, func(e Entry) bool {
			return regexp.MustCompile(`item-05\d[05]\x1b|item-05\d[05]$`).MatchString(e.Message)
		}, 1000},
		{"regex with level", Query{MinLevel: Error, Regex: regexp.MustCompile(`(?i)delta`)}, func(e Entry) bool { return e.Level == Error }, 1000},
		{"time range", Query{Since: stored[10].Time, Until: stored[20].Time}, func(e Entry) bool {
			return e.Seq >= stored[10].Seq && e.Seq <= stored[20].Seq
		}, 1000},
		{"since only", Query{Since: stored[len(stored)-3].Time}, func(e Entry) bool {
			return e.Seq >= stored[len(stored)-3].Seq
		}, 1000},
		{"limit keeps the newest", Query{Limit: 7}, func(Entry) bool { return true }, 7},
		{"streams", Query{Streams: []Stream{Stderr}}, func(e Entry) bool { return e.Stream == Stderr }, 1000},
		{"nothing", Query{Text: "no such text"}, func(Entry) bool { return false }, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Query("srv", tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for _, e := range stored {
				if tc.keep(e) {
					want = append(want, e.Seq)
				}
			}
			if len(want) > tc.max {
				want = want[len(want)-tc.max:]
			}
			if len(want) == 0 && tc.name != "nothing" {
				t.Fatal("test expects nothing: bad test")
			}
			if !slices.Equal(seqs(got), want) {
				t.Fatalf("got %v\nwant %v", seqs(got), want)
			}
		})
	}
	if !slices.Equal(s.Servers(), []string{"other", "srv"}) {
		t.Fatalf("Servers = %v", s.Servers())
	}
}

func TestRotationMaxFilesOne(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, MaxFileBytes: 1 << 10, MaxFiles: 1})
	for i := range 100 {
		s.Append("srv", Stdout, []byte(fmt.Sprintf("line %d", i)), false, 1)
	}
	s.Close()
	des, _ := os.ReadDir(filepath.Join(dir, "logs", "srv"))
	if len(des) != 1 || des[0].Name() != currentName {
		t.Fatalf("files %v", des)
	}
	es := readFileEntries(t, filepath.Join(dir, "logs", "srv", currentName))
	if len(es) == 0 || es[len(es)-1].Seq != 100 {
		t.Fatalf("current holds %v", seqs(es))
	}
}

func TestLineLongerThanAFile(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, MaxFileBytes: 1 << 10, MaxFiles: 3, RingSize: 1})
	s.Append("srv", Stdout, []byte("small"), false, 1)
	s.Append("srv", Stdout, []byte(strings.Repeat("y", 5000)), false, 1)
	s.Append("srv", Stdout, []byte("small again"), false, 1)
	got, err := s.Query("srv", Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(got), []uint64{1, 2, 3}) || len(got[1].Message) != 5000 {
		t.Fatalf("query %v", seqs(got))
	}
}

func TestQuerySkipsCorruptLinesAndServesWithoutMemory(t *testing.T) {
	dir := t.TempDir()
	sdir := filepath.Join(dir, "logs", "srv")
	os.MkdirAll(sdir, 0o700)
	var b strings.Builder
	for i := 1; i <= 5; i++ {
		b.Write(buildEntry(Stdout, []byte(fmt.Sprintf("ok %d", i)), false, 1, uint64(i), t0, Info, true).JSON)
		b.WriteString("\n")
		switch i {
		case 1:
			b.WriteString("not json\n")
		case 2:
			b.WriteString(`{"level":"loud","message":"x","timestamp":"2026-01-01T00:00:00.000Z","metadata":{"stream":"stdout","seq":99}}` + "\n")
		case 3:
			b.WriteString(`{"x":"` + strings.Repeat("z", maxStoredLine) + "\"}\n") // longer than any stored line
		case 4:
			b.WriteString("\n{}\n")
		}
	}
	os.WriteFile(filepath.Join(sdir, currentName), []byte(b.String()), 0o600)
	s := openStore(t, Options{Dir: dir})
	got, err := s.Query("srv", Query{}) // the server is not in memory
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(got), []uint64{1, 2, 3, 4, 5}) {
		t.Fatalf("seqs %v", seqs(got))
	}
	if slices.Contains(s.Servers(), "srv") == false {
		t.Fatalf("Servers = %v", s.Servers())
	}
}

func TestQueryErrors(t *testing.T) {
	s := openStore(t, Options{})
	for _, id := range []string{"", "../etc", "a/b", ".hidden", strings.Repeat("x", 200)} {
		if _, err := s.Query(id, Query{}); !errors.Is(err, ErrInvalidServerID) {
			t.Fatalf("Query(%q): %v, want ErrInvalidServerID", id, err)
		}
	}
	got, err := s.Query("unknown", Query{})
	if err != nil || len(got) != 0 {
		t.Fatalf("Query(unknown) = %v, %v", got, err)
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		in       string
		text     string
		re       string
		matches  string
		badRegex bool
	}{
		{in: "plain text", text: "plain text"},
		{in: "/", text: "/"},
		{in: "/api/v1", text: "/api/v1"},
		{in: "/err(or)?/", re: "err(or)?", matches: "error"},
		{in: "/ERROR/i", re: "(?i)ERROR", matches: "an error"},
		{in: "//", re: "", matches: "anything"},
		{in: "/a(/", badRegex: true},
		{in: "/[z-a]/i", badRegex: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			text, re, err := ParsePattern(tc.in)
			if tc.badRegex {
				if !errors.Is(err, ErrBadPattern) || !strings.Contains(err.Error(), strings.TrimSuffix(tc.in, "i")) {
					t.Fatalf("err = %v, want ErrBadPattern naming %s", err, tc.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.text || (re == nil) != (tc.re == "" && tc.matches == "") {
				t.Fatalf("got %q %v", text, re)
			}
			if re != nil && (re.String() != tc.re || !re.MatchString(tc.matches)) {
				t.Fatalf("regex %q does not match %q", re, tc.matches)
			}
		})
	}
}

// failingFile is a log file whose writes fail on demand.
type failingFile struct {
	f     *os.File
	fs    *failingFS
	wrote *atomic.Int64
}

type failingFS struct {
	mode   atomic.Int32 // 0 ok, 1 fail, 2 write half then fail, 3 fail to write and to open
	writes atomic.Int64
}

func (ff *failingFile) Write(p []byte) (int, error) {
	switch ff.fs.mode.Load() {
	case 1, 3:
		return 0, fmt.Errorf("write: %w", syscall.ENOSPC)
	case 2:
		n, _ := ff.f.Write(p[:len(p)/2])
		return n, fmt.Errorf("write: %w", syscall.ENOSPC)
	}
	ff.fs.writes.Add(1)
	return ff.f.Write(p)
}

func (ff *failingFile) Close() error { return ff.f.Close() }

func (fs *failingFS) open(name string) (logFile, int64, error) {
	if fs.mode.Load() == 3 {
		return nil, 0, &os.PathError{Op: "open", Path: name, Err: syscall.ENOSPC}
	}
	f, size, err := openAppend(name)
	if err != nil {
		return nil, 0, err
	}
	return &failingFile{f: f.(*os.File), fs: fs}, size, nil
}

func TestDiskFailureInjected(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode int32
	}{{"write fails", 1}, {"half written", 2}, {"open fails", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rec := &recorder{}
			ffs := &failingFS{}
			s := openStore(t, Options{Dir: dir, Logger: slog.New(rec), FlushInterval: time.Hour, openFile: ffs.open})
			var heard atomic.Int64
			defer s.AddListener(func(string, *Entry) { heard.Add(1) })()
			appendN := func(n int, tag string) {
				for i := range n {
					s.Append("srv", Stderr, []byte(fmt.Sprintf("%s %d", tag, i)), false, 1)
				}
			}
			flush := func() {
				if _, err := s.Query("srv", Query{Limit: 1}); err != nil {
					t.Fatal(err)
				}
			}

			appendN(10, "before")
			flush()
			if err := s.DiskError("srv"); err != nil {
				t.Fatalf("DiskError before failure: %v", err)
			}
			ffs.mode.Store(tc.mode)
			appendN(20, "during")
			flush()
			appendN(20, "during2")
			flush()
			err := s.DiskError("srv")
			if !errors.Is(err, ErrDisk) || !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("DiskError = %v, want ErrDisk wrapping ENOSPC", err)
			}
			if n := rec.count(slog.LevelWarn, "srv"); n != 1 {
				t.Fatalf("%d warnings, want exactly 1", n)
			}
			dropped := s.DiskDropped("srv")
			if tc.mode != 2 && dropped != 40 || dropped == 0 || dropped > 40 {
				t.Fatalf("DiskDropped = %d, want 40 (or fewer when half a chunk was written)", dropped)
			}
			if heard.Load() != 50 || len(s.Tail("srv", 1000, Debug)) != 50 {
				t.Fatalf("live path lost entries: heard %d, tail %d", heard.Load(), len(s.Tail("srv", 1000, Debug)))
			}
			// the store answers with what is in memory
			got, err := s.Query("srv", Query{Text: "during2"})
			if err != nil || len(got) != 20 {
				t.Fatalf("query during failure: %d entries, %v", len(got), err)
			}

			ffs.mode.Store(0)
			appendN(5, "after")
			flush()
			if err := s.DiskError("srv"); err != nil {
				t.Fatalf("DiskError after recovery: %v", err)
			}
			if n := rec.count(slog.LevelInfo, "srv"); n != 1 {
				t.Fatalf("%d recovery notes, want 1", n)
			}
			// only whole entries on disk, in seq order: before and after, not during
			f, _ := os.Open(filepath.Join(dir, "logs", "srv", currentName))
			defer f.Close()
			var disk []Entry
			lr := newLineReader(f, maxStoredLine)
			for line, ok := lr.next(); ok; line, ok = lr.next() {
				if e, err := decodeEntry(line); err == nil {
					disk = append(disk, e)
				} else if tc.mode != 2 {
					t.Fatalf("corrupt line %q", line)
				}
			}
			var want []uint64
			for i := 1; i <= 10; i++ {
				want = append(want, uint64(i))
			}
			for i := 51; i <= 55; i++ {
				want = append(want, uint64(i))
			}
			gotSeqs := seqs(disk)
			if tc.mode == 2 { // the half-written chunks left whole lines before each cut
				n := len(gotSeqs)
				gotSeqs = slices.DeleteFunc(gotSeqs, func(q uint64) bool { return q > 10 && q < 51 })
				if uint64(n-len(gotSeqs))+dropped != 40 {
					t.Fatalf("%d entries of the failure on disk, %d counted dropped: want 40 in all", n-len(gotSeqs), dropped)
				}
			}
			if !slices.Equal(gotSeqs, want) {
				t.Fatalf("disk holds %v, want %v", seqs(disk), want)
			}
			// and the query merges memory and disk without duplicates
			all, _ := s.Query("srv", Query{})
			if len(all) != 55 || all[0].Seq != 1 || all[54].Seq != 55 {
				t.Fatalf("query after recovery: %v", seqs(all))
			}
			// a new failure warns again
			ffs.mode.Store(tc.mode)
			appendN(1, "again")
			flush()
			if n := rec.count(slog.LevelWarn, "srv"); n != 2 {
				t.Fatalf("%d warnings after a second failure, want 2", n)
			}
			ffs.mode.Store(0)
		})
	}
}

func TestUnwritableDir(t *testing.T) {
	base := t.TempDir()
	blocker := filepath.Join(base, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	// Dir below a regular file: no one, not even root, can create it
	s := openStore(t, Options{Dir: filepath.Join(blocker, "data"), Logger: slog.New(rec), FlushInterval: time.Hour})
	var heard atomic.Int64
	defer s.AddListener(func(string, *Entry) { heard.Add(1) })()
	for i := range 100 {
		if e := s.Append("srv", Stdout, []byte(fmt.Sprintf("m %d", i)), false, 1); e.Seq != uint64(i+1) {
			t.Fatalf("seq %d", e.Seq)
		}
	}
	got, err := s.Query("srv", Query{})
	if err != nil || len(got) != 100 || heard.Load() != 100 {
		t.Fatalf("query %d entries (%v), heard %d", len(got), err, heard.Load())
	}
	if err := s.DiskError("srv"); !errors.Is(err, ErrDisk) || !errors.Is(err, syscall.ENOTDIR) {
		t.Fatalf("DiskError = %v", err)
	}
	if n := rec.count(slog.LevelWarn, "srv"); n != 1 {
		t.Fatalf("%d warnings, want 1", n)
	}
	s.Append("srv", Stdout, []byte("last"), false, 1)
	if err := s.Close(); err == nil {
		t.Fatal("Close reports nothing about entries it could not write")
	}
}

func TestReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories; TestUnwritableDir covers this case")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	s := openStore(t, Options{Dir: dir})
	s.Append("srv", Stdout, []byte("x"), false, 1)
	if _, err := s.Query("srv", Query{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DiskError("srv"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("DiskError = %v", err)
	}
}

func TestCloseFlushes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, FlushInterval: time.Hour})
	for i := range 10 {
		s.Append("srv", Stdout, []byte(fmt.Sprintf("m %d", i)), false, 1)
	}
	name := filepath.Join(dir, "logs", "srv", currentName)
	if b, _ := os.ReadFile(name); len(b) != 0 {
		t.Fatalf("written before a flush: %q", b)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := seqs(readFileEntries(t, name)); len(got) != 10 || got[9] != 10 {
		t.Fatalf("after Close the file holds %v", got)
	}
	// after Close: live path only
	if e := s.Append("srv", Stdout, []byte("late"), false, 1); e.Seq != 11 {
		t.Fatalf("late seq %d", e.Seq)
	}
	s.Append("new", Stdout, []byte("late"), false, 1)
	if !errors.Is(s.DiskError("srv"), ErrClosed) || !errors.Is(s.DiskError("new"), ErrClosed) {
		t.Fatalf("DiskError after Close: %v %v", s.DiskError("srv"), s.DiskError("new"))
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a server made after Close got files: %v", err)
	}
}

func TestPeriodicFlush(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, FlushInterval: 5 * time.Millisecond})
	s.Append("srv", Stdout, []byte("soon on disk"), false, 1)
	name := filepath.Join(dir, "logs", "srv", currentName)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, _ := os.ReadFile(name); strings.Contains(string(b), "soon on disk") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry never reached the disk without a Close or Query")
		}
		time.Sleep(2 * time.Millisecond) // polling, not synchronisation
	}
}

func TestLargeBufferFlushesAtOnce(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, FlushInterval: time.Hour})
	line := []byte(strings.Repeat("z", 1000))
	for range 2 * flushAt / 1000 {
		s.Append("srv", Stdout, line, false, 1)
	}
	info, err := os.Stat(filepath.Join(dir, "logs", "srv", currentName))
	if err != nil || info.Size() < flushAt {
		t.Fatalf("buffer not written when large: %v %v", info, err)
	}
}

func TestForget(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	for range 3 {
		s.Append("keep", Stdout, []byte("x"), false, 1)
		s.Append("drop", Stdout, []byte("x"), false, 1)
	}
	if err := s.Forget("keep", false); err != nil {
		t.Fatal(err)
	}
	if got := s.Tail("keep", 10, Debug); len(got) != 0 {
		t.Fatalf("memory kept %d entries", len(got))
	}
	if got := s.Append("keep", Stdout, []byte("x"), false, 1).Seq; got != 4 {
		t.Fatalf("seq after Forget without removing files = %d, want 4", got)
	}
	if err := s.Forget("drop", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "drop")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("files left: %v", err)
	}
	if slices.Contains(s.Servers(), "drop") {
		t.Fatalf("Servers = %v", s.Servers())
	}
	if err := s.Forget("../x", true); !errors.Is(err, ErrInvalidServerID) {
		t.Fatalf("Forget(../x) = %v", err)
	}
}

func TestInvalidIDStaysInMemory(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	e := s.Append("../../etc", Stdout, []byte("x"), false, 1)
	if e.Seq != 1 || len(s.Tail("../../etc", 5, Debug)) != 1 {
		t.Fatal("live path refused an odd id")
	}
	if !errors.Is(s.DiskError("../../etc"), ErrInvalidServerID) {
		t.Fatalf("DiskError = %v", s.DiskError("../../etc"))
	}
	if err := s.Forget("../../etc", false); err != nil {
		t.Fatalf("Forget from memory: %v", err)
	}
	if len(s.Tail("../../etc", 5, Debug)) != 0 {
		t.Fatal("Forget kept the entries of an odd id")
	}
	s.Close()
	if des, _ := os.ReadDir(filepath.Join(dir, "logs")); len(des) != 0 {
		t.Fatalf("files for an invalid id: %v", des)
	}
}

func TestReplayJSON(t *testing.T) {
	s := openStore(t, Options{})
	e := s.Append("srv", Stdout, []byte(`{"level":"error","msg":"x"}`), true, 3)
	r := s.ReplayJSON(&e)
	d := checkJSON(t, &Entry{Seq: e.Seq, Time: e.Time, Level: e.Level, Stream: e.Stream, Message: e.Message,
		PID: e.PID, Truncated: e.Truncated, Fields: e.Fields, JSON: r})
	if d.Metadata.Replay == nil || !*d.Metadata.Replay {
		t.Fatalf("no replay in %s", r)
	}
	if string(s.Tail("srv", 1, Debug)[0].JSON) != string(e.JSON) {
		t.Fatal("ReplayJSON changed the stored JSON")
	}
	noJSON := e
	noJSON.JSON = nil
	if string(s.ReplayJSON(&noJSON)) != string(r) {
		t.Fatal("ReplayJSON of an entry without JSON differs")
	}
}

func TestAppendDoesNotKeepCallerBuffer(t *testing.T) {
	s := openStore(t, Options{})
	buf := []byte("original")
	e := s.Append("srv", Stdout, buf, false, 1)
	copy(buf, "XXXXXXXX")
	if e.Message != "original" || s.Tail("srv", 1, Debug)[0].Message != "original" {
		t.Fatal("entry aliases the caller's buffer")
	}
}

// TestConcurrentUse runs appends, queries, tails, forgets and the flusher at once (with -race):
// queries always see increasing seqs without duplicates and nothing deadlocks.
func TestConcurrentUse(t *testing.T) {
	s := openStore(t, Options{MaxFileBytes: 2 << 10, MaxFiles: 3, RingSize: 20, FlushInterval: time.Millisecond})
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1500 {
				s.Append("srv", Stdout, []byte(fmt.Sprintf("WARN g%d %d", g, i)), false, g)
				if i%500 == 0 {
					s.Append("tmp", Stdout, []byte("x"), false, g)
				}
			}
		}()
	}
	errs := make(chan error, 1)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			got, err := s.Query("srv", Query{MinLevel: Warn})
			if err == nil {
				for i := 1; i < len(got); i++ {
					if got[i].Seq <= got[i-1].Seq {
						err = fmt.Errorf("query order: %d after %d", got[i].Seq, got[i-1].Seq)
						break
					}
				}
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			s.Tail("srv", 10, Info)
			s.Forget("tmp", true)
			s.Servers()
		}
	}()
	wg.Wait()
	close(done)
	readers.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if got := s.LastSeq("srv"); got != 3000 {
		t.Fatalf("LastSeq = %d, want 3000", got)
	}
	got, err := s.Query("srv", Query{Limit: 5})
	if err != nil || !slices.Equal(seqs(got), []uint64{2996, 2997, 2998, 2999, 3000}) {
		t.Fatalf("last entries %v, %v", seqs(got), err)
	}
}
