package mcpclient

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// Modes of a stdio child's stdout.
const (
	modeDetect = iota // nothing seen yet
	modeMCP           // JSON-RPC lines go to the session, other lines to the log
	modeLogs          // everything goes to the log (not MCP, or the handshake failed)
)

// pump owns a stdio child's stdout: it forwards JSON-RPC lines to the SDK (through a pipe it
// closes when stdout ends) and hands every other line to the log.
type pump struct {
	w   *watcher
	br  *bufio.Reader
	sdk *io.PipeWriter

	mu      sync.Mutex
	mode    int
	why     string        // why stdout is read as logs
	decided chan struct{} // closed when the mode leaves modeDetect
}

func (p *pump) setMode(mode int, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == mode || p.mode == modeLogs {
		return
	}
	if p.mode == modeDetect {
		close(p.decided)
	}
	p.mode, p.why = mode, why
}

func (p *pump) current() (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.why
}

func (p *pump) logLine(line []byte, truncated bool) {
	p.w.m.opts.Line(p.w.id, "stdout", line, truncated, p.w.pid)
}

// run reads stdout to its end.
func (p *pump) run() {
	defer p.sdk.Close() // the session sees EOF
	for {
		line, tooLong, err := readFrame(p.br)
		if len(line) > 0 || tooLong {
			if mode, _ := p.current(); mode == modeLogs {
				p.logLine(cut(line))
				break
			}
			switch {
			case tooLong:
				p.w.system(logstore.Warn, fmt.Sprintf("dropped a stdout line over %d MiB", maxMessageBytes>>20))
			case isJSONRPC(line):
				p.setMode(modeMCP, "")
				p.w.traffic(false, line)
				if mode, _ := p.current(); mode == modeMCP {
					// An error means the session is closed: the message is recorded, not delivered.
					_, _ = p.sdk.Write(append(line, '\n'))
				}
			default:
				if mode, _ := p.current(); mode == modeDetect {
					p.setMode(modeLogs, "its first stdout line is not JSON-RPC")
					p.sdk.Close()
				}
				p.logLine(cut(line))
			}
		}
		if err != nil {
			return
		}
	}
	// Logs mode: the rest of stdout as the supervisor would read it.
	supervisor.ReadLines(p.br, func(line []byte, truncated bool) { p.logLine(line, truncated) })
}

func cut(line []byte) ([]byte, bool) {
	if len(line) > supervisor.MaxLineBytes {
		return line[:supervisor.MaxLineBytes], true
	}
	return line, false
}

// readFrame reads one line of at most maxMessageBytes (without "\n" and a trailing "\r"); the
// rest of a longer line is skipped and tooLong reported. err is set at EOF or a read error, with
// the last partial line, if any, in line.
func readFrame(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > maxMessageBytes+2 {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'})
		return line, tooLong, err
	}
}

// isJSONRPC reports whether a stdout line is a JSON-RPC message: an object with "jsonrpc", or
// a batch (an array of objects).
func isJSONRPC(line []byte) bool {
	line = bytes.TrimSpace(line)
	if len(line) < 2 || (line[0] != '{' && line[0] != '[') || !json.Valid(line) {
		return false
	}
	if line[0] == '[' {
		return true
	}
	var m struct {
		JSONRPC string `json:"jsonrpc"`
	}
	return json.Unmarshal(line, &m) == nil && m.JSONRPC == "2.0"
}

// recordingWriter is the child's stdin as the SDK writes it: one message and a newline per
// write, each recorded as sent.
type recordingWriter struct {
	w  *watcher
	wc io.WriteCloser
}

func (r *recordingWriter) Write(b []byte) (int, error) {
	n, err := r.wc.Write(b)
	if err == nil {
		r.w.traffic(true, b)
	}
	return n, err
}

// Close does nothing: runStdio closes stdin itself, after it has said why (the SDK closes its
// writer as soon as a handshake fails).
func (r *recordingWriter) Close() error { return nil }

// runStdio speaks MCP over a stdio child's stdin and stdout until stdout ends.
func (w *watcher) runStdio(stdout io.Reader, stdin io.WriteCloser) {
	pr, pw := io.Pipe()
	p := &pump{w: w, br: bufio.NewReaderSize(stdout, 64<<10), sdk: pw, decided: make(chan struct{})}
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		p.run()
	}()
	defer func() {
		<-pumped
		w.closeSession()
		stdin.Close()
	}()

	cs, err := w.connect(&mcp.IOTransport{Reader: pr, Writer: &recordingWriter{w: w, wc: stdin}}, w.m.opts.StdioHandshake)
	if err != nil {
		pr.Close()
		defer stdin.Close() // as /dev/null would be: a script that reads stdin sees its end
		if w.ctx.Err() != nil {
			return
		}
		mode, why := p.current()
		if mode != modeLogs {
			why = "the MCP handshake failed (" + err.Error() + ")"
			p.setMode(modeLogs, why)
		}
		w.setStatus(StatusNotMCP, "not an MCP server: "+why)
		w.system(logstore.Info, "not an MCP server over stdio: "+why+"; stdout is read as log lines")
		return
	}
	init := cs.InitializeResult()
	w.system(logstore.Info, fmt.Sprintf("MCP session open: %s %s, protocol %s",
		serverInfo(init).Name, serverInfo(init).Version, init.ProtocolVersion))
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		_ = cs.Wait()
	}()
	w.loop(ended, false)
	w.closeSession()
	stdin.Close() // the end of the session, as the MCP spec has a client end a stdio session
	<-ended
}
