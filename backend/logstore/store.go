package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sentinel errors.
var (
	ErrNoDir           = errors.New("logstore: no data directory")
	ErrClosed          = errors.New("logstore: store closed")
	ErrInvalidServerID = errors.New("logstore: invalid server id")
	ErrDisk            = errors.New("logstore: cannot write log file")
	ErrBadPattern      = errors.New("logstore: bad regular expression")
	errNoSeq           = errors.New("logstore: entry without seq")
)

// Defaults of Options.
const (
	DefaultRingSize      = 10000
	DefaultRingBytes     = 64 << 20
	DefaultMaxFileBytes  = 10 << 20
	DefaultMaxFiles      = 5
	DefaultFlushInterval = 100 * time.Millisecond

	// flushAt is the buffered size at which Append writes at once instead of waiting for the
	// next periodic flush.
	flushAt = 64 << 10
)

// Options configure a Store. Zero values take the defaults.
type Options struct {
	Dir           string        // data dir; files under Dir/logs/<serverId>/
	RingSize      int           // entries kept in memory per server; default 10000
	RingBytes     int64         // bytes kept in memory per server at most; default 64 MiB
	MaxFileBytes  int64         // rotate current.ndjson when it would grow past this; default 10 MiB
	MaxFiles      int           // files kept per server, the current one included; default 5
	FlushInterval time.Duration // default 100ms
	Now           func() time.Time
	Logger        *slog.Logger

	openFile fileOpener // tests inject failing writers; default openAppend
}

type listener struct {
	fn func(serverID string, e *Entry)
}

// Store keeps the log entries of every server: rings in memory, NDJSON files on disk.
type Store struct {
	opts   Options
	logDir string
	open   fileOpener
	log    *slog.Logger

	mu      sync.RWMutex
	servers map[string]*server

	listenMu  sync.Mutex
	listeners atomic.Pointer[[]*listener]

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	quit      chan struct{}
	done      chan struct{}
}

// server is the state of one server's log; mu orders its entries.
type server struct {
	id string
	mu sync.Mutex

	loaded bool
	dead   bool // forgotten: callers holding this pointer look it up again
	sealed bool // the store is closed: nothing more goes to disk
	seq    uint64
	ring   ring

	dir     string
	f       logFile
	size    int64  // bytes in the current file
	buf     []byte // encoded lines not yet written
	partial bool   // the current file may end in the middle of a line

	diskErr error
	warned  bool
	lost    uint64 // entries that could not be written to disk
}

// Open makes a store. It does not fail when the directory cannot be written: live entries flow
// on and DiskError reports the problem per server.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, ErrNoDir
	}
	if opts.RingSize <= 0 {
		opts.RingSize = DefaultRingSize
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = DefaultRingBytes
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.openFile == nil {
		opts.openFile = openAppend
	}
	s := &Store{
		opts:    opts,
		logDir:  filepath.Join(opts.Dir, "logs"),
		open:    opts.openFile,
		log:     opts.Logger,
		servers: make(map[string]*server),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.flushLoop()
	return s, nil
}

// Close writes every buffered entry, closes the files and stops the flushing goroutine. It is
// idempotent. Appends after Close still reach the rings and the listeners, not the disk.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true) // servers made from now on are sealed at once
		s.mu.Unlock()
		close(s.quit)
		<-s.done
		var errs []error
		for _, sv := range s.snapshot() {
			sv.mu.Lock()
			if !sv.sealed {
				if err := s.flushLocked(sv); err != nil {
					errs = append(errs, err)
				}
				if err := sv.closeFile(); err != nil {
					errs = append(errs, fmt.Errorf("logstore: close %s: %w", sv.id, err))
				}
				sv.sealed = true
				if sv.diskErr == nil {
					sv.diskErr = ErrClosed
				}
			}
			sv.mu.Unlock()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Store) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			for _, sv := range s.snapshot() {
				sv.mu.Lock()
				if len(sv.buf) > 0 && !sv.dead {
					_ = s.flushLocked(sv) // reported through DiskError and one warning
				}
				sv.mu.Unlock()
			}
		}
	}
}

func (s *Store) snapshot() []*server {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*server, 0, len(s.servers))
	for _, sv := range s.servers {
		out = append(out, sv)
	}
	return out
}

