//go:build linux

package sampler

// newSource reads /proc (or Options.ProcRoot) directly: the fast path.
func newSource(opts Options) source { return newProcfsSource(opts.ProcRoot) }
