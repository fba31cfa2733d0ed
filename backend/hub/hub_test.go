package hub

import (
	"context"
	"encoding/json"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/sampler"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// procs is the hub's view of which children run: here the real processes a test started.
type procs struct {
	mu  sync.Mutex
	run map[string]int
}

func (p *procs) set(id string, pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run == nil {
		p.run = map[string]int{}
	}
	p.run[id] = pid
}

func (p *procs) Running() []Proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Proc
	for id, pid := range p.run {
		out = append(out, Proc{ServerID: id, PID: pid})
	}
	return out
}

func (p *procs) Process(id string) (Proc, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pid, ok := p.run[id]
	return Proc{ServerID: id, PID: pid}, ok
}

type fixture struct {
	hub   *Hub
	store *logstore.Store
	procs *procs
	// afterTail, when set, runs once the hub has read a subscription's tail, before it hands the
	// subscription over to live entries: what it appends is published during the replay.
	afterTail func()
}

func newFixture(t *testing.T, history time.Duration, queue int) *fixture {
	t.Helper()
	return newFixtureOpts(t, Options{HistoryInterval: history, QueueSize: queue})
}

// newFixtureOpts wires opts to a fresh store, the test's processes and a real sampler.
func newFixtureOpts(t *testing.T, opts Options) *fixture {
	t.Helper()
	store, err := logstore.Open(logstore.Options{Dir: t.TempDir(), RingSize: 20000})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, procs: &procs{}}
	opts.Processes, opts.Sampler, opts.Logs = f.procs, sampler.New(sampler.Options{}), fixtureLogs{f}
	f.hub = New(opts)
	remove := store.AddListener(f.hub.PublishLog)
	t.Cleanup(func() {
		remove()
		store.Close()
	})
	return f
}

type fixtureLogs struct{ f *fixture }

func (l fixtureLogs) Tail(serverID string, n int, min logstore.Level) []logstore.Entry {
	out := l.f.store.Tail(serverID, n, min)
	if l.f.afterTail != nil {
		l.f.afterTail()
	}
	return out
}

func (l fixtureLogs) ReplayJSON(e *logstore.Entry) []byte { return l.f.store.ReplayJSON(e) }

type logEvent struct {
	ServerID string `json:"serverId"`
	LogData  struct {
		Level    string `json:"level"`
		Message  string `json:"message"`
		Metadata struct {
			Seq    uint64 `json:"seq"`
			Replay bool   `json:"replay"`
		} `json:"metadata"`
	} `json:"logData"`
}

// collect drains c until stop says enough or the deadline passes.
func collect(t *testing.T, c *Client, deadline time.Duration, stop func([]*Message) bool) []*Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var all []*Message
	for !stop(all) {
		msgs, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(all), err)
		}
		all = append(all, msgs...)
	}
	return all
}

func logsOf(t *testing.T, msgs []*Message) []logEvent {
	t.Helper()
	var out []logEvent
	for _, m := range msgs {
		if m.Event != protocol.EvProcessLogs {
			continue
		}
		var ev logEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatalf("%s: %v", m.Data, err)
		}
		out = append(out, ev)
	}
	return out
}

// floodAfter appends total lines to "srv" from a goroutine and returns once the first n are in;
// wait waits for the rest.
func floodAfter(f *fixture, total, n int) (wait func()) {
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= total; i++ {
			f.store.Append("srv", logstore.Stdout, []byte("INFO line"), false, 1)
			if i == n {
				close(started)
			}
		}
	}()
	<-started
	return wg.Wait
}

func TestTailThenLiveHasNoGapAndNoDuplicate(t *testing.T) {
	f := newFixture(t, 0, 50000) // room for everything: this test is about the hand-over, not drops
	const total = 20000
	wait := floodAfter(f, total, 2000)
	c := f.hub.NewClient("c1")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, 50, false)
	msgs := collect(t, c, 30*time.Second, func(m []*Message) bool {
		l := logsOf(t, m)
		return len(l) > 0 && l[len(l)-1].LogData.Metadata.Seq == total
	})
	wait()
	l := logsOf(t, msgs)
	if len(l) < 50 {
		t.Fatalf("only %d entries", len(l))
	}
	for i, e := range l {
		if i < 50 != e.LogData.Metadata.Replay {
			t.Fatalf("entry %d seq %d replay=%v", i, e.LogData.Metadata.Seq, e.LogData.Metadata.Replay)
		}
		if i > 0 && e.LogData.Metadata.Seq != l[i-1].LogData.Metadata.Seq+1 {
			t.Fatalf("gap or duplicate: seq %d after %d", e.LogData.Metadata.Seq, l[i-1].LogData.Metadata.Seq)
		}
	}
}

