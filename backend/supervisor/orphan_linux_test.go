//go:build linux

package supervisor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
)

// ppid reads the parent pid of pid from /proc.
func ppid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMonitorKilledLeavesNoOrphans runs this test binary as a monitor (runMonitor) that starts
// testchild -grandchild, SIGKILLs the monitor and waits for the shim, the child and the
// grandchild to be gone.
func TestMonitorKilledLeavesNoOrphans(t *testing.T) {
	child := testutil.BuildTestChild(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mon := exec.Command(exe)
	mon.Env = append(os.Environ(), envHelper+"=monitor", envTestChild+"="+child)
	var stderr bytes.Buffer
	mon.Stderr = &stderr
	out, err := mon.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = mon.Process.Kill()
			_ = mon.Wait()
		}
	})

	type result struct {
		line string
		err  error
	}
	lines := make(chan result, 1)
	go func() { // ends when the monitor's stdout closes (it is killed at the latest in cleanup)
		l, err := bufio.NewReader(out).ReadString('\n')
		lines <- result{l, err}
	}()
	var r result
	select {
	case r = <-lines:
	case <-time.After(waitTimeout):
		_ = mon.Process.Kill()
		r = <-lines
		t.Fatalf("no pids from the monitor in %s; stderr:\n%s", waitTimeout, stderr.String())
	}
	var pid, gc int
	if _, err := fmt.Sscanf(r.line, "pids %d %d", &pid, &gc); err != nil {
		t.Fatalf("monitor said %q (%v); stderr:\n%s", r.line, r.err, stderr.String())
	}
	killOnCleanup(t, pid)
	killOnCleanup(t, gc)
	shim := ppid(t, pid)
	killOnCleanup(t, shim)
	if shim == mon.Process.Pid || ppid(t, shim) != mon.Process.Pid {
		t.Fatalf("process tree: monitor %d, shim %d (parent %d), child %d", mon.Process.Pid, shim, ppid(t, shim), pid)
	}
	for _, p := range []int{shim, pid, gc} {
		if !testutil.ProcessAlive(p) {
			t.Fatalf("pid %d not alive before the monitor is killed", p)
		}
	}

	if err := mon.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = mon.Wait()
	waited = true
	d := waitGone(t, "shim, child and grandchild after SIGKILL of the monitor", shim, pid, gc)
	t.Logf("monitor %d killed; shim %d, child %d, grandchild %d gone after %s", mon.Process.Pid, shim, pid, gc, d)
}

// A Stop that comes while the server is still starting (the pid not known yet) stops it once
// the pid is known: nothing is left behind.
func TestStopWhileStarting(t *testing.T) {
	child := testutil.BuildTestChild(t)
	sup, sink := newTestSupervisor(t, Options{})
	sup.Define(testDef("quick", child, "-grandchild", "-sleep", "1h"))
	for i := range 5 {
		if err := sup.Start("quick"); err != nil {
			t.Fatal(err)
		}
		if err := sup.Stop(ctxT(t), "quick"); err != nil {
			t.Fatal(err)
		}
		st, _ := sup.State("quick")
		if st.Status != Stopped {
			t.Fatalf("round %d: %+v", i, st)
		}
	}
	var pids []int
	sink.mu.Lock()
	for _, s := range sink.system {
		var p int
		if _, err := fmt.Sscanf(s.msg, "started (pid %d)", &p); err == nil {
			pids = append(pids, p)
		}
	}
	for _, l := range sink.lines {
		var p int
		if _, err := fmt.Sscanf(l.line, "grandchild pid %d", &p); err == nil {
			pids = append(pids, p)
		}
	}
	sink.mu.Unlock()
	for _, p := range pids {
		killOnCleanup(t, p)
	}
	waitGone(t, "children and grandchildren", pids...)
	for _, e := range sink.eventsOf("quick") {
		if e.Status == Running && e.Previous != Starting {
			t.Errorf("unexpected %+v", e)
		}
	}
	t.Logf("%d processes seen, all gone; statuses %v", len(pids), sink.statuses("quick"))
}
