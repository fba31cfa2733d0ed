package hub

import (
	"context"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/sampler"
)

// idleWait is how long the sampling loop sleeps when nothing is due; subscriptions and lifecycle
// events wake it earlier.
const idleWait = time.Hour

// slack lets a sample that is due a little later count as due now, so that watchers of one
// server are served by one sample rather than by several a few milliseconds apart.
func slack(interval time.Duration) time.Duration {
	return min(interval/4, 250*time.Millisecond)
}

// Run samples what is watched or recorded, each at its own rate, until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-h.wakeCh:
		}
		now := h.now()
		next := h.tick(now)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(next.Sub(h.now()), time.Millisecond))
	}
}

// tick takes the samples that are due at now, delivers them, and returns when it must run again.
func (h *Hub) tick(now time.Time) time.Time {
	next := now.Add(idleWait)
	soonest := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}

	running := h.opts.Processes.Running()
	type due struct {
		proc    Proc
		history bool
	}
	var dues []due
	alive := make(map[string]struct{}, len(running))

	h.schedMu.Lock()
	for _, p := range running {
		alive[p.ServerID] = struct{}{}
		s := h.sched[p.ServerID]
		if s == nil || s.pid != p.PID {
			s = &schedule{pid: p.PID}
			if old := h.sched[p.ServerID]; old != nil {
				s.samples = old.samples
			}
			h.sched[p.ServerID] = s
		}
		watch := h.watchInterval(p.ServerID)
		isDue, history := false, false
		if watch > 0 {
			at := s.lastSample.Add(watch - slack(watch))
			if !now.Before(at) {
				isDue = true
				soonest(now.Add(watch))
			} else {
				soonest(at)
			}
		}
		if hi := h.opts.HistoryInterval; hi > 0 {
			at := s.lastHistory.Add(hi - slack(hi))
			if !now.Before(at) {
				isDue, history = true, true
				soonest(now.Add(hi))
			} else {
				soonest(at)
			}
		}
		if isDue {
			dues = append(dues, due{proc: p, history: history})
		}
	}
	for id := range h.sched {
		if _, ok := alive[id]; !ok {
			h.sched[id].pid = 0
		}
	}
	h.schedMu.Unlock()

	if len(dues) > 0 {
		pids := make([]int, len(dues))
		for i, d := range dues {
			pids[i] = d.proc.PID
		}
		samples, errs := h.opts.Sampler.SampleMany(pids)
		for i, d := range dues {
			if errs[i] != nil {
				continue // the child is gone: its status event follows
			}
			h.deliverSample(d.proc, samples[i], d.history, now)
		}
	}
	if at, ok := h.tickSystem(now); ok {
		soonest(at)
	}
	return next
}

// watchInterval is the smallest interval any subscriber of the server asked for, 0 if none.
func (h *Hub) watchInterval(serverID string) time.Duration {
	t := h.topic(serverID, false)
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var least time.Duration
	for _, s := range t.metrics {
		if least == 0 || s.interval < least {
			least = s.interval
		}
	}
	return least
}

func (h *Hub) countSample(serverID string, pid int) {
	h.schedMu.Lock()
	defer h.schedMu.Unlock()
	s := h.sched[serverID]
	if s == nil {
		s = &schedule{pid: pid}
		h.sched[serverID] = s
	}
	s.samples++
}

func (h *Hub) deliverSample(p Proc, s sampler.ProcSample, history bool, now time.Time) {
	h.schedMu.Lock()
	if sc := h.sched[p.ServerID]; sc != nil {
		sc.lastSample = now
		sc.samples++
		if history {
			sc.lastHistory = now
		}
	}
	h.schedMu.Unlock()
	if history {
		h.opts.Sampler.Record(p.ServerID, s)
	}
	t := h.topic(p.ServerID, false)
	if t == nil {
		return
	}
	var m *Message
	t.mu.Lock()
	var to []*Client
	for c, sub := range t.metrics {
		if now.Before(sub.lastSent.Add(sub.interval - slack(sub.interval))) {
			continue
		}
		sub.lastSent = now
		to = append(to, c)
	}
	t.mu.Unlock()
	if len(to) == 0 {
		return
	}
	m = NewMessage(protocol.EvProcessInfo, protocol.EncodeProcessInfo(p.ServerID, p.info(s), now))
	for _, c := range to {
		c.Push(m)
	}
}

// tickSystem samples the machine when a system-metrics subscriber is due.
func (h *Hub) tickSystem(now time.Time) (time.Time, bool) {
	h.mu.Lock()
	if len(h.system) == 0 {
		h.mu.Unlock()
		return time.Time{}, false
	}
	var to []*Client
	next := now.Add(idleWait)
	for c, sub := range h.system {
		at := sub.lastSent.Add(sub.interval - slack(sub.interval))
		if now.Before(at) {
			if at.Before(next) {
				next = at
			}
			continue
		}
		sub.lastSent = now
		to = append(to, c)
		if n := now.Add(sub.interval); n.Before(next) {
			next = n
		}
	}
	h.mu.Unlock()
	if len(to) > 0 {
		s, err := h.opts.Sampler.System()
		if err != nil {
			h.log.Warn("system metrics", "err", err)
		} else {
			h.schedMu.Lock()
			h.systemRuns++
			h.schedMu.Unlock()
			m := NewMessage(protocol.EvSystemMetrics, protocol.Marshal(protocol.NewSystemMetrics(s)))
			for _, c := range to {
				c.Push(m)
			}
		}
	}
	return next, true
}

// Stats is what the hub holds, for health checks and leak tests.
type Stats struct {
	Clients       int               `json:"clients"`
	Subscriptions int               `json:"subscriptions"`
	Samples       map[string]uint64 `json:"samples"` // per server since the monitor started
	SystemSamples uint64            `json:"systemSamples"`
	Dropped       uint64            `json:"dropped"` // log entries (and other messages) lost by current clients
}

// Stats counts clients, subscriptions and samples.
func (h *Hub) Stats() Stats {
	h.mu.RLock()
	st := Stats{Clients: len(h.clients), Subscriptions: len(h.status) + len(h.system)}
	clients := make([]*Client, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.RUnlock()
	for _, t := range topics {
		t.mu.Lock()
		st.Subscriptions += len(t.metrics) + len(t.logs)
		t.mu.Unlock()
	}
	for _, c := range clients {
		st.Dropped += c.Dropped()
	}
	h.schedMu.Lock()
	st.Samples = make(map[string]uint64, len(h.sched))
	for id, s := range h.sched {
		st.Samples[id] = s.samples
	}
	st.SystemSamples = h.systemRuns
	h.schedMu.Unlock()
	return st
}
