//go:build linux

package supervisor

import (
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
)

// TestForkAndExitLeavesNoGrandchild: a child that starts a grandchild and exits at once (the
// way a daemonizing server or a wrapper script does) leaves nothing running once its server is
// stopped, whether the grandchild stays in the child's process group or leaves it for a session
// of its own (setsid), and whether or not it keeps the output pipes open.
func TestForkAndExitLeavesNoGrandchild(t *testing.T) {
	child := testutil.BuildTestChild(t)
	for _, tc := range []struct {
		name    string
		args    []string
		running bool // the child stays and is stopped (SIGTERM to its group)
	}{
		{"grandchild in the group", nil, false},
		{"grandchild in a session of its own", []string{"-gc-setsid"}, false},
		{"grandchild in a session of its own holding the pipes", []string{"-gc-setsid", "-gc-stdio"}, false},
		{"stopped child with a grandchild in a session of its own", []string{"-gc-setsid", "-gc-stdio", "-sleep", "1h"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sup, sink := newTestSupervisor(t, Options{StopGrace: 500 * time.Millisecond})
			args := append([]string{"-grandchild", "-exit", "0"}, tc.args...)
			sup.Define(testDef("forker", child, args...))
			if err := sup.Start("forker"); err != nil {
				t.Fatal(err)
			}
			var gc int
			sink.waitFor(t, "grandchild pid", func() bool {
				gc = sink.grandchildPID("forker")
				return gc > 0
			})
			killOnCleanup(t, gc)
			if tc.running {
				sink.waitStatus(t, "forker", Running, 1)
				if !testutil.ProcessAlive(gc) {
					t.Fatalf("grandchild %d not alive before the stop", gc)
				}
			} else if ev := sink.waitStatus(t, "forker", Stopped, 1); ev.ExitCode == nil || *ev.ExitCode != 0 {
				t.Fatalf("exit event %+v, want code 0", ev)
			}
			// For a child that exited the server is already stopped: Stop is a no-op then.
			if err := sup.Stop(ctxT(t), "forker"); err != nil {
				t.Fatal(err)
			}
			d := waitGone(t, "grandchild of a child that exited", gc)
			t.Logf("grandchild %d gone %s after the stop", gc, d)
		})
	}
}
