package sampler

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

var (
	// ErrNoProcess is returned for a pid that does not exist (or is a zombie).
	ErrNoProcess = errors.New("sampler: no such process")
	// ErrBadFormat is wrapped by every parser error: a kernel file did not read as expected.
	ErrBadFormat = errors.New("sampler: malformed proc file")
)

const (
	// DefaultHistorySize keeps one hour of samples at the base rate of one every 2 s.
	DefaultHistorySize = 1800
	// DefaultStaleAfter is how long the CPU baseline of a pid that is not sampled is kept.
	DefaultStaleAfter = 5 * time.Minute
	// youngProcess: a process seen for the first time that started less than this ago has its
	// first CPU figure computed against its start; an older one reports 0 and gets a baseline.
	youngProcess = 5 * time.Second
	// minInterval: two samples of one pid closer than this would divide a few clock ticks by a
	// tiny interval; the earlier figure is returned and the baseline kept.
	minInterval = 200 * time.Millisecond
)

// Options configure a Sampler. The zero value is usable.
type Options struct {
	// ProcRoot is the proc file system to read, default "/proc". On Linux it is always used; on
	// other systems gopsutil is used unless ProcRoot is set (tests run against a fixture tree).
	ProcRoot string
	// Now is the clock, default time.Now.
	Now func() time.Time
	// HistorySize is how many samples are kept per server, default DefaultHistorySize.
	HistorySize int
	// StaleAfter is how long the state of a pid that is not sampled is kept, default
	// DefaultStaleAfter.
	StaleAfter time.Duration
}

// procState is the CPU baseline of one pid.
type procState struct {
	start uint64        // start time key: a different value means the pid was reused
	cpu   time.Duration // CPU time at the baseline
	at    time.Time     // when the baseline was taken
	last  float64       // the last figure reported
	seen  time.Time     // when the pid was last read
}

// roundEntry caches one pid within a sampling round, so that a pid seen in two trees is read and
// its baseline moved once.
type roundEntry struct {
	info procInfo
	cpu  float64
	err  error
	tree uint64 // the last tree walk that counted this pid
}

type stackItem struct{ pid, parent int }

// Sampler samples processes and the machine and keeps a history per server. It is safe for
// concurrent use.
type Sampler struct {
	now         func() time.Time
	historySize int
	staleAfter  time.Duration

	mu        sync.Mutex // guards the fields below
	src       source
	states    map[int]procState
	round     map[int]roundEntry
	treeID    uint64
	stack     []stackItem
	kids      []int
	lastSweep time.Time

	sysMu      sync.Mutex
	sysSrc     source // separate from src so System does not wait for process sampling
	sysPrev    sysReading
	sysHave    bool
	sysPrevAt  time.Time // when sysPrev was read
	sysLastCPU float64   // the figure measured at sysPrevAt

	histMu sync.RWMutex
	hist   map[string]*ring
}

// New returns a Sampler.
func New(opts Options) *Sampler {
	return newSampler(opts, newSource(opts), newSource(opts))
}

// newSampler is New with the OS edge given: src for processes, sysSrc for the machine.
func newSampler(opts Options, src, sysSrc source) *Sampler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HistorySize <= 0 {
		opts.HistorySize = DefaultHistorySize
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	return &Sampler{
		now:         opts.Now,
		historySize: opts.HistorySize,
		staleAfter:  opts.StaleAfter,
		src:         src,
		sysSrc:      sysSrc,
		states:      make(map[int]procState),
		round:       make(map[int]roundEntry),
		hist:        make(map[string]*ring),
	}
}

// Sample measures pid and its descendants. An unknown or exited pid gives ErrNoProcess.
func (s *Sampler) Sample(pid int) (ProcSample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.beginRound()
	ps, err := s.sampleLocked(pid, now)
	s.sweep(now)
	return ps, err
}

// SampleMany measures several pids in one round (whatever they share is read once); errs[i] is
// the error of pids[i].
func (s *Sampler) SampleMany(pids []int) ([]ProcSample, []error) {
	out := make([]ProcSample, len(pids))
	errs := make([]error, len(pids))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.beginRound()
	for i, pid := range pids {
		out[i], errs[i] = s.sampleLocked(pid, now)
	}
	s.sweep(now)
	return out, errs
}

// Prime records a CPU baseline for pid and its descendants now (call it when a child starts) so
// that the first Sample measures a real interval. A pid that is gone is ignored: the next Sample
// reports ErrNoProcess.
func (s *Sampler) Prime(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.beginRound()
	s.kids = append(s.kids[:0], pid)
	for len(s.kids) > 0 {
		p := s.kids[len(s.kids)-1]
		s.kids = s.kids[:len(s.kids)-1]
		if _, ok := s.round[p]; ok {
			continue
		}
		info, err := s.src.proc(p)
		s.round[p] = roundEntry{info: info, err: err}
		if err != nil || info.Zombie {
			s.src.forget(p) // no state to sweep later: keep no descriptor either
			continue
		}
		s.states[p] = procState{start: info.Start, cpu: info.CPUTime, at: now, seen: now}
		s.kids, _ = s.src.children(p, info, s.kids)
	}
}

func (s *Sampler) beginRound() time.Time {
	s.src.begin()
	clear(s.round)
	return s.now()
}

// procLocked reads pid once per round and computes its CPU figure against its own baseline.
func (s *Sampler) procLocked(pid int, now time.Time) roundEntry {
	if e, ok := s.round[pid]; ok {
		return e
	}
	info, err := s.src.proc(pid)
	e := roundEntry{info: info, err: err}
	switch {
	case err != nil:
		if errors.Is(err, ErrNoProcess) {
			s.drop(pid)
		}
	case info.Zombie:
		e.err = ErrNoProcess
		s.drop(pid)
	default:
		e.cpu = s.cpuLocked(pid, info, now)
	}
	s.round[pid] = e
	return e
}

