//go:build linux

package sampler

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// fileReader reads small kernel files and directories into reused buffers with raw system
// calls: one openat, one read (a second only when the buffer was too small) and one close per
// file, and no allocation. os.Open would allocate a *File, register a cleanup and try to add the
// descriptor to the poller, which roughly doubles the cost of reading a /proc file.
type fileReader struct {
	buf  []byte // file contents; valid until the next read
	dent []byte // getdents64 buffer
	// procfs: root is a real proc file system, whose directories return every entry that fits
	// in one getdents64 call, so a call that leaves room for another entry is the last.
	procfs bool

	// fds keeps a descriptor open per file read through readCached and dirCached (real proc
	// file systems only), by pid, so that the next round re-reads it with one pread (a
	// directory: lseek and getdents64) instead of openat, read and close: about a fifth of the
	// cost. A descriptor of /proc/<pid>/... belongs to that process, not to the number: once the
	// process is gone every read of it fails (ESRCH), so a reused pid is never read through an
	// old descriptor; the failed descriptor is closed and the path opened again.
	fds    *fdCache
	maxFDs int // descriptors kept at most; files past it are opened and closed as before

	scratch []int
}

// fileKey names a cached file within one pid: a thread (0: none) and the element.
type fileKey struct {
	tid  int
	elem string
}

// fdCache is the open descriptors by pid (-1: the machine's files) and file.
type fdCache struct {
	byPID map[int]map[fileKey]int
	n     int
}

func (c *fdCache) closeAll() {
	for _, m := range c.byPID {
		for _, fd := range m {
			syscall.Close(fd)
		}
	}
	clear(c.byPID)
	c.n = 0
}

// procSuperMagic is PROC_SUPER_MAGIC, the f_type of a proc file system.
const procSuperMagic = 0x9fa0

// maxDirent is the largest linux_dirent64: 19 bytes of header, a 255-byte name, its NUL,
// 8-byte alignment.
const maxDirent = 280

func newFileReader(root string) *fileReader {
	r := &fileReader{buf: make([]byte, 8<<10), dent: make([]byte, 8<<10)}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(root, &fs); err == nil && fs.Type == procSuperMagic {
		r.procfs = true
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
			// a quarter of the limit (Go raises the soft limit to the hard one at start), so the
			// monitor's own sockets, pipes and log files always have room
			r.maxFDs = int(min(lim.Cur/4, maxCachedFDs))
		}
		if r.maxFDs > 0 {
			r.fds = &fdCache{byPID: make(map[int]map[fileKey]int)}
			// the descriptors go with the reader (a Sampler has no Close)
			runtime.AddCleanup(r, (*fdCache).closeAll, r.fds)
		}
	}
	return r
}

// maxCachedFDs bounds the descriptors one reader keeps: 500 processes of 10 threads each.
const maxCachedFDs = 8192

// cached returns the open descriptor of (pid, k), or -1.
func (r *fileReader) cached(pid int, k fileKey) int {
	if m := r.fds.byPID[pid]; m != nil {
		if fd, ok := m[k]; ok {
			return fd
		}
	}
	return -1
}

// keep caches fd as (pid, k) and reports whether it did (false: the cache is full).
func (r *fileReader) keep(pid int, k fileKey, fd int) bool {
	if r.fds.n >= r.maxFDs {
		return false
	}
	m := r.fds.byPID[pid]
	if m == nil {
		m = make(map[fileKey]int)
		r.fds.byPID[pid] = m
	}
	m[k] = fd
	r.fds.n++
	return true
}

// uncache closes and forgets the descriptor of (pid, k).
func (r *fileReader) uncache(pid int, k fileKey, fd int) {
	syscall.Close(fd)
	delete(r.fds.byPID[pid], k)
	r.fds.n--
}

// forget closes every descriptor kept for pid.
func (r *fileReader) forget(pid int) {
	if r.fds == nil {
		return
	}
	for _, fd := range r.fds.byPID[pid] {
		syscall.Close(fd)
		r.fds.n--
	}
	delete(r.fds.byPID, pid)
}

// readCached is readFile of path, the file k of pid, through a kept descriptor.
func (r *fileReader) readCached(pid int, k fileKey, path []byte) ([]byte, error) {
	if r.fds == nil {
		return r.readFile(path)
	}
	if fd := r.cached(pid, k); fd >= 0 {
		b, err := r.pread(fd)
		if err == nil {
			return b, nil
		}
		r.uncache(pid, k, fd) // the process or thread is gone: try the path (a new process?)
	}
	fd, err := openPath(path, 0)
	if err != nil {
		return nil, err
	}
	b, err := r.pread(fd)
	if err != nil || !r.keep(pid, k, fd) {
		syscall.Close(fd)
	}
	return b, err
}

