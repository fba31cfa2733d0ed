package sampler

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// statLine builds a 52-field /proc/<pid>/stat line.
func statLine(pid int, comm, state string, ppid, utime, stime, threads, start, rss uint64) string {
	f := []string{itoa(uint64(pid)), "(" + comm + ")", state, itoa(ppid), "1", "1", "0", "-1", "4194560",
		"1200", "0", "3", "0", itoa(utime), itoa(stime), "-5", "0", "20", "-2", itoa(threads), "0",
		itoa(start), "123456789", itoa(rss), "18446744073709551615"}
	for len(f) < 52 {
		f = append(f, "0")
	}
	return strings.Join(f, " ") + "\n"
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

func TestParseProcStat(t *testing.T) {
	full := statLine(4242, "node", "S", 1, 250, 50, 11, 95000, 1000)
	tests := []struct {
		name    string
		in      string
		want    ProcStat
		comm    string
		wantErr bool
	}{
		{name: "plain", in: full, comm: "node",
			want: ProcStat{PID: 4242, State: 'S', PPID: 1, UTime: 250, STime: 50, NumThreads: 11, StartTime: 95000, RSS: 1000}},
		{name: "comm with spaces and parens", in: statLine(7, "my (weird) server) x", "R", 3, 1, 2, 3, 4, 5), comm: "my (weird) server) x",
			want: ProcStat{PID: 7, State: 'R', PPID: 3, UTime: 1, STime: 2, NumThreads: 3, StartTime: 4, RSS: 5}},
		{name: "comm of only parens", in: statLine(8, ")()(", "Z", 3, 0, 0, 1, 9, 0), comm: ")()(",
			want: ProcStat{PID: 8, State: 'Z', PPID: 3, NumThreads: 1, StartTime: 9}},
		{name: "empty comm", in: statLine(9, "", "S", 1, 0, 0, 1, 1, 1), comm: "",
			want: ProcStat{PID: 9, State: 'S', PPID: 1, NumThreads: 1, StartTime: 1, RSS: 1}},
		{name: "exactly 24 fields, no newline", in: strings.Join(strings.Fields(full)[:24], " "), comm: "node",
			want: ProcStat{PID: 4242, State: 'S', PPID: 1, UTime: 250, STime: 50, NumThreads: 11, StartTime: 95000, RSS: 1000}},
		{name: "empty", in: "", wantErr: true},
		{name: "no parens", in: "12 node S 1 2 3", wantErr: true},
		{name: "no pid", in: "(node) S 1", wantErr: true},
		{name: "bad pid", in: "x1 (node) S 1", wantErr: true},
		{name: "truncated after comm", in: "12 (node)", wantErr: true},
		{name: "truncated at 23 fields", in: strings.Join(strings.Fields(full)[:23], " ") + "\n", wantErr: true},
		{name: "negative utime", in: strings.Replace(full, " 250 50 ", " -250 50 ", 1), wantErr: true},
		{name: "utime not a number", in: strings.Replace(full, " 250 50 ", " 2x0 50 ", 1), wantErr: true},
		{name: "long state", in: strings.Replace(full, ") S ", ") SS ", 1), wantErr: true},
		{name: "double space", in: strings.Replace(full, " 250 50 ", " 250  50 ", 1), wantErr: true},
		{name: "huge number", in: strings.Replace(full, " 95000 ", " 99999999999999999999999 ", 1), wantErr: true},
		{name: "close before open", in: "12 )node( S", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st ProcStat
			err := parseProcStat([]byte(tt.in), &st)
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(st.Comm) != tt.comm {
				t.Errorf("comm = %q, want %q", st.Comm, tt.comm)
			}
			st.Comm, tt.want.Comm = nil, nil
			if !reflect.DeepEqual(st, tt.want) {
				t.Errorf("got %+v\nwant %+v", st, tt.want)
			}
		})
	}
}

func TestProcStatConversions(t *testing.T) {
	st := ProcStat{UTime: 250, STime: 50, StartTime: 95000, RSS: 1000, State: 'Z'}
	if got := st.CPUTime(); got != 3*time.Second {
		t.Errorf("CPUTime = %v", got)
	}
	if got := st.Started(); got != 950*time.Second {
		t.Errorf("Started = %v", got)
	}
	if got := st.RSSBytes(4096); got != 4096000 {
		t.Errorf("RSSBytes = %d", got)
	}
	if !st.Zombie() {
		t.Error("Zombie = false")
	}
}

