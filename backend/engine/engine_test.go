package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested()
	// A race-built binary sleeps a second at exit, and the shim is this binary: skip that.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(m)
}

type running struct {
	eng    *Engine
	cancel context.CancelFunc
	done   chan error
}

// start opens an engine on a config holding defs and runs it until the test ends.
func start(t *testing.T, defs ...registry.ServerDef) *running {
	t.Helper()
	dir := t.TempDir()
	cfg := registry.Config{Servers: defs, Settings: registry.Settings{HistoryIntervalMs: -1}}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := Open(Options{ConfigPath: path, DataDir: filepath.Join(dir, "data"), Version: "test",
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

func (r *running) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	<-r.done
	r.cancel = nil
}

func child(id string, args ...string) registry.ServerDef {
	return registry.ServerDef{ID: id, Command: "", Args: args, Restart: registry.RestartPolicy{Policy: registry.PolicyNever, BackoffMs: 100}}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAutoStartAndShutdownLeaveNothingBehind(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	a := child("a", "-grandchild", "-lines", "1")
	a.Command, a.AutoStart = bin, true
	b := child("b", "-lines", "1")
	b.Command, b.AutoStart = bin, true
	c := child("c")
	c.Command = bin
	r := start(t, a, b, c)

	var gcPID int
	waitFor(t, 20*time.Second, "both auto-start servers running and the grandchild started", func() bool {
		for _, id := range []string{"a", "b"} {
			if st := r.eng.state(id); st.Status != "running" {
				return false
			}
		}
		entries, _ := r.eng.Logs("a", logstore.Query{Text: "grandchild pid"})
		if len(entries) == 0 {
			return false
		}
		_, err := fmtSscan(entries[0].Message, &gcPID)
		return err == nil
	})
	if st := r.eng.state("c"); st.Status != "stopped" {
		t.Fatalf("c is %s, want stopped (no autoStart)", st.Status)
	}
	pids := []int{r.eng.state("a").PID, r.eng.state("b").PID, gcPID}
	r.stop()
	for _, pid := range pids {
		waitFor(t, 10*time.Second, "process gone", func() bool { return !testutil.ProcessAlive(pid) })
	}
}

func TestSeqKeepsIncreasingAcrossRestarts(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	d := child("s", "-lines", "5", "-exit", "0")
	d.Command = bin
	r := start(t, d)
	var last uint64
	for run := 0; run < 3; run++ {
		if _, err := r.eng.StartServer("s"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "the run to end", func() bool {
			entries, _ := r.eng.Logs("s", logstore.Query{Text: "exited"})
			return len(entries) == run+1
		})
		entries, err := r.eng.Logs("s", logstore.Query{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(entries); i++ {
			if entries[i].Seq <= entries[i-1].Seq {
				t.Fatalf("seq %d after %d", entries[i].Seq, entries[i-1].Seq)
			}
		}
		if top := entries[len(entries)-1].Seq; top <= last {
			t.Fatalf("run %d: seq went from %d to %d", run, last, top)
		} else {
			last = top
		}
	}
}

// A client that never reads must not slow the child: 100 000 lines take about as long with a
// stalled subscriber as without one.
func TestStalledSubscriberDoesNotSlowTheChild(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	d := child("w", "-lines", "100000", "-exit", "0")
	d.Command = bin
	r := start(t, d)

	runOnce := func() time.Duration {
		before := r.eng.logs.LastSeq("w")
		t0 := time.Now()
		if _, err := r.eng.StartServer("w"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "100 000 lines stored", func() bool {
			return r.eng.logs.LastSeq("w") >= before+100000 && r.eng.state("w").Status == "stopped"
		})
		return time.Since(t0)
	}
	stalled := r.eng.Hub().NewClient("stalled")
	defer stalled.Close()
	// Alternate the two conditions and compare the best run of each: a loaded machine slows
	// single runs, but not the best of three.
	var alone, withStalled time.Duration
	for round := 0; round < 3; round++ {
		stalled.Unsubscribe(protocol.LogsRoom("w"))
		if d := runOnce(); alone == 0 || d < alone {
			alone = d
		}
		stalled.SubscribeLogs("w", logstore.Debug, 0, false)
		if d := runOnce(); withStalled == 0 || d < withStalled {
			withStalled = d
		}
	}
	if stalled.Dropped() == 0 {
		t.Fatal("the stalled client lost nothing: it was not stalled")
	}
	msgs, err := stalled.Next(context.Background())
	if err != nil || msgs[0].Event != protocol.EvProcessLogsDropped {
		t.Fatalf("stalled client was not told of its loss: %v", err)
	}
	t.Logf("100 000 lines, best of 3: %v alone, %v with a stalled subscriber", alone, withStalled)
	// A subscriber that blocked the pipeline would stall the child until the 60 s deadline; the
	// bound leaves room for the encoding a subscriber costs.
	if withStalled > alone*2+time.Second {
		t.Fatalf("a stalled subscriber slowed the child: %v vs %v", withStalled, alone)
	}
}

func TestLifecycleErrorsAndCrud(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	d := child("x", "-lines", "1")
	d.Command = bin
	r := start(t, d)
	if _, err := r.eng.StartServer("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown server: %v", err)
	}
	if _, err := r.eng.StartServer("x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "running", func() bool { return r.eng.state("x").Status == "running" })
	if _, err := r.eng.StartServer("x"); !errors.Is(err, ErrConflict) {
		t.Fatalf("start of a running server: %v", err)
	}
	if _, err := r.eng.CreateServer(registry.ServerDef{ID: "x", Command: "sh"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}
	_, err := r.eng.CreateServer(registry.ServerDef{Name: "New One", Command: "sh", Env: map[string]string{"K": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.eng.Server("new-one", false)
	if err != nil || v.Env["K"] != "" {
		t.Fatalf("env shown without the token: %+v %v", v, err)
	}
	v, _ = r.eng.Server("new-one", true)
	if v.Env["K"] != "secret" {
		t.Fatalf("env hidden from a token holder: %+v", v)
	}
	var verr *registry.ValidationError
	if _, err := r.eng.CreateServer(registry.ServerDef{ID: "bad", Command: ""}); !errors.As(err, &verr) || !strings.Contains(err.Error(), "command") {
		t.Fatalf("validation: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.eng.DeleteServer(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if r.eng.Exists("x") {
		t.Fatal("deleted server still exists")
	}
}

func TestCorruptConfigIsRefusedAndKept(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	corrupt := []byte("{\n  \"servers\": [\n    { \"id\": \"a\", }\n  ]\n}\n")
	if err := os.WriteFile(path, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(Options{ConfigPath: path, DataDir: filepath.Join(dir, "data"), Getenv: func(string) string { return "" }})
	var perr *registry.ParseError
	if !errors.As(err, &perr) || perr.Line != 3 {
		t.Fatalf("want a parse error on line 3, got %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(corrupt) {
		t.Fatal("the corrupt file was changed")
	}
}
