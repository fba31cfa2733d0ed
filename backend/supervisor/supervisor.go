package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Errors returned by the Supervisor.
var (
	ErrUnknownServer  = errors.New("unknown server")
	ErrAlreadyRunning = errors.New("server already running")
	ErrShutdown       = errors.New("supervisor shut down")
	ErrStartFailed    = errors.New("start failed")

	ErrNoCommand    = errors.New("no command")
	ErrNotDirectory = errors.New("not a directory")
	ErrNoShim       = errors.New("no shim executable (os.Executable failed and Options.ShimPath is empty)")
	ErrShimDied     = errors.New("process shim ended unexpectedly")
)

// Defaults of Options and of a definition's restart policy.
const (
	DefaultStopGrace   = 5 * time.Second
	DefaultStableAfter = 30 * time.Second
	DefaultBackoffMs   = 1000
	MaxBackoff         = 60 * time.Second
)

// drainTimeout bounds how long the readers may go on after the command and its shim are gone:
// only a process that left the group (setsid) can still hold the pipes open.
const drainTimeout = 2 * time.Second

// Levels of system lines.
const (
	levelInfo  = "info"
	levelWarn  = "warn"
	levelError = "error"
)

// Options configure a Supervisor. Zero values take the defaults.
type Options struct {
	Sink        Sink          // where lines and transitions go; default: dropped
	StopGrace   time.Duration // SIGTERM → SIGKILL; default 5 s
	StableAfter time.Duration // a run this long resets the retry counter; default 30 s
	Clock       Clock         // default RealClock
	ShimPath    string        // the executable run as shim; default os.Executable()
	Env         []string      // base environment of every child; default os.Environ()
	Logger      *slog.Logger  // default slog.Default()

	// Channel, when set, takes a child's stdout and stdin as a channel (an MCP client speaking
	// to a stdio server) for the servers that UseChannel selects: such a child gets a stdin pipe
	// instead of /dev/null, and its stdout goes to Channel instead of the line reader (stderr is
	// still read into Sink.Line). Channel is called once per run, on a goroutine of its own,
	// once the pid is known; it must read stdout until it ends (EOF or an error: the read
	// deadline of the drain after the child exits) and return when done with both streams. It
	// may close stdin early; the supervisor closes both after Channel returns, and waits for it
	// before reporting the exit. Lines it does not consume itself it may pass to ReadLines.
	Channel func(serverID string, pid int, stdout io.Reader, stdin io.WriteCloser)
	// UseChannel chooses, at every spawn, whether Channel takes the server's stdio; nil means
	// every server whose transport is stdio. Ignored without Channel.
	UseChannel func(def registry.ServerDef) bool
}

// Supervisor starts, stops and restarts the servers it was given with Define. Its methods are
// safe for concurrent use. The Sink is called without the Supervisor's lock held, one call at a
// time for lifecycle events and system lines (in the order of the transitions); a Sink may
// call State but not the control methods (Start, Stop, ...) from inside a call.
type Supervisor struct {
	sink        Sink
	clock       Clock
	log         *slog.Logger
	stopGrace   time.Duration
	stableAfter time.Duration
	shimPath    string
	env         []string
	channel     func(serverID string, pid int, stdout io.Reader, stdin io.WriteCloser)
	useChannel  func(def registry.ServerDef) bool

	mu      sync.Mutex
	servers map[string]*server
	closed  bool
	pending []emission // sink calls queued under mu, delivered in order by flush
	wg      sync.WaitGroup

	emitMu sync.Mutex // one flush at a time
}

// server is one definition and its lifecycle state; guarded by Supervisor.mu.
type server struct {
	id         string
	def        registry.ServerDef
	st         State
	run        *run  // the current process, nil when none
	backoff    Timer // pending restart, nil when none
	backoffGen uint64
	removing   bool
}

