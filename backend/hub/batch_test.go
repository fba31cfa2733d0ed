package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// fakeClock is the hub's Options.Now in the batch tests: a batch is due when the test says so.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockFixture is a fixture whose hub runs on a fake clock, with opts.
func newClockFixture(t *testing.T, opts Options) (*fixture, *fakeClock) {
	clock := newFakeClock()
	opts.Now = clock.Now
	return newFixtureOpts(t, opts), clock
}

// flush does what the server's batch timer does, at the fake clock's time.
func (f *fixture) flush(serverID string) {
	if t := f.hub.topic(serverID, false); t != nil {
		f.hub.flushTopic(t)
	}
}

func (f *fixture) appendN(serverID string, n int, line string) {
	for range n {
		f.store.Append(serverID, logstore.Stdout, []byte(line), false, 1)
	}
}

// poll returns what c has queued now, without waiting.
func poll(t *testing.T, c *Client) []*Message {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msgs, err := c.Next(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return msgs
}

type batchEntry struct {
	Level    string `json:"level"`
	Message  string `json:"message"`
	Metadata struct {
		Seq    uint64 `json:"seq"`
		Replay bool   `json:"replay"`
	} `json:"metadata"`
}

type batchEvent struct {
	ServerID  string       `json:"serverId"`
	Timestamp string       `json:"timestamp"`
	Entries   []batchEntry `json:"entries"`
}

// batchesOf decodes msgs, which must all be process:logs:batch.
func batchesOf(t *testing.T, msgs []*Message) []batchEvent {
	t.Helper()
	out := make([]batchEvent, 0, len(msgs))
	for _, m := range msgs {
		if m.Event != protocol.EvProcessLogsBatch {
			t.Fatalf("unexpected %s %s", m.Event, m.Data)
		}
		var b batchEvent
		if err := json.Unmarshal(m.Data, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func entriesOf(batches []batchEvent) []batchEntry {
	var out []batchEntry
	for _, b := range batches {
		out = append(out, b.Entries...)
	}
	return out
}

// wantSeqs fails unless es are exactly the seqs want, in order.
func wantSeqs(t *testing.T, who string, es []batchEntry, want []uint64) {
	t.Helper()
	if len(es) != len(want) {
		t.Fatalf("%s: %d entries, want %d", who, len(es), len(want))
	}
	for i, e := range es {
		if e.Metadata.Seq != want[i] {
			t.Fatalf("%s: entry %d has seq %d, want %d", who, i, e.Metadata.Seq, want[i])
		}
	}
}

// collectBatchesTo reads c's batches until one ends with seq.
func collectBatchesTo(t *testing.T, c *Client, seq uint64) []*Message {
	t.Helper()
	return collect(t, c, 30*time.Second, func(m []*Message) bool {
		if len(m) == 0 {
			return false
		}
		last := batchesOf(t, m[len(m)-1:])[0].Entries
		return last[len(last)-1].Metadata.Seq == seq
	})
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// Every batched subscriber of a level gets the same Message for a flush: encoded (and framed by
// the transport) once, not once per client.
func TestBatchIsSharedByItsLevel(t *testing.T) {
	f, clock := newClockFixture(t, Options{})
	const clients, total = 50, 1000
	cs := make([]*Client, clients)
	for i := range cs {
		cs[i] = f.hub.NewClient(fmt.Sprint("c", i))
		defer cs[i].Close()
		cs[i].SubscribeLogs("srv", logstore.Debug, 0, true)
	}
	f.appendN("srv", total, "INFO line") // the first goes at once, the rest wait for the next flush
	for _, c := range cs {
		if m := poll(t, c); len(m) != 1 {
			t.Fatalf("%d messages before the flush", len(m))
		}
	}
	clock.Add(batchEvery)
	f.flush("srv")
	var first []*Message
	for i, c := range cs {
		msgs := poll(t, c)
		if i == 0 {
			first = msgs
			wantSeqs(t, "c0", entriesOf(batchesOf(t, msgs)), seqRange(2, total))
			continue
		}
		if len(msgs) != 1 || msgs[0] != first[0] {
			t.Fatalf("client %d did not get the shared batch", i)
		}
	}
}

// Subscribers at different levels get their own group's batches, each filtered by its level.
func TestBatchGroupsPerLevel(t *testing.T) {
	f, clock := newClockFixture(t, Options{})
	debug := []*Client{f.hub.NewClient("d1"), f.hub.NewClient("d2")}
	warn := []*Client{f.hub.NewClient("w1"), f.hub.NewClient("w2")}
	for _, c := range debug {
		defer c.Close()
		c.SubscribeLogs("srv", logstore.Debug, 0, true)
	}
	for _, c := range warn {
		defer c.Close()
		c.SubscribeLogs("srv", logstore.Warn, 0, true)
	}
	lines := []string{"DEBUG a", "INFO b", "WARN c", "ERROR d", "plain e", "WARN f", "DEBUG g", "ERROR h"}
	var all, warnSeqs []uint64
	for i, l := range lines {
		f.store.Append("srv", logstore.Stderr, []byte(l), false, 1)
		seq := uint64(i + 1)
		all = append(all, seq)
		if l[0] == 'W' || l[0] == 'E' {
			warnSeqs = append(warnSeqs, seq)
		}
	}
	clock.Add(batchEvery)
	f.flush("srv")
	check := func(group []*Client, want []uint64) {
		var got [][]*Message
		for _, c := range group {
			got = append(got, poll(t, c))
		}
		if len(got[0]) != 2 || got[1][0] != got[0][0] || got[1][1] != got[0][1] {
			t.Fatalf("%s: the group's batches are not shared: %d and %d messages", group[0].ID(), len(got[0]), len(got[1]))
		}
		wantSeqs(t, group[0].ID(), entriesOf(batchesOf(t, got[0])), want)
	}
	check(debug, all)
	check(warn, warnSeqs)
	if msgs := poll(t, debug[0]); len(msgs) != 0 {
		t.Fatalf("%d more messages", len(msgs))
	}
}

// A subscriber that joins while its group's batch is pending gets its replay, then what was
// published during its replay, then the rest: no entry twice, none missing. The others still
// share their batch.
func TestBatchJoinWhilePending(t *testing.T) {
	f, clock := newClockFixture(t, Options{})
	a := f.hub.NewClient("a")
	defer a.Close()
	a.SubscribeLogs("srv", logstore.Debug, 0, true)
	f.appendN("srv", 10, "INFO before") // 1 goes at once, 2..10 wait
	wantSeqs(t, "a", entriesOf(batchesOf(t, poll(t, a))), []uint64{1})

	b := f.hub.NewClient("b")
	defer b.Close()
	// 11 and 12 are published while b's tail (6..10) is being replayed: they are pending for
	// b and in the group's pending batch too.
	f.afterTail = func() { f.appendN("srv", 2, "INFO during") }
	b.SubscribeLogs("srv", logstore.Debug, 5, true)
	f.afterTail = nil
	f.appendN("srv", 2, "INFO after") // 13, 14
	if msgs := poll(t, b); len(msgs) != 0 {
		t.Fatalf("b got %d messages before its group's flush", len(msgs))
	}
	clock.Add(batchEvery)
	f.flush("srv")

	wantSeqs(t, "a", entriesOf(batchesOf(t, poll(t, a))), seqRange(2, 14))
	bs := entriesOf(batchesOf(t, poll(t, b)))
	wantSeqs(t, "b", bs, seqRange(6, 14))
	for i, e := range bs {
		if e.Metadata.Replay != (i < 5) {
			t.Fatalf("b: seq %d replay=%v", e.Metadata.Seq, e.Metadata.Replay)
		}
	}

	// From now on both share one message again.
	f.appendN("srv", 3, "INFO later")
	clock.Add(batchEvery)
	f.flush("srv")
	ma, mb := poll(t, a), poll(t, b)
	if len(ma) != 1 || len(mb) != 1 || ma[0] != mb[0] {
		t.Fatalf("not shared after the join: %d and %d messages", len(ma), len(mb))
	}
	wantSeqs(t, "a", entriesOf(batchesOf(t, ma)), seqRange(15, 17))
}

// A batched subscriber that does not read loses its oldest entries once its queue holds the
// entry bound, and is told exactly which; one that reads loses nothing.
func TestStalledBatchedClientLosesOldestWithinEntryCap(t *testing.T) {
	f, clock := newClockFixture(t, Options{QueueEntries: 1000})
	stalled, reading := f.hub.NewClient("stalled"), f.hub.NewClient("reading")
	defer stalled.Close()
	defer reading.Close()
	stalled.SubscribeLogs("srv", logstore.Debug, 0, true)
	reading.SubscribeLogs("srv", logstore.Debug, 0, true)

	const total, per = 10000, 250
	var got []batchEntry
	f.appendN("srv", 1, "INFO x") // goes at once
	got = append(got, entriesOf(batchesOf(t, poll(t, reading)))...)
	for sent, to := 1, per; to <= total; sent, to = to, to+per {
		f.appendN("srv", to-sent, "INFO x")
		clock.Add(batchEvery)
		f.flush("srv")
		got = append(got, entriesOf(batchesOf(t, poll(t, reading)))...)
	}
	wantSeqs(t, "reading", got, seqRange(1, total))
	if d := reading.Dropped(); d != 0 {
		t.Fatalf("the reading client dropped %d", d)
	}

	// Batches were 1, 2..250, then 250 each: the last four fill the 1000 entries.
	msgs := poll(t, stalled)
	if msgs[0].Event != protocol.EvProcessLogsDropped {
		t.Fatalf("first message %s", msgs[0].Event)
	}
	var d protocol.Dropped
	if err := json.Unmarshal(msgs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.ServerID != "srv" || d.Count != total-1000 || d.FromSeq != 1 || d.ToSeq != total-1000 {
		t.Fatalf("dropped %+v", d)
	}
	wantSeqs(t, "stalled", entriesOf(batchesOf(t, msgs[1:])), seqRange(total-999, total))
	if n := stalled.Dropped(); n != total-1000 {
		t.Fatalf("Dropped() = %d", n)
	}
}

// A group flushes at most once per batchEvery; the first entry after a quiet period goes at once.
func TestBatchAtMostOncePerInterval(t *testing.T) {
	f, clock := newClockFixture(t, Options{})
	c := f.hub.NewClient("c")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, 0, true)
	var sent []time.Time
	expect := func(want []uint64) {
		t.Helper()
		f.flush("srv")
		msgs := poll(t, c)
		if want == nil {
			if len(msgs) != 0 {
				t.Fatalf("%d messages, want none", len(msgs))
			}
			return
		}
		bs := batchesOf(t, msgs)
		if len(bs) != 1 {
			t.Fatalf("%d batches, want one", len(bs))
		}
		wantSeqs(t, "c", bs[0].Entries, want)
		ts, err := time.Parse(time.RFC3339, bs[0].Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		if len(sent) > 0 && ts.Sub(sent[len(sent)-1]) < batchEvery {
			t.Fatalf("batches %v apart", ts.Sub(sent[len(sent)-1]))
		}
		sent = append(sent, ts)
	}
	f.appendN("srv", 1, "INFO a")
	expect([]uint64{1}) // quiet before: at once
	f.appendN("srv", 2, "INFO b")
	expect(nil)
	clock.Add(batchEvery - time.Millisecond)
	expect(nil)
	clock.Add(time.Millisecond)
	expect([]uint64{2, 3})
	clock.Add(50 * time.Millisecond)
	f.appendN("srv", 1, "INFO c")
	expect(nil)
	clock.Add(49 * time.Millisecond)
	expect(nil)
	clock.Add(time.Millisecond)
	expect([]uint64{4})
	clock.Add(time.Second)
	f.appendN("srv", 1, "INFO d")
	expect([]uint64{5}) // quiet again: at once
}

// With the real clock the server's timer flushes by itself, and stops with its last batched
// subscriber; unsubscribing and re-subscribing per line or at another level behave as before.
func TestBatchTimerAndResubscribe(t *testing.T) {
	f := newFixture(t, 0, 0)
	c := f.hub.NewClient("c")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, 0, true)
	f.appendN("srv", 5, "INFO a")
	got := entriesOf(batchesOf(t, collect(t, c, 5*time.Second, func(m []*Message) bool {
		return len(entriesOf(batchesOf(t, m))) >= 5
	})))
	wantSeqs(t, "c", got, seqRange(1, 5))

	tp := f.hub.topic("srv", false)
	timerState := func() (groups int, timer bool) {
		tp.mu.Lock()
		defer tp.mu.Unlock()
		return len(tp.groups), tp.timer != nil
	}
	f.appendN("srv", 2, "INFO pending") // 6 and 7, pending for 100 ms
	// Per line now: the pending batch goes with the batched subscription, and so does the timer.
	c.SubscribeLogs("srv", logstore.Warn, 0, false)
	if g, tm := timerState(); g != 0 || tm {
		t.Fatalf("after switching to per line: %d groups, timer %v", g, tm)
	}
	f.appendN("srv", 1, "INFO not for warn")
	f.appendN("srv", 1, "WARN w")
	l := logsOf(t, collect(t, c, 5*time.Second, func(m []*Message) bool { return len(logsOf(t, m)) > 0 }))
	if len(l) != 1 || l[0].LogData.Metadata.Seq != 9 {
		t.Fatalf("per line: %+v", l)
	}
	c.SubscribeLogs("srv", logstore.Warn, 1, true)
	f.appendN("srv", 1, "ERROR e")
	got = entriesOf(batchesOf(t, collect(t, c, 5*time.Second, func(m []*Message) bool {
		return len(entriesOf(batchesOf(t, m))) >= 2
	})))
	wantSeqs(t, "c", got, []uint64{9, 10})
	if !got[0].Metadata.Replay || got[1].Metadata.Replay {
		t.Fatalf("replay marks %v %v", got[0].Metadata.Replay, got[1].Metadata.Replay)
	}
	f.appendN("srv", 1, "WARN pending")
	c.Unsubscribe(protocol.LogsRoom("srv"))
	if g, tm := timerState(); g != 0 || tm {
		t.Fatalf("after unsubscribe: %d groups, timer %v", g, tm)
	}
	c.Push(NewMessage("marker", []byte(`{}`)))
	if msgs := collect(t, c, 5*time.Second, func(m []*Message) bool { return len(m) > 0 }); len(msgs) != 1 || msgs[0].Event != "marker" {
		t.Fatalf("after unsubscribe: %d messages, first %s", len(msgs), msgs[0].Event)
	}
}

// Under a live flood, a batched subscriber joining a busy group (another batched subscriber is
// there already) gets its replay and then every entry, once, in order: the hand-over races the
// writer here, unlike in TestBatchJoinWhilePending.
func TestBatchedJoinUnderLoadHasNoGapAndNoDuplicate(t *testing.T) {
	f := newFixture(t, 0, 0)
	const total, tail = 20000, 50
	other := f.hub.NewClient("other")
	defer other.Close()
	other.SubscribeLogs("srv", logstore.Debug, 0, true)
	wait := floodAfter(f, total, 2000)
	c := f.hub.NewClient("c")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, tail, true)
	es := entriesOf(batchesOf(t, collectBatchesTo(t, c, total)))
	wait()
	if len(es) < tail {
		t.Fatalf("only %d entries", len(es))
	}
	for i, e := range es {
		if i < tail != e.Metadata.Replay {
			t.Fatalf("entry %d seq %d replay=%v", i, e.Metadata.Seq, e.Metadata.Replay)
		}
		if i > 0 && e.Metadata.Seq != es[i-1].Metadata.Seq+1 {
			t.Fatalf("gap or duplicate: seq %d after %d", e.Metadata.Seq, es[i-1].Metadata.Seq)
		}
	}
}

// A 50 000-line burst fits in a batched client's queue with the default bounds: a browser that
// reads only once the burst is over still gets every line.
func TestBatchedBurstFitsDefaultQueue(t *testing.T) {
	f := newFixture(t, 0, 0)
	c := f.hub.NewClient("c")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, 0, true)
	const total = 50000
	f.appendN("srv", total, "INFO burst")
	msgs := collectBatchesTo(t, c, total)
	wantSeqs(t, "c", entriesOf(batchesOf(t, msgs)), seqRange(1, total))
	if c.Dropped() != 0 || len(msgs) > 1+total/1000 {
		t.Fatalf("dropped %d, %d batches", c.Dropped(), len(msgs))
	}
}
