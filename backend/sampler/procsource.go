package sampler

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
	"time"
)

// procfsSource reads processes and the machine from a proc file system rooted at root: /proc on
// Linux, a fixture tree in tests. Every buffer is reused, so a warm round allocates nothing.
type procfsSource struct {
	root     string
	r        *fileReader
	path     []byte
	pageSize uint64
	st       ProcStat

	// tidCache keeps the thread ids of each process between rounds: listing task/ costs as
	// much as reading a file, and threads rarely change. The list is used while the process
	// (same start time) has as many threads as the list holds and every listed thread still
	// has its children file; otherwise task/ is listed again.
	tidCache map[int]*tidList

	// per round
	uptime    time.Duration // CLOCK_BOOTTIME, read once per round when needed
	uptimeErr error
	haveUp    bool

	// noChildrenFiles is set when the kernel lacks CONFIG_PROC_CHILDREN; children then come
	// from one scan of every /proc/<pid>/stat per round (parents).
	noChildrenFiles bool
	parents         map[int][]int
	haveParents     bool
}

func newProcfsSource(root string) *procfsSource {
	if root == "" {
		root = "/proc"
	}
	for len(root) > 1 && root[len(root)-1] == '/' {
		root = root[:len(root)-1]
	}
	return &procfsSource{
		root:     root,
		r:        newFileReader(root),
		tidCache: make(map[int]*tidList),
		path:     make([]byte, 0, 128),
		pageSize: uint64(os.Getpagesize()),
	}
}

// pathOf builds root/<pid>/<elems...> as a NUL-terminated path in the reused buffer; pid < 0
// leaves it out. tid > 0 inserts task/<tid>/ before the last element.
func (p *procfsSource) pathOf(pid, tid int, elem string) []byte {
	b := append(p.path[:0], p.root...)
	if pid >= 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(pid), 10)
	}
	if tid > 0 {
		b = append(b, "/task/"...)
		b = strconv.AppendInt(b, int64(tid), 10)
	}
	if elem != "" {
		b = append(b, '/')
		b = append(b, elem...)
	}
	b = append(b, 0)
	p.path = b
	return b
}

// gone reports whether err means that the process no longer exists.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

func (p *procfsSource) begin() {
	p.haveUp = false
	p.haveParents = false
}

func (p *procfsSource) bootClock() (time.Duration, error) {
	if !p.haveUp {
		p.haveUp = true
		b, err := p.r.readCached(-1, fileKey{elem: "uptime"}, p.pathOf(-1, 0, "uptime"))
		if err == nil {
			p.uptime, err = parseUptime(b)
		}
		p.uptimeErr = err
	}
	return p.uptime, p.uptimeErr
}

// readStat reads /proc/<pid>/stat into p.st; keep: through a kept descriptor (a process the
// sampler follows, not one of a scan of all).
func (p *procfsSource) readStat(pid int, keep bool) error {
	var b []byte
	var err error
	if keep {
		b, err = p.r.readCached(pid, fileKey{elem: "stat"}, p.pathOf(pid, 0, "stat"))
	} else {
		b, err = p.r.readFile(p.pathOf(pid, 0, "stat"))
	}
	if err != nil {
		if gone(err) {
			return ErrNoProcess
		}
		return fmt.Errorf("read stat: %w", err)
	}
	if err := parseProcStat(b, &p.st); err != nil {
		return err
	}
	if p.st.PID != pid {
		return fmt.Errorf("stat of %d names pid %d: %w", pid, p.st.PID, ErrBadFormat)
	}
	return nil
}

func (p *procfsSource) proc(pid int) (procInfo, error) {
	if pid <= 0 {
		return procInfo{}, ErrNoProcess
	}
	if err := p.readStat(pid, true); err != nil {
		return procInfo{}, err
	}
	up, err := p.bootClock()
	if err != nil {
		return procInfo{}, err
	}
	st := &p.st
	return procInfo{
		PPID:    st.PPID,
		Start:   st.StartTime,
		CPUTime: st.CPUTime(),
		Age:     max(up-st.Started(), 0),
		RSS:     st.RSSBytes(int(p.pageSize)),
		Threads: st.NumThreads,
		Zombie:  st.Zombie(),
	}, nil
}

// tidList is the thread ids of one process, as last listed.
type tidList struct {
	start uint64
	tids  []int
}

