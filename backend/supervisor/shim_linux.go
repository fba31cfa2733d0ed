package supervisor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// shimAttr: the shim gets SIGTERM when the monitor dies (it must survive to kill the group). The
// status socket pair backs this up: Pdeathsig fires when the monitor's spawning thread ends, which is
// not always the monitor's end.
func shimAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// commandAttr: the command leads a new process group, and dies with the shim.
func commandAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// adoptOrphans makes the shim the child subreaper of the command's tree: a descendant whose
// parent dies (a daemon that forked, called setsid and left the command's process group) is
// re-parented to the shim instead of init, so the shim can still find and stop it.
func adoptOrphans() {
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}

// adopted lists the shim's children other than the command: the orphans it adopted.
func adopted(command int) []int {
	self := os.Getpid()
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", self))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, field := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(field); err == nil && pid != command && !slices.Contains(out, pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

// reapAdopted collects adopted orphans that have exited (never the command: exec.Cmd waits for
// it), so that they do not stay zombies while the command runs.
func reapAdopted(command int) {
	for _, pid := range adopted(command) {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

// killAdopted SIGKILLs every adopted orphan, with its process group (a daemon leads one of its
// own), and reaps them, until none is left: killing one re-parents its own children to the shim.
// Bounded, so that a fork bomb cannot keep the shim from reporting.
func killAdopted(command int) {
	for range 200 {
		pids := adopted(command)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range pids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}
