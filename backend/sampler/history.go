package sampler

import "time"

// ring is a fixed-size ring of samples, oldest first. It grows by append up to its size and
// then overwrites in place, so Record allocates nothing once a server's ring is full.
type ring struct {
	buf  []ProcSample
	next int // index of the oldest sample once full
	size int
}

func (r *ring) add(ps ProcSample) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, ps)
		return
	}
	r.buf[r.next] = ps
	r.next = (r.next + 1) % r.size
}

// at returns the i-th sample, oldest first.
func (r *ring) at(i int) *ProcSample {
	if len(r.buf) < r.size {
		return &r.buf[i]
	}
	return &r.buf[(r.next+i)%r.size]
}

// Record appends a sample to the history of serverID, dropping the oldest once HistorySize
// samples are kept.
func (s *Sampler) Record(serverID string, ps ProcSample) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	r := s.hist[serverID]
	if r == nil {
		r = &ring{size: s.historySize}
		s.hist[serverID] = r
	}
	r.add(ps)
}

// History returns a copy of the samples of serverID taken at or after since, oldest first
// (since zero: all of them); nil when there are none.
func (s *Sampler) History(serverID string, since time.Time) []ProcSample {
	s.histMu.RLock()
	defer s.histMu.RUnlock()
	r := s.hist[serverID]
	if r == nil {
		return nil
	}
	var out []ProcSample
	for i := range len(r.buf) {
		if ps := r.at(i); !ps.Time.Before(since) {
			if out == nil {
				out = make([]ProcSample, 0, len(r.buf)-i)
			}
			out = append(out, *ps)
		}
	}
	return out
}

// Latest returns the newest sample of serverID.
func (s *Sampler) Latest(serverID string) (ProcSample, bool) {
	s.histMu.RLock()
	defer s.histMu.RUnlock()
	r := s.hist[serverID]
	if r == nil || len(r.buf) == 0 {
		return ProcSample{}, false
	}
	return *r.at(len(r.buf) - 1), true
}

// DropHistory forgets the history of serverID.
func (s *Sampler) DropHistory(serverID string) {
	s.histMu.Lock()
	defer s.histMu.Unlock()
	delete(s.hist, serverID)
}
