package supervisor

import "syscall"

// shimAttr: macOS has no Pdeathsig; the shim sees the monitor die through its status socket pair (fd 3).
func shimAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// commandAttr: the command leads a new process group.
func commandAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// adoptOrphans, reapAdopted, killAdopted: macOS has no child subreaper; a process that left the
// command's group is not found.
func adoptOrphans()   {}
func reapAdopted(int) {}
func killAdopted(int) {}