func (s *Sampler) drop(pid int) {
	delete(s.states, pid)
	s.src.forget(pid)
}

// cpuLocked returns the CPU % of one core that pid used since its previous reading and moves its
// baseline.
func (s *Sampler) cpuLocked(pid int, info procInfo, now time.Time) float64 {
	prev, ok := s.states[pid]
	if !ok || prev.start != info.Start {
		if info.Age >= youngProcess {
			// Too old to average over its whole life: start measuring now.
			s.states[pid] = procState{start: info.Start, cpu: info.CPUTime, at: now, seen: now}
			return 0
		}
		// Young: its start is the baseline (no CPU time used before it started).
		prev = procState{start: info.Start, at: now.Add(-info.Age)}
	}
	dt := now.Sub(prev.at)
	if dt < minInterval {
		prev.seen = now
		s.states[pid] = prev
		return prev.last
	}
	var cpu float64
	if info.CPUTime > prev.cpu {
		cpu = round2(float64(info.CPUTime-prev.cpu) / float64(dt) * 100)
	}
	s.states[pid] = procState{start: info.Start, cpu: info.CPUTime, at: now, last: cpu, seen: now}
	return cpu
}

func (s *Sampler) sampleLocked(pid int, now time.Time) (ProcSample, error) {
	root := s.procLocked(pid, now)
	if root.err != nil {
		return ProcSample{}, fmt.Errorf("sample pid %d: %w", pid, root.err)
	}
	ps := ProcSample{
		PID:    pid,
		CPU:    root.cpu,
		RSS:    root.info.RSS,
		Uptime: int64(root.info.Age / time.Second),
		Time:   now,
	}
	var fdsOK bool
	ps.Threads, ps.FDs, fdsOK = s.src.extras(pid, root.info)
	if !fdsOK {
		ps.FDs = 0
	}

	// The tree: the process and all its descendants, each counted once with its own CPU delta.
	s.treeID++
	var tree Tree
	treeCPU := 0.0
	s.stack = append(s.stack[:0], stackItem{pid: pid, parent: -1})
	for len(s.stack) > 0 {
		it := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		e := s.procLocked(it.pid, now)
		if e.err != nil || e.tree == s.treeID {
			continue // gone meanwhile, or already counted
		}
		if it.parent >= 0 && e.info.PPID != it.parent {
			continue // the pid was reused between the children list and its stat
		}
		e.tree = s.treeID
		s.round[it.pid] = e
		tree.Processes++
		tree.RSS += e.info.RSS
		treeCPU += e.cpu
		var err error
		s.kids, err = s.src.children(it.pid, e.info, s.kids[:0])
		if err != nil && it.pid == pid && !errors.Is(err, ErrNoProcess) {
			return ProcSample{}, fmt.Errorf("sample pid %d: descendants: %w", pid, err)
		}
		for _, k := range s.kids {
			s.stack = append(s.stack, stackItem{pid: k, parent: it.pid})
		}
	}
	tree.CPU = round2(treeCPU)
	ps.Tree = tree
	return ps, nil
}

// sweep drops the baselines of pids not read for StaleAfter; it runs at most every
// StaleAfter/4.
func (s *Sampler) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < s.staleAfter/4 {
		return
	}
	s.lastSweep = now
	for pid, st := range s.states {
		if now.Sub(st.seen) > s.staleAfter {
			s.drop(pid)
		}
	}
}

// trackedPIDs is the number of pids with a CPU baseline (for tests).
func (s *Sampler) trackedPIDs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.states)
}

// System measures the whole machine: CPU % of all cores together since the previous System call
// (the first call reports the average since boot), logical CPUs, memory and load.
func (s *Sampler) System() (SystemSample, error) {
	s.sysMu.Lock()
	defer s.sysMu.Unlock()
	r, err := s.sysSrc.system()
	if err != nil {
		return SystemSample{}, fmt.Errorf("system sample: %w", err)
	}
	now := s.now()
	// Two calls a few milliseconds apart would divide a tick or two by a tiny window (0, 50 or
	// 100 %): within minSystemWindow of the baseline, answer the last figure and keep the baseline.
	if s.sysHave && now.Sub(s.sysPrevAt) < minSystemWindow && r.Total >= s.sysPrev.Total {
		cpus := r.CPUs
		if cpus <= 0 {
			cpus = runtime.NumCPU()
		}
		return SystemSample{CPU: s.sysLastCPU, CPUs: cpus, Memory: r.Memory, Load: r.Load, Time: now}, nil
	}
	prev := s.sysPrev // zero on the first call: since boot
	if !s.sysHave || r.Total < prev.Total || r.Busy < prev.Busy {
		prev = sysReading{}
	}
	var cpu float64
	if dt := r.Total - prev.Total; dt > 0 {
		cpu = round2(min(100, float64(r.Busy-prev.Busy)/float64(dt)*100))
	}
	s.sysPrev, s.sysHave, s.sysPrevAt, s.sysLastCPU = r, true, now, cpu
	cpus := r.CPUs
	if cpus <= 0 {
		cpus = runtime.NumCPU()
	}
	return SystemSample{CPU: cpu, CPUs: cpus, Memory: r.Memory, Load: r.Load, Time: now}, nil
}

// minSystemWindow is the least time over which System measures the machine's CPU.
const minSystemWindow = 500 * time.Millisecond

func round2(v float64) float64 { return math.Round(v*100) / 100 }