func TestLevelFilter(t *testing.T) {
	f := newFixture(t, 0, 0)
	c := f.hub.NewClient("c1")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Warn, 0, false)
	for _, line := range []string{"DEBUG a", "INFO b", "WARN c", "ERROR d", "plain e", "WARN last"} {
		f.store.Append("srv", logstore.Stderr, []byte(line), false, 1)
	}
	l := logsOf(t, collect(t, c, 5*time.Second, func(m []*Message) bool {
		l := logsOf(t, m)
		return len(l) > 0 && l[len(l)-1].LogData.Message == "WARN last"
	}))
	var got []string
	for _, e := range l {
		got = append(got, e.LogData.Level)
	}
	if len(got) != 3 || got[0] != "warn" || got[1] != "error" || got[2] != "warn" {
		t.Fatalf("levels %v", got)
	}
}

func TestStalledClientDropsOldestAndIsTold(t *testing.T) {
	f := newFixture(t, 0, 1000)
	stalled := f.hub.NewClient("stalled")
	defer stalled.Close()
	fast := f.hub.NewClient("fast")
	defer fast.Close()
	stalled.SubscribeLogs("srv", logstore.Debug, 0, false)
	fast.SubscribeLogs("srv", logstore.Debug, 0, false)

	const total = 10000
	var received atomic.Uint64 // highest seq the fast client has read
	var fastSeqs []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for received.Load() < total {
			msgs, err := fast.Next(ctx)
			if err != nil {
				t.Errorf("fast client: %v", err)
				return
			}
			for _, e := range logsOf(t, msgs) {
				fastSeqs = append(fastSeqs, e.LogData.Metadata.Seq)
				received.Store(e.LogData.Metadata.Seq)
			}
		}
	}()
	// The writer stays within 500 entries of the fast reader (a fast client keeps up; that is
	// what makes it fast), so only the stalled one, with room for 1000, must lose entries.
	for i := uint64(1); i <= total; i++ {
		for i > received.Load()+500 {
			runtime.Gosched()
		}
		f.store.Append("srv", logstore.Stdout, []byte("x"), false, 1)
	}
	<-done
	if len(fastSeqs) != total {
		t.Fatalf("the fast client got %d of %d", len(fastSeqs), total)
	}

	msgs, err := stalled.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Event != protocol.EvProcessLogsDropped {
		t.Fatalf("first message %s", msgs[0].Event)
	}
	var d protocol.Dropped
	if err := json.Unmarshal(msgs[0].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Count != total-1000 || d.FromSeq != 1 || d.ToSeq != total-1000 {
		t.Fatalf("dropped %+v", d)
	}
	l := logsOf(t, msgs[1:])
	if len(l) != 1000 || l[0].LogData.Metadata.Seq != total-999 {
		t.Fatalf("kept %d, first %d", len(l), l[0].LogData.Metadata.Seq)
	}
}

