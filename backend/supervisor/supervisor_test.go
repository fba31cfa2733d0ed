//go:build linux

package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitGone waits until none of pids is alive (zombies count as gone).
func waitGone(t *testing.T, what string, pids ...int) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for deadline := start.Add(waitTimeout); ; {
		alive := slices.DeleteFunc(slices.Clone(pids), func(p int) bool { return !testutil.ProcessAlive(p) })
		if len(alive) == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: pids %v still alive after %s", what, alive, waitTimeout)
		}
		<-tick.C
	}
}

func TestStartStopLifecycle(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sup, sink := newTestSupervisor(t, Options{})
	sup.Define(testDef("life", child, "-lines", "3", "-sleep", "1h"))

	if err := sup.Start("life"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := sup.Start("life"); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Start = %v, want ErrAlreadyRunning", err)
	}
	running := sink.waitStatus(t, "life", Running, 1)
	sink.waitFor(t, "3 lines", func() bool { return len(sink.lines) == 3 })
	st, ok := sup.State("life")
	if !ok || st.Status != Running || st.PID != running.PID || st.PID <= 0 || st.StartedAt.IsZero() {
		t.Fatalf("State = %+v, %v; want running with pid %d", st, ok, running.PID)
	}
	if !testutil.ProcessAlive(st.PID) {
		t.Fatalf("pid %d not alive", st.PID)
	}
	for i, l := range sink.linesOf("life", "stdout") {
		if want := fmt.Sprintf("INFO line %d", i+1); l.line != want || l.pid != st.PID {
			t.Errorf("line %d = %q pid %d, want %q pid %d", i, l.line, l.pid, want, st.PID)
		}
	}

	if err := sup.Stop(ctxT(t), "life"); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// Stop returns once stopped: the events are all there, with no waiting.
	evs := sink.eventsOf("life")
	wantSeq := []struct {
		st, prev Status
		pid      bool
	}{{Starting, Stopped, false}, {Running, Starting, true}, {Stopping, Running, true}, {Stopped, Stopping, true}}
	if len(evs) != len(wantSeq) {
		t.Fatalf("events %v, want %d\n%s", sink.statuses("life"), len(wantSeq), sink.dump())
	}
	for i, w := range wantSeq {
		e := evs[i]
		if e.Status != w.st || e.Previous != w.prev || (e.PID == st.PID) != w.pid || e.Time.IsZero() {
			t.Errorf("event %d = %+v, want %s←%s pid %v", i, e, w.st, w.prev, w.pid)
		}
	}
	if last := evs[3]; last.Signal != "SIGTERM" || last.ExitCode != nil || last.Error != "" {
		t.Errorf("stopped event = %+v, want signal SIGTERM, no code, no error", last)
	}
	wantSys := []sysRec{
		{level: "info", msg: fmt.Sprintf("started (pid %d)", st.PID)},
		{level: "info", msg: "stopping (SIGTERM)"},
		{level: "info", msg: "killed by signal SIGTERM"},
	}
	gotSys := sink.systemOf("life")
	if len(gotSys) != len(wantSys) {
		t.Fatalf("system lines:\n%s", sink.dump())
	}
	for i, w := range wantSys {
		if gotSys[i].level != w.level || gotSys[i].msg != w.msg {
			t.Errorf("system %d = [%s] %q, want [%s] %q", i, gotSys[i].level, gotSys[i].msg, w.level, w.msg)
		}
	}
	waitGone(t, "stopped child", st.PID)

	// Stopping a stopped server does nothing.
	n := len(sink.eventsOf("life"))
	if err := sup.Stop(ctxT(t), "life"); err != nil || len(sink.eventsOf("life")) != n {
		t.Fatalf("Stop of stopped = %v, events %d → %d", err, n, len(sink.eventsOf("life")))
	}
	if st, _ := sup.State("life"); st.Status != Stopped || st.PID != 0 || st.LastExit == nil || st.LastExit.Signal != "SIGTERM" {
		t.Fatalf("State after stop = %+v", st)
	}

	// Restart from stopped, and a restart of a running server gives a new pid.
	if err := sup.Restart(ctxT(t), "life"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	p2 := sink.waitStatus(t, "life", Running, 2).PID
	if err := sup.Restart(ctxT(t), "life"); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	p3 := sink.waitStatus(t, "life", Running, 3).PID
	if p2 == st.PID || p3 == p2 || p2 <= 0 || p3 <= 0 {
		t.Fatalf("pids %d %d %d, want three different", st.PID, p2, p3)
	}
	waitGone(t, "restarted child", p2)
	if st, _ := sup.State("life"); st.Restarts != 2 || st.RestartCount != 0 {
		t.Errorf("Restarts = %d RestartCount = %d, want 2 and 0", st.Restarts, st.RestartCount)
	}

	// Remove stops it first.
	if err := sup.Remove(ctxT(t), "life"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	waitGone(t, "removed child", p3)
	if _, ok := sup.State("life"); ok {
		t.Fatal("State of removed server found")
	}
	for name, err := range map[string]error{
		"Start":  sup.Start("life"),
		"Stop":   sup.Stop(ctxT(t), "life"),
		"Remove": sup.Remove(ctxT(t), "life"),
	} {
		if !errors.Is(err, ErrUnknownServer) {
			t.Errorf("%s of removed = %v, want ErrUnknownServer", name, err)
		}
	}
}

func TestDefineKeepsRunningDefinition(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sup, sink := newTestSupervisor(t, Options{})
	sup.Define(testDef("redef", child, "-prefix", "old", "-lines", "1", "-sleep", "1h"))
	if err := sup.Start("redef"); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "old line", func() bool { return len(sink.lines) == 1 })
	sup.Define(testDef("redef", child, "-prefix", "new", "-lines", "1", "-sleep", "1h"))
	if st, _ := sup.State("redef"); st.Status != Running {
		t.Fatalf("redefining changed the state: %+v", st)
	}
	if err := sup.Restart(ctxT(t), "redef"); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "new line", func() bool { return len(sink.lines) == 2 })
	l := sink.linesOf("redef", "stdout")
	if l[0].line != "INFO old 1" || l[1].line != "INFO new 1" {
		t.Fatalf("lines %q %q", l[0].line, l[1].line)
	}
}

