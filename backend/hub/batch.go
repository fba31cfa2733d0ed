package hub

import (
	"slices"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// batchEvery is the least time between two process:logs:batch events of one server to a client.
const batchEvery = 100 * time.Millisecond

// Batched subscribers share their batches the way per-line subscribers share their messages: a
// server's topic keeps one pending batch per level that batched subscribers asked for, and one
// timer flushes each of them at most every batchEvery, encoded once into one Message queued for
// every subscriber of that level: a writer is woken once per batch, not per line (waking it per
// line cost a third of the CPU of a batched fan-out in a profile). Only a subscriber that has
// just joined gets a batch of its own, once: its tail replay first, without what it already got.

// entries are logData objects in seq order and their seqs.
type entries struct {
	data [][]byte
	seqs []uint64
}

func (es *entries) add(data []byte, seq uint64) {
	es.data = append(es.data, data)
	es.seqs = append(es.seqs, seq)
}

// queued encodes es as one process:logs:batch.
func (es *entries) queued(server string, now time.Time) queued {
	return queued{
		m:      NewMessage(protocol.EvProcessLogsBatch, protocol.EncodeLogBatch(server, es.data, now)),
		server: server, n: len(es.data), from: es.seqs[0], to: es.seqs[len(es.seqs)-1],
	}
}

// group is the pending batch of a server's batched subscribers at one level.
type group struct {
	level     logstore.Level
	pending   entries
	due       time.Time // when pending (or a new member's replay) may go; zero: nothing to send
	lastFlush time.Time
}

// schedule makes the group due no sooner than batchEvery after its last flush, or at once when
// full: a batch never holds more entries than a client may.
func (g *group) schedule(now time.Time, full bool) {
	switch {
	case full:
		g.due = now
	case g.due.IsZero():
		g.due = g.lastFlush.Add(batchEvery)
		if g.due.Before(now) {
			g.due = now
		}
	}
}

func (t *topic) group(level logstore.Level) *group {
	for _, g := range t.groups {
		if g.level == level {
			return g
		}
	}
	g := &group{level: level}
	t.groups = append(t.groups, g)
	return g
}

// pruneLocked drops the groups no live batched subscriber is in any more, and the timer with
// the last one.
func (t *topic) pruneLocked() {
	t.groups = slices.DeleteFunc(t.groups, func(g *group) bool {
		for _, sub := range t.logs {
			if sub.batched && !sub.replay && sub.level == g.level {
				return false
			}
		}
		return true
	})
	if len(t.groups) == 0 && t.timer != nil {
		t.timer.Stop()
		t.timer, t.timerAt = nil, time.Time{}
	}
}

// flushLocked sends the group batches due at now and sets the timer for the next one. The timer
// only calls it back: what is due is decided by Options.Now, so a fake clock drives it too.
func (h *Hub) flushLocked(t *topic, now time.Time) {
	var next time.Time
	for _, g := range t.groups {
		switch {
		case g.due.IsZero():
		case now.Before(g.due):
			if next.IsZero() || g.due.Before(next) {
				next = g.due
			}
		default:
			h.flushGroupLocked(t, g, now)
		}
	}
	if next.IsZero() {
		if t.timer != nil {
			t.timer.Stop()
		}
		t.timerAt = next
		return
	}
	if next.Equal(t.timerAt) {
		return
	}
	t.timerAt = next
	d := max(next.Sub(now), time.Millisecond) // never a busy loop, whatever the clock says
	if t.timer == nil {
		t.timer = time.AfterFunc(d, func() { h.flushTopic(t) })
	} else {
		t.timer.Reset(d)
	}
}

func (h *Hub) flushTopic(t *topic) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timerAt = time.Time{} // it fired
	h.flushLocked(t, h.now())
}

// flushGroupLocked queues the group's batch for each of its subscribers: one shared message, and
// a message of its own for a subscriber that joined since the last flush.
func (h *Hub) flushGroupLocked(t *topic, g *group, now time.Time) {
	p := &g.pending
	var shared queued
	for c, sub := range t.logs {
		if !sub.batched || sub.replay || sub.level != g.level {
			continue
		}
		var q queued
		if len(sub.head.seqs) == 0 && (len(p.seqs) == 0 || p.seqs[0] > sub.after) {
			if len(p.seqs) == 0 {
				continue
			}
			if shared.m == nil {
				shared = p.queued(t.id, now)
			}
			q = shared
		} else {
			// Joined since the last flush: its replay leads, and the pending entries it got in
			// its replay (seq <= after) are left out. Rare, so encoded for it alone.
			own := sub.head
			i, _ := slices.BinarySearch(p.seqs, sub.after+1)
			own.data = append(own.data, p.data[i:]...)
			own.seqs = append(own.seqs, p.seqs[i:]...)
			sub.head, sub.after = entries{}, 0
			if len(own.seqs) == 0 {
				continue
			}
			q = own.queued(t.id, now)
		}
		c.mu.Lock()
		c.pushLocked(q)
		c.mu.Unlock()
		c.wake()
	}
	g.due, g.lastFlush = time.Time{}, now
	// Keep the arrays for the next batch unless a burst made them big.
	if cap(p.seqs) > 4096 {
		*p = entries{}
	} else {
		clear(p.data)
		p.data, p.seqs = p.data[:0], p.seqs[:0]
	}
}
