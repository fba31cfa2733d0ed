package logstore

// ring keeps the newest entries of one server, bounded by count and by bytes.
type ring struct {
	buf      []*Entry // circular once it has reached max
	start    int      // index of the oldest entry
	n        int
	max      int
	bytes    int64
	maxBytes int64
}

func newRing(max int, maxBytes int64) ring {
	return ring{max: max, maxBytes: maxBytes}
}

func entryBytes(e *Entry) int64 { return int64(len(e.Message) + len(e.JSON) + 128) }

func (r *ring) push(e *Entry) {
	sz := entryBytes(e)
	for r.n > 0 && (r.n == r.max || r.bytes+sz > r.maxBytes) {
		r.pop()
	}
	if r.n == len(r.buf) { // full at its current size, which is below max: grow
		if r.start != 0 {
			lin := make([]*Entry, r.n, min(2*r.n+1, r.max))
			for i := range lin {
				lin[i] = r.at(i)
			}
			r.buf, r.start = lin, 0
		}
		r.buf = append(r.buf, e)
	} else {
		r.buf[(r.start+r.n)%len(r.buf)] = e
	}
	r.n++
	r.bytes += sz
}

func (r *ring) pop() {
	old := r.buf[r.start]
	r.buf[r.start] = nil
	r.bytes -= entryBytes(old)
	r.start = (r.start + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.start, r.buf = 0, r.buf[:0]
	}
}

// at returns the i-th oldest entry.
func (r *ring) at(i int) *Entry { return r.buf[(r.start+i)%len(r.buf)] }

func (r *ring) len() int { return r.n }
