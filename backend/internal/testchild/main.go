// Command testchild is the child process the tests supervise: it prints lines at chosen levels
// and rates, burns a chosen share of a core, holds memory, starts a grandchild, ignores SIGTERM on
// demand and exits with a chosen code. It is built by the tests (testutil.BuildTestChild).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
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

	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	if *stderr {
		out = bufio.NewWriterSize(os.Stderr, 64<<10)
	}
	lv := strings.Split(*levels, ",")
	var tick *time.Ticker
	if *rate > 0 {
		tick = time.NewTicker(time.Second / time.Duration(*rate))
	}
	for i := 1; *lines < 0 || i <= *lines; i++ {
		if tick != nil {
			<-tick.C
		}
		l := lv[(i-1)%len(lv)]
		if l == "plain" {
			fmt.Fprintf(out, "%s %d\n", *prefix, i)
		} else {
			fmt.Fprintf(out, "%s %s %d\n", strings.ToUpper(l), *prefix, i)
		}
		if tick != nil || i%256 == 0 {
			out.Flush()
		}
	}
	out.Flush()

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
