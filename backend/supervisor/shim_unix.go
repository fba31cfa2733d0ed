//go:build linux || darwin

package supervisor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The monitor starts every child through a copy of itself, the shim (RunShimIfRequested):
//
//	monitor ──(status socket pair, Pdeathsig SIGTERM)── shim ──(own process group)── command ── …
//
// The shim gets the command as JSON in MCPWATCH_SHIM_SPEC and the command's environment as its
// own, starts the command in a new process group with the shim's stdin/stdout/stderr, and talks
// to the monitor over fd 3 (one line each):
//
//	pid N          the command runs (N is its pid and its process group id)
//	error MSG      the command could not be started
//	exit code N    the command exited with code N
//	exit signal N  the command was ended by signal N
//
// When the command exits, the shim SIGKILLs what is left of its group (orphaned grandchildren)
// and, on Linux, every orphan it adopted as the tree's child subreaper (a grandchild that left
// the group with setsid, then lost its parent), and reports the exit. When the monitor dies, the
// shim SIGKILLs the group and exits. The shim writes nothing to stdout or stderr: they belong to
// the command.
//
// fd 3 is one end of a socket pair, not a pipe: the shim also reads it, and the read ends (EOF)
// when the monitor's end closes, which the kernel does however the monitor dies. That is how the
// shim learns of it without polling, so an idle shim costs no CPU.
const (
	envShim      = "MCPWATCH_SHIM"
	envShimSpec  = "MCPWATCH_SHIM_SPEC"
	shimStatusFD = 3
)

// shimSpec is what the shim needs besides its environment.
type shimSpec struct {
	Path   string   `json:"path"`
	Args   []string `json:"args"`
	Dir    string   `json:"dir,omitempty"`
	Parent int      `json:"parent"` // the monitor's pid, to detect that it died
}

// RunShimIfRequested runs the process shim and exits when this process was started as one
// (MCPWATCH_SHIM=1); otherwise it returns at once. Call it as the first line of main, and of
// TestMain in every package whose tests start children through a Supervisor.
func RunShimIfRequested() {
	if os.Getenv(envShim) != "1" {
		return
	}
	os.Exit(runShim())
}

func runShim() int {
	status := os.NewFile(shimStatusFD, "mcpwatch-status")
	if status == nil {
		return 125
	}
	syscall.CloseOnExec(shimStatusFD) // the command must not hold the status pipe
	report := func(format string, a ...any) {
		// An error means the monitor is gone; the parent check below handles that.
		_, _ = fmt.Fprintf(status, format+"\n", a...)
	}
	var spec shimSpec
	if err := json.Unmarshal([]byte(os.Getenv(envShimSpec)), &spec); err != nil || spec.Path == "" {
		report("error shim: bad %s: %v", envShimSpec, err)
		return 125
	}
	parentGone := func() bool { return spec.Parent != 0 && os.Getppid() != spec.Parent }
	if parentGone() { // the monitor died before Pdeathsig was armed
		return 125
	}
	monitorGone := make(chan struct{})
	go func() {
		// The monitor never writes: the read ends, with EOF, when the monitor is gone.
		var b [1]byte
		_, _ = status.Read(b[:])
		close(monitorGone)
	}()
	// Handled (not ignored) so that the command starts with default dispositions. SIGTERM is the
	// Pdeathsig; the others come from a terminal and are the monitor's business.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	// SIGCHLD: an adopted orphan exited and must be reaped (Linux); the command's own exit is
	// collected by cmd.Wait.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)

	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != envShim && k != envShimSpec {
			env = append(env, kv)
		}
	}
	cmd := &exec.Cmd{
		Path:        spec.Path,
		Args:        spec.Args,
		Dir:         spec.Dir,
		Env:         env,
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		SysProcAttr: commandAttr(),
	}
	adoptOrphans()
	if err := cmd.Start(); err != nil {
		report("error %s", oneLine(err.Error()))
		return 125
	}
	pgid := cmd.Process.Pid
	report("pid %d", pgid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	killGroup := func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		killAdopted(pgid) // those that left the group (setsid) and lost their parent
	}
	// abandon: the monitor is gone. Kill the group, wait (bounded) for the command to be gone,
	// so that its children are re-parented to the shim, then kill those too.
	abandon := func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
		killGroup()
	}
	for {
		select {
		case err := <-done:
			killGroup() // grandchildren left behind in the group
			ws, ok := waitStatus(cmd.ProcessState)
			switch {
			case !ok:
				report("error wait: %s", oneLine(fmt.Sprint(err)))
			case ws.Signaled():
				report("exit signal %d", int(ws.Signal()))
			default:
				report("exit code %d", ws.ExitStatus())
			}
			return 0
		case <-sigs:
			if parentGone() {
				abandon()
				return 1
			}
		case <-monitorGone:
			abandon()
			return 1
		case <-chld:
			reapAdopted(pgid)
		}
	}
}

