package hub

import (
	"log/slog"
	"sync"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/sampler"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// Proc is a running child as the hub needs to know it.
type Proc struct {
	ServerID     string
	PID          int
	RestartCount int
	MCP          *protocol.MCPHealth // the last MCP health check, nil when none; read only
}

// info is the process:info of a sample of p.
func (p Proc) info(s sampler.ProcSample) protocol.ProcessInfo {
	pi := protocol.NewProcessInfo(s, p.RestartCount)
	pi.MCP = p.MCP
	return pi
}

// Processes tells which children run now.
type Processes interface {
	Running() []Proc
	Process(serverID string) (Proc, bool)
}

// Sampler measures processes and the machine and keeps the history.
type Sampler interface {
	SampleMany(pids []int) ([]sampler.ProcSample, []error)
	System() (sampler.SystemSample, error)
	Record(serverID string, s sampler.ProcSample)
	Latest(serverID string) (sampler.ProcSample, bool)
}

// Logs gives the stored tail of a server's log.
type Logs interface {
	Tail(serverID string, n int, min logstore.Level) []logstore.Entry
	ReplayJSON(e *logstore.Entry) []byte
}

// Options wire a hub to its sources.
type Options struct {
	Processes Processes
	Sampler   Sampler
	Logs      Logs
	// HistoryInterval is the base rate at which every running server is sampled into the
	// history, watched or not; 0 turns history recording off (then only watched servers are sampled).
	HistoryInterval time.Duration
	QueueSize       int // messages per client, default DefaultQueueSize
	QueueEntries    int // log entries per client, default DefaultQueueEntries
	Now             func() time.Time
	Logger          *slog.Logger
}

type metricsSub struct {
	interval time.Duration
	lastSent time.Time
}

type logSub struct {
	level   logstore.Level
	batched bool
	pending []*logstore.Entry // entries published while the tail was being read
	replay  bool              // true until the tail has been queued
	// Batched, until its first batch: its replay, and the last seq it has (in its replay or
	// published before it subscribed), which its group's pending batch may hold too.
	head  entries
	after uint64
}

type topic struct {
	id      string
	mu      sync.Mutex
	metrics map[*Client]*metricsSub
	logs    map[*Client]*logSub
	lastSeq uint64   // of the last entry published
	groups  []*group // pending batches of the batched subscribers, one per level
	timer   *time.Timer
	timerAt time.Time // when timer fires; zero when it is not set
}

type schedule struct {
	pid         int
	lastSample  time.Time
	lastHistory time.Time
	samples     uint64
}

// Hub is the one place transports talk to.
type Hub struct {
	opts Options
	log  *slog.Logger

	mu      sync.RWMutex
	topics  map[string]*topic
	clients map[*Client]struct{}
	status  map[*Client]struct{}
	system  map[*Client]*metricsSub

	schedMu    sync.Mutex
	sched      map[string]*schedule
	lastSystem time.Time
	systemRuns uint64

	wakeCh chan struct{}
}

// New makes a hub; Run drives its sampling.
func New(opts Options) *Hub {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.QueueEntries <= 0 {
		opts.QueueEntries = DefaultQueueEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Hub{
		opts:    opts,
		log:     opts.Logger,
		topics:  map[string]*topic{},
		clients: map[*Client]struct{}{},
		status:  map[*Client]struct{}{},
		system:  map[*Client]*metricsSub{},
		sched:   map[string]*schedule{},
		wakeCh:  make(chan struct{}, 1),
	}
}

func (h *Hub) now() time.Time { return h.opts.Now() }

func (h *Hub) wake() {
	select {
	case h.wakeCh <- struct{}{}:
	default:
	}
}

// NewClient registers a connection.
func (h *Hub) NewClient(id string) *Client {
	c := &Client{hub: h, id: id, cap: h.opts.QueueSize, entryCap: h.opts.QueueEntries, notify: make(chan struct{}, 1)}
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	return c
}

func (h *Hub) removeClient(c *Client) {
	h.mu.Lock()
	delete(h.clients, c)
	delete(h.status, c)
	delete(h.system, c)
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		t.mu.Lock()
		delete(t.metrics, c)
		if sub := t.logs[c]; sub != nil {
			delete(t.logs, c)
			t.pruneLocked()
		}
		t.mu.Unlock()
	}
}

func (h *Hub) topic(serverID string, create bool) *topic {
	h.mu.RLock()
	t := h.topics[serverID]
	h.mu.RUnlock()
	if t != nil || !create {
		return t
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t = h.topics[serverID]; t == nil {
		t = &topic{id: serverID, metrics: map[*Client]*metricsSub{}, logs: map[*Client]*logSub{}}
		h.topics[serverID] = t
	}
	return t
}

// SubscribeMetrics puts c in the server's metrics room at its own interval and, when the server
// runs, queues one process:info at once.
func (c *Client) SubscribeMetrics(serverID string, interval time.Duration) {
	h := c.hub
	now := h.now()
	t := h.topic(serverID, true)
	t.mu.Lock()
	t.metrics[c] = &metricsSub{interval: interval, lastSent: now}
	t.mu.Unlock()
	if c.isClosed() {
		h.removeClient(c)
		return
	}
	c.setRoom(protocol.MetricsRoom(serverID), true)
	if m := h.currentInfo(serverID, now); m != nil {
		c.Push(m)
	}
	h.wake()
}

// currentInfo is a process:info of the server now: the latest sample when it is recent, else a
// fresh one. Nil when the server does not run.
func (h *Hub) currentInfo(serverID string, now time.Time) *Message {
	p, ok := h.opts.Processes.Process(serverID)
	if !ok {
		return nil
	}
	s, ok := h.opts.Sampler.Latest(serverID)
	fresh := ok && s.PID == p.PID && now.Sub(s.Time) < time.Second
	if !fresh {
		samples, errs := h.opts.Sampler.SampleMany([]int{p.PID})
		if errs[0] != nil {
			return nil
		}
		s = samples[0]
		h.countSample(serverID, p.PID)
	}
	return NewMessage(protocol.EvProcessInfo, protocol.EncodeProcessInfo(serverID, p.info(s), now))
}

// SubscribeLogs puts c in the server's logs room: first the last tail entries at or above level,
// marked as replay, then every new one, with no gap and no duplicate.
func (c *Client) SubscribeLogs(serverID string, level logstore.Level, tail int, batched bool) {
	h := c.hub
	t := h.topic(serverID, true)
	sub := &logSub{level: level, batched: batched, replay: true}
	// Registered before the tail is read, so an entry appended meanwhile is caught in pending;
	// entries the tail already holds are skipped by seq.
	t.mu.Lock()
	t.logs[c] = sub
	sub.after = t.lastSeq // what came before is the tail's to give
	t.pruneLocked()       // c may have left a group
	t.mu.Unlock()
	if c.isClosed() {
		h.removeClient(c)
		return
	}
	c.setRoom(protocol.LogsRoom(serverID), true)

	entries := h.opts.Logs.Tail(serverID, tail, level)
	now := h.now()

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.logs[c] != sub { // unsubscribed or replaced meanwhile
		return
	}
	var last uint64
	if batched {
		// Its replay leads its first batch, which its group's next flush sends.
		for i := range entries {
			sub.head.add(h.opts.Logs.ReplayJSON(&entries[i]), entries[i].Seq)
			last = entries[i].Seq
		}
		for _, e := range sub.pending {
			if e.Seq > last {
				sub.head.add(e.JSON, e.Seq)
				last = e.Seq
			}
		}
		sub.after = max(sub.after, last)
		sub.pending, sub.replay = nil, false
		g := t.group(level)
		if len(sub.head.seqs) > 0 {
			g.schedule(now, false)
			h.flushLocked(t, now)
		}
		return
	}
	c.mu.Lock()
	for i := range entries {
		e := &entries[i]
		m := NewMessage(protocol.EvProcessLogs, protocol.EncodeLog(serverID, h.opts.Logs.ReplayJSON(e), now))
		c.pushLocked(queued{m: m, server: serverID, n: 1, from: e.Seq, to: e.Seq})
		last = e.Seq
	}
	for _, e := range sub.pending {
		if e.Seq > last {
			c.pushLocked(queued{m: logMessage(serverID, e, now), server: serverID, n: 1, from: e.Seq, to: e.Seq})
		}
	}
	c.mu.Unlock()
	sub.pending, sub.replay = nil, false
	c.wake()
}

func logMessage(serverID string, e *logstore.Entry, now time.Time) *Message {
	return NewMessage(protocol.EvProcessLogs, protocol.EncodeLog(serverID, e.JSON, now))
}

// SubscribeStatus puts c in servers-status.
func (c *Client) SubscribeStatus() {
	h := c.hub
	h.mu.Lock()
	h.status[c] = struct{}{}
	h.mu.Unlock()
	if c.isClosed() {
		h.removeClient(c)
		return
	}
	c.setRoom(protocol.RoomStatus, true)
}

// SubscribeSystem puts c in system-metrics at its own interval and queues one sample at once.
func (c *Client) SubscribeSystem(interval time.Duration) {
	h := c.hub
	now := h.now()
	h.mu.Lock()
	h.system[c] = &metricsSub{interval: interval, lastSent: now}
	h.mu.Unlock()
	if c.isClosed() {
		h.removeClient(c)
		return
	}
	c.setRoom(protocol.RoomSystem, true)
	if s, err := h.opts.Sampler.System(); err == nil {
		c.Push(NewMessage(protocol.EvSystemMetrics, protocol.Marshal(protocol.NewSystemMetrics(s))))
	}
	h.wake()
}

// Unsubscribe leaves a room; it is idempotent and reports whether c was in it.
func (c *Client) Unsubscribe(room string) bool {
	kind, serverID, ok := protocol.ParseRoom(room)
	if !ok {
		return false
	}
	was := c.InRoom(room)
	h := c.hub
	switch kind {
	case "status":
		h.mu.Lock()
		delete(h.status, c)
		h.mu.Unlock()
	case "system":
		h.mu.Lock()
		delete(h.system, c)
		h.mu.Unlock()
	case "metrics", "logs":
		if t := h.topic(serverID, false); t != nil {
			t.mu.Lock()
			if kind == "metrics" {
				delete(t.metrics, c)
			} else {
				delete(t.logs, c)
				t.pruneLocked()
			}
			t.mu.Unlock()
		}
	}
	c.setRoom(room, false)
	return was
}

// PublishLog hands a new entry to the server's log subscribers. The log store calls it in seq
// order for each server; it never blocks.
func (h *Hub) PublishLog(serverID string, e *logstore.Entry) {
	t := h.topic(serverID, false)
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastSeq = e.Seq
	var m *Message // one process:logs message, shared by every per-line subscriber
	for c, sub := range t.logs {
		if e.Level < sub.level {
			continue
		}
		if sub.replay {
			sub.pending = append(sub.pending, e)
			continue
		}
		if sub.batched {
			continue // its group's batch takes the entry
		}
		if m == nil {
			m = logMessage(serverID, e, e.Time) // the line was read a moment ago: no clock read per line
		}
		c.mu.Lock()
		c.pushLocked(queued{m: m, server: serverID, n: 1, from: e.Seq, to: e.Seq})
		c.mu.Unlock()
		c.wake()
	}
	var now time.Time // read once per batch, not per line
	for _, g := range t.groups {
		if e.Level < g.level {
			continue
		}
		g.pending.add(e.JSON, e.Seq)
		if full := len(g.pending.seqs) >= h.opts.QueueEntries; full || g.due.IsZero() {
			if now.IsZero() {
				now = h.now()
			}
			g.schedule(now, full)
		}
	}
	if !now.IsZero() {
		h.flushLocked(t, now)
	}
}

// PublishStatus hands a lifecycle event to servers-status subscribers.
func (h *Hub) PublishStatus(ev supervisor.Event) {
	m := NewMessage(protocol.EvStatusChanged, protocol.Marshal(protocol.NewStatusChanged(ev)))
	h.Broadcast(m)
	h.wake() // a started or stopped child changes what the sampler must do
}

// Broadcast sends m to every servers-status subscriber (lifecycle and health events).
func (h *Hub) Broadcast(m *Message) {
	h.mu.RLock()
	clients := make([]*Client, 0, len(h.status))
	for c := range h.status {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	for _, c := range clients {
		c.Push(m)
	}
}

// Forget drops what the hub holds about a deleted server; its subscribers stay subscribed and
// simply get nothing more.
func (h *Hub) Forget(serverID string) {
	h.schedMu.Lock()
	delete(h.sched, serverID)
	h.schedMu.Unlock()
}