func TestStopKillsGrandchild(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sup, sink := newTestSupervisor(t, Options{})
	sup.Define(testDef("tree", child, "-grandchild", "-sleep", "1h"))
	if err := sup.Start("tree"); err != nil {
		t.Fatal(err)
	}
	var pid, gc int
	sink.waitFor(t, "grandchild pid", func() bool {
		pid, gc = sink.lastPID("tree", Running), sink.grandchildPID("tree")
		return pid > 0 && gc > 0
	})
	killOnCleanup(t, gc)
	if !testutil.ProcessAlive(gc) {
		t.Fatalf("grandchild %d not alive before stop", gc)
	}
	start := time.Now()
	if err := sup.Stop(ctxT(t), "tree"); err != nil {
		t.Fatal(err)
	}
	d := waitGone(t, "child and grandchild", pid, gc)
	t.Logf("stop took %s, tree gone %s later", time.Since(start)-d, d)
}

func TestStopEscalatesToSIGKILL(t *testing.T) {
	child := testutil.BuildTestChild(t)
	const grace = 300 * time.Millisecond
	sup, sink := newTestSupervisor(t, Options{StopGrace: grace})
	sup.Define(testDef("stubborn", child, "-grandchild", "-ignore-term", "-ready", "ready", "-sleep", "1h"))
	if err := sup.Start("stubborn"); err != nil {
		t.Fatal(err)
	}
	var pid, gc int
	// "ready" comes after the SIGTERM handler is set.
	sink.waitFor(t, "ready", func() bool {
		pid, gc = sink.lastPID("stubborn", Running), sink.grandchildPID("stubborn")
		return pid > 0 && gc > 0 && slices.ContainsFunc(sink.lines, func(l lineRec) bool { return l.line == "ready" })
	})
	killOnCleanup(t, gc)
	start := time.Now()
	if err := sup.Stop(ctxT(t), "stubborn"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took < grace {
		t.Fatalf("stopped after %s, before the grace period %s: SIGTERM was not ignored?", took, grace)
	}
	sys := sink.systemOf("stubborn")
	var msgs []string
	for _, s := range sys {
		msgs = append(msgs, "["+s.level+"] "+s.msg)
	}
	want := []string{"[info] stopping (SIGTERM)", "[warn] did not stop within 300ms, sending SIGKILL", "[info] killed by signal SIGKILL"}
	if !slices.Equal(msgs[1:], want) {
		t.Fatalf("system lines %q, want %q after started", msgs, want)
	}
	if evs := sink.eventsOf("stubborn"); evs[len(evs)-1].Status != Stopped || evs[len(evs)-1].Signal != "SIGKILL" {
		t.Fatalf("last event %+v", evs[len(evs)-1])
	}
	d := waitGone(t, "child and grandchild", pid, gc)
	t.Logf("stop took %s (grace %s), tree gone %s later", took, grace, d)
}

func TestStartFailures(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02 not a program"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		def       registry.ServerDef
		syncErr   bool   // Start itself fails (resolved before spawning)
		wantError string // in Event.Error and the system line
	}{
		{"missing executable", testDef("f", "nope-no-such-cmd"), true, `failed to start: exec: "nope-no-such-cmd": executable file not found in $PATH`},
		{"missing path", testDef("f", "./nope", "x"), true, `exec: "./nope": stat `},
		{"bad cwd", func() registry.ServerDef { d := testDef("f", "true"); d.Cwd = filepath.Join(dir, "no-dir"); return d }(), true, `cwd "` + filepath.Join(dir, "no-dir") + `": stat ` + filepath.Join(dir, "no-dir") + `: no such file or directory`},
		{"cwd is a file", func() registry.ServerDef { d := testDef("f", "true"); d.Cwd = plain; return d }(), true, `cwd "` + plain + `": not a directory`},
		{"not executable", testDef("f", plain), true, `exec: "` + plain + `": permission denied`},
		{"no command", testDef("f", " "), true, "failed to start: no command"},
		{"exec format error", testDef("f", garbage), false, "exec format error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sup, sink := newTestSupervisor(t, Options{})
			sup.Define(tc.def)
			err := sup.Start("f")
			if tc.syncErr != (err != nil) {
				t.Fatalf("Start = %v, want error %v", err, tc.syncErr)
			}
			if err != nil && !errors.Is(err, ErrStartFailed) {
				t.Fatalf("Start = %v, want ErrStartFailed", err)
			}
			ev := sink.waitStatus(t, "f", Crashed, 1)
			if !strings.Contains(ev.Error, tc.wantError) || ev.Previous != Starting || ev.PID != 0 {
				t.Fatalf("crashed event %+v, want Error containing %q", ev, tc.wantError)
			}
			st, _ := sup.State("f")
			if st.Status != Crashed || !strings.Contains(st.Error, tc.wantError) || st.LastExit == nil || st.LastExit.Error == "" {
				t.Fatalf("State = %+v", st)
			}
			sys := sink.systemOf("f")
			if len(sys) != 1 || sys[0].level != "error" || !strings.HasPrefix(sys[0].msg, "failed to start: ") || !strings.Contains(sys[0].msg, tc.wantError) {
				t.Fatalf("system lines %+v", sys)
			}
			if got := sink.statuses("f"); !slices.Equal(got, []Status{Starting, Crashed}) {
				t.Fatalf("statuses %v", got)
			}
		})
	}
}

