package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/session"
)

// bridge is the window's one connection to the hub: a session (Transport "wails") whose queued
// messages one writer goroutine forwards with EventsEmit, under the event names and with the
// payload bytes the Socket.IO transport sends.
type bridge struct {
	sess *session.Session
	rt   Runtime

	mu     sync.Mutex
	counts map[string]int // events forwarded, by name (self-test, tests)
}

func newBridge(eng *engine.Engine, rt Runtime) *bridge {
	sess := session.New(eng, session.Info{ID: "wails-" + randomID(), Transport: "wails", Authorized: true})
	sess.Welcome()
	return &bridge{sess: sess, rt: rt, counts: map[string]int{}}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b[:])
}

// run forwards until ctx ends or the session closes. The payload goes as json.RawMessage, so
// Wails writes the hub's bytes as they are instead of encoding them again.
func (b *bridge) run(ctx context.Context) {
	for {
		msgs, err := b.sess.Client().Next(ctx)
		if err != nil {
			return
		}
		for _, m := range msgs {
			b.mu.Lock()
			b.counts[m.Event]++ // counted first: the window may answer before EventsEmit returns
			b.mu.Unlock()
			if len(m.Data) == 0 {
				b.rt.EventsEmit(m.Event)
			} else {
				b.rt.EventsEmit(m.Event, json.RawMessage(m.Data))
			}
		}
	}
}

// handle runs a client event of the window.
func (b *bridge) handle(event string, payload []byte) protocol.Ack {
	return b.sess.Handle(event, payload)
}

// forwarded is how many events of a name went to the window.
func (b *bridge) forwarded(event string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts[event]
}

func (b *bridge) close() { b.sess.Close() }
