package supervisor

import (
	"fmt"
	"io"
	"os"
)

// process is one spawned child: on Linux and macOS the shim and the real command it runs in a
// process group of its own, on Windows the command inside a job object.
type process interface {
	// started blocks until the real command runs (its pid) or could not be started (err).
	started() (pid int, err error)
	// wait blocks until the command and everything the monitor started for it are gone, and
	// tells how the command ended. Called once, after started.
	wait() exitStatus
	// terminate asks the command's whole tree to stop (SIGTERM to its process group).
	terminate() error
	// kill ends the command's whole tree at once (SIGKILL to its process group).
	kill() error
}

// exitStatus is how a command ended: an exit code, a signal, or err when the monitor lost track
// of it (the shim died).
type exitStatus struct {
	code   *int
	signal string
	err    error
}

// childIO is the child's standard streams as the spawn code sees them: the ends handed to the
// child and the ends the monitor reads. stdin is /dev/null unless the server's stdin/stdout are a
// channel (Options.Channel): then StdinR is the child's stdin and StdinW the monitor's end, and
// StdoutR goes to the channel consumer instead of the line reader.
type childIO struct {
	StdoutW, StderrW *os.File // the child's ends; closed in the monitor right after the spawn
	StdoutR, StderrR *os.File // the monitor's ends; read by the line readers
	StdinR, StdinW   *os.File // nil without a channel; StdinR is the child's end
}

// newChildIO creates the stdout and stderr pipes, and a stdin pipe when withStdin.
func newChildIO(withStdin bool) (*childIO, error) {
	or, ow, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	er, ew, err := os.Pipe()
	if err != nil {
		or.Close()
		ow.Close()
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	c := &childIO{StdoutW: ow, StderrW: ew, StdoutR: or, StderrR: er}
	if withStdin {
		ir, iw, err := os.Pipe()
		if err != nil {
			c.closeAll()
			return nil, fmt.Errorf("stdin pipe: %w", err)
		}
		c.StdinR, c.StdinW = ir, iw
	}
	return c, nil
}

// closeChildEnds closes the ends that belong to the child once it holds its own copies.
func (c *childIO) closeChildEnds() {
	c.StdoutW.Close()
	c.StderrW.Close()
	if c.StdinR != nil {
		c.StdinR.Close()
	}
}

// closeAll closes every end (a failed spawn).
func (c *childIO) closeAll() {
	c.closeChildEnds()
	c.StdoutR.Close()
	c.StderrR.Close()
	if c.StdinW != nil {
		c.StdinW.Close()
	}
}

// stdin is the child's end of the stdin pipe as exec.Cmd wants it: nil (/dev/null) without one.
func (c *childIO) stdin() io.Reader {
	if c.StdinR == nil {
		return nil
	}
	return c.StdinR
}
