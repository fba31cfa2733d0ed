package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// startWith is start with settings and a logger of the test's choice, on data dir dataDir ("" for
// a temporary one).
func startWith(t *testing.T, settings registry.Settings, logger *slog.Logger, dataDir string, defs ...registry.ServerDef) *running {
	t.Helper()
	dir := t.TempDir()
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	b, _ := json.Marshal(registry.Config{Servers: defs, Settings: settings})
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := Open(Options{ConfigPath: path, DataDir: dataDir, Version: "test", Logger: logger,
		Getenv: func(string) string { return "" }, StopGrace: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{eng: eng, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

// hubEvent is one message a hub client received, decoded.
type hubEvent struct {
	event  string
	status protocol.StatusChanged
	log    struct {
		ServerID string `json:"serverId"`
		LogData  struct {
			Level    string `json:"level"`
			Message  string `json:"message"`
			Metadata struct {
				Stream string `json:"stream"`
				Seq    uint64 `json:"seq"`
			} `json:"metadata"`
		} `json:"logData"`
	}
	at time.Time
}

// collect reads a hub client until ctx ends, decoding status and log events.
type collector struct {
	mu     sync.Mutex
	events []hubEvent
	done   chan struct{}
}

func collect(t *testing.T, c *hub.Client) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	col := &collector{done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for {
			msgs, err := c.Next(ctx)
			if err != nil {
				return
			}
			for _, m := range msgs {
				ev := hubEvent{event: m.Event, at: time.Now()}
				switch m.Event {
				case protocol.EvStatusChanged:
					_ = json.Unmarshal(m.Data, &ev.status)
				case protocol.EvProcessLogs:
					_ = json.Unmarshal(m.Data, &ev.log)
				}
				col.mu.Lock()
				col.events = append(col.events, ev)
				col.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); c.Close(); <-col.done })
	return col
}

func (c *collector) snapshot() []hubEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// TestCrashLoopIsVisibleOnTheHub: a child that always exits 3, with on-failure, 3 retries and a
// 100 ms backoff, goes starting → running → crashed → backoff three times, waiting at least the
// configured delay (100, 200, 400 ms) each time, then stays crashed with the reason. Every step
// reaches a hub client subscribed to the status room as server-status-changed, and to one
// subscribed to the server's logs as a system line, in order.
func TestCrashLoopIsVisibleOnTheHub(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	d := child("crasher", "-lines", "1", "-exit", "3")
	d.Command = bin
	d.Restart = registry.RestartPolicy{Policy: registry.PolicyOnFailure, MaxRetries: 3, BackoffMs: 100}
	r := startWith(t, registry.Settings{HistoryIntervalMs: -1}, nil, "", d)

	c := r.eng.Hub().NewClient("watcher")
	c.SubscribeStatus()
	c.SubscribeLogs("crasher", logstore.Debug, 0, false)
	col := collect(t, c)
	if _, err := r.eng.StartServer("crasher"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "crashed for good", func() bool {
		for _, e := range col.snapshot() {
			if e.event == protocol.EvStatusChanged && e.status.Status == "crashed" && strings.Contains(e.status.Error, "gave up") {
				return true
			}
		}
		return false
	})
	time.Sleep(300 * time.Millisecond) // nothing may follow: no restart after giving up

	var statuses, system []string
	var backoffs, starts []hubEvent
	pidRe := regexp.MustCompile(`pid \d+`)
	lifecycle := regexp.MustCompile(`^(started|exited|killed|restart|gave up|stopping|did not stop)`)
	for _, e := range col.snapshot() {
		switch e.event {
		case protocol.EvStatusChanged:
			s := e.status
			if s.ServerID != "crasher" {
				continue
			}
			statuses = append(statuses, s.PreviousStatus+"→"+s.Status)
			switch s.Status {
			case "backoff":
				backoffs = append(backoffs, e)
			case "starting":
				starts = append(starts, e)
			case "crashed":
				if s.ExitCode == nil || *s.ExitCode != 3 || s.PID <= 0 {
					t.Errorf("crashed event without exit code 3 and pid: %+v", s)
				}
			}
		case protocol.EvProcessLogs:
			// the lifecycle lines of the supervisor (the MCP probe writes system lines too)
			if l := e.log.LogData; l.Metadata.Stream == "system" && lifecycle.MatchString(l.Message) {
				system = append(system, l.Level+" "+pidRe.ReplaceAllString(l.Message, "pid N"))
			}
		}
	}
	run := []string{"→starting", "starting→running", "running→crashed"}
	var want []string
	for i := range 4 {
		want = append(want, run...)
		if i < 3 {
			want = append(want, "crashed→backoff")
		}
		run[0] = "backoff→starting"
	}
	want[0] = "stopped→starting"
	if !slices.Equal(statuses, want) {
		t.Errorf("transitions\n got %q\nwant %q", statuses, want)
	}
	wantSys := []string{}
	for i := 1; i <= 4; i++ {
		wantSys = append(wantSys, "info started (pid N)", "warn exited with code 3")
		if i <= 3 {
			wantSys = append(wantSys, fmt.Sprintf("info restart %d/3 in %d ms", i, 100<<(i-1)))
		}
	}
	wantSys = append(wantSys, "error gave up after 3 restarts")
	if !slices.Equal(system, wantSys) {
		t.Errorf("system lines\n got %q\nwant %q", system, wantSys)
	}
	// The delays: from each backoff to the next start, at least the configured one (the event
	// timestamps have millisecond precision).
	if len(backoffs) == 3 && len(starts) == 4 {
		for i, b := range backoffs {
			from, _ := time.Parse(time.RFC3339Nano, b.status.Timestamp)
			to, _ := time.Parse(time.RFC3339Nano, starts[i+1].status.Timestamp)
			min := time.Duration(100<<i)*time.Millisecond - time.Millisecond
			if got := to.Sub(from); got < min {
				t.Errorf("restart %d came %s after backoff, before its delay %s", i+1, got, min)
			} else {
				t.Logf("restart %d after %s (configured %d ms)", i+1, got, 100<<i)
			}
			if b.status.RestartCount != i+1 {
				t.Errorf("backoff %d has restartCount %d", i+1, b.status.RestartCount)
			}
		}
	}
	if st := r.eng.state("crasher"); st.Status != "crashed" || !strings.Contains(st.Error, "gave up after 3 restarts") {
		t.Errorf("final state %+v", st)
	}
}
