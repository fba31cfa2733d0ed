//go:build !linux

package sampler

import (
	"io"
	"os"
)

// fileReader reads the files of a proc tree (a fixture tree on systems without /proc) into a
// reused buffer.
type fileReader struct {
	buf []byte
}

func newFileReader(string) *fileReader { return &fileReader{buf: make([]byte, 8<<10)} }

// readFile reads the whole file at path (NUL-terminated) into r.buf.
func (r *fileReader) readFile(path []byte) ([]byte, error) {
	f, err := os.Open(string(path[:len(path)-1]))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := 0
	for {
		m, err := f.Read(r.buf[n:])
		n += m
		if err == io.EOF {
			return r.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
	}
}

// dirInts appends every entry of the directory at path (NUL-terminated) whose name is a decimal
// number to dst; other entries are counted in other.
func (r *fileReader) dirInts(path []byte, dst []int) (ints []int, other int, err error) {
	entries, err := os.ReadDir(string(path[:len(path)-1]))
	if err != nil {
		return dst, 0, err
	}
	for _, e := range entries {
		if v, ok := parseUint([]byte(e.Name())); ok {
			dst = append(dst, int(v))
		} else {
			other++
		}
	}
	return dst, other, nil
}

// fileKey names a file within one pid (the Linux reader keeps such files open).
type fileKey struct {
	tid  int
	elem string
}

func (r *fileReader) readCached(_ int, _ fileKey, path []byte) ([]byte, error) {
	return r.readFile(path)
}

func (r *fileReader) dirCached(_ int, _ fileKey, path []byte, dst []int) ([]int, int, error) {
	return r.dirInts(path, dst)
}

func (r *fileReader) forget(int) {}

func (r *fileReader) countCached(_ int, _ fileKey, path []byte) (int, error) {
	ints, other, err := r.dirInts(path, nil)
	return len(ints) + other, err
}
