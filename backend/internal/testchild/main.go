// Command testchild is the child process the tests supervise: it prints lines at chosen levels
// and rates, burns a chosen share of a core, holds memory, starts a grandchild, ignores SIGTERM on
// demand, writes raw bytes (invalid UTF-8, NUL, colour codes, \r\n) and lines longer than any
// limit, starts a grandchild that leaves the process group (-gc-setsid) and exits with a chosen
// code. It is built by the tests (testutil.BuildTestChild).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		lines      = flag.Int("lines", 0, "lines to print, then go on with the rest (-1: forever)")
		rate       = flag.Int("rate", 0, "lines per second (0: as fast as possible)")
		levels     = flag.String("levels", "info", "comma-separated levels cycled over the lines (debug,info,warn,error,plain)")
		stderr     = flag.Bool("stderr", false, "print the lines on stderr")
		prefix     = flag.String("prefix", "line", "text of each line, followed by its number")
		cpu        = flag.Float64("cpu", 0, "share of one core to burn (0..1)")
		memMB      = flag.Int("mem", 0, "MiB of memory to hold (touched)")
		grandchild = flag.Bool("grandchild", false, "start a grandchild (this program with -sleep and -mem of -gc-mem) and print its pid")
		gcMem      = flag.Int("gc-mem", 0, "MiB the grandchild holds")
		ignoreTerm = flag.Bool("ignore-term", false, "ignore SIGTERM")
		sleep      = flag.Duration("sleep", 0, "stay alive this long after printing (0 with -exit unset: forever)")
		exitCode   = flag.Int("exit", -1, "exit with this code after printing and sleeping (-1: keep running)")
		ready      = flag.String("ready", "", "print this line once set up (after the grandchild pid)")
		stamp      = flag.Bool("stamp", false, "end each line with \" t=<unix µs>\", the time it was written (latency benchmarks)")
		gcSetsid   = flag.Bool("gc-setsid", false, "start the grandchild in a session of its own (a daemon leaving the process group)")
		gcStdio    = flag.Bool("gc-stdio", false, "the grandchild inherits stdout and stderr (holds the pipes open)")
		raw        = flag.String("raw", "", "bytes to write to stdout before the lines, as the inside of a Go string literal (\\x00, \\r\\n, \\x1b[31m ...)")
		bigLine    = flag.Int("bigline", 0, "after the lines, write this many bytes of 'x' to stdout with no newline")
	)
	flag.Parse()

	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	var hold []byte
	if *memMB > 0 {
		hold = make([]byte, *memMB<<20)
		for i := 0; i < len(hold); i += 4096 {
			hold[i] = 1
		}
	}
	if *grandchild {
		args := []string{"-sleep", "1h", "-mem", fmt.Sprint(*gcMem)}
		if *ignoreTerm {
			args = append(args, "-ignore-term")
		}
		gc := exec.Command(os.Args[0], args...)
		if *gcStdio {
			gc.Stdout, gc.Stderr = os.Stdout, os.Stderr
		}
		if *gcSetsid {
			gc.SysProcAttr = newSession()
		}
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "ERROR cannot start grandchild:", err)
			os.Exit(3)
		}
		fmt.Printf("grandchild pid %d\n", gc.Process.Pid)
	}
	if *cpu > 0 {
		go burn(*cpu)
	}
	if *ready != "" {
		fmt.Println(*ready)
	}

	if *raw != "" {
		b, err := strconv.Unquote(`"` + *raw + `"`)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ERROR bad -raw:", err)
			os.Exit(3)
		}
		os.Stdout.WriteString(b)
	}

	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	if *stderr {
		out = bufio.NewWriterSize(os.Stderr, 64<<10)
	}
	lv := strings.Split(*levels, ",")
	// Pacing: every tick prints all the lines due by then (rate × elapsed), so the rate holds even
	// when the ticker cannot fire once per line (1 ms and less is coarse under load).
	var tick *time.Ticker
	var t0 time.Time
	if *rate > 0 {
		tick = time.NewTicker(max(time.Second/time.Duration(*rate), time.Millisecond))
		t0 = time.Now()
	}
	due := 0
	for i := 1; *lines < 0 || i <= *lines; i++ {
		if tick != nil && i > due {
			out.Flush()
			<-tick.C
			due = int(time.Since(t0) * time.Duration(*rate) / time.Second)
			if due < i {
				due = i
			}
		}
		l := lv[(i-1)%len(lv)]
		if l != "plain" {
			out.WriteString(strings.ToUpper(l))
			out.WriteByte(' ')
		}
		fmt.Fprintf(out, "%s %d", *prefix, i)
		if *stamp {
			fmt.Fprintf(out, " t=%d", time.Now().UnixMicro())
		}
		out.WriteByte('\n')
		if tick == nil && i%256 == 0 {
			out.Flush()
		}
	}
	out.Flush()
	if *bigLine > 0 {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for left := *bigLine; left > 0; left -= len(chunk) {
			os.Stdout.Write(chunk[:min(left, len(chunk))])
		}
	}

	switch {
	case *sleep > 0:
		time.Sleep(*sleep)
	case *exitCode < 0:
		for { // a bare select{} would be a deadlock once no other goroutine is left
			time.Sleep(time.Hour)
		}
	}
	runtime.KeepAlive(hold)
	if *exitCode >= 0 {
		os.Exit(*exitCode)
	}
}

// burn keeps one goroutine busy for share of each 10 ms slice.
func burn(share float64) {
	if share > 1 {
		share = 1
	}
	const slice = 10 * time.Millisecond
	busy := time.Duration(float64(slice) * share)
	for {
		start := time.Now()
		for time.Since(start) < busy {
		}
		time.Sleep(slice - busy)
	}
}
