package sampler

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the tests drive.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a writable copy of testdata/proc.
type fixture struct {
	t     *testing.T
	root  string
	clock *fakeClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := filepath.Join(t.TempDir(), "proc")
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "proc"))); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, root: root, clock: newFakeClock()}
}

func (f *fixture) sampler() *Sampler {
	return New(Options{ProcRoot: f.root, Now: f.clock.Now})
}

// advance moves the clock and the fixture's /proc/uptime on by d.
func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	f.clock.Advance(d)
	p := filepath.Join(f.root, "uptime")
	b, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	up, err := parseUptime(b)
	if err != nil {
		f.t.Fatal(err)
	}
	up += d
	f.write("uptime", strconv.FormatFloat(up.Seconds(), 'f', 2, 64)+" 0.00\n")
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.root, rel), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// setStat sets fields (numbered as in proc(5)) of /proc/<pid>/stat.
func (f *fixture) setStat(pid int, fields map[int]uint64) {
	f.t.Helper()
	rel := filepath.Join(strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(filepath.Join(f.root, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	rest := strings.Fields(s[i+1:]) // rest[0] is field 3
	for n, v := range fields {
		rest[n-3] = strconv.FormatUint(v, 10)
	}
	f.write(rel, s[:i+1]+" "+strings.Join(rest, " ")+"\n")
}

// addTicks adds CPU time (clock ticks of user time) to pid.
func (f *fixture) addTicks(pid int, ticks uint64) {
	f.t.Helper()
	var st ProcStat
	b, err := os.ReadFile(filepath.Join(f.root, strconv.Itoa(pid), "stat"))
	if err != nil {
		f.t.Fatal(err)
	}
	if err := parseProcStat(b, &st); err != nil {
		f.t.Fatal(err)
	}
	f.setStat(pid, map[int]uint64{14: st.UTime + ticks})
}

var pageSize = uint64(os.Getpagesize())

func TestFixtureFirstSample(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	got, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	want := ProcSample{
		PID:     100,
		CPU:     0,               // started 50 s ago (> 5 s) and no baseline: 0 and a baseline now
		RSS:     1000 * pageSize, // stat field 24 is in pages
		Uptime:  50,              // uptime 1000.00 s − starttime 95000 ticks
		Threads: 2,
		FDs:     4,
		Tree: Tree{
			// 100, 200 (child of thread 100), 300 (child of thread 101), 400 (grandchild);
			// 600 is a zombie and 500 is unrelated.
			Processes: 4,
			// 200 started 2 s ago with 100 ticks: 50 %; 400 started 1 s ago with 25 ticks: 25 %
			CPU: 75,
			RSS: (1000 + 2000 + 500 + 300) * pageSize,
		},
		Time: f.clock.Now(),
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestFixtureDeltas(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	if _, err := s.Sample(100); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		step              time.Duration
		ticks             map[int]uint64
		wantCPU, wantTree float64
		wantUptime        int64
	}{
		// 500 ticks = 5 s of CPU in 10 s: 50 %; 200: 1 s → 10 %; 300: 10 s → 100 %.
		{name: "10s", step: 10 * time.Second, ticks: map[int]uint64{100: 500, 200: 100, 300: 1000},
			wantCPU: 50, wantTree: 160, wantUptime: 60},
		// several cores: 300 ticks in 2 s is 150 % of one core
		{name: "2s multicore", step: 2 * time.Second, ticks: map[int]uint64{100: 300},
			wantCPU: 150, wantTree: 150, wantUptime: 62},
		{name: "idle", step: 3 * time.Second, ticks: nil, wantCPU: 0, wantTree: 0, wantUptime: 65},
		// 1 tick in 3 s = 0.333… % → 2 decimals
		{name: "rounding", step: 3 * time.Second, ticks: map[int]uint64{100: 1, 400: 2},
			wantCPU: 0.33, wantTree: 1, wantUptime: 68},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.advance(tt.step)
			for pid, n := range tt.ticks {
				f.addTicks(pid, n)
			}
			got, err := s.Sample(100)
			if err != nil {
				t.Fatal(err)
			}
			if got.CPU != tt.wantCPU || got.Tree.CPU != tt.wantTree || got.Uptime != tt.wantUptime {
				t.Errorf("cpu %v tree.cpu %v uptime %d; want %v %v %d",
					got.CPU, got.Tree.CPU, got.Uptime, tt.wantCPU, tt.wantTree, tt.wantUptime)
			}
		})
	}
}

func TestFixturePrime(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	s.Prime(100)
	f.advance(4 * time.Second)
	f.addTicks(100, 100) // 1 s in 4 s
	f.addTicks(200, 200) // 2 s in 4 s
	got, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	// Without Prime, 100 (old) would read 0 and 200 (young) would be measured from its start.
	if got.CPU != 25 || got.Tree.CPU != 75 {
		t.Errorf("cpu %v tree %v, want 25 and 75", got.CPU, got.Tree.CPU)
	}
	before := s.trackedPIDs()
	s.Prime(999)
	s.Prime(600) // a zombie
	if n := s.trackedPIDs(); n != before {
		t.Errorf("Prime of gone pids recorded state: %d, want %d", n, before)
	}
}

func TestFixtureShortInterval(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	s.Sample(100)
	f.advance(2 * time.Second)
	f.addTicks(100, 100) // 50 %
	first, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	// 10 ms later one more tick would read 100 %: the figure is kept and the baseline stays.
	f.advance(10 * time.Millisecond)
	f.addTicks(100, 1)
	second, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	if first.CPU != 50 || second.CPU != 50 {
		t.Errorf("cpu %v then %v, want 50 twice", first.CPU, second.CPU)
	}
	f.advance(990 * time.Millisecond)
	f.addTicks(100, 9) // 10 ticks since the kept baseline, in 1 s
	third, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	if third.CPU != 10 {
		t.Errorf("cpu after 1 s = %v, want 10", third.CPU)
	}
}

func TestFixturePIDReuse(t *testing.T) {
	tests := []struct {
		name  string
		start uint64 // starttime of the new process, ticks since boot
		utime uint64
		want  float64
	}{
		// The new 300 started 2 s before the second sample and used 1 s: 50 % against its own
		// start. Against the old baseline (10 ticks, 10 s ago) it would read 9 %.
		{name: "young successor", start: 100800, utime: 100, want: 50},
		// An old successor gets a fresh baseline and 0, not (5000−10) ticks over 10 s.
		{name: "old successor", start: 50000, utime: 5000, want: 0},
		// Same start time: the same process, measured against its baseline.
		{name: "same process", start: 96000, utime: 110, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			s := f.sampler()
			if got, err := s.Sample(300); err != nil || got.CPU != 0 {
				t.Fatalf("first sample: %+v, %v", got, err)
			}
			f.advance(10 * time.Second)
			f.setStat(300, map[int]uint64{22: tt.start, 14: tt.utime, 15: 0})
			got, err := s.Sample(300)
			if err != nil {
				t.Fatal(err)
			}
			if got.CPU != tt.want {
				t.Errorf("cpu = %v, want %v", got.CPU, tt.want)
			}
		})
	}
}

func TestFixtureErrors(t *testing.T) {
	tests := []struct {
		name  string
		pid   int
		setup func(f *fixture)
		want  error
	}{
		{name: "no such pid", pid: 999, want: ErrNoProcess},
		{name: "zero pid", pid: 0, want: ErrNoProcess},
		{name: "zombie", pid: 600, want: ErrNoProcess},
		{name: "vanished", pid: 500, setup: func(f *fixture) { os.RemoveAll(filepath.Join(f.root, "500")) }, want: ErrNoProcess},
		{name: "malformed stat", pid: 500, setup: func(f *fixture) { f.write("500/stat", "500 (x) S 1 2\n") }, want: ErrBadFormat},
		{name: "stat of another pid", pid: 500, setup: func(f *fixture) { f.write("500/stat", statLine(501, "x", "S", 1, 1, 1, 1, 1, 1)) }, want: ErrBadFormat},
		{name: "malformed uptime", pid: 500, setup: func(f *fixture) { f.write("uptime", "soon\n") }, want: ErrBadFormat},
		{name: "malformed children", pid: 100, setup: func(f *fixture) { f.write("100/task/101/children", "300 x ") }, want: ErrBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			s := f.sampler()
			if _, err := s.Sample(tt.pid); !errors.Is(err, tt.want) {
				t.Errorf("Sample(%d) = %v, want %v", tt.pid, err, tt.want)
			}
			out, errs := s.SampleMany([]int{tt.pid, 400})
			if !errors.Is(errs[0], tt.want) || (errs[1] != nil && tt.name != "malformed uptime") {
				t.Errorf("SampleMany errs = %v", errs)
			}
			if errs[1] == nil && out[1].PID != 400 {
				t.Errorf("SampleMany out[1] = %+v", out[1])
			}
		})
	}
}

