package supervisor

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Helper modes of the test binary itself (see runHelper).
const (
	envHelper     = "MCPWATCH_TEST_HELPER"
	envHelperFile = "MCPWATCH_TEST_FILE"
	envHelperExit = "MCPWATCH_TEST_EXIT"
	envTestChild  = "MCPWATCH_TEST_CHILD"
)

// waitTimeout bounds every wait for a condition: generous, for a loaded 2-core machine.
const waitTimeout = 20 * time.Second

func TestMain(m *testing.M) {
	RunShimIfRequested()
	if mode := os.Getenv(envHelper); mode != "" {
		os.Exit(runHelper(mode))
	}
	// A race-enabled binary sleeps 1 s when it exits (GORACE atexit_sleep_ms); the shims are
	// this test binary, so without this every child exit would take a second longer.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}

// runHelper lets the test binary play a child (or a monitor) with exactly the behaviour a test
// needs.
func runHelper(mode string) int {
	switch mode {
	case "output":
		// Interleaved numbered lines on both streams, then the edge cases.
		for i := 1; i <= outputLines; i++ {
			fmt.Fprintf(os.Stdout, "a %d\n", i)
			fmt.Fprintf(os.Stderr, "b %d\n", i)
		}
		os.Stdout.WriteString(strings.Repeat("x", 100_000) + "\n")
		os.Stdout.WriteString("after long\n")
		os.Stdout.WriteString("crlf line\r\n")
		os.Stdout.WriteString("partial")
		os.Stderr.WriteString("err partial")
		return 0
	case "waitfile":
		// Exit with $MCPWATCH_TEST_EXIT once the file $MCPWATCH_TEST_FILE exists.
		code, _ := strconv.Atoi(os.Getenv(envHelperExit))
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(os.Getenv(envHelperFile)); err == nil {
				return code
			}
		}
		return 99
	case "monitor":
		return runMonitor()
	case "echo":
		// Answer every stdin line with "echo: LINE" on stdout until stdin ends, then say so on
		// stderr and exit 0 (TestChannel*).
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Fprintf(os.Stdout, "echo: %s\n", sc.Text())
		}
		fmt.Fprintln(os.Stderr, "stdin closed")
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

const outputLines = 2000

// runMonitor is a monitor that starts testchild -grandchild, prints "pids CHILD GRANDCHILD" and
// waits to be killed (TestMonitorKilledLeavesNoOrphans).
func runMonitor() int {
	sink := newRecSink()
	sup := New(Options{Sink: sink, Logger: slog.New(slog.DiscardHandler)})
	sup.Define(testDef("orphan", os.Getenv(envTestChild), "-grandchild", "-sleep", "1h"))
	if err := sup.Start("orphan"); err != nil {
		fmt.Println("error", err)
		return 1
	}
	var child, grand int
	ok := sink.wait(waitTimeout, func() bool {
		child = sink.lastPID("orphan", Running)
		grand = sink.grandchildPID("orphan")
		return child > 0 && grand > 0
	})
	if !ok {
		fmt.Println("error timeout")
		return 1
	}
	fmt.Printf("pids %d %d\n", child, grand)
	time.Sleep(time.Minute) // the test kills this process long before
	return 1
}

// testDef is a definition with policy never.
func testDef(id, command string, args ...string) registry.ServerDef {
	return registry.ServerDef{
		ID: id, Name: id, Command: command, Args: args, Env: map[string]string{},
		Transport: registry.TransportStdio,
		Restart:   registry.RestartPolicy{Policy: registry.PolicyNever, MaxRetries: 5, BackoffMs: 1000},
	}
}

// helperDef runs the test binary itself in a helper mode.
func helperDef(t testing.TB, id, mode string, env map[string]string) registry.ServerDef {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	d := testDef(id, exe)
	d.Env[envHelper] = mode
	for k, v := range env {
		d.Env[k] = v
	}
	return d
}

// newTestSupervisor returns a Supervisor with a recording sink; it is shut down (every child
// killed) when the test ends, failed or not.
func newTestSupervisor(t *testing.T, opts Options) (*Supervisor, *recSink) {
	t.Helper()
	sink := newRecSink()
	opts.Sink = sink
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	sup := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := sup.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return sup, sink
}

// killOnCleanup makes sure a process the test learned about is gone when the test ends.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if p, err := os.FindProcess(pid); err == nil && pid > 0 {
			_ = p.Kill()
		}
	})
}

