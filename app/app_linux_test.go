package app

import (
	"errors"
	"syscall"
	"testing"
)

// Shutting the app down (the window closed) stops every child tree before stop returns.
func TestStopStopsChildren(t *testing.T) {
	f := newFixture(t, fixtureOptions{noStart: true})
	f.app.start(f.rt)
	pid := f.waitRunning("ticker")
	if err := f.app.stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("child %d still exists after stop (kill 0: %v)", pid, err)
	}
	if err := f.app.stop(); err != nil {
		t.Errorf("second stop: %v", err)
	}
}
