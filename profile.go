package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
)

// envCPUProfile names a file for a CPU profile of a headless run (written when it stops): how the
// benchmark figures were explained (README, Benchmarks). "%p" in the name becomes the pid, so
// that several runs in one benchmark keep their own profile.
const envCPUProfile = "MCPWATCH_CPUPROFILE"

// startProfile starts the CPU profile asked for by MCPWATCH_CPUPROFILE; the returned stop writes
// it, with a heap profile beside it (<name>.heap). Without the variable both do nothing.
func startProfile() (stop func(), err error) {
	name := os.Getenv(envCPUProfile)
	if name == "" {
		return func() {}, nil
	}
	name = strings.ReplaceAll(name, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", envCPUProfile, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		if h, err := os.Create(name + ".heap"); err == nil {
			runtime.GC() // the heap profile shows what is live at the end
			_ = pprof.WriteHeapProfile(h)
			h.Close()
		}
	}, nil
}
