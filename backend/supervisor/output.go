package supervisor

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLineBytes is the longest line handed to Sink.Line; the rest of a longer line is discarded
// up to its newline and the line is marked truncated.
const MaxLineBytes = 64 << 10

// readLines reads r line by line until EOF or a read error and calls emit for every line, in
// order: without its '\n' and a trailing '\r', cut at MaxLineBytes (truncated = true), and a
// final line without a newline delivered at EOF. Each slice passed to emit is a fresh copy.
// ready is waited for once, before the first line is delivered (the pid of the child is known
// then); reading itself never waits for anything but r and emit.
func readLines(r io.Reader, ready <-chan struct{}, emit func(line []byte, truncated bool)) {
	// Room for a full-length line and its "\r\n".
	br := bufio.NewReaderSize(r, MaxLineBytes+2)
	waited := false
	deliver := func(line []byte, truncated bool) {
		if !waited {
			<-ready
			waited = true
		}
		emit(bytes.Clone(line), truncated)
	}
	discarding := false // inside the rest of an over-long line
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case err == nil: // a whole line (or the end of an over-long one)
			if discarding {
				discarding = false
				continue
			}
			line := bytes.TrimSuffix(chunk[:len(chunk)-1], []byte{'\r'})
			if len(line) > MaxLineBytes {
				deliver(line[:MaxLineBytes], true)
				continue
			}
			deliver(line, false)
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			if !discarding {
				deliver(chunk[:MaxLineBytes], true)
				discarding = true
			}
			continue
		}
		// EOF or a read error (the pipe was closed or its drain deadline passed).
		if line := bytes.TrimSuffix(chunk, []byte{'\r'}); len(chunk) > 0 && !discarding {
			deliver(line[:min(len(line), MaxLineBytes)], len(line) > MaxLineBytes)
		}
		return
	}
}
