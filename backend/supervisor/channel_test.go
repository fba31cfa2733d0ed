//go:build linux || darwin

package supervisor

import (
	"bufio"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// chanRec records the calls of Options.Channel and talks to the child through them.
type chanRec struct {
	mu    sync.Mutex
	calls []chanCall
	got   chan []string // what each call read from stdout, when stdout ended
}

type chanCall struct {
	id  string
	pid int
}

// echoChannel writes lines to the child's stdin, reads its answers, closes stdin and reads
// stdout until it ends.
func (c *chanRec) echoChannel(lines ...string) func(string, int, io.Reader, io.WriteCloser) {
	return func(id string, pid int, stdout io.Reader, stdin io.WriteCloser) {
		c.mu.Lock()
		c.calls = append(c.calls, chanCall{id, pid})
		c.mu.Unlock()
		var read []string
		sc := bufio.NewScanner(stdout)
		for _, l := range lines {
			if _, err := io.WriteString(stdin, l+"\n"); err != nil {
				break
			}
			if !sc.Scan() {
				break
			}
			read = append(read, sc.Text())
		}
		stdin.Close() // the child ends on EOF
		for sc.Scan() {
			read = append(read, sc.Text())
		}
		c.got <- read
	}
}

func TestChannelTakesStdinAndStdout(t *testing.T) {
	rec := &chanRec{got: make(chan []string, 1)}
	sup, sink := newTestSupervisor(t, Options{Channel: rec.echoChannel("one", "two")})
	sup.Define(helperDef(t, "ch", "echo", nil))
	if err := sup.Start("ch"); err != nil {
		t.Fatal(err)
	}
	running := sink.waitStatus(t, "ch", Running, 1)
	got := <-rec.got
	if want := []string{"echo: one", "echo: two"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("channel read %q, want %q", got, want)
	}
	// Closing stdin ended the child: a clean exit, its stderr still in the log, its stdout not.
	sink.waitStatus(t, "ch", Stopped, 1)
	if l := sink.linesOf("ch", "stderr"); len(l) != 1 || l[0].line != "stdin closed" {
		t.Errorf("stderr lines = %+v, want one \"stdin closed\"", l)
	}
	if l := sink.linesOf("ch", "stdout"); len(l) != 0 {
		t.Errorf("stdout reached the sink: %+v", l)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 || rec.calls[0] != (chanCall{"ch", running.PID}) {
		t.Errorf("channel calls = %+v, want one for ch with pid %d", rec.calls, running.PID)
	}
}

func TestChannelNotChosenKeepsDevNull(t *testing.T) {
	rec := &chanRec{got: make(chan []string, 1)}
	sup, sink := newTestSupervisor(t, Options{
		Channel:    rec.echoChannel("never"),
		UseChannel: func(d registry.ServerDef) bool { return d.ID != "plain" },
	})
	sup.Define(helperDef(t, "plain", "echo", nil))
	if err := sup.Start("plain"); err != nil {
		t.Fatal(err)
	}
	// stdin is /dev/null: the helper sees EOF at once and exits cleanly.
	sink.waitStatus(t, "plain", Stopped, 1)
	sink.waitFor(t, "stderr line", func() bool { return len(sink.lines) > 0 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 0 {
		t.Fatalf("channel called for a server UseChannel refused: %+v", rec.calls)
	}
}

func TestChannelDefaultIsStdioOnly(t *testing.T) {
	rec := &chanRec{got: make(chan []string, 1)}
	sup, sink := newTestSupervisor(t, Options{Channel: rec.echoChannel("x")})
	d := helperDef(t, "http", "echo", nil)
	d.Transport = registry.TransportStreamableHTTP
	d.URL = "http://127.0.0.1:1/mcp"
	sup.Define(d)
	if err := sup.Start("http"); err != nil {
		t.Fatal(err)
	}
	sink.waitStatus(t, "http", Stopped, 1)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 0 {
		t.Fatalf("channel called for a streamable-http server: %+v", rec.calls)
	}
}

func TestChannelOutlivesStopAndIsWaitedFor(t *testing.T) {
	// A channel that only reads: the child keeps running until stopped; the stop's SIGTERM ends
	// it, stdout ends, the channel returns, and only then is the server stopped.
	returned := make(chan struct{})
	var lines []string
	sup, sink := newTestSupervisor(t, Options{Channel: func(_ string, _ int, stdout io.Reader, _ io.WriteCloser) {
		defer close(returned)
		ReadLines(stdout, func(line []byte, _ bool) { lines = append(lines, string(line)) })
	}})
	sup.Define(helperDef(t, "long", "echo", nil))
	if err := sup.Start("long"); err != nil {
		t.Fatal(err)
	}
	sink.waitStatus(t, "long", Running, 1)
	if err := sup.Stop(ctxT(t), "long"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	default:
		t.Fatal("Stop returned before the channel did")
	}
	if len(lines) != 0 {
		t.Errorf("unexpected stdout %q", lines)
	}
}

func TestReadLinesExported(t *testing.T) {
	var got []string
	ReadLines(strings.NewReader("a\r\nb\n"+strings.Repeat("x", MaxLineBytes+5)+"\nlast"), func(line []byte, truncated bool) {
		got = append(got, string(line[:min(len(line), 3)])+map[bool]string{true: "+cut"}[truncated])
	})
	if want := "a|b|xxx+cut|las"; strings.Join(got, "|") != want {
		t.Fatalf("ReadLines = %q, want %q", strings.Join(got, "|"), want)
	}
}