func TestFixtureSampleMany(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	s.SampleMany([]int{100, 200})
	f.advance(10 * time.Second)
	f.addTicks(100, 100)
	f.addTicks(200, 300)
	f.addTicks(400, 200)
	// 200 is both a root and inside 100's tree: read once, its baseline moved once, counted in both.
	out, errs := s.SampleMany([]int{100, 200, 999})
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrNoProcess) {
		t.Fatalf("errs = %v", errs)
	}
	if out[0].CPU != 10 || out[0].Tree.CPU != 60 || out[0].Tree.Processes != 4 {
		t.Errorf("100: %+v", out[0])
	}
	if out[1].CPU != 30 || out[1].Tree.CPU != 50 || out[1].Tree.Processes != 2 || out[1].Tree.RSS != 2300*pageSize {
		t.Errorf("200: %+v", out[1])
	}
	if out[0].Time != out[1].Time {
		t.Errorf("one round, two times: %v %v", out[0].Time, out[1].Time)
	}
}

func TestFixtureNoChildrenFiles(t *testing.T) {
	// A kernel without CONFIG_PROC_CHILDREN: the tree comes from a scan of the parents.
	f := newFixture(t)
	matches, err := filepath.Glob(filepath.Join(f.root, "*", "task", "*", "children"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("glob: %v %v", matches, err)
	}
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	s := f.sampler()
	got, err := s.Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	want := Tree{Processes: 4, CPU: 75, RSS: 3800 * pageSize}
	if got.Tree != want {
		t.Errorf("tree = %+v, want %+v", got.Tree, want)
	}
}

func TestFixtureStaleStateDropped(t *testing.T) {
	f := newFixture(t)
	s := New(Options{ProcRoot: f.root, Now: f.clock.Now, StaleAfter: time.Minute})
	if _, err := s.Sample(100); err != nil {
		t.Fatal(err)
	}
	if n := s.trackedPIDs(); n != 4 {
		t.Fatalf("tracked = %d, want 4 (the tree of 100)", n)
	}
	// 400 exits: its state goes at the next sample.
	os.RemoveAll(filepath.Join(f.root, "400"))
	f.advance(time.Second)
	if _, err := s.Sample(100); err != nil {
		t.Fatal(err)
	}
	if n := s.trackedPIDs(); n != 3 {
		t.Errorf("tracked after 400 exited = %d, want 3", n)
	}
	// Only 500 is sampled from now on: 100's tree goes stale.
	for range 10 {
		f.advance(15 * time.Second)
		if _, err := s.Sample(500); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.trackedPIDs(); n != 1 {
		t.Errorf("tracked = %d, want 1 (500 only)", n)
	}
}

func TestFixtureSystem(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	got, err := s.System()
	if err != nil {
		t.Fatal(err)
	}
	// since boot: busy = 1000+20+300+10+5 = 1335 of total 9435
	want := SystemSample{
		CPU:    14.15,
		CPUs:   2,
		Memory: Memory{Total: 8000000 << 10, Used: 5000000 << 10, Available: 3000000 << 10},
		Load:   [3]float64{0.52, 1.25, 2},
		Time:   f.clock.Now(),
	}
	if got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// 150 busy ticks of 400 since the previous call: 37.5 %; but a call within the least window
	// answers the last figure and keeps its baseline.
	f.write("stat", "cpu  1100 20 350 8250 100 10 5 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\nbtime 1700000000\n")
	f.clock.Advance(100 * time.Millisecond)
	if got, err = s.System(); err != nil || got.CPU != 14.15 {
		t.Errorf("System 100 ms later = %v, %v; want the last figure 14.15", got.CPU, err)
	}
	f.clock.Advance(time.Second)
	if got, err = s.System(); err != nil || got.CPU != 37.5 {
		t.Errorf("second System = %v, %v; want cpu 37.5", got.CPU, err)
	}
	f.clock.Advance(time.Second)
	f.write("meminfo", "MemFree: 5 kB\n")
	if _, err := s.System(); !errors.Is(err, ErrBadFormat) {
		t.Errorf("System with bad meminfo = %v, want ErrBadFormat", err)
	}
}

func TestFixtureThreadsChange(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	tree := func() Tree {
		t.Helper()
		f.advance(time.Second)
		got, err := s.Sample(100)
		if err != nil {
			t.Fatal(err)
		}
		return got.Tree
	}
	if got := tree(); got.Processes != 4 {
		t.Fatalf("tree %+v", got)
	}
	// Thread 101 (parent of 300) ends and thread 102 takes over 300, as the kernel does: the
	// thread count is unchanged, the cached thread list is stale.
	if err := os.RemoveAll(filepath.Join(f.root, "100", "task", "101")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(f.root, "100", "task", "102"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.write("100/task/102/children", "300 ")
	if got := tree(); got.Processes != 4 || got.RSS != 3800*pageSize {
		t.Errorf("after a thread was replaced: %+v, want 4 processes", got)
	}
	// A third thread starts a new child 700.
	if err := os.MkdirAll(filepath.Join(f.root, "100", "task", "103"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.write("100/task/103/children", "700 ")
	if err := os.MkdirAll(filepath.Join(f.root, "700"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.write("700/stat", statLine(700, "worker", "S", 100, 0, 0, 1, 100000, 10))
	f.setStat(100, map[int]uint64{20: 3})
	if got := tree(); got.Processes != 5 || got.RSS != 3810*pageSize {
		t.Errorf("after a new thread forked: %+v, want 5 processes", got)
	}
}

func TestFixtureReusedChildPIDSkipped(t *testing.T) {
	// A children file names 500, but 500's parent is 1: the pid was reused between the two
	// reads, and the unrelated process must not be counted.
	f := newFixture(t)
	f.write("100/task/100/children", "200 500 ")
	got, err := New(Options{ProcRoot: f.root, Now: f.clock.Now}).Sample(100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tree.Processes != 4 || got.Tree.RSS != 3800*pageSize {
		t.Errorf("tree %+v, want 4 processes without 500", got.Tree)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t)
	s := f.sampler()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				switch (g + i) % 5 {
				case 0:
					if _, err := s.Sample(100); err != nil {
						t.Error(err)
					}
				case 1:
					s.SampleMany([]int{100, 200, 500})
				case 2:
					if _, err := s.System(); err != nil {
						t.Error(err)
					}
				case 3:
					s.Record("srv", ProcSample{PID: i})
					s.Latest("srv")
				case 4:
					s.History("srv", time.Time{})
					s.Prime(200)
				}
			}
		})
	}
	wg.Wait()
	if h := s.History("srv", time.Time{}); len(h) == 0 {
		t.Error("no history recorded")
	}
}