// pread reads the whole file of fd from offset 0 into r.buf. A proc file is generated afresh by
// a read at offset 0, and comes whole when the buffer is large enough.
func (r *fileReader) pread(fd int) ([]byte, error) {
	for {
		n, err := syscall.Pread(fd, r.buf, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n < len(r.buf) {
			return r.buf[:n], nil
		}
		r.buf = append(r.buf, make([]byte, len(r.buf))...)
	}
}

// dirCached is dirInts of path, the directory k of pid, through a kept descriptor.
func (r *fileReader) dirCached(pid int, k fileKey, path []byte, dst []int) (ints []int, other int, err error) {
	if r.fds == nil {
		return r.dirInts(path, dst)
	}
	if fd := r.cached(pid, k); fd >= 0 {
		if _, err := syscall.Seek(fd, 0, 0); err == nil {
			ints, other, err := r.getdents(fd, dst)
			if err == nil {
				return ints, other, nil
			}
		}
		r.uncache(pid, k, fd)
	}
	fd, err := openPath(path, syscall.O_DIRECTORY)
	if err != nil {
		return dst, 0, err
	}
	ints, other, err = r.getdents(fd, dst)
	if err != nil || !r.keep(pid, k, fd) {
		syscall.Close(fd)
	}
	return ints, other, err
}

const atFDCWD = -100 // AT_FDCWD

// open opens path, which must end in a NUL byte.
func openPath(path []byte, flags int) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, fmt.Errorf("open %q: path not NUL-terminated: %w", path, syscall.EINVAL)
	}
	dirfd := atFDCWD
	for {
		fd, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, uintptr(dirfd),
			uintptr(unsafe.Pointer(&path[0])), uintptr(flags|syscall.O_RDONLY|syscall.O_CLOEXEC), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
}

// readFile reads the whole file at path (NUL-terminated) into r.buf.
func (r *fileReader) readFile(path []byte) ([]byte, error) {
	fd, err := openPath(path, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	n := 0
	for {
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || n < len(r.buf) {
			// A /proc file's contents come in one read when the buffer is large enough, so
			// a short read is the end; a full buffer is grown and read on.
			return r.buf[:n], nil
		}
		r.buf = append(r.buf, make([]byte, len(r.buf))...)
	}
}

// dirInts calls getdents64 on path (NUL-terminated) and appends every entry whose name is a
// decimal number to dst; other entries are counted in other ("." and ".." excluded).
func (r *fileReader) dirInts(path []byte, dst []int) (ints []int, other int, err error) {
	fd, err := openPath(path, syscall.O_DIRECTORY)
	if err != nil {
		return dst, 0, err
	}
	defer syscall.Close(fd)
	return r.getdents(fd, dst)
}

// getdents reads the directory fd from its current offset to the end; see dirInts.
func (r *fileReader) getdents(fd int, dst []int) (ints []int, other int, err error) {
	for {
		n, err := syscall.Getdents(fd, r.dent)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return dst, other, err
		}
		if n <= 0 {
			return dst, other, nil
		}
		b := r.dent[:n]
		for len(b) >= 19 {
			reclen := int(b[16]) | int(b[17])<<8 // struct linux_dirent64: d_reclen at offset 16
			if reclen < 19 || reclen > len(b) {
				return dst, other, errors.New("getdents64: bad record length")
			}
			name := b[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			b = b[reclen:]
			if v, ok := parseUint(name); ok {
				dst = append(dst, int(v))
			} else if string(name) != "." && string(name) != ".." {
				other++
			}
		}
		if r.procfs && n < len(r.dent)-maxDirent {
			return dst, other, nil // saves the getdents64 call that would return 0
		}
	}
}

// countCached counts the entries of the directory k of pid at path (NUL-terminated), "." and
// ".." excluded, through a kept descriptor. Since Linux 6.2 the size of /proc/<pid>/fd is the
// number of open descriptors, so one fstat answers; a size of 0 (older kernels, other
// directories) is checked by listing.
func (r *fileReader) countCached(pid int, k fileKey, path []byte) (int, error) {
	if r.fds != nil {
		fd := r.cached(pid, k)
		if fd < 0 {
			var err error
			if fd, err = openPath(path, syscall.O_DIRECTORY); err != nil {
				return 0, err
			}
			if !r.keep(pid, k, fd) {
				defer syscall.Close(fd)
			}
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err == nil && st.Size > 0 {
			return int(st.Size), nil
		}
	}
	ints, other, err := r.dirCached(pid, k, path, r.scratch[:0])
	r.scratch = ints
	return len(ints) + other, err
}
