//go:build linux || darwin

package supervisor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
)

// The shim leaves, taking the command with it, as soon as the monitor's end of the status socket
// pair closes, even though its parent (this test) is alive and no Pdeathsig is armed: that is how
// it learns of a monitor death that Pdeathsig missed, without polling.
func TestShimLeavesWhenStatusCloses(t *testing.T) {
	child := testutil.BuildTestChild(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := json.Marshal(shimSpec{Path: child, Args: []string{child, "-sleep", "1h"}, Parent: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	sr, sw, err := statusPair()
	if err != nil {
		t.Fatal(err)
	}
	shim := exec.Command(exe)
	shim.Env = append(os.Environ(), envShim+"=1", envShimSpec+"="+string(spec))
	shim.ExtraFiles = []*os.File{sw}
	if err := shim.Start(); err != nil {
		t.Fatal(err)
	}
	sw.Close()
	exited := make(chan error, 1)
	go func() { exited <- shim.Wait() }()
	t.Cleanup(func() {
		sr.Close()
		_ = shim.Process.Kill()
		<-exited
	})

	line, err := bufio.NewReader(sr).ReadString('\n')
	var pid int
	if _, serr := fmt.Sscanf(line, "pid %d", &pid); serr != nil {
		t.Fatalf("shim reported %q (%v)", line, err)
	}
	killOnCleanup(t, pid)
	if !testutil.ProcessAlive(pid) {
		t.Fatalf("command %d not running", pid)
	}

	sr.Close() // the monitor "dies"
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("shim exit: %v, want code 1 (monitor gone)", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("shim still running %s after the monitor's end closed", waitTimeout)
	}
	waitGone(t, "command after the monitor's end closed", pid)
}
