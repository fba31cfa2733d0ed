package app

import (
	"context"
	"sync"
	"time"
)

// quitForce is how long a quit asked before the window was ready waits for it; then it is tried
// anyway.
const quitForce = 10 * time.Second

// quitGate holds a quit asked for before the window's main loop runs (a signal during start-up:
// GTK drops a quit that comes before its loop) until the page reports ready.
type quitGate struct {
	quit func()

	mu      sync.Mutex
	ready   bool
	pending bool
}

// request quits now if the window is ready, else at ready.
func (g *quitGate) request() {
	g.mu.Lock()
	if !g.ready {
		g.pending = true
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.quit()
}

// markReady is called when the page has loaded (OnDomReady).
func (g *quitGate) markReady() {
	g.mu.Lock()
	first, pending := !g.ready, g.pending
	g.ready = true
	g.mu.Unlock()
	if first && pending {
		g.quit()
	}
}

// watchQuit turns the end of ctx (SIGINT, SIGTERM) into a quit through the gate; it returns a
// function that stops watching and waits for the watcher, to be called when the window has gone.
func watchQuit(ctx context.Context, g *quitGate) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		g.request()
		t := time.NewTimer(quitForce)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			g.quit() // the page never became ready: try regardless
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
