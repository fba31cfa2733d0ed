package sampler

// One small parser per kernel file, in the style of prometheus/procfs. The parsers take the
// bytes of a whole file (read by the caller into a reused buffer) and fill a struct without
// allocating; units are documented on every field and conversions are methods. Malformed input
// gives an error wrapping ErrBadFormat, never a panic.

import (
	"bytes"
	"fmt"
	"time"
)

// UserHZ is the unit of the CPU times in /proc/<pid>/stat and /proc/stat: clock ticks per second.
//
// The kernel exports these times in USER_HZ, which is a constant of the user-space ABI, not the
// kernel's internal HZ: it is 100 on every architecture Go supports (only alpha and ia64 differ).
// glibc's sysconf(_SC_CLK_TCK) reads it from AT_CLKTCK, and github.com/tklauser/go-sysconf (what
// gopsutil uses) returns this same constant on Linux, so importing it would only add a direct
// dependency for a constant.
const UserHZ = 100

// tick is the duration of one USER_HZ clock tick.
const tick = time.Second / UserHZ

// ProcStat is what the sampler needs from /proc/<pid>/stat (see proc(5)).
type ProcStat struct {
	PID        int    // field 1: process id
	Comm       []byte // field 2 without the parentheses; aliases the parsed buffer
	State      byte   // field 3: R, S, D, Z, T, ...
	PPID       int    // field 4: parent process id (the parent's tgid)
	UTime      uint64 // field 14: user-mode CPU time, in clock ticks (UserHZ)
	STime      uint64 // field 15: kernel-mode CPU time, in clock ticks (UserHZ)
	NumThreads int    // field 20: threads in the process
	StartTime  uint64 // field 22: start time, in clock ticks (UserHZ) since boot
	RSS        uint64 // field 24: resident set size, in pages (os.Getpagesize())
}

// CPUTime is the user plus kernel CPU time the process has used so far.
func (s *ProcStat) CPUTime() time.Duration { return time.Duration(s.UTime+s.STime) * tick }

// Started is when the process started, as a duration since boot.
func (s *ProcStat) Started() time.Duration { return time.Duration(s.StartTime) * tick }

// RSSBytes converts RSS to bytes.
func (s *ProcStat) RSSBytes(pageSize int) uint64 { return s.RSS * uint64(pageSize) }

// Zombie reports whether the process has exited and waits to be reaped.
func (s *ProcStat) Zombie() bool { return s.State == 'Z' || s.State == 'X' }

// parseProcStat parses the contents of /proc/<pid>/stat. comm may hold spaces and ')', so the
// fields after it are found from the last ')'.
func parseProcStat(b []byte, st *ProcStat) error {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return fmt.Errorf("stat: no (comm): %w", ErrBadFormat)
	}
	pid, ok := parseUint(bytes.TrimSpace(b[:open]))
	if !ok {
		return fmt.Errorf("stat: pid: %w", ErrBadFormat)
	}
	*st = ProcStat{PID: int(pid), Comm: b[open+1 : closing]}
	rest := b[closing+1:]
	field := 2 // the field just read: comm
	for len(rest) > 0 {
		// each field is preceded by one space
		if rest[0] != ' ' {
			if rest[0] == '\n' {
				break
			}
			return fmt.Errorf("stat: field %d: %w", field+1, ErrBadFormat)
		}
		rest = rest[1:]
		end := 0
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\n' {
			end++
		}
		f := rest[:end]
		rest = rest[end:]
		field++
		var v uint64
		switch field {
		case 3:
			if len(f) != 1 {
				return fmt.Errorf("stat: state %q: %w", f, ErrBadFormat)
			}
			st.State = f[0]
			continue
		case 4, 14, 15, 20, 22, 24:
			if v, ok = parseUint(f); !ok {
				return fmt.Errorf("stat: field %d %q: %w", field, f, ErrBadFormat)
			}
		default:
			if len(f) == 0 {
				return fmt.Errorf("stat: field %d empty: %w", field, ErrBadFormat)
			}
			continue
		}
		switch field {
		case 4:
			st.PPID = int(v)
		case 14:
			st.UTime = v
		case 15:
			st.STime = v
		case 20:
			st.NumThreads = int(v)
		case 22:
			st.StartTime = v
		case 24:
			st.RSS = v
			return nil // nothing further is needed
		}
	}
	return fmt.Errorf("stat: %d fields, want at least 24: %w", field, ErrBadFormat)
}

