package sampler

import "time"

// procInfo is one reading of one process, whatever the OS.
type procInfo struct {
	PPID    int
	Start   uint64        // start time as an opaque key (pid-reuse guard); comparable between readings
	CPUTime time.Duration // user + kernel CPU time used so far
	Age     time.Duration // time since the process started
	RSS     uint64        // bytes
	Threads int           // may be 0 where costly to read (gopsutil); extras has the root's
	Zombie  bool
}

// sysReading is one reading of the whole machine.
type sysReading struct {
	Busy, Total time.Duration // CPU time of all CPUs since boot: busy and all
	CPUs        int
	Memory      Memory
	Load        [3]float64
}

// source is the OS edge of the sampler. It is used under the sampler's lock only.
type source interface {
	// begin starts a sampling round: whatever is shared by all the pids of a round is read at
	// most once per round.
	begin()
	// proc reads one process; ErrNoProcess when it is gone.
	proc(pid int) (procInfo, error)
	// children appends the direct children of pid, just read as info, to dst.
	children(pid int, info procInfo, dst []int) ([]int, error)
	// extras reads what only the root of a tree reports: its threads and open file
	// descriptors (fdsOK false when unknown or not permitted). info is pid just read.
	extras(pid int, info procInfo) (threads, fds int, fdsOK bool)
	// system reads the machine.
	system() (sysReading, error)
	// forget drops whatever the source keeps about pid.
	forget(pid int)
}
