//go:build linux

package sampler

import (
	"errors"
	"fmt"
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
	}
	return r
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