func (p *procfsSource) children(pid int, info procInfo, dst []int) ([]int, error) {
	if p.noChildrenFiles {
		return p.childrenByScan(pid, dst)
	}
	base := len(dst)
	if c := p.tidCache[pid]; c != nil && c.start == info.Start && len(c.tids) == info.Threads {
		out, complete, err := p.childrenOf(pid, c.tids, dst)
		if err != nil || complete {
			return out, err
		}
		dst = out[:base] // a thread ended: list them again
	}
	c := p.tidCache[pid]
	if c == nil {
		c = &tidList{}
		p.tidCache[pid] = c
	}
	tids, _, err := p.r.dirInts(p.pathOf(pid, 0, "task"), c.tids[:0])
	c.start, c.tids = info.Start, tids
	if err != nil {
		delete(p.tidCache, pid)
		if gone(err) {
			return dst, ErrNoProcess
		}
		return dst, fmt.Errorf("list tasks: %w", err)
	}
	dst, _, err = p.childrenOf(pid, tids, dst)
	return dst, err
}

// childrenOf appends the children of the threads tids of pid to dst; complete is false when a
// thread had ended.
func (p *procfsSource) childrenOf(pid int, tids []int, dst []int) (out []int, complete bool, err error) {
	complete = true
	for _, tid := range tids {
		b, err := p.r.readCached(pid, fileKey{tid: tid, elem: "children"}, p.pathOf(pid, tid, "children"))
		if err != nil {
			if !gone(err) {
				return dst, false, fmt.Errorf("read children of %d/%d: %w", pid, tid, err)
			}
			if tid == pid && p.taskExists(pid) {
				// The leader's task is there but has no children file: the kernel was built
				// without CONFIG_PROC_CHILDREN.
				p.noChildrenFiles = true
				dst, err = p.childrenByScan(pid, dst)
				return dst, true, err
			}
			complete = false // the thread ended meanwhile
			continue
		}
		if dst, err = appendChildren(dst, b); err != nil {
			return dst, false, fmt.Errorf("children of %d/%d: %w", pid, tid, err)
		}
	}
	return dst, complete, nil
}

func (p *procfsSource) taskExists(pid int) bool {
	_, err := p.r.readFile(p.pathOf(pid, pid, "stat"))
	return err == nil
}

// childrenByScan is the fallback without children files: one scan of all processes per round.
func (p *procfsSource) childrenByScan(pid int, dst []int) ([]int, error) {
	if !p.haveParents {
		pids, _, err := p.r.dirInts(p.pathOf(-1, 0, ""), nil)
		if err != nil {
			return dst, fmt.Errorf("scan %s: %w", p.root, err)
		}
		if p.parents == nil {
			p.parents = make(map[int][]int)
		}
		for k, v := range p.parents {
			p.parents[k] = v[:0]
		}
		for _, c := range pids {
			if p.readStat(c, false) != nil {
				continue // gone meanwhile, or unreadable
			}
			p.parents[p.st.PPID] = append(p.parents[p.st.PPID], c)
		}
		for k, v := range p.parents {
			if len(v) == 0 {
				delete(p.parents, k)
			}
		}
		p.haveParents = true
	}
	return append(dst, p.parents[pid]...), nil
}

func (p *procfsSource) extras(pid int, info procInfo) (threads, fds int, fdsOK bool) {
	n, err := p.r.countCached(pid, fileKey{elem: "fd"}, p.pathOf(pid, 0, "fd"))
	if err != nil {
		return info.Threads, 0, false // EACCES for another user's process, or gone
	}
	return info.Threads, n, true
}

func (p *procfsSource) system() (sysReading, error) {
	var out sysReading
	b, err := p.r.readCached(-1, fileKey{elem: "stat"}, p.pathOf(-1, 0, "stat"))
	if err != nil {
		return out, fmt.Errorf("read stat: %w", err)
	}
	var st SystemStat
	if err := parseSystemStat(b, &st); err != nil {
		return out, err
	}
	out.Busy = time.Duration(st.CPU.Busy()) * tick
	out.Total = time.Duration(st.CPU.Total()) * tick
	out.CPUs = st.CPUs

	if b, err = p.r.readCached(-1, fileKey{elem: "meminfo"}, p.pathOf(-1, 0, "meminfo")); err != nil {
		return out, fmt.Errorf("read meminfo: %w", err)
	}
	var mi MemInfo
	if err := parseMeminfo(b, &mi); err != nil {
		return out, err
	}
	out.Memory = mi.Memory()

	if b, err = p.r.readCached(-1, fileKey{elem: "loadavg"}, p.pathOf(-1, 0, "loadavg")); err != nil {
		return out, fmt.Errorf("read loadavg: %w", err)
	}
	if out.Load, err = parseLoadavg(b); err != nil {
		return out, err
	}
	return out, nil
}

func (p *procfsSource) forget(pid int) {
	delete(p.tidCache, pid)
	p.r.forget(pid)
}
