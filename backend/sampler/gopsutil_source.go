package sampler

// The gopsutil source: the sampler on systems without /proc. It builds everywhere so that its
// tests run on Linux too.

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

var bootCacheOnce sync.Once

func newPsSource() *psSource {
	bootCacheOnce.Do(func() { process.EnableBootTimeCache(true) })
	return &psSource{procs: make(map[int]*psProc)}
}

// psProc is one gopsutil process kept across rounds (gopsutil caches per-process data in it).
type psProc struct {
	p      *process.Process
	create int64 // ms since the epoch: the pid-reuse guard
}

// psSource samples through gopsutil.
type psSource struct {
	procs map[int]*psProc
	// per round: the parent → children map from one process.Processes() scan, made on the
	// first children call of a round and shared by every pid of the round.
	kids     map[int][]int
	haveKids bool
}

func (g *psSource) begin() { g.haveKids = false }

func (g *psSource) get(pid int) (*psProc, error) {
	if pid <= 0 || pid > 1<<31-1 {
		return nil, ErrNoProcess
	}
	if pp := g.procs[pid]; pp != nil {
		// Same pid, same start: the same process. Otherwise the pid was reused.
		if ct, err := pp.p.CreateTime(); err == nil && ct == pp.create {
			return pp, nil
		}
		delete(g.procs, pid)
	}
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		if errors.Is(err, process.ErrorProcessNotRunning) {
			return nil, ErrNoProcess
		}
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	ct, err := p.CreateTime()
	if err != nil {
		return nil, g.failed(pid, err)
	}
	pp := &psProc{p: p, create: ct}
	g.procs[pid] = pp
	return pp, nil
}

// failed maps an error of a process call: ErrNoProcess when the pid is gone.
func (g *psSource) failed(pid int, err error) error {
	if ok, e := process.PidExists(int32(pid)); e == nil && !ok {
		delete(g.procs, pid)
		return ErrNoProcess
	}
	return fmt.Errorf("process %d: %w", pid, err)
}

func (g *psSource) proc(pid int) (procInfo, error) {
	pp, err := g.get(pid)
	if err != nil {
		return procInfo{}, err
	}
	t, err := pp.p.Times()
	if err != nil {
		return procInfo{}, g.failed(pid, err)
	}
	info := procInfo{
		Start:   uint64(pp.create),
		CPUTime: time.Duration((t.User + t.System) * float64(time.Second)),
		Age:     max(time.Since(time.UnixMilli(pp.create)), 0),
	}
	if m, err := pp.p.MemoryInfo(); err == nil {
		info.RSS = m.RSS
	} else {
		return procInfo{}, g.failed(pid, err)
	}
	if ppid, err := pp.p.Ppid(); err == nil {
		info.PPID = int(ppid)
	}
	// Zombies: gopsutil's Status runs ps(1) on macOS, far too costly per sample, and Windows
	// has none; elsewhere it is a cheap read.
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" {
		if st, err := pp.p.Status(); err == nil && len(st) > 0 && st[0] == process.Zombie {
			info.Zombie = true
		}
	}
	return info, nil
}

func (g *psSource) children(pid int, _ procInfo, dst []int) ([]int, error) {
	if !g.haveKids {
		procs, err := process.Processes()
		if err != nil {
			return dst, fmt.Errorf("list processes: %w", err)
		}
		g.kids = make(map[int][]int, len(procs)/4)
		for _, p := range procs {
			if ppid, err := p.Ppid(); err == nil && ppid != p.Pid {
				g.kids[int(ppid)] = append(g.kids[int(ppid)], int(p.Pid))
			}
		}
		g.haveKids = true
	}
	return append(dst, g.kids[pid]...), nil
}

// extras reads threads and fds for the root only: NumThreads takes a snapshot of every
// process on Windows.
func (g *psSource) extras(pid int, _ procInfo) (threads, fds int, fdsOK bool) {
	pp := g.procs[pid]
	if pp == nil {
		return 0, 0, false
	}
	if n, err := pp.p.NumThreads(); err == nil {
		threads = int(n)
	}
	if n, err := pp.p.NumFDs(); err == nil {
		fds, fdsOK = int(n), true
	}
	return threads, fds, fdsOK
}

func (g *psSource) system() (sysReading, error) {
	var out sysReading
	ts, err := cpu.Times(false)
	if err != nil {
		return out, fmt.Errorf("cpu times: %w", err)
	}
	if len(ts) == 0 {
		return out, errors.New("cpu times: empty")
	}
	t := ts[0]
	// Guest time is part of user time where it exists, so it is left out of the total.
	total := t.User + t.Nice + t.System + t.Idle + t.Iowait + t.Irq + t.Softirq + t.Steal
	out.Total = time.Duration(total * float64(time.Second))
	out.Busy = time.Duration((total - t.Idle - t.Iowait) * float64(time.Second))
	if out.CPUs, err = cpu.Counts(true); err != nil || out.CPUs <= 0 {
		out.CPUs = runtime.NumCPU()
	}
	vm, err := mem.VirtualMemory()
	if err != nil {
		return out, fmt.Errorf("virtual memory: %w", err)
	}
	avail := min(vm.Available, vm.Total)
	out.Memory = Memory{Total: vm.Total, Used: vm.Total - avail, Available: avail}
	if runtime.GOOS != "windows" { // gopsutil emulates load on Windows with a goroutine that never ends
		l, err := load.Avg()
		if err != nil {
			return out, fmt.Errorf("load average: %w", err)
		}
		out.Load = [3]float64{l.Load1, l.Load5, l.Load15}
	}
	return out, nil
}

func (g *psSource) forget(pid int) { delete(g.procs, pid) }
