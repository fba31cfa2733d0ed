package hub

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// ErrClosed is returned by Next once the client is closed.
var ErrClosed = errors.New("hub: client closed")

// DefaultQueueSize is how many messages a client may have waiting before the oldest are dropped.
const DefaultQueueSize = 8192

// batchEvery is the least time between two process:logs:batch events of one server to a client.
const batchEvery = 100 * time.Millisecond

type queued struct {
	m      *Message
	server string // set for log messages, which are the ones a full queue drops and reports
	seq    uint64
}

type dropRecord struct {
	count          uint64
	fromSeq, toSeq uint64
}

func (d *dropRecord) add(seq uint64) {
	if d.count == 0 || seq < d.fromSeq {
		d.fromSeq = seq
	}
	if seq > d.toSeq {
		d.toSeq = seq
	}
	d.count++
}

type batch struct {
	entries   [][]byte
	seqs      []uint64
	due       time.Time // when the pending entries may go
	lastFlush time.Time
}

// Client is one connection's view of the hub: its subscriptions and its outgoing queue. One
// goroutine of the transport calls Next in a loop and writes what it returns; the hub and the
// client's own handlers put messages in.
type Client struct {
	hub *Hub
	id  string
	cap int

	mu      sync.Mutex
	queue   []queued // ring buffer
	head, n int
	drops   map[string]*dropRecord
	batches map[string]*batch
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

// pushLocked appends q, dropping the oldest message when the queue is full.
func (c *Client) pushLocked(q queued) {
	if c.closed {
		return
	}
	if c.queue == nil {
		c.queue = make([]queued, min(c.cap, 64))
	}
	if c.n == len(c.queue) {
		if len(c.queue) < c.cap {
			c.grow()
		} else {
			old := c.queue[c.head]
			c.queue[c.head] = queued{}
			c.head = (c.head + 1) % len(c.queue)
			c.n--
			c.dropped++
			if old.server != "" {
				c.dropRecord(old.server).add(old.seq)
			}
		}
	}
	c.queue[(c.head+c.n)%len(c.queue)] = q
	c.n++
}

func (c *Client) grow() {
	size := min(len(c.queue)*2, c.cap)
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

// pushLog queues a log entry, as its own process:logs message or into the server's batch.
//
// It reports whether Next must be woken: always for a queued message, but for a batched entry only
// when it starts a batch (Next then learns when the batch is due and sleeps until then). Waking
// the writer for every line of a batch that is not due costs a goroutine switch per line and
// socket: a third of the CPU of a batched fan-out in a profile.
func (c *Client) pushLog(server string, seq uint64, m *Message, logData []byte, batched bool, now time.Time) (wake bool) {
	if !batched {
		c.pushLocked(queued{m: m, server: server, seq: seq})
		return true
	}
	if c.closed {
		return false
	}
	if c.batches == nil {
		c.batches = map[string]*batch{}
	}
	b := c.batches[server]
	if b == nil {
		b = &batch{}
		c.batches[server] = b
	}
	if len(b.entries) == 0 {
		b.due = b.lastFlush.Add(batchEvery)
		if b.due.Before(now) {
			b.due = now
		}
	}
	if len(b.entries) >= c.cap {
		c.dropRecord(server).add(b.seqs[0])
		c.dropped++
		b.entries, b.seqs = b.entries[1:], b.seqs[1:]
	}
	wake = len(b.entries) == 0
	b.entries = append(b.entries, logData)
	b.seqs = append(b.seqs, seq)
	return wake
}

// Next waits until there is something to send and returns it, in order: reports of dropped
// entries first, then queued messages, then the batches that are due.
func (c *Client) Next(ctx context.Context) ([]*Message, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := c.hub.now()
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		out, wait := c.drainLocked(now)
		c.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		var tc <-chan time.Time
		if wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.notify:
		case <-tc:
		}
		if timer != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// drainLocked takes everything that may go now; wait is how long until the next batch is due
// (0: nothing pending).
func (c *Client) drainLocked(now time.Time) (out []*Message, wait time.Duration) {
	if len(c.drops) > 0 {
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
	for server, b := range c.batches {
		if len(b.entries) == 0 {
			continue
		}
		if !now.Before(b.due) {
			out = append(out, NewMessage(protocol.EvProcessLogsBatch, protocol.EncodeLogBatch(server, b.entries, now)))
			b.entries, b.seqs = nil, nil
			b.lastFlush = now
			continue
		}
		if w := b.due.Sub(now); wait == 0 || w < wait {
			wait = w
		}
	}
	return out, wait
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

// Dropped is how many messages this client has lost to a full queue.
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
	c.queue, c.batches, c.drops, c.rooms = nil, nil, nil, nil
	c.n, c.head = 0, 0
	c.mu.Unlock()
	c.hub.removeClient(c)
	c.wake()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
