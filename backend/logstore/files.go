package logstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	currentName = "current.ndjson"
	dirPerm     = 0o700
	filePerm    = 0o600
)

// logFile is what the store writes a server's NDJSON through; tests inject one that fails.
type logFile interface {
	io.Writer
	Close() error
}

// fileOpener opens name for appending (creating it with filePerm) and reports its size.
type fileOpener func(name string) (f logFile, size int64, err error)

func openAppend(name string) (logFile, int64, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, filePerm)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// rotatedName is the name of the i-th file: 0 is the current one, 1 the newest rotated one.
func rotatedName(i int) string {
	if i == 0 {
		return currentName
	}
	return "current." + strconv.Itoa(i) + ".ndjson"
}

// parseRotated returns the index of a log file name, or false for other files.
func parseRotated(name string) (int, bool) {
	if name == currentName {
		return 0, true
	}
	mid, ok := strings.CutPrefix(name, "current.")
	if !ok {
		return 0, false
	}
	mid, ok = strings.CutSuffix(mid, ".ndjson")
	if !ok || !allDigits([]byte(mid)) || len(mid) > 6 || mid[0] == '0' {
		return 0, false
	}
	i, err := strconv.Atoi(mid)
	return i, err == nil && i > 0
}

// logFiles lists the indexes of the log files in dir, oldest first (highest index first).
func logFiles(dir string) ([]int, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		if i, ok := parseRotated(de.Name()); ok {
			idx = append(idx, i)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(idx)))
	return idx, nil
}

// tailWindow is how much of a file's end is read first to find its last entry; it grows up to
// tailMax when the lines there are longer or corrupt.
const (
	tailWindow = 16 << 10
	tailMax    = 4 << 20
)

// lastSeqInFile reads the seq of the last valid entry of a file, reading only its end. endsClean
// reports whether the file is empty or ends with '\n'.
func lastSeqInFile(name string) (seq uint64, endsClean bool, err error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	size := st.Size()
	if size == 0 {
		return 0, true, nil
	}
	for window := int64(tailWindow); ; window *= 4 {
		off := max(size-window, 0)
		buf := make([]byte, size-off)
		if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
			return 0, false, err
		}
		endsClean = buf[len(buf)-1] == '\n'
		lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte{'\n'})
		first := 0
		if off > 0 {
			first = 1 // the first piece may be the end of a longer line
		}
		for i := len(lines) - 1; i >= first; i-- {
			if s, ok := seqOfLine(lines[i]); ok {
				return s, endsClean, nil
			}
		}
		if off == 0 || window >= tailMax {
			return 0, endsClean, nil
		}
	}
}

func seqOfLine(line []byte) (uint64, bool) {
	var d struct {
		Metadata struct {
			Seq uint64 `json:"seq"`
		} `json:"metadata"`
	}
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &d) != nil || d.Metadata.Seq == 0 {
		return 0, false
	}
	return d.Metadata.Seq, true
}

// lastSeqInDir finds the last seq written in dir, newest file first.
func lastSeqInDir(dir string) (seq uint64, currentClean bool, err error) {
	idx, err := logFiles(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, err
	}
	currentClean = true
	for k := len(idx) - 1; k >= 0; k-- { // newest first
		s, clean, err := lastSeqInFile(filepath.Join(dir, rotatedName(idx[k])))
		if idx[k] == 0 {
			currentClean = clean
		}
		if err != nil {
			return 0, currentClean, fmt.Errorf("read last seq: %w", err)
		}
		if s > 0 {
			return s, currentClean, nil
		}
	}
	return 0, currentClean, nil
}

// lineReader reads lines of at most max bytes; longer lines are skipped whole.
type lineReader struct {
	r    io.Reader
	buf  []byte
	line []byte
	max  int
	off  int // start of unread data in buf
	end  int // end of data in buf
	eof  bool
	err  error
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: r, buf: make([]byte, 64<<10), max: max}
}

// next returns the next complete line (without '\n'), valid until the following call. A last
// line without '\n' is returned as well (it is skipped later if it does not parse).
func (lr *lineReader) next() ([]byte, bool) {
	skipping := false
	for {
		if i := bytes.IndexByte(lr.buf[lr.off:lr.end], '\n'); i >= 0 {
			line := lr.buf[lr.off : lr.off+i]
			lr.off += i + 1
			if skipping {
				skipping = false
				continue
			}
			return line, true
		}
		if lr.eof {
			if lr.off < lr.end && !skipping {
				line := lr.buf[lr.off:lr.end]
				lr.off = lr.end
				return line, true
			}
			return nil, false
		}
		// need more data: compact, grow or skip
		if lr.off > 0 {
			copy(lr.buf, lr.buf[lr.off:lr.end])
			lr.end -= lr.off
			lr.off = 0
		}
		if lr.end == len(lr.buf) {
			if len(lr.buf) >= lr.max {
				skipping = true // a line longer than max: drop what we have of it
				lr.end = 0
			} else {
				nb := make([]byte, min(2*len(lr.buf), lr.max))
				copy(nb, lr.buf[:lr.end])
				lr.buf = nb
			}
		}
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		if err != nil {
			if !errors.Is(err, io.EOF) {
				lr.err = err
			}
			lr.eof = true
		}
	}
}
