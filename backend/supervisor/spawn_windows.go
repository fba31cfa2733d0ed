package supervisor

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Names kept so that mergeEnv drops them on every OS.
const (
	envShim     = "MCPWATCH_SHIM"
	envShimSpec = "MCPWATCH_SHIM_SPEC"
)

// RunShimIfRequested returns at once on Windows: children are held by a job object instead.
func RunShimIfRequested() {}

// jobProcess is a command started directly, inside a job object that kills the whole tree when
// the job is terminated or its last handle closes (the monitor dies).
type jobProcess struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	job windows.Handle // 0 once closed
}

func spawn(c command, cio *childIO, _ string) (process, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{
		BasicLimitInformation: windows.JOBOBJECT_BASIC_LIMIT_INFORMATION{
			LimitFlags: windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
		},
	}
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("set job object limits: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        c.Path,
		Args:        c.Args,
		Dir:         c.Dir,
		Env:         c.Env,
		Stdin:       cio.stdin(),
		Stdout:      cio.StdoutW,
		Stderr:      cio.StderrW,
		SysProcAttr: &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP},
	}
	if err := cmd.Start(); err != nil {
		windows.CloseHandle(job)
		return nil, err
	}
	// The command runs for a moment outside the job: a grandchild it starts in that moment
	// escapes (starting it suspended would need the thread handle os/exec does not expose).
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err == nil {
		err = windows.AssignProcessToJobObject(job, h)
		windows.CloseHandle(h)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		windows.CloseHandle(job)
		return nil, fmt.Errorf("assign to job object: %w", err)
	}
	return &jobProcess{cmd: cmd, job: job}, nil
}

func (p *jobProcess) started() (int, error) { return p.cmd.Process.Pid, nil }

func (p *jobProcess) wait() exitStatus {
	err := p.cmd.Wait()
	_ = p.terminateJob() // what is left of the tree
	p.mu.Lock()
	if p.job != 0 {
		windows.CloseHandle(p.job)
		p.job = 0
	}
	p.mu.Unlock()
	if p.cmd.ProcessState == nil {
		return exitStatus{err: fmt.Errorf("wait: %w", err)}
	}
	code := p.cmd.ProcessState.ExitCode()
	return exitStatus{code: &code}
}

func (p *jobProcess) terminateJob() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job == 0 {
		return nil
	}
	if err := windows.TerminateJobObject(p.job, 1); err != nil && !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("terminate job: %w", err)
	}
	return nil
}

// terminate: Windows has no SIGTERM for console programs that the monitor could send to another
// console; the job is terminated at once.
func (p *jobProcess) terminate() error { return p.terminateJob() }
func (p *jobProcess) kill() error      { return p.terminateJob() }