func TestBatchedSubscriber(t *testing.T) {
	f := newFixture(t, 0, 0)
	c := f.hub.NewClient("c1")
	defer c.Close()
	for i := 0; i < 3; i++ {
		f.store.Append("srv", logstore.Stdout, []byte("INFO before"), false, 1)
	}
	c.SubscribeLogs("srv", logstore.Debug, 3, true)
	for i := 0; i < 500; i++ {
		f.store.Append("srv", logstore.Stdout, []byte("INFO live"), false, 1)
	}
	var entries int
	var batches int
	collect(t, c, 5*time.Second, func(m []*Message) bool {
		entries, batches = 0, 0
		for _, msg := range m {
			if msg.Event != protocol.EvProcessLogsBatch {
				t.Fatalf("unexpected %s", msg.Event)
			}
			var b struct {
				Entries []json.RawMessage `json:"entries"`
			}
			if err := json.Unmarshal(msg.Data, &b); err != nil {
				t.Fatal(err)
			}
			entries += len(b.Entries)
			batches++
		}
		return entries >= 503
	})
	if entries != 503 || batches > 3 {
		t.Fatalf("%d entries in %d batches", entries, batches)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	f := newFixture(t, 0, 0)
	c := f.hub.NewClient("c1")
	defer c.Close()
	c.SubscribeLogs("srv", logstore.Debug, 0, false)
	if !c.InRoom(protocol.LogsRoom("srv")) {
		t.Fatal("not in room")
	}
	if !c.Unsubscribe(protocol.LogsRoom("srv")) || c.Unsubscribe(protocol.LogsRoom("srv")) {
		t.Fatal("unsubscribe not idempotent")
	}
	f.store.Append("srv", logstore.Stdout, []byte("after"), false, 1)
	c.Push(NewMessage("marker", []byte(`{}`)))
	msgs := collect(t, c, 5*time.Second, func(m []*Message) bool { return len(m) > 0 })
	if len(msgs) != 1 || msgs[0].Event != "marker" {
		t.Fatalf("got %d messages, first %s", len(msgs), msgs[0].Event)
	}
	if st := f.hub.Stats(); st.Subscriptions != 0 || st.Clients != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// startChild runs the test child burning a little CPU and registers it as server id.
func startChild(t *testing.T, f *fixture, id string) int {
	t.Helper()
	cmd := exec.Command(testutil.BuildTestChild(t), "-cpu", "0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	f.procs.set(id, cmd.Process.Pid)
	return cmd.Process.Pid
}

func TestMetricsAtEachSubscribersRate(t *testing.T) {
	f := newFixture(t, 0, 0)
	pid := startChild(t, f, "srv")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = f.hub.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	fast, slow := f.hub.NewClient("fast"), f.hub.NewClient("slow")
	defer fast.Close()
	defer slow.Close()
	fast.SubscribeMetrics("srv", time.Second)
	slow.SubscribeMetrics("srv", 3*time.Second)

	count := func(c *Client, window time.Duration) (n int) {
		ctx, cancel := context.WithTimeout(context.Background(), window)
		defer cancel()
		for {
			msgs, err := c.Next(ctx)
			if err != nil {
				return n
			}
			for _, m := range msgs {
				if m.Event != protocol.EvProcessInfo {
					continue
				}
				var ev struct {
					ProcessInfo protocol.ProcessInfo `json:"processInfo"`
				}
				if err := json.Unmarshal(m.Data, &ev); err != nil || ev.ProcessInfo.PID != pid {
					t.Errorf("bad process:info %s", m.Data)
				}
				n++
			}
		}
	}
	var nFast, nSlow int
	var cw sync.WaitGroup
	cw.Add(2)
	go func() { defer cw.Done(); nFast = count(fast, 6200*time.Millisecond) }()
	go func() { defer cw.Done(); nSlow = count(slow, 6200*time.Millisecond) }()
	cw.Wait()
	// one at once, then one per interval
	if nFast < 6 || nFast > 8 || nSlow < 2 || nSlow > 4 {
		t.Fatalf("fast got %d (want 7±1), slow got %d (want 3±1)", nFast, nSlow)
	}
}

func TestUnwatchedServerIsNotSampled(t *testing.T) {
	f := newFixture(t, 0, 0)
	startChild(t, f, "srv")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = f.hub.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	f.hub.wake()
	// Nothing to wait for can be observed: give the loop a few wake-ups' worth of time.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		f.hub.wake()
		time.Sleep(100 * time.Millisecond)
	}
	if n := f.hub.Stats().Samples["srv"]; n != 0 {
		t.Fatalf("unwatched server sampled %d times", n)
	}
	c := f.hub.NewClient("c")
	defer c.Close()
	c.SubscribeMetrics("srv", time.Second)
	waitFor(t, 10*time.Second, func() bool { return f.hub.Stats().Samples["srv"] >= 2 })
	c.Close()
	n := f.hub.Stats().Samples["srv"]
	deadline = time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		f.hub.wake()
		time.Sleep(100 * time.Millisecond)
	}
	if m := f.hub.Stats().Samples["srv"]; m > n+1 {
		t.Fatalf("sampled %d more times after the last watcher left", m-n)
	}
}

func TestHistoryRecordsWithoutWatchers(t *testing.T) {
	f := newFixture(t, 200*time.Millisecond, 0)
	startChild(t, f, "srv")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = f.hub.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	smp := f.hub.opts.Sampler.(*sampler.Sampler)
	waitFor(t, 10*time.Second, func() bool { return len(smp.History("srv", time.Time{})) >= 3 })
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A subscribe that races a disconnect must not leave the closed client in a room.
func TestSubscribeRacingCloseLeavesNothing(t *testing.T) {
	f := newFixture(t, 0, 0)
	for i := 0; i < 200; i++ {
		c := f.hub.NewClient("c")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); c.SubscribeLogs("srv", logstore.Debug, 0, false); c.SubscribeStatus() }()
		go func() { defer wg.Done(); c.Close() }()
		wg.Wait()
	}
	if st := f.hub.Stats(); st.Clients != 0 || st.Subscriptions != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}
