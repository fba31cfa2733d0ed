//go:build !linux

package sampler

// newSource uses gopsutil, or a proc tree when Options.ProcRoot is set (fixture tests).
func newSource(opts Options) source {
	if opts.ProcRoot != "" {
		return newProcfsSource(opts.ProcRoot)
	}
	return newPsSource()
}
