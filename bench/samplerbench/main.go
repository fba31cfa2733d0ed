// Command samplerbench measures the sampler on given pids for make bench (bench/run.mjs), side by
// side with pidusage on the same pids (bench/pidusage-bench.cjs): one round samples every pid
// with its whole descendant tree and its fd count (Sample for one pid, SampleMany for more), as
// the engine does. It prints one JSON object: CPU (user+system of this process, getrusage) and
// wall time per process per sample, and heap allocations per process per sample.
//
//	samplerbench -iters N pid...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/sampler"
)

func main() {
	iters := flag.Int("iters", 1000, "sampling rounds")
	warm := flag.Int("warm", 3, "rounds before measuring (baselines, kept descriptors)")
	flag.Parse()
	var pids []int
	for _, a := range flag.Args() {
		p, err := strconv.Atoi(a)
		if err != nil || p <= 0 {
			fmt.Fprintf(os.Stderr, "samplerbench: bad pid %q\n", a)
			os.Exit(2)
		}
		pids = append(pids, p)
	}
	if len(pids) == 0 || *iters <= 0 {
		fmt.Fprintln(os.Stderr, "usage: samplerbench -iters N pid...")
		os.Exit(2)
	}
	s := sampler.New(sampler.Options{})
	round := func() (procs int) {
		if len(pids) == 1 {
			ps, err := s.Sample(pids[0])
			if err != nil {
				fmt.Fprintln(os.Stderr, "samplerbench:", err)
				os.Exit(1)
			}
			return ps.Tree.Processes
		}
		out, errs := s.SampleMany(pids)
		for i, err := range errs {
			if err != nil {
				fmt.Fprintln(os.Stderr, "samplerbench:", err)
				os.Exit(1)
			}
			procs += out[i].Tree.Processes
		}
		return procs
	}
	for range *warm {
		round()
	}
	runtime.GC()
	var m0, m1 runtime.MemStats
	var ru0, ru1 syscall.Rusage
	runtime.ReadMemStats(&m0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t0 := time.Now()
	treeProcs := 0
	for range *iters {
		treeProcs = round()
	}
	wall := time.Since(t0)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&m1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	per := float64(*iters * len(pids))
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"tool":          "mcpwatch-sampler",
		"procs":         len(pids),
		"treeProcesses": treeProcs,
		"iters":         *iters,
		"cpuNsPerProc":  float64(cpu) / per,
		"wallNsPerProc": float64(wall.Nanoseconds()) / per,
		"allocsPerProc": float64(m1.Mallocs-m0.Mallocs) / per,
		"bytesPerProc":  float64(m1.TotalAlloc-m0.TotalAlloc) / per,
	})
}