func TestParseSystemStat(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "proc", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      string
		want    SystemStat
		wantErr bool
	}{
		{name: "fixture", in: string(b), want: SystemStat{
			CPU:  CPUTimes{User: 1000, Nice: 20, System: 300, Idle: 8000, IOWait: 100, IRQ: 10, SoftIRQ: 5},
			CPUs: 2, BootTime: 1700000000}},
		{name: "old kernel, 4 fields", in: "cpu 1 2 3 4\ncpu0 1 2 3 4\n", want: SystemStat{
			CPU: CPUTimes{User: 1, Nice: 2, System: 3, Idle: 4}, CPUs: 1}},
		{name: "no cpu line", in: "cpu0 1 2 3 4\nbtime 5\n", wantErr: true},
		{name: "short cpu line", in: "cpu 1 2 3\n", wantErr: true},
		{name: "bad cpu field", in: "cpu 1 2 x 4\n", wantErr: true},
		{name: "bad btime", in: "cpu 1 2 3 4\nbtime soon\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st SystemStat
			err := parseSystemStat([]byte(tt.in), &st)
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st != tt.want {
				t.Errorf("got %+v\nwant %+v", st, tt.want)
			}
		})
	}
	c := CPUTimes{User: 1000, Nice: 20, System: 300, Idle: 8000, IOWait: 100, IRQ: 10, SoftIRQ: 5, Steal: 1, Guest: 50}
	if c.Total() != 9436 || c.Busy() != 1336 {
		t.Errorf("Total, Busy = %d, %d, want 9436, 1336", c.Total(), c.Busy())
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Memory
		wantErr bool
	}{
		{name: "with MemAvailable", in: "MemTotal: 8000 kB\nMemFree: 1000 kB\nMemAvailable: 3000 kB\nBuffers: 200 kB\nCached: 1500 kB\n",
			want: Memory{Total: 8000 << 10, Used: 5000 << 10, Available: 3000 << 10}},
		{name: "old kernel", in: "MemTotal: 8000 kB\nMemFree: 1000 kB\nBuffers: 200 kB\nCached: 1500 kB\n",
			want: Memory{Total: 8000 << 10, Used: 5300 << 10, Available: 2700 << 10}},
		{name: "available above total is clamped", in: "MemTotal: 10 kB\nMemAvailable: 30 kB\n",
			want: Memory{Total: 10 << 10, Available: 10 << 10}},
		{name: "unitless lines ignored", in: "MemTotal: 4 kB\nHugePages_Total: 0\nMemAvailable: 1 kB\n",
			want: Memory{Total: 4 << 10, Used: 3 << 10, Available: 1 << 10}},
		{name: "no MemTotal", in: "MemFree: 1 kB\n", wantErr: true},
		{name: "bad number", in: "MemTotal: lots kB\n", wantErr: true},
		{name: "bad unit", in: "MemTotal: 5 MB\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m MemInfo
			err := parseMeminfo([]byte(tt.in), &m)
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Memory(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseLoadavg(t *testing.T) {
	tests := []struct {
		in      string
		want    [3]float64
		wantErr bool
	}{
		{in: "0.52 1.25 2.00 3/456 7890\n", want: [3]float64{0.52, 1.25, 2}},
		{in: "12 0.5 100.125", want: [3]float64{12, 0.5, 100.125}},
		{in: "0.52 1.25\n", wantErr: true},
		{in: "0.52 -1.25 2.00 1/2 3\n", wantErr: true},
		{in: "a b c\n", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLoadavg([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseUptime(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "1000.00 1900.00\n", want: 1000 * time.Second},
		{in: "12345.67 1.0\n", want: 12345*time.Second + 670*time.Millisecond},
		{in: "5\n", want: 5 * time.Second},
		{in: "\n", wantErr: true},
		{in: "1.2.3 4", wantErr: true},
		{in: "-1.00 2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseUptime([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestAppendChildren(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "200 ", want: []int{200}},
		{in: "200 300 4000\n", want: []int{200, 300, 4000}},
		{in: "200 x", wantErr: true},
		{in: "0 ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := appendChildren(nil, []byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadFormat) {
					t.Fatalf("err = %v, want ErrBadFormat", err)
				}
				return
			}
			if err != nil || !slicesEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(1, "init", "S", 0, 1, 2, 1, 3, 4)))
	f.Add([]byte(statLine(7, "a) b (c", "R", 3, 1, 2, 3, 4, 5)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st ProcStat
		if err := parseProcStat(b, &st); err != nil {
			if !errors.Is(err, ErrBadFormat) {
				t.Fatalf("error does not wrap ErrBadFormat: %v", err)
			}
			return
		}
		// A parsed comm lies inside the input, between the first '(' and the last ')'.
		if len(st.Comm) > len(b) {
			t.Fatalf("comm longer than the input")
		}
		if st.PID < 0 || st.PPID < 0 || st.NumThreads < 0 {
			t.Fatalf("negative field in %+v", st)
		}
	})
}