// lock returns the server's state, created and loaded if needed, with its mutex held.
func (s *Store) lock(id string) *server {
	for {
		s.mu.RLock()
		sv := s.servers[id]
		s.mu.RUnlock()
		if sv == nil {
			s.mu.Lock()
			if sv = s.servers[id]; sv == nil {
				sv = &server{id: id, ring: newRing(s.opts.RingSize, s.opts.RingBytes)}
				if s.closed.Load() {
					sv.sealed, sv.diskErr, sv.warned = true, ErrClosed, true
				}
				s.servers[id] = sv
			}
			s.mu.Unlock()
		}
		sv.mu.Lock()
		if sv.dead {
			sv.mu.Unlock()
			continue
		}
		if !sv.loaded {
			s.load(sv)
		}
		return sv
	}
}

// lookup returns the server's state if it is in memory, with its mutex held.
func (s *Store) lookup(id string) *server {
	for {
		s.mu.RLock()
		sv := s.servers[id]
		s.mu.RUnlock()
		if sv == nil {
			return nil
		}
		sv.mu.Lock()
		if !sv.dead {
			return sv
		}
		sv.mu.Unlock()
	}
}

// load reads the last seq from the tail of the server's newest file.
func (s *Store) load(sv *server) {
	sv.loaded = true
	if !validID(sv.id) {
		s.setDiskErr(sv, fmt.Errorf("%w %q", ErrInvalidServerID, sv.id))
		return
	}
	sv.dir = filepath.Join(s.logDir, sv.id)
	seq, clean, err := lastSeqInDir(sv.dir)
	if err != nil {
		s.setDiskErr(sv, fmt.Errorf("%w: %s: %w", ErrDisk, sv.dir, err))
	}
	sv.seq = seq
	sv.partial = !clean
}

// validID accepts ids that are safe as a directory name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Append stores one output line of a server and hands it to every listener. line may be reused
// by the caller afterwards. The returned entry is shared with the ring and listeners: read only.
func (s *Store) Append(serverID string, stream Stream, line []byte, truncated bool, pid int) Entry {
	sv := s.lock(serverID)
	defer sv.mu.Unlock()
	e := buildEntry(stream, line, truncated, pid, sv.seq+1, s.opts.Now(), Info, true)
	s.commitLocked(sv, e)
	return *e
}

// AppendSystem stores a line written by the monitor itself (stream system) at the given level.
func (s *Store) AppendSystem(serverID string, level Level, message string, pid int) Entry {
	sv := s.lock(serverID)
	defer sv.mu.Unlock()
	if level > Error {
		level = Error
	}
	e := buildEntry(System, []byte(message), false, pid, sv.seq+1, s.opts.Now(), level, false)
	s.commitLocked(sv, e)
	return *e
}

// AppendEntry stores a line the monitor produced itself on any stream (mcp, protocol, system)
// at the given level, with optional fields (metadata.fields; kept, not copied: do not modify
// them afterwards). The message is sanitized and cut like an output line.
func (s *Store) AppendEntry(serverID string, stream Stream, level Level, message string, pid int, fields map[string]any) Entry {
	sv := s.lock(serverID)
	defer sv.mu.Unlock()
	if level > Error {
		level = Error
	}
	e := buildEntry(stream, []byte(message), false, pid, sv.seq+1, s.opts.Now(), level, false)
	if len(fields) > 0 {
		e.Fields = fields
		e.JSON = appendEntryJSON(e.JSON[:0], e, nil)
	}
	s.commitLocked(sv, e)
	return *e
}

func (s *Store) commitLocked(sv *server, e *Entry) {
	sv.seq = e.Seq
	sv.ring.push(e)
	if sv.sealed || sv.dir == "" {
		sv.lost++
	} else {
		sv.buf = append(sv.buf, e.JSON...)
		sv.buf = append(sv.buf, '\n')
		if len(sv.buf) >= flushAt {
			_ = s.flushLocked(sv) // reported through DiskError and one warning
		}
	}
	if ls := s.listeners.Load(); ls != nil {
		for _, l := range *ls {
			l.fn(sv.id, e)
		}
	}
}