func TestShutdownStopsEverything(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sink := newRecSink()
	sup := New(Options{Sink: sink, StopGrace: 500 * time.Millisecond})
	defer func() { _ = sup.Shutdown(context.Background()) }() // on failure: kill everything
	sup.Define(testDef("a", child, "-grandchild", "-lines", "-1", "-rate", "100"))
	sup.Define(testDef("b", child, "-grandchild", "-ignore-term", "-ready", "ready", "-sleep", "1h"))
	c := testDef("c", child, "-exit", "1")
	c.Restart = registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: 3, BackoffMs: 60_000}
	sup.Define(c)
	sup.Define(testDef("idle", child))
	for _, id := range []string{"a", "b", "c"} {
		if err := sup.Start(id); err != nil {
			t.Fatal(err)
		}
	}
	pids := map[string]int{}
	sink.waitFor(t, "all up", func() bool {
		for _, id := range []string{"a", "b"} {
			pids[id], pids[id+"-gc"] = sink.lastPID(id, Running), sink.grandchildPID(id)
			if pids[id] == 0 || pids[id+"-gc"] == 0 {
				return false
			}
		}
		return slices.ContainsFunc(sink.lines, func(l lineRec) bool { return l.id == "b" && l.line == "ready" }) &&
			slices.ContainsFunc(sink.events, func(e Event) bool { return e.ServerID == "c" && e.Status == Backoff })
	})
	for _, p := range pids {
		killOnCleanup(t, p)
	}
	start := time.Now()
	if err := sup.Shutdown(ctxT(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	took := time.Since(start)
	// b ignores SIGTERM: the whole shutdown takes about one grace period, not one per server.
	if took > 5*time.Second {
		t.Errorf("Shutdown took %s", took)
	}
	for _, id := range []string{"a", "b", "c", "idle"} {
		if st, _ := sup.State(id); st.Status != Stopped || st.PID != 0 {
			t.Errorf("%s after Shutdown: %+v", id, st)
		}
	}
	d := waitGone(t, "every child and grandchild", slices.Collect(maps.Values(pids))...)
	t.Logf("Shutdown took %s, trees gone %s later", took, d)
	if err := sup.Start("a"); !errors.Is(err, ErrShutdown) {
		t.Errorf("Start after Shutdown = %v, want ErrShutdown", err)
	}
	if err := sup.Restart(ctxT(t), "a"); !errors.Is(err, ErrShutdown) {
		t.Errorf("Restart after Shutdown = %v, want ErrShutdown", err)
	}
	goleak.VerifyNone(t)
}

func TestShutdownContextKillsAtOnce(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sup, sink := newTestSupervisor(t, Options{StopGrace: time.Minute})
	sup.Define(testDef("stubborn", child, "-ignore-term", "-ready", "ready", "-sleep", "1h"))
	if err := sup.Start("stubborn"); err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "ready", func() bool { return len(sink.lines) > 0 })
	pid, _ := sup.State("stubborn")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := sup.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Shutdown took %s with a 300ms context", took)
	}
	waitGone(t, "child", pid.PID)
	if st, _ := sup.State("stubborn"); st.Status != Stopped || st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
		t.Fatalf("state %+v", st)
	}
}

func TestUnknownServer(t *testing.T) {
	sup, _ := newTestSupervisor(t, Options{})
	if err := sup.Start("x"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Start = %v", err)
	}
	if err := sup.Stop(ctxT(t), "x"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Stop = %v", err)
	}
	if err := sup.Restart(ctxT(t), "x"); !errors.Is(err, ErrUnknownServer) {
		t.Errorf("Restart = %v", err)
	}
	if _, ok := sup.State("x"); ok {
		t.Error("State found x")
	}
}
