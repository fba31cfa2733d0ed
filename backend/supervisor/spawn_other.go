//go:build !linux && !darwin && !windows

package supervisor

import (
	"errors"
	"fmt"
	"runtime"
)

const (
	envShim     = "MCPWATCH_SHIM"
	envShimSpec = "MCPWATCH_SHIM_SPEC"
)

// RunShimIfRequested returns at once: there is no shim on this OS.
func RunShimIfRequested() {}

func spawn(command, *childIO, string) (process, error) {
	return nil, fmt.Errorf("%w on %s", errors.ErrUnsupported, runtime.GOOS)
}