// AddListener registers fn to be called with every new entry, synchronously, in seq order per
// server, while that server's lock is held: fn must not block and must not call back into the
// store for the same server. *e is never modified afterwards and may be kept.
func (s *Store) AddListener(fn func(serverID string, e *Entry)) (remove func()) {
	l := &listener{fn: fn}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	var cur []*listener
	if p := s.listeners.Load(); p != nil {
		cur = *p
	}
	next := append(slices.Clip(cur), l)
	s.listeners.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.listenMu.Lock()
			defer s.listenMu.Unlock()
			cur := *s.listeners.Load()
			next := make([]*listener, 0, len(cur))
			for _, x := range cur {
				if x != l {
					next = append(next, x)
				}
			}
			s.listeners.Store(&next)
		})
	}
}

// LastSeq is the seq of the server's newest entry (0 when it has none), also after a restart.
func (s *Store) LastSeq(serverID string) uint64 {
	sv := s.lock(serverID)
	defer sv.mu.Unlock()
	return sv.seq
}

// Tail returns the last n entries at or above min still in memory, oldest first.
func (s *Store) Tail(serverID string, n int, min Level) []Entry {
	if n <= 0 {
		return nil
	}
	sv := s.lookup(serverID)
	if sv == nil {
		return nil
	}
	defer sv.mu.Unlock()
	var out []Entry
	for i := sv.ring.len() - 1; i >= 0 && len(out) < n; i-- {
		if e := sv.ring.at(i); e.Level >= min {
			out = append(out, *e)
		}
	}
	slices.Reverse(out)
	return out
}

// ReplayJSON returns the entry's logData with "replay":true added to its metadata.
func (s *Store) ReplayJSON(e *Entry) []byte {
	j := e.JSON
	if len(j) == 0 {
		j = appendEntryJSON(nil, e, nil)
	}
	return replayJSON(j)
}

// DiskError is the error that keeps the server's entries from reaching the disk; nil when the
// last write succeeded.
func (s *Store) DiskError(serverID string) error {
	sv := s.lookup(serverID)
	if sv == nil {
		return nil
	}
	defer sv.mu.Unlock()
	return sv.diskErr
}

// DiskDropped counts the server's entries that could not be written to disk (they stayed in
// memory and reached the listeners).
func (s *Store) DiskDropped(serverID string) uint64 {
	sv := s.lookup(serverID)
	if sv == nil {
		return 0
	}
	defer sv.mu.Unlock()
	return sv.lost
}

