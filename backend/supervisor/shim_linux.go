package supervisor

import (
	"syscall"
	"time"
)

// parentPollInterval backs up Pdeathsig on Linux (which fires when the monitor's spawning
// thread ends, and could be missed): the shim also checks getppid now and then.
const parentPollInterval = time.Second

// shimAttr: the shim gets SIGTERM when the monitor dies (it must survive to kill the group).
func shimAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// commandAttr: the command leads a new process group, and dies with the shim.
func commandAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
