//go:build linux

package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// countStatus is how many events of id have status st.
func countStatus(sink *recSink, id string, st Status) int {
	n := 0
	for _, s := range sink.statuses(id) {
		if s == st {
			n++
		}
	}
	return n
}

// advanceToRestart checks that exactly one restart of delay is pending, that it does not fire a
// millisecond early, and that it starts the server when due.
func advanceToRestart(t *testing.T, clk *fakeClock, sink *recSink, id string, delay time.Duration) {
	t.Helper()
	if p := clk.Pending(); !slices.Equal(p, []time.Duration{delay}) {
		t.Fatalf("pending timers %v, want [%s]\n%s", p, delay, sink.dump())
	}
	starts := countStatus(sink, id, Starting)
	clk.Advance(delay - time.Millisecond)
	if n := countStatus(sink, id, Starting); n != starts {
		t.Fatalf("restarted %s early", time.Millisecond)
	}
	clk.Advance(time.Millisecond) // the callback runs (and spawns) inside Advance
	if n := countStatus(sink, id, Starting); n != starts+1 {
		t.Fatalf("not restarted when due: %d starts, want %d\n%s", n, starts+1, sink.dump())
	}
}

func TestBackoffSequenceAndGiveUp(t *testing.T) {
	child := testutil.BuildTestChild(t)
	tests := []struct {
		backoffMs, maxRetries int
		delays                []time.Duration
	}{
		{1000, 5, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}},
		{20_000, 4, []time.Duration{20 * time.Second, 40 * time.Second, 60 * time.Second, 60 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%dms×%d", tc.backoffMs, tc.maxRetries), func(t *testing.T) {
			clk := newFakeClock()
			sup, sink := newTestSupervisor(t, Options{Clock: clk})
			d := testDef("flaky", child, "-exit", "1")
			d.Restart = registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: tc.maxRetries, BackoffMs: tc.backoffMs}
			sup.Define(d)
			if err := sup.Start("flaky"); err != nil {
				t.Fatal(err)
			}
			for i, delay := range tc.delays {
				n := i + 1
				ev := sink.waitStatus(t, "flaky", Backoff, n)
				if ev.RestartCount != n || ev.Previous != Crashed {
					t.Fatalf("backoff event %+v, want restart count %d after crashed", ev, n)
				}
				want := fmt.Sprintf("restart %d/%d in %d ms", n, tc.maxRetries, delay.Milliseconds())
				sink.waitFor(t, want, func() bool { return sink.hasSystem("flaky", want) })
				advanceToRestart(t, clk, sink, "flaky", delay)
			}
			gaveUp := fmt.Sprintf("gave up after %d restarts", tc.maxRetries)
			ev := sink.waitStatus(t, "flaky", Crashed, tc.maxRetries+1)
			if ev.Error != "exited with code 1; "+gaveUp || ev.ExitCode == nil || *ev.ExitCode != 1 {
				t.Fatalf("last crash %+v", ev)
			}
			// The status event comes before its system line: wait for the line.
			sink.waitFor(t, gaveUp, func() bool { return sink.hasSystem("flaky", gaveUp) })
			sys := sink.systemOf("flaky")
			if last := sys[len(sys)-1]; last.msg != gaveUp || last.level != "error" {
				t.Fatalf("last system line %+v, want [error] %s", last, gaveUp)
			}
			if p := clk.Pending(); len(p) != 0 {
				t.Fatalf("timers pending after giving up: %v", p)
			}
			st, _ := sup.State("flaky")
			if st.Status != Crashed || st.RestartCount != tc.maxRetries || st.Restarts != tc.maxRetries || !strings.Contains(st.Error, gaveUp) {
				t.Fatalf("state %+v", st)
			}
			for _, s := range sys {
				if s.msg == "exited with code 1" && s.level != "warn" {
					t.Errorf("exit line level %s, want warn", s.level)
				}
			}
			// A manual start after giving up begins a new series.
			if err := sup.Start("flaky"); err != nil {
				t.Fatal(err)
			}
			if ev := sink.waitStatus(t, "flaky", Backoff, len(tc.delays)+1); ev.RestartCount != 1 {
				t.Fatalf("after manual start: %+v", ev)
			}
		})
	}
}