// Servers lists the ids that have logs on disk or in memory, sorted.
func (s *Store) Servers() []string {
	ids := map[string]bool{}
	s.mu.RLock()
	for id := range s.servers {
		ids[id] = true
	}
	s.mu.RUnlock()
	if des, err := os.ReadDir(s.logDir); err == nil {
		for _, de := range des {
			if de.IsDir() && validID(de.Name()) {
				if idx, err := logFiles(filepath.Join(s.logDir, de.Name())); err == nil && len(idx) > 0 {
					ids[de.Name()] = true
				}
			}
		}
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Forget drops the server's state from memory (its seq is read back from disk when it is next
// used) and, with removeFiles, deletes its log files too.
func (s *Store) Forget(serverID string, removeFiles bool) error {
	var errs []error
	s.mu.Lock()
	sv := s.servers[serverID]
	delete(s.servers, serverID)
	s.mu.Unlock()
	if sv != nil {
		sv.mu.Lock()
		if !removeFiles {
			if err := s.flushLocked(sv); err != nil {
				errs = append(errs, err)
			}
		}
		if err := sv.closeFile(); err != nil {
			errs = append(errs, err)
		}
		sv.dead = true
		sv.mu.Unlock()
	}
	if removeFiles && !validID(serverID) {
		errs = append(errs, fmt.Errorf("%w %q", ErrInvalidServerID, serverID))
	} else if removeFiles {
		if err := os.RemoveAll(filepath.Join(s.logDir, serverID)); err != nil {
			errs = append(errs, fmt.Errorf("logstore: remove logs of %s: %w", serverID, err))
		}
	}
	return errors.Join(errs...)
}

func (sv *server) closeFile() error {
	if sv.f == nil {
		return nil
	}
	f := sv.f
	sv.f = nil
	if sy, ok := f.(interface{ Sync() error }); ok {
		_ = sy.Sync()
	}
	return f.Close()
}

// flushLocked writes the server's buffered lines, rotating as needed. On failure the buffered
// lines are dropped from disk (counted in lost) and the error is remembered and logged once.
func (s *Store) flushLocked(sv *server) error {
	if len(sv.buf) == 0 {
		return nil
	}
	if sv.dir == "" || sv.sealed { // invalid id, or the store is closed
		sv.lost += uint64(bytes.Count(sv.buf, []byte{'\n'}))
		sv.buf = sv.buf[:0]
		return sv.diskErr
	}
	unwritten, err := s.writeLocked(sv, sv.buf)
	if err != nil {
		sv.lost += uint64(bytes.Count(unwritten, []byte{'\n'}))
		s.setDiskErr(sv, err)
	} else if sv.diskErr != nil {
		s.log.Info("logstore: writing log file again", "server", sv.id, "lost", sv.lost)
		sv.diskErr, sv.warned = nil, false
	}
	sv.buf = sv.buf[:0]
	if cap(sv.buf) > 4*flushAt {
		sv.buf = nil // do not keep a burst's buffer forever
	}
	return err
}

func (s *Store) setDiskErr(sv *server, err error) {
	sv.diskErr = err
	if !sv.warned {
		sv.warned = true
		s.log.Warn("logstore: log entries are not written to disk", "server", sv.id, "error", err)
	}
}

// writeLocked writes data (whole lines) to the current file, line-aligned, rotating when a file
// would grow past MaxFileBytes. On error it returns what was not written.
func (s *Store) writeLocked(sv *server, data []byte) ([]byte, error) {
	for len(data) > 0 {
		if sv.f == nil {
			if err := os.MkdirAll(sv.dir, dirPerm); err != nil {
				return data, fmt.Errorf("%w: %w", ErrDisk, err)
			}
			f, size, err := s.open(filepath.Join(sv.dir, currentName))
			if err != nil {
				return data, fmt.Errorf("%w: %w", ErrDisk, err)
			}
			sv.f, sv.size = f, size
		}
		if sv.partial {
			// a failed write left half a line: end it so the next entry starts on its own line
			if _, err := sv.f.Write([]byte{'\n'}); err != nil {
				sv.closeFile()
				return data, fmt.Errorf("%w: %w", ErrDisk, err)
			}
			sv.partial = false
			sv.size++
		}
		room := s.opts.MaxFileBytes - sv.size
		chunk := data
		if int64(len(chunk)) > room {
			i := -1
			if room > 0 {
				i = bytes.LastIndexByte(data[:room], '\n')
			}
			switch {
			case i >= 0:
				chunk = data[:i+1]
			case sv.size > 0:
				if err := s.rotateLocked(sv); err != nil {
					return data, err
				}
				continue
			default: // one line longer than a whole file
				chunk = data[:bytes.IndexByte(data, '\n')+1]
			}
		}
		n, err := sv.f.Write(chunk)
		sv.size += int64(n)
		if err != nil {
			sv.partial = n > 0 && chunk[n-1] != '\n'
			sv.closeFile()
			// what was written stays on disk; the rest is lost
			return data[n:], fmt.Errorf("%w: %w", ErrDisk, err)
		}
		data = data[len(chunk):]
		if sv.size >= s.opts.MaxFileBytes {
			if err := s.rotateLocked(sv); err != nil {
				return data, err
			}
		}
	}
	return nil, nil
}

// rotateLocked closes current.ndjson and shifts the files: current → current.1 → current.2 …,
// deleting those beyond MaxFiles.
func (s *Store) rotateLocked(sv *server) error {
	if err := sv.closeFile(); err != nil {
		return fmt.Errorf("%w: close: %w", ErrDisk, err)
	}
	idx, err := logFiles(sv.dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDisk, err)
	}
	for _, i := range idx { // oldest first
		from := filepath.Join(sv.dir, rotatedName(i))
		if i+1 >= s.opts.MaxFiles {
			if err := os.Remove(from); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %w", ErrDisk, err)
			}
			continue
		}
		if err := os.Rename(from, filepath.Join(sv.dir, rotatedName(i+1))); err != nil {
			return fmt.Errorf("%w: %w", ErrDisk, err)
		}
	}
	sv.size, sv.partial = 0, false
	return nil
}