// run is one spawn of a server; its fields are guarded by Supervisor.mu except where noted.
type run struct {
	proc          process
	pid           int // set before pidKnown is closed, not changed after
	startedAt     time.Time
	stopRequested bool
	grace         Timer // pending SIGKILL after SIGTERM
	finished      bool
	pidKnown      chan struct{} // closed once the pid is known (or the start failed)
	done          chan struct{} // closed once the run is over and its exit handled
}

// emission is one queued sink call: a status event or a system line.
type emission struct {
	ev    *Event
	id    string
	level string
	msg   string
	pid   int
}

// New returns a Supervisor with no servers.
func New(opts Options) *Supervisor {
	s := &Supervisor{
		sink:        opts.Sink,
		clock:       opts.Clock,
		log:         opts.Logger,
		stopGrace:   opts.StopGrace,
		stableAfter: opts.StableAfter,
		shimPath:    opts.ShimPath,
		env:         slices.Clone(opts.Env),
		channel:     opts.Channel,
		useChannel:  opts.UseChannel,
		servers:     make(map[string]*server),
	}
	if s.useChannel == nil {
		s.useChannel = func(def registry.ServerDef) bool { return def.Transport == registry.TransportStdio }
	}
	if s.sink == nil {
		s.sink = nopSink{}
	}
	if s.clock == nil {
		s.clock = RealClock{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.stopGrace <= 0 {
		s.stopGrace = DefaultStopGrace
	}
	if s.stableAfter <= 0 {
		s.stableAfter = DefaultStableAfter
	}
	if s.shimPath == "" {
		if exe, err := os.Executable(); err == nil {
			s.shimPath = exe
		} else {
			s.log.Warn("no shim executable", "err", err)
		}
	}
	if opts.Env == nil {
		s.env = os.Environ()
	}
	return s
}

// Define adds a server or replaces its definition. A running child keeps running with the
// definition it was started with until it is restarted.
func (s *Supervisor) Define(def registry.ServerDef) {
	def = cloneDef(def)
	s.mu.Lock()
	defer s.mu.Unlock()
	if srv, ok := s.servers[def.ID]; ok && !srv.removing {
		srv.def = def
		return
	}
	s.servers[def.ID] = &server{id: def.ID, def: def, st: State{Status: Stopped}}
}

// Remove stops a server (waiting as Stop does) and forgets it.
func (s *Supervisor) Remove(ctx context.Context, id string) error {
	s.mu.Lock()
	srv, err := s.lookupLocked(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	srv.removing = true // refuses Start from now on
	s.mu.Unlock()

	err = s.stop(ctx, srv)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		srv.removing = false
		return err
	}
	if s.servers[id] == srv {
		delete(s.servers, id)
	}
	return nil
}

// Start starts a server that is stopped, crashed or waiting in backoff (the pending restart is
// cancelled and the retry counter reset). It returns once the process is spawned; the status
// becomes running when the command itself runs. ErrUnknownServer, ErrAlreadyRunning when it is
// starting, running or stopping, ErrShutdown after Shutdown, and ErrStartFailed (wrapping the
// reason) when the command cannot be spawned: the server is then crashed with that reason.
func (s *Supervisor) Start(id string) error {
	s.mu.Lock()
	err := s.startLocked(id, false)
	s.mu.Unlock()
	s.flush()
	return err
}

// Stop stops a server's whole process tree: SIGTERM to its process group, SIGKILL after the
// grace period. It waits until the server is stopped or ctx is done (the stop goes on anyway).
// Stopping a stopped or crashed server does nothing; a server in backoff becomes stopped.
func (s *Supervisor) Stop(ctx context.Context, id string) error {
	s.mu.Lock()
	srv, err := s.lookupLocked(id)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.stop(ctx, srv)
}

// Restart stops a server (as Stop) and starts it again (as Start).
func (s *Supervisor) Restart(ctx context.Context, id string) error {
	if err := s.Stop(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	err := s.startLocked(id, true)
	s.mu.Unlock()
	s.flush()
	return err
}

// State returns a snapshot of a server's state.
func (s *Supervisor) State(id string) (State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv, ok := s.servers[id]
	if !ok {
		return State{}, false
	}
	st := srv.st
	if st.LastExit != nil {
		ex := *st.LastExit
		if ex.Code != nil {
			c := *ex.Code
			ex.Code = &c
		}
		st.LastExit = &ex
	}
	return st, true
}

// Shutdown stops every server's process tree in parallel, cancels pending restarts and waits
// for every goroutine of the Supervisor. When ctx ends first, the remaining trees are killed
// at once (SIGKILL) and Shutdown still waits for them to be gone before returning ctx's error.
// Afterwards Start and Restart fail with ErrShutdown.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var dones []chan struct{}
	for _, srv := range s.servers {
		if d := s.stopLocked(srv); d != nil {
			dones = append(dones, d)
		}
	}
	s.mu.Unlock()
	s.flush()

	var ctxErr error
	for _, d := range dones {
		select {
		case <-d:
			continue
		case <-ctx.Done():
		}
		ctxErr = fmt.Errorf("shutdown: %w", ctx.Err())
		s.killAll()
		break
	}
	s.wg.Wait()
	return ctxErr
}

func (s *Supervisor) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.servers {
		if r := srv.run; r != nil && r.pid > 0 && !r.finished {
			s.system(srv, levelWarn, "shutdown timed out, sending SIGKILL", r.pid)
			if err := r.proc.kill(); err != nil {
				s.log.Warn("kill", "server", srv.id, "pid", r.pid, "err", err)
			}
		}
	}
}

func (s *Supervisor) lookupLocked(id string) (*server, error) {
	srv, ok := s.servers[id]
	if !ok || srv.removing {
		return nil, fmt.Errorf("%w: %q", ErrUnknownServer, id)
	}
	return srv, nil
}

func (s *Supervisor) startLocked(id string, restart bool) error {
	if s.closed {
		return ErrShutdown
	}
	srv, err := s.lookupLocked(id)
	if err != nil {
		return err
	}
	switch srv.st.Status {
	case Starting, Running, Stopping:
		return fmt.Errorf("%w: %q is %s", ErrAlreadyRunning, id, srv.st.Status)
	}
	s.cancelBackoffLocked(srv)
	srv.st.RestartCount = 0
	if restart {
		srv.st.Restarts++
	}
	return s.spawnLocked(srv)
}

// spawnLocked resolves the command and starts it; a failure is handled like a crash.
func (s *Supervisor) spawnLocked(srv *server) error {
	srv.st.Error = ""
	s.setStatus(srv, Starting, Event{})
	proc, cio, err := s.spawnProcess(srv.def)
	if err != nil {
		s.startFailedLocked(srv, err)
		return fmt.Errorf("%w: %s: %w", ErrStartFailed, srv.id, err)
	}
	r := &run{proc: proc, pidKnown: make(chan struct{}), done: make(chan struct{})}
	srv.run = r
	s.wg.Add(1)
	go s.watch(srv, r, cio)
	return nil
}

func (s *Supervisor) spawnProcess(def registry.ServerDef) (process, *childIO, error) {
	c, err := resolveCommand(def, s.env)
	if err != nil {
		return nil, nil, err
	}
	cio, err := newChildIO(s.channel != nil && s.useChannel(def))
	if err != nil {
		return nil, nil, err
	}
	proc, err := spawn(c, cio, s.shimPath)
	if err != nil {
		cio.closeAll()
		return nil, nil, err
	}
	cio.closeChildEnds()
	return proc, cio, nil
}

// watch follows one run: it owns the two line readers, waits for the pid, then for the exit,
// lets the readers drain, and applies the outcome.
func (s *Supervisor) watch(srv *server, r *run, cio *childIO) {
	defer s.wg.Done()
	defer close(r.done)
	var readers sync.WaitGroup
	readers.Add(2)
	if cio.StdinW != nil {
		go s.runChannel(&readers, srv.id, cio, r)
	} else {
		go s.readStream(&readers, srv.id, "stdout", cio.StdoutR, r)
	}
	go s.readStream(&readers, srv.id, "stderr", cio.StderrR, r)

	pid, startErr := r.proc.started()
	s.mu.Lock()
	if startErr == nil {
		r.pid = pid
		srv.st.PID = pid
		now := s.clock.Now()
		r.startedAt = now
		srv.st.StartedAt = now
		s.system(srv, levelInfo, fmt.Sprintf("started (pid %d)", pid), pid)
		s.log.Debug("started", "server", srv.id, "pid", pid)
		if r.stopRequested { // Stop came while starting: the group exists only now
			s.signalLocked(srv, r)
		} else {
			s.setStatus(srv, Running, Event{PID: pid})
		}
	}
	s.mu.Unlock()
	s.flush()
	close(r.pidKnown)

	ex := r.proc.wait()
	deadline := time.Now().Add(drainTimeout)
	_ = cio.StdoutR.SetReadDeadline(deadline)
	_ = cio.StderrR.SetReadDeadline(deadline)
	readers.Wait()
	cio.StdoutR.Close()
	cio.StderrR.Close()

	s.mu.Lock()
	s.exitLocked(srv, r, startErr, ex)
	s.mu.Unlock()
	s.flush()
}

func (s *Supervisor) readStream(wg *sync.WaitGroup, id, stream string, f *os.File, r *run) {
	defer wg.Done()
	readLines(f, r.pidKnown, func(line []byte, truncated bool) {
		s.sink.Line(id, stream, line, truncated, r.pid)
	})
}

// runChannel hands stdout and stdin to Options.Channel once the pid is known; a run whose
// command never started has its stdout read as lines instead.
func (s *Supervisor) runChannel(wg *sync.WaitGroup, id string, cio *childIO, r *run) {
	defer wg.Done()
	defer cio.StdinW.Close()
	<-r.pidKnown
	if r.pid <= 0 {
		cio.StdinW.Close()
		readLines(cio.StdoutR, r.pidKnown, func(line []byte, truncated bool) {
			s.sink.Line(id, "stdout", line, truncated, r.pid)
		})
		return
	}
	s.channel(id, r.pid, cio.StdoutR, cio.StdinW)
}

// ReadLines reads r as the supervisor reads a child's output, until EOF or a read error: emit
// gets every line without its newline, cut at MaxLineBytes (truncated = true), each a fresh
// copy. For Options.Channel consumers that hand (part of) stdout back to the log.
func ReadLines(r io.Reader, emit func(line []byte, truncated bool)) {
	ready := make(chan struct{})
	close(ready)
	readLines(r, ready, emit)
}

// outcome is how a run (or a failed spawn) ended, before the restart policy is applied.
type outcome struct {
	status        Status // Stopped or Crashed
	pid           int
	code          *int
	signal        string
	err           string
	ran           time.Duration
	stopRequested bool
}

func (s *Supervisor) startFailedLocked(srv *server, err error) {
	msg := "failed to start: " + err.Error()
	s.system(srv, levelError, msg, 0)
	s.log.Warn("failed to start", "server", srv.id, "err", err)
	srv.st.LastExit = &Exit{Time: s.clock.Now(), Error: err.Error()}
	s.finishLocked(srv, outcome{status: Crashed, err: msg})
}

func (s *Supervisor) exitLocked(srv *server, r *run, startErr error, ex exitStatus) {
	r.finished = true
	if r.grace != nil {
		if r.grace.Stop() {
			s.wg.Done()
		}
		r.grace = nil
	}
	if srv.run == r {
		srv.run = nil
	}
	srv.st.PID = 0
	srv.st.StartedAt = time.Time{}
	if startErr != nil {
		if r.stopRequested {
			srv.st.LastExit = &Exit{Time: s.clock.Now(), Error: startErr.Error()}
			s.finishLocked(srv, outcome{status: Stopped, stopRequested: true})
			return
		}
		s.startFailedLocked(srv, startErr)
		return
	}
	o := outcome{pid: r.pid, code: ex.code, signal: ex.signal, stopRequested: r.stopRequested}
	now := s.clock.Now()
	if !r.startedAt.IsZero() {
		o.ran = now.Sub(r.startedAt)
	}
	level := levelWarn
	var msg string
	switch {
	case ex.err != nil:
		msg, level = ex.err.Error(), levelError
	case ex.signal != "":
		msg = "killed by signal " + ex.signal
	case ex.code != nil && *ex.code == 0:
		msg, level = "exited with code 0", levelInfo
	case ex.code != nil:
		msg = fmt.Sprintf("exited with code %d", *ex.code)
	}
	o.status = Crashed
	o.err = msg
	if level == levelInfo {
		o.status, o.err = Stopped, ""
	}
	if r.stopRequested {
		o.status, o.err = Stopped, ""
		if level == levelWarn {
			level = levelInfo
		}
	}
	s.system(srv, level, msg, r.pid)
	s.log.Debug("exited", "server", srv.id, "pid", r.pid, "how", msg)
	srv.st.LastExit = &Exit{Code: ex.code, Signal: ex.signal, Time: now, Error: o.err}
	s.finishLocked(srv, o)
}

// finishLocked applies the outcome of a run: the exit transition, then the restart policy.
func (s *Supervisor) finishLocked(srv *server, o outcome) {
	pol := srv.def.Restart
	restart := false
	if !o.stopRequested && !s.closed && !srv.removing {
		switch pol.Policy {
		case registry.PolicyAlways:
			restart = true
		case registry.PolicyOnFailure:
			restart = o.status == Crashed
		}
	}
	if o.ran >= s.stableAfter {
		srv.st.RestartCount = 0
	}
	giveUp := restart && pol.MaxRetries >= 0 && srv.st.RestartCount >= pol.MaxRetries
	var gaveUp string
	if giveUp {
		gaveUp = fmt.Sprintf("gave up after %d restarts", srv.st.RestartCount)
		o.status = Crashed
		o.err = joinReason(o.err, gaveUp)
	}
	if o.status == Crashed {
		srv.st.Error = o.err
	}
	s.setStatus(srv, o.status, Event{PID: o.pid, ExitCode: o.code, Signal: o.signal, Error: o.err})
	switch {
	case giveUp:
		s.system(srv, levelError, gaveUp, 0)
		s.log.Warn("gave up", "server", srv.id, "restarts", srv.st.RestartCount)
	case restart:
		srv.st.RestartCount++
		srv.st.Restarts++
		n := srv.st.RestartCount
		delay := backoffDelay(pol.BackoffMs, n)
		of := ""
		if pol.MaxRetries >= 0 {
			of = fmt.Sprintf("/%d", pol.MaxRetries)
		}
		s.system(srv, levelInfo, fmt.Sprintf("restart %d%s in %d ms", n, of, delay.Milliseconds()), 0)
		s.scheduleBackoffLocked(srv, delay)
		s.setStatus(srv, Backoff, Event{})
	}
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// backoffDelay is backoffMs × 2^(retry-1), capped at MaxBackoff; backoffMs ≤ 0 means the default.
func backoffDelay(backoffMs, retry int) time.Duration {
	if backoffMs <= 0 {
		backoffMs = DefaultBackoffMs
	}
	d := time.Duration(backoffMs) * time.Millisecond
	for i := 1; i < retry && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

func (s *Supervisor) scheduleBackoffLocked(srv *server, delay time.Duration) {
	srv.backoffGen++
	gen := srv.backoffGen
	s.wg.Add(1)
	srv.backoff = s.clock.AfterFunc(delay, func() {
		defer s.wg.Done()
		s.backoffFired(srv, gen)
	})
}

func (s *Supervisor) backoffFired(srv *server, gen uint64) {
	s.mu.Lock()
	if s.closed || srv.removing || srv.backoffGen != gen || srv.backoff == nil || srv.st.Status != Backoff {
		s.mu.Unlock()
		return
	}
	srv.backoff = nil
	_ = s.spawnLocked(srv) // a failure is reported as a crash and handled by the policy
	s.mu.Unlock()
	s.flush()
}

func (s *Supervisor) cancelBackoffLocked(srv *server) {
	if srv.backoff == nil {
		return
	}
	if srv.backoff.Stop() {
		s.wg.Done() // the callback will not run
	}
	srv.backoff = nil
	srv.backoffGen++
}

func (s *Supervisor) stop(ctx context.Context, srv *server) error {
	s.mu.Lock()
	done := s.stopLocked(srv)
	s.mu.Unlock()
	s.flush()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %q: %w", srv.id, ctx.Err())
	}
}

// stopLocked begins stopping srv and returns what to wait for (nil: nothing).
func (s *Supervisor) stopLocked(srv *server) chan struct{} {
	switch srv.st.Status {
	case Backoff:
		s.cancelBackoffLocked(srv)
		s.setStatus(srv, Stopped, Event{})
		return nil
	case Starting, Running:
		r := srv.run
		r.stopRequested = true
		s.setStatus(srv, Stopping, Event{PID: r.pid})
		s.system(srv, levelInfo, "stopping (SIGTERM)", r.pid)
		if r.pid > 0 {
			s.signalLocked(srv, r)
		}
		return r.done
	case Stopping:
		return srv.run.done
	}
	return nil
}

// signalLocked sends SIGTERM to the run's group and arms the SIGKILL after the grace period.
func (s *Supervisor) signalLocked(srv *server, r *run) {
	if err := r.proc.terminate(); err != nil {
		s.log.Warn("terminate", "server", srv.id, "pid", r.pid, "err", err)
	}
	s.wg.Add(1)
	r.grace = s.clock.AfterFunc(s.stopGrace, func() {
		defer s.wg.Done()
		s.graceExpired(srv, r)
	})
}

func (s *Supervisor) graceExpired(srv *server, r *run) {
	s.mu.Lock()
	if r.finished || r.grace == nil {
		s.mu.Unlock()
		return
	}
	r.grace = nil
	s.system(srv, levelWarn, fmt.Sprintf("did not stop within %s, sending SIGKILL", s.stopGrace), r.pid)
	if err := r.proc.kill(); err != nil {
		s.log.Warn("kill", "server", srv.id, "pid", r.pid, "err", err)
	}
	s.mu.Unlock()
	s.flush()
}

// setStatus records a transition and queues its event.
func (s *Supervisor) setStatus(srv *server, to Status, ev Event) {
	ev.ServerID = srv.id
	ev.Previous = srv.st.Status
	ev.Status = to
	ev.RestartCount = srv.st.RestartCount
	ev.Time = s.clock.Now()
	srv.st.Status = to
	s.pending = append(s.pending, emission{ev: &ev})
}

// system queues a system line.
func (s *Supervisor) system(srv *server, level, msg string, pid int) {
	s.pending = append(s.pending, emission{id: srv.id, level: level, msg: msg, pid: pid})
}

// flush delivers the queued sink calls, in order, without holding mu.
func (s *Supervisor) flush() {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	for {
		s.mu.Lock()
		batch := s.pending
		s.pending = nil
		s.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, e := range batch {
			if e.ev != nil {
				s.sink.Status(*e.ev)
			} else {
				s.sink.System(e.id, e.level, e.msg, e.pid)
			}
		}
	}
}

func cloneDef(d registry.ServerDef) registry.ServerDef {
	d.Args = slices.Clone(d.Args)
	d.Env = maps.Clone(d.Env)
	d.Tags = slices.Clone(d.Tags)
	return d
}

type nopSink struct{}

func (nopSink) Line(string, string, []byte, bool, int) {}
func (nopSink) System(string, string, string, int)     {}
func (nopSink) Status(Event)                           {}