// recSink records everything a Supervisor emits, in one sequence.
type recSink struct {
	mu      sync.Mutex
	changed chan struct{}
	events  []Event
	system  []sysRec
	lines   []lineRec
	seq     int
}

type sysRec struct {
	seq            int
	id, level, msg string
	pid            int
}

type lineRec struct {
	seq        int
	id, stream string
	line       string
	truncated  bool
	pid        int
}

func newRecSink() *recSink { return &recSink{changed: make(chan struct{})} }

func (r *recSink) record(f func(seq int)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	f(r.seq)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recSink) Line(id, stream string, line []byte, truncated bool, pid int) {
	r.record(func(seq int) {
		r.lines = append(r.lines, lineRec{seq, id, stream, string(line), truncated, pid})
	})
}

func (r *recSink) System(id, level, msg string, pid int) {
	r.record(func(seq int) { r.system = append(r.system, sysRec{seq, id, level, msg, pid}) })
}

func (r *recSink) Status(ev Event) {
	r.record(func(int) { r.events = append(r.events, ev) })
}

// wait reports whether cond (called with r.mu held) became true within timeout.
func (r *recSink) wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return false
		}
	}
}

// waitFor fails the test when cond does not become true in time.
func (r *recSink) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !r.wait(waitTimeout, cond) {
		t.Fatalf("timeout waiting for %s\n%s", what, r.dump())
	}
}

// waitStatus waits for the n-th (1-based) event of id with the given status and returns it.
func (r *recSink) waitStatus(t testing.TB, id string, st Status, n int) Event {
	t.Helper()
	var ev Event
	r.waitFor(t, fmt.Sprintf("%s #%d of %s", st, n, id), func() bool {
		c := 0
		for _, e := range r.events {
			if e.ServerID == id && e.Status == st {
				if c++; c == n {
					ev = e
					return true
				}
			}
		}
		return false
	})
	return ev
}

// statuses returns the status sequence of id (call without r.mu).
func (r *recSink) statuses(id string) []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Status
	for _, e := range r.events {
		if e.ServerID == id {
			out = append(out, e.Status)
		}
	}
	return out
}

func (r *recSink) eventsOf(id string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.ServerID == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *recSink) systemOf(id string) []sysRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sysRec
	for _, s := range r.system {
		if s.id == id {
			out = append(out, s)
		}
	}
	return out
}

func (r *recSink) linesOf(id, stream string) []lineRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []lineRec
	for _, l := range r.lines {
		if l.id == id && l.stream == stream {
			out = append(out, l)
		}
	}
	return out
}

// hasSystem reports whether id got a system line msg (call with r.mu held).
func (r *recSink) hasSystem(id, msg string) bool {
	return slices.ContainsFunc(r.system, func(s sysRec) bool { return s.id == id && s.msg == msg })
}

// lastPID is the pid of the last event of id with status st (call with r.mu held).
func (r *recSink) lastPID(id string, st Status) int {
	for i := len(r.events) - 1; i >= 0; i-- {
		if e := r.events[i]; e.ServerID == id && e.Status == st {
			return e.PID
		}
	}
	return 0
}

// grandchildPID reads testchild's "grandchild pid N" line (call with r.mu held).
func (r *recSink) grandchildPID(id string) int {
	for _, l := range r.lines {
		if s, ok := strings.CutPrefix(l.line, "grandchild pid "); ok && l.id == id {
			n, _ := strconv.Atoi(s)
			return n
		}
	}
	return 0
}

func (r *recSink) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		fmt.Fprintf(&b, "  event %s: %s -> %s pid=%d restarts=%d err=%q\n", e.ServerID, e.Previous, e.Status, e.PID, e.RestartCount, e.Error)
	}
	for _, s := range r.system {
		fmt.Fprintf(&b, "  system %s [%s] %s\n", s.id, s.level, s.msg)
	}
	n := len(r.lines)
	for _, l := range r.lines[max(0, n-10):] {
		fmt.Fprintf(&b, "  line %s %s %.80q\n", l.id, l.stream, l.line)
	}
	return b.String()
}

// fakeClock is a Clock driven by hand: Advance runs the due AfterFunc callbacks synchronously,
// in the order of their deadlines.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	d       time.Duration
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), d: d, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.fired {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves the clock by d and runs the callbacks that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.fired && !t.at.After(c.now) {
			t.fired = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, t := range due {
		t.f()
	}
}

// Pending returns the delays of the timers that have neither fired nor been stopped.
func (c *fakeClock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			out = append(out, t.d)
		}
	}
	return out
}
