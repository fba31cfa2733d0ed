package session

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested()
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	goleak.VerifyTestMain(m)
}

func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	bin := testutil.BuildTestChild(t)
	cfg := registry.Config{Servers: []registry.ServerDef{{ID: "echo", Command: bin, Args: []string{"-lines", "3", "-sleep", "1h"}}}}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(engine.Options{ConfigPath: path, DataDir: filepath.Join(dir, "data"), Version: "t",
		Getenv: func(string) string { return "" }, StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return eng
}

// drain returns what the session queued so far.
func drain(t *testing.T, s *Session) []*hub.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var out []*hub.Message
	for {
		msgs, err := s.Client().Next(ctx)
		if err != nil {
			return out
		}
		out = append(out, msgs...)
	}
}

func events(msgs []*hub.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Event)
	}
	return out
}

func TestBadInputJoinsNothing(t *testing.T) {
	eng := newEngine(t)
	s := New(eng, Info{ID: "c1", Transport: "websocket"})
	defer s.Close()
	cases := []struct {
		event, payload, code string
	}{
		{protocol.EvSubscribeMetrics, `{}`, protocol.CodeInvalidPayload},
		{protocol.EvSubscribeMetrics, `"echo"`, protocol.CodeInvalidPayload},
		{protocol.EvSubscribeMetrics, `{"serverId":"nope"}`, protocol.CodeUnknownServer},
		{protocol.EvSubscribeMetrics, `{"serverId":"echo","interval":0}`, protocol.CodeInvalidPayload},
		{protocol.EvSubscribeLogs, `{"serverId":"echo","level":"loud"}`, protocol.CodeInvalidPayload},
		{protocol.EvSubscribeLogs, `{"serverId":5}`, protocol.CodeInvalidPayload},
		{protocol.EvSubscribeSystem, `{"interval":1e12}`, protocol.CodeInvalidPayload},
		{protocol.EvUnsubscribe, `{"room":"other"}`, protocol.CodeInvalidPayload},
		{"no-such-event", `{}`, protocol.CodeUnknownEvent},
		{protocol.EvStartServer, `{"serverId":"echo"}`, protocol.CodeUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.event+" "+c.payload, func(t *testing.T) {
			ack := s.Handle(c.event, []byte(c.payload))
			if ack["ok"] != false || ack["code"] != c.code {
				t.Fatalf("ack %v, want code %s", ack, c.code)
			}
			msgs := drain(t, s)
			if len(msgs) != 1 || msgs[0].Event != protocol.EvSubscriptionError {
				t.Fatalf("queued %v, want one subscription-error", events(msgs))
			}
			if rooms := s.Client().Rooms(); len(rooms) != 0 {
				t.Fatalf("joined %v", rooms)
			}
		})
	}
}

func TestSubscribeConfirmsThenDelivers(t *testing.T) {
	eng := newEngine(t)
	if _, err := eng.StartServer("echo"); err != nil {
		t.Fatal(err)
	}
	s := New(eng, Info{ID: "c1", Transport: "polling"})
	defer s.Close()
	s.Welcome()
	ack := s.Handle(protocol.EvSubscribeLogs, []byte(`{"serverId":"echo","tail":10}`))
	if ack["ok"] != true || ack["room"] != "server-logs-echo" {
		t.Fatalf("ack %v", ack)
	}
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = append(got, events(drain(t, s))...)
		n := 0
		for _, e := range got {
			if e == protocol.EvProcessLogs {
				n++
			}
		}
		if n >= 4 { // started (pid N) + three lines
			break
		}
	}
	if len(got) < 6 || got[0] != protocol.EvConnectionEstablished || got[1] != protocol.EvSubscriptionConfirmed {
		t.Fatalf("events %v", got)
	}
	st := s.Handle(protocol.EvGetConnectionStatus, nil)
	if subs, _ := st["subscriptions"].([]string); len(subs) != 1 || subs[0] != "server-logs-echo" {
		t.Fatalf("status %v", st)
	}
	un := s.Handle(protocol.EvUnsubscribe, []byte(`{"serverId":"echo"}`))
	if un["ok"] != true || len(s.Client().Rooms()) != 0 {
		t.Fatalf("unsubscribe %v, rooms %v", un, s.Client().Rooms())
	}
}

func TestControlNeedsTheToken(t *testing.T) {
	eng := newEngine(t)
	anon := New(eng, Info{ID: "anon", Transport: "websocket"})
	defer anon.Close()
	if ack := anon.Handle(protocol.EvStartServer, []byte(`{"serverId":"echo"}`)); ack["code"] != protocol.CodeUnauthorized {
		t.Fatalf("anonymous start: %v", ack)
	}
	owner := New(eng, Info{ID: "owner", Transport: "websocket", Authorized: true})
	defer owner.Close()
	if ack := owner.Handle(protocol.EvStartServer, []byte(`{"serverId":"echo"}`)); ack["ok"] != true {
		t.Fatalf("start: %v", ack)
	}
	if ack := owner.Handle(protocol.EvStartServer, []byte(`{"serverId":"echo"}`)); ack["code"] != protocol.CodeConflict {
		t.Fatalf("second start: %v", ack)
	}
	if ack := owner.Handle(protocol.EvStopServer, []byte(`{"serverId":"nope"}`)); ack["code"] != protocol.CodeUnknownServer {
		t.Fatalf("stop unknown: %v", ack)
	}
	if ack := owner.Handle(protocol.EvStopServer, []byte(`{"serverId":"echo"}`)); ack["ok"] != true || ack["status"] != "stopped" {
		t.Fatalf("stop: %v", ack)
	}
}

func TestFloodIsRateLimited(t *testing.T) {
	eng := newEngine(t)
	s := New(eng, Info{ID: "c1", Transport: "websocket"})
	defer s.Close()
	limited := 0
	for i := 0; i < 1000; i++ {
		if ack := s.Handle(protocol.EvSubscribeMetrics, []byte(`{"serverId":"echo"}`)); ack["code"] == protocol.CodeRateLimited {
			limited++
		}
	}
	if limited < 800 {
		t.Fatalf("only %d of 1000 subscribes in a burst were limited", limited)
	}
	if rooms := s.Client().Rooms(); len(rooms) != 1 {
		t.Fatalf("rooms %v", rooms)
	}
}
