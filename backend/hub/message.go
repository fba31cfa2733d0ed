// Package hub routes what the engine observes (log entries, samples, lifecycle events) to the
// clients that subscribed to it. Every client has its own bounded queue, so a slow client loses
// its own entries (and is told how many) without slowing the child, the store or anyone else.
// The hub knows the protocol's rooms and payloads, not the transports.
package hub

import "sync"

// Message is one event to send. It is encoded once and shared, read-only, by every client that
// receives it; a transport may cache its own framing of it with Frame.
type Message struct {
	Event string
	Data  []byte // JSON payload

	once  sync.Once
	frame []byte
}

// NewMessage makes a message from an encoded payload.
func NewMessage(event string, data []byte) *Message {
	return &Message{Event: event, Data: data}
}

// Frame returns build(m), computed on first use and then shared by every client that sends m.
// A process has one framing transport, so one cached frame per message is enough.
func (m *Message) Frame(build func(m *Message) []byte) []byte {
	m.once.Do(func() { m.frame = build(m) })
	return m.frame
}