func waitStatus(ps *os.ProcessState) (syscall.WaitStatus, bool) {
	if ps == nil {
		return 0, false
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ws, ok
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// shimProcess is the monitor's side of one shim.
type shimProcess struct {
	cmd    *exec.Cmd // the shim
	status *os.File  // read end of the status pipe
	br     *bufio.Reader
	pgid   int // the command's pid and process group; 0 until started
	exit   *exitStatus
}

// spawn starts the shim with the command's streams; it does not wait for the command.
func spawn(c command, cio *childIO, shimPath string) (process, error) {
	if shimPath == "" {
		return nil, ErrNoShim
	}
	spec, err := json.Marshal(shimSpec{Path: c.Path, Args: c.Args, Dir: c.Dir, Parent: os.Getpid()})
	if err != nil {
		return nil, fmt.Errorf("shim spec: %w", err)
	}
	sr, sw, err := statusPair()
	if err != nil {
		return nil, fmt.Errorf("status socket pair: %w", err)
	}
	env := make([]string, 0, len(c.Env)+2)
	env = append(env, c.Env...)
	env = append(env, envShim+"=1", envShimSpec+"="+string(spec))
	cmd := &exec.Cmd{
		Path:        shimPath,
		Args:        []string{"mcpwatch-shim"},
		Env:         env,
		Stdin:       cio.stdin(),
		Stdout:      cio.StdoutW,
		Stderr:      cio.StderrW,
		ExtraFiles:  []*os.File{sw}, // fd 3
		SysProcAttr: shimAttr(),
	}
	err = cmd.Start()
	sw.Close()
	if err != nil {
		sr.Close()
		return nil, fmt.Errorf("start shim %s: %w", shimPath, err)
	}
	return &shimProcess{cmd: cmd, status: sr, br: bufio.NewReader(sr)}, nil
}

// statusPair makes the status connection: close-on-exec in the monitor, so that no other child
// holds the monitor's end (which would hide the monitor's death from the shim).
func statusPair() (monitorEnd, shimEnd *os.File, err error) {
	// Under ForkLock, as os.Pipe does where there is no SOCK_CLOEXEC (macOS): no fork between
	// the two calls can inherit the ends.
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "mcpwatch-status"), os.NewFile(uintptr(fds[1]), "mcpwatch-shim-status"), nil
}

func (p *shimProcess) readStatus() (string, error) {
	line, err := p.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(line, "\n"), nil
}

func (p *shimProcess) started() (int, error) {
	line, err := p.readStatus()
	if err != nil {
		return 0, fmt.Errorf("%w before starting the command", ErrShimDied)
	}
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		return 0, errors.New(msg)
	}
	if s, ok := strings.CutPrefix(line, "pid "); ok {
		if pid, err := strconv.Atoi(s); err == nil && pid > 0 {
			p.pgid = pid
			return pid, nil
		}
	}
	return 0, fmt.Errorf("%w: unexpected report %q", ErrShimDied, line)
}

func (p *shimProcess) wait() exitStatus {
	var ex *exitStatus
	for {
		line, err := p.readStatus()
		if err != nil {
			break
		}
		if s, ok := strings.CutPrefix(line, "exit code "); ok {
			if n, err := strconv.Atoi(s); err == nil {
				ex = &exitStatus{code: &n}
			}
		} else if s, ok := strings.CutPrefix(line, "exit signal "); ok {
			if n, err := strconv.Atoi(s); err == nil {
				ex = &exitStatus{signal: signalName(syscall.Signal(n))}
			}
		} else if msg, ok := strings.CutPrefix(line, "error "); ok {
			ex = &exitStatus{err: errors.New(msg)}
		}
	}
	werr := p.cmd.Wait()
	p.status.Close()
	if ex == nil {
		// The shim died without a report (killed from outside): take its group down ourselves.
		if p.pgid > 0 {
			_ = syscall.Kill(-p.pgid, syscall.SIGKILL)
		}
		ex = &exitStatus{err: fmt.Errorf("%w: %v", ErrShimDied, werr)}
	}
	return *ex
}

func (p *shimProcess) signalGroup(sig syscall.Signal) error {
	if p.pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-p.pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to group %d: %w", signalName(sig), p.pgid, err)
	}
	return nil
}

func (p *shimProcess) terminate() error { return p.signalGroup(syscall.SIGTERM) }
func (p *shimProcess) kill() error      { return p.signalGroup(syscall.SIGKILL) }

// signalName is "SIGKILL" for syscall.SIGKILL, "signal 42" for one without a name.
func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}
