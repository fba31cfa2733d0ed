package hub

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// ErrClosed is returned by Next once the client is closed.
var ErrClosed = errors.New("hub: client closed")

// DefaultQueueSize is how many messages a client may have waiting before the oldest are dropped.
const DefaultQueueSize = 8192

// DefaultQueueEntries is how many log entries a client may have waiting, counted in the messages
// that hold them (a batch counts its entries): room for a burst of 50 000 lines in batched mode.
const DefaultQueueEntries = 65536

type queued struct {
	m        *Message
	server   string // set for log messages, which are the ones a full queue drops and reports
	n        int    // log entries in m
	from, to uint64 // their seqs
}

type dropRecord struct {
	count          uint64
	fromSeq, toSeq uint64
}

func (d *dropRecord) add(n int, from, to uint64) {
	if d.count == 0 || from < d.fromSeq {
		d.fromSeq = from
	}
	if to > d.toSeq {
		d.toSeq = to
	}
	d.count += uint64(n)
}

// Client is one connection's view of the hub: its subscriptions and its outgoing queue. One
// goroutine of the transport calls Next in a loop and writes what it returns; the hub and the
// client's own handlers put messages in.
type Client struct {
	hub      *Hub
	id       string
	cap      int // messages
	entryCap int // log entries

	mu      sync.Mutex
	queue   []queued // ring buffer
	head, n int
	entries int // log entries in the queue
	drops   map[string]*dropRecord
	rooms   map[string]struct{}
	closed  bool
	dropped uint64 // everything this client lost, for stats

	notify chan struct{}
}

// ID is the client's id (the transport's connection id).
func (c *Client) ID() string { return c.id }

// Push queues a message for this client alone (confirmations, pong, errors).
func (c *Client) Push(m *Message) {
	c.mu.Lock()
	c.pushLocked(queued{m: m})
	c.mu.Unlock()
	c.wake()
}

func (c *Client) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// pushLocked appends q, first dropping the oldest messages until both the message and the entry
// bounds leave room for it. A batch larger than the entry bound still goes, alone: a message is
// never split.
func (c *Client) pushLocked(q queued) {
	if c.closed {
		return
	}
	for c.n > 0 && (c.n >= c.cap || c.entries+q.n > c.entryCap) {
		old := c.queue[c.head]
		c.queue[c.head] = queued{}
		c.head = (c.head + 1) % len(c.queue)
		c.n--
		c.entries -= old.n
		c.dropped += uint64(max(old.n, 1))
		if old.server != "" {
			c.dropRecord(old.server).add(old.n, old.from, old.to)
		}
	}
	if c.n == len(c.queue) {
		c.grow()
	}
	c.queue[(c.head+c.n)%len(c.queue)] = q
	c.n++
	c.entries += q.n
}

func (c *Client) grow() {
	size := min(max(len(c.queue)*2, 64), c.cap)
	q := make([]queued, size)
	for i := 0; i < c.n; i++ {
		q[i] = c.queue[(c.head+i)%len(c.queue)]
	}
	c.queue, c.head = q, 0
}

func (c *Client) dropRecord(server string) *dropRecord {
	if c.drops == nil {
		c.drops = map[string]*dropRecord{}
	}
	d := c.drops[server]
	if d == nil {
		d = &dropRecord{}
		c.drops[server] = d
	}
	return d
}

// Next waits until there is something to send and returns it, in order: reports of dropped
// entries first, then the queued messages.
func (c *Client) Next(ctx context.Context) ([]*Message, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		out := c.drainLocked()
		c.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.notify:
		}
	}
}

// drainLocked takes everything there is to send.
func (c *Client) drainLocked() (out []*Message) {
	if len(c.drops) > 0 {
		now := c.hub.now()
		servers := make([]string, 0, len(c.drops))
		for s := range c.drops {
			servers = append(servers, s)
		}
		sort.Strings(servers)
		for _, s := range servers {
			d := c.drops[s]
			out = append(out, NewMessage(protocol.EvProcessLogsDropped, protocol.Marshal(protocol.Dropped{
				ServerID: s, Count: d.count, FromSeq: d.fromSeq, ToSeq: d.toSeq, Timestamp: protocol.Time(now),
			})))
		}
		clear(c.drops)
	}
	for ; c.n > 0; c.n-- {
		out = append(out, c.queue[c.head].m)
		c.queue[c.head] = queued{}
		c.head = (c.head + 1) % len(c.queue)
	}
	c.entries = 0
	return out
}

// Rooms lists the rooms this client is in.
func (c *Client) Rooms() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	rooms := make([]string, 0, len(c.rooms))
	for r := range c.rooms {
		rooms = append(rooms, r)
	}
	sort.Strings(rooms)
	return rooms
}

// InRoom reports whether the client is in room.
func (c *Client) InRoom(room string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.rooms[room]
	return ok
}

func (c *Client) setRoom(room string, in bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if in {
		if c.rooms == nil {
			c.rooms = map[string]struct{}{}
		}
		c.rooms[room] = struct{}{}
	} else {
		delete(c.rooms, room)
	}
}

// Dropped is how many log entries (and other messages) this client has lost to a full queue.
func (c *Client) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Close leaves every room and ends Next. It is idempotent.
//
// It marks the client closed before it leaves the rooms, and every Subscribe checks the mark
// after it has joined: a subscribe that races a disconnect either sees the mark and leaves again,
// or joined before the mark and is removed here.
func (c *Client) Close() {
	c.mu.Lock()
	c.closed = true
	c.queue, c.drops, c.rooms = nil, nil, nil
	c.n, c.head, c.entries = 0, 0, 0
	c.mu.Unlock()
	c.hub.removeClient(c)
	c.wake()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
