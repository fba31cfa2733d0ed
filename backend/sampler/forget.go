package sampler

import "errors"

// Forget drops what the sampler keeps for pid (its CPU baseline and, on Linux, the descriptors
// kept open to read it), and the same for every other tracked pid that is gone too: call it when
// a child exits, so that the state of its tree does not wait StaleAfter for the sweep of a round
// that may never come (nobody watching, history off). A tracked pid still alive is kept.
func (s *Sampler) Forget(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop(pid)
	for p := range s.states {
		info, err := s.src.proc(p)
		if errors.Is(err, ErrNoProcess) || (err == nil && info.Zombie) {
			s.drop(p)
		}
	}
}