// CPUTimes is the aggregate "cpu" line of /proc/stat; every field in clock ticks (UserHZ).
type CPUTimes struct {
	User, Nice, System, Idle, IOWait, IRQ, SoftIRQ, Steal, Guest, GuestNice uint64
}

// Total is all the time of all CPUs. Guest time is already part of User and Nice.
func (c CPUTimes) Total() uint64 {
	return c.User + c.Nice + c.System + c.Idle + c.IOWait + c.IRQ + c.SoftIRQ + c.Steal
}

// Busy is Total minus idle and I/O wait.
func (c CPUTimes) Busy() uint64 { return c.Total() - c.Idle - c.IOWait }

// SystemStat is what the sampler needs from /proc/stat.
type SystemStat struct {
	CPU      CPUTimes // the aggregate "cpu" line
	CPUs     int      // number of "cpuN" lines: online logical CPUs
	BootTime uint64   // "btime": boot time, in whole seconds since the Unix epoch
}

// parseSystemStat parses the contents of /proc/stat.
func parseSystemStat(b []byte, st *SystemStat) error {
	*st = SystemStat{}
	seenCPU := false
	for line := range bytes.Lines(b) {
		line = bytes.TrimRight(line, "\n")
		name, rest, _ := bytes.Cut(line, []byte{' '})
		switch {
		case bytes.Equal(name, []byte("cpu")):
			dst := [...]*uint64{&st.CPU.User, &st.CPU.Nice, &st.CPU.System, &st.CPU.Idle, &st.CPU.IOWait,
				&st.CPU.IRQ, &st.CPU.SoftIRQ, &st.CPU.Steal, &st.CPU.Guest, &st.CPU.GuestNice}
			n := 0
			for f := range bytes.FieldsSeq(rest) {
				if n == len(dst) {
					break
				}
				v, ok := parseUint(f)
				if !ok {
					return fmt.Errorf("/proc/stat: cpu field %q: %w", f, ErrBadFormat)
				}
				*dst[n] = v
				n++
			}
			if n < 4 { // user nice system idle exist on every kernel
				return fmt.Errorf("/proc/stat: cpu line has %d fields: %w", n, ErrBadFormat)
			}
			seenCPU = true
		case len(name) > 3 && bytes.HasPrefix(name, []byte("cpu")):
			if _, ok := parseUint(name[3:]); ok {
				st.CPUs++
			}
		case bytes.Equal(name, []byte("btime")):
			v, ok := parseUint(bytes.TrimSpace(rest))
			if !ok {
				return fmt.Errorf("/proc/stat: btime %q: %w", rest, ErrBadFormat)
			}
			st.BootTime = v
		}
	}
	if !seenCPU {
		return fmt.Errorf("/proc/stat: no cpu line: %w", ErrBadFormat)
	}
	return nil
}

// MemInfo is what the sampler needs from /proc/meminfo; every field in bytes (the file says kB,
// which means KiB).
type MemInfo struct {
	Total     uint64 // MemTotal
	Free      uint64 // MemFree
	Available uint64 // MemAvailable (kernel ≥ 3.14); 0 when the file lacks it
	Buffers   uint64 // Buffers
	Cached    uint64 // Cached
	HasAvail  bool   // whether MemAvailable was present
}