func TestRetryCounterResetsAfterStableRun(t *testing.T) {
	child := testutil.BuildTestChild(t)
	clk := newFakeClock()
	sup, sink := newTestSupervisor(t, Options{Clock: clk, StableAfter: 30 * time.Second})
	pol := registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: 3, BackoffMs: 1000}
	d := testDef("s", child, "-exit", "1")
	d.Restart = pol
	sup.Define(d)
	if err := sup.Start("s"); err != nil {
		t.Fatal(err)
	}
	sink.waitStatus(t, "s", Backoff, 1)
	advanceToRestart(t, clk, sink, "s", time.Second)
	sink.waitStatus(t, "s", Backoff, 2)

	// The next run exits (code 1) only when told, after the fake clock has moved 30 s.
	flag := filepath.Join(t.TempDir(), "exit-now")
	long := helperDef(t, "s", "waitfile", map[string]string{envHelperFile: flag, envHelperExit: "1"})
	long.Restart = pol
	sup.Define(long)
	advanceToRestart(t, clk, sink, "s", 2*time.Second)
	sink.waitStatus(t, "s", Running, 3)
	clk.Advance(29 * time.Second)
	if st, _ := sup.State("s"); st.RestartCount != 2 {
		t.Fatalf("restart count while running = %d, want 2", st.RestartCount)
	}
	clk.Advance(time.Second)
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	crash := sink.waitStatus(t, "s", Crashed, 3)
	if crash.RestartCount != 0 {
		t.Fatalf("crash after a stable run: restart count %d, want 0", crash.RestartCount)
	}
	ev := sink.waitStatus(t, "s", Backoff, 3)
	if ev.RestartCount != 1 || !sink.wait(0, func() bool { return sink.hasSystem("s", "restart 1/3 in 1000 ms") }) {
		t.Fatalf("after a stable run: %+v\n%s", ev, sink.dump())
	}
	if p := clk.Pending(); !slices.Equal(p, []time.Duration{time.Second}) {
		t.Fatalf("pending %v, want [1s]", p)
	}
	if st, _ := sup.State("s"); st.Restarts != 3 {
		t.Fatalf("Restarts = %d, want 3 (all restarts are counted)", st.Restarts)
	}
}

func TestRestartPolicies(t *testing.T) {
	child := testutil.BuildTestChild(t)
	tests := []struct {
		policy  string
		exit    int
		want    []Status
		restart bool
	}{
		{registry.PolicyNever, 0, []Status{Starting, Running, Stopped}, false},
		{registry.PolicyNever, 1, []Status{Starting, Running, Crashed}, false},
		{registry.PolicyOnFailure, 0, []Status{Starting, Running, Stopped}, false},
		{registry.PolicyOnFailure, 1, []Status{Starting, Running, Crashed, Backoff}, true},
		{registry.PolicyAlways, 0, []Status{Starting, Running, Stopped, Backoff}, true},
		{registry.PolicyAlways, 3, []Status{Starting, Running, Crashed, Backoff}, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/exit%d", tc.policy, tc.exit), func(t *testing.T) {
			clk := newFakeClock()
			sup, sink := newTestSupervisor(t, Options{Clock: clk})
			d := testDef("p", child, "-exit", fmt.Sprint(tc.exit))
			d.Restart = registry.RestartPolicy{Policy: tc.policy, MaxRetries: 5, BackoffMs: 1000}
			sup.Define(d)
			if err := sup.Start("p"); err != nil {
				t.Fatal(err)
			}
			sink.waitFor(t, fmt.Sprint(tc.want), func() bool {
				return len(sink.events) >= len(tc.want)
			})
			if got := sink.statuses("p"); !slices.Equal(got, tc.want) {
				t.Fatalf("statuses %v, want %v", got, tc.want)
			}
			exit := sink.eventsOf("p")[2]
			if exit.ExitCode == nil || *exit.ExitCode != tc.exit || exit.PID <= 0 {
				t.Fatalf("exit event %+v", exit)
			}
			wantLevel := "info"
			if tc.exit != 0 {
				wantLevel = "warn"
			}
			msg := fmt.Sprintf("exited with code %d", tc.exit)
			if !slices.ContainsFunc(sink.systemOf("p"), func(s sysRec) bool { return s.msg == msg && s.level == wantLevel }) {
				t.Fatalf("no [%s] %s\n%s", wantLevel, msg, sink.dump())
			}
			if pending := len(clk.Pending()) == 1; pending != tc.restart {
				t.Fatalf("restart pending = %v, want %v", pending, tc.restart)
			}
			if tc.restart {
				// Stop in backoff: stopped, timer cancelled.
				if err := sup.Stop(ctxT(t), "p"); err != nil {
					t.Fatal(err)
				}
				if st, _ := sup.State("p"); st.Status != Stopped || len(clk.Pending()) != 0 {
					t.Fatalf("after Stop in backoff: %+v, pending %v", st, clk.Pending())
				}
			}
		})
	}
}

// A start from backoff cancels the pending restart and resets the counter.
func TestStartFromBackoff(t *testing.T) {
	child := testutil.BuildTestChild(t)
	clk := newFakeClock()
	sup, sink := newTestSupervisor(t, Options{Clock: clk})
	d := testDef("b", child, "-exit", "1")
	d.Restart = registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: 5, BackoffMs: 1000}
	sup.Define(d)
	if err := sup.Start("b"); err != nil {
		t.Fatal(err)
	}
	sink.waitStatus(t, "b", Backoff, 1)
	advanceToRestart(t, clk, sink, "b", time.Second)
	sink.waitStatus(t, "b", Backoff, 2)
	if err := sup.Start("b"); err != nil {
		t.Fatal(err)
	}
	if ev := sink.waitStatus(t, "b", Starting, 3); ev.Previous != Backoff || ev.RestartCount != 0 {
		t.Fatalf("start from backoff: %+v", ev)
	}
	if ev := sink.waitStatus(t, "b", Backoff, 3); ev.RestartCount != 1 {
		t.Fatalf("next backoff %+v", ev)
	}
	if p := clk.Pending(); !slices.Equal(p, []time.Duration{time.Second}) {
		t.Fatalf("pending %v: the cancelled timer must not count", p)
	}
}
