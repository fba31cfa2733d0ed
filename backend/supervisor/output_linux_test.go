//go:build linux

package supervisor

import (
	"fmt"
	"strings"
	"testing"
)

// TestOutputThroughProcess runs the real path: child → shim → pipes → readers → sink.
func TestOutputThroughProcess(t *testing.T) {
	sup, sink := newTestSupervisor(t, Options{})
	sup.Define(helperDef(t, "out", "output", nil))
	if err := sup.Start("out"); err != nil {
		t.Fatal(err)
	}
	exited := sink.waitStatus(t, "out", Stopped, 1)
	if exited.ExitCode == nil || *exited.ExitCode != 0 {
		t.Fatalf("exit event %+v", exited)
	}
	pid := exited.PID

	check := func(stream string, want []gotLine) {
		t.Helper()
		got := sink.linesOf("out", stream)
		if len(got) != len(want) {
			t.Fatalf("%s: %d lines, want %d", stream, len(got), len(want))
		}
		for i, w := range want {
			g := got[i]
			if g.line != w.line || g.truncated != w.truncated || g.pid != pid {
				t.Fatalf("%s line %d = %s pid %d, want %s pid %d", stream, i,
					short([]gotLine{{g.line, g.truncated}}), g.pid, short([]gotLine{w}), pid)
			}
		}
	}
	var wantOut, wantErr []gotLine
	for i := 1; i <= outputLines; i++ {
		wantOut = append(wantOut, gotLine{fmt.Sprintf("a %d", i), false})
		wantErr = append(wantErr, gotLine{fmt.Sprintf("b %d", i), false})
	}
	wantOut = append(wantOut,
		gotLine{strings.Repeat("x", MaxLineBytes), true},
		gotLine{"after long", false},
		gotLine{"crlf line", false},
		gotLine{"partial", false})
	wantErr = append(wantErr, gotLine{"err partial", false})
	check("stdout", wantOut)
	check("stderr", wantErr)

	// "started" comes before the first line, "exited" after the last one.
	sink.mu.Lock()
	defer sink.mu.Unlock()
	first, last := sink.lines[0].seq, sink.lines[len(sink.lines)-1].seq
	var started, exitLine int
	for _, s := range sink.system {
		switch s.msg {
		case fmt.Sprintf("started (pid %d)", pid):
			started = s.seq
		case "exited with code 0":
			exitLine = s.seq
		}
	}
	if started == 0 || started > first || exitLine < last {
		t.Fatalf("order: started %d, lines %d..%d, exited %d", started, first, last, exitLine)
	}
}