// Memory converts to the machine memory reported by the sampler: used = total − available, and
// available estimated as free + buffers + cached on kernels without MemAvailable.
func (m MemInfo) Memory() Memory {
	avail := m.Available
	if !m.HasAvail {
		avail = m.Free + m.Buffers + m.Cached
	}
	avail = min(avail, m.Total)
	return Memory{Total: m.Total, Used: m.Total - avail, Available: avail}
}

// parseMeminfo parses the contents of /proc/meminfo.
func parseMeminfo(b []byte, m *MemInfo) error {
	*m = MemInfo{}
	seenTotal := false
	for line := range bytes.Lines(b) {
		key, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) { // no allocation: the compiler special-cases switch on string(bytes)
		case "MemTotal":
			dst, seenTotal = &m.Total, true
		case "MemFree":
			dst = &m.Free
		case "MemAvailable":
			dst, m.HasAvail = &m.Available, true
		case "Buffers":
			dst = &m.Buffers
		case "Cached":
			dst = &m.Cached
		default:
			continue
		}
		rest = bytes.TrimSpace(rest)
		num, unit, _ := bytes.Cut(rest, []byte{' '})
		v, ok := parseUint(num)
		if !ok {
			return fmt.Errorf("/proc/meminfo: %s %q: %w", key, rest, ErrBadFormat)
		}
		switch string(unit) {
		case "kB":
			v *= 1024
		case "":
		default:
			return fmt.Errorf("/proc/meminfo: %s unit %q: %w", key, unit, ErrBadFormat)
		}
		*dst = v
	}
	if !seenTotal {
		return fmt.Errorf("/proc/meminfo: no MemTotal: %w", ErrBadFormat)
	}
	return nil
}

// parseLoadavg parses the first three fields of /proc/loadavg: the 1, 5 and 15 minute load
// averages (runnable plus uninterruptible tasks, exponentially averaged).
func parseLoadavg(b []byte) ([3]float64, error) {
	var load [3]float64
	i := 0
	for f := range bytes.FieldsSeq(b) {
		if i == len(load) {
			break
		}
		v, ok := parseFixed(f)
		if !ok {
			return load, fmt.Errorf("/proc/loadavg: %q: %w", f, ErrBadFormat)
		}
		load[i] = float64(v) / 1e6
		i++
	}
	if i < len(load) {
		return load, fmt.Errorf("/proc/loadavg: %d fields: %w", i, ErrBadFormat)
	}
	return load, nil
}

// parseUptime parses the first field of /proc/uptime: the time since boot, in seconds with two
// decimals (CLOCK_BOOTTIME, the clock that /proc/<pid>/stat starttime counts on).
func parseUptime(b []byte) (time.Duration, error) {
	f, _, _ := bytes.Cut(bytes.TrimSpace(b), []byte{' '})
	v, ok := parseFixed(f)
	if !ok {
		return 0, fmt.Errorf("/proc/uptime: %q: %w", f, ErrBadFormat)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// appendChildren appends the pids listed in /proc/<pid>/task/<tid>/children (space separated,
// usually with a trailing space) to dst.
func appendChildren(dst []int, b []byte) ([]int, error) {
	for f := range bytes.FieldsSeq(b) {
		v, ok := parseUint(f)
		if !ok || v == 0 {
			return dst, fmt.Errorf("children: %q: %w", f, ErrBadFormat)
		}
		dst = append(dst, int(v))
	}
	return dst, nil
}

// parseUint parses a non-empty run of decimal digits that fits in 63 bits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// parseFixed parses a non-negative decimal with up to 6 fraction digits ("12.34") into
// millionths.
func parseFixed(b []byte) (uint64, bool) {
	ip, fp, _ := bytes.Cut(b, []byte{'.'})
	i, ok := parseUint(ip)
	if !ok || len(fp) > 6 || i > 1<<40 {
		return 0, false
	}
	var frac uint64
	if len(fp) > 0 {
		if frac, ok = parseUint(fp); !ok {
			return 0, false
		}
		for n := len(fp); n < 6; n++ {
			frac *= 10
		}
	}
	return i*1e6 + frac, true
}
