package socketio

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested()
	// The Socket.IO library's timers (utils.SetTimeout: connect, heartbeat and upgrade timeouts)
	// each hold a goroutine until they fire or are cleared; when the machine is loaded, one of a
	// connection closed in the middle of its handshake can still be waiting at the end of the
	// run (seen before our WebSocket writer existed too). They are the library's, not ours.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/zishang520/socket.io/v3/pkg/utils.SetTimeout.func1"))
}

func TestAppendFrame(t *testing.T) {
	for _, tc := range []struct {
		name, event, data, want string
	}{
		{"object", "process:info", `{"a":1}`, `42/monitoring,["process:info",{"a":1}]`},
		{"no data", "pong", ``, `42/monitoring,["pong"]`},
		{"quoted name", `a"b`, `[]`, `42/monitoring,["a\"b",[]]`},
		{"unicode data kept as is", "x", `{"s":"é\u2028"}`, `42/monitoring,["x",{"s":"é\u2028"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendFrame(nil, tc.event, []byte(tc.data))); got != tc.want {
				t.Fatalf("AppendFrame = %s, want %s", got, tc.want)
			}
		})
	}
}

// One message to four sockets (three WebSocket, one polling) is framed once, and every socket
// receives exactly those bytes.
func TestFrameOnceSameBytes(t *testing.T) {
	f := newFixture(t, false)
	var ws []*wsClient
	for range 3 {
		c := f.dialMonitoring(t, nil)
		if a := c.ack(c.emit("subscribe-server-status", map[string]any{})); a["ok"] != true {
			t.Fatalf("subscribe ack = %v", a)
		}
		c.event("subscription-confirmed")
		ws = append(ws, c)
	}
	p := f.dialPolling(t, nil)
	p.post(`42/monitoring,["subscribe-server-status",{}]`)
	p.take(func(s string) bool { return strings.HasPrefix(s, `42/monitoring,["subscription-confirmed"`) })

	built, written := f.srv.stats.framesBuilt.Load(), f.srv.stats.framesWritten.Load()
	m := hub.NewMessage("test:event", []byte(`{"n":1,"s":"é \u2028 <&>"}`))
	f.eng.Hub().Broadcast(m)
	want := `42/monitoring,["test:event",{"n":1,"s":"\u00e9 \u2028 <&>"}]` // in ASCII (asciiJSON)
	for i, c := range ws {
		if got := c.event("test:event"); got != want {
			t.Errorf("websocket %d got %s, want %s", i, got, want)
		}
	}
	if got := p.take(func(s string) bool { return strings.HasPrefix(s, `42/monitoring,["test:event"`) }); got != want {
		t.Errorf("polling got %s, want %s", got, want)
	}
	if d := f.srv.stats.framesBuilt.Load() - built; d != 1 {
		t.Errorf("message framed %d times, want once", d)
	}
	if d := f.srv.stats.framesWritten.Load() - written; d != 4 {
		t.Errorf("frames written = %d, want 4", d)
	}
	if got := m.Frame(func(*hub.Message) []byte { t.Error("framed again"); return nil }); string(got) != want {
		t.Errorf("cached frame = %s", got)
	}
	// The WebSocket ones went through our writer (wsTransport), which writes the shared frame.
	f.srv.mu.Lock()
	ours := 0
	for c := range f.srv.conns {
		if _, ok := c.sock.Conn().Transport().(*wsTransport); ok {
			ours++
		}
	}
	f.srv.mu.Unlock()
	if ours != len(ws) {
		t.Errorf("%d sockets on wsTransport, want %d", ours, len(ws))
	}
}

// The protocol's events reach the session and come back as acks and events on the wire.
func TestEventsAndAcks(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialMonitoring(t, nil)
	est := eventData(t, c.event("connection-established"))
	if est["transport"] != "websocket" || est["serverVersion"] != "test" || est["clientId"] == "" {
		t.Errorf("connection-established = %v", est)
	}
	a := c.ack(c.emit("subscribe-server-metrics", map[string]any{"serverId": "alpha", "interval": 2000}))
	if a["ok"] != true || a["room"] != "server-metrics-alpha" {
		t.Errorf("subscribe ack = %v", a)
	}
	conf := eventData(t, c.event("subscription-confirmed"))
	if conf["room"] != "server-metrics-alpha" || conf["interval"] != 2000.0 {
		t.Errorf("subscription-confirmed = %v", conf)
	}
	a = c.ack(c.emit("get-connection-status", nil))
	if subs, _ := a["subscriptions"].([]any); len(subs) != 1 || subs[0] != "server-metrics-alpha" {
		t.Errorf("connection status = %v", a)
	}
	// Without an ack id the event is handled too (the reply comes as an event).
	c.send(`42/monitoring,["ping"]`)
	pong := eventData(t, c.event("pong"))
	if _, ok := pong["serverTime"].(float64); !ok {
		t.Errorf("pong = %v", pong)
	}
	// Unknown event: ok:false, subscription-error, connection up.
	a = c.ack(c.emit("no-such-event", map[string]any{}))
	if a["ok"] != false || a["code"] != "UNKNOWN_EVENT" {
		t.Errorf("unknown event ack = %v", a)
	}
	if e := eventData(t, c.event("subscription-error")); e["code"] != "UNKNOWN_EVENT" {
		t.Errorf("subscription-error = %v", e)
	}
}

func TestBadPayloads(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialMonitoring(t, nil)
	for _, tc := range []struct{ name, event, args, code string }{
		{"string instead of object", "subscribe-server-metrics", `,"alpha"`, "INVALID_PAYLOAD"},
		{"number", "subscribe-server-logs", `,42`, "INVALID_PAYLOAD"},
		{"array", "unsubscribe", `,[1,2]`, "INVALID_PAYLOAD"},
		{"missing payload", "subscribe-server-metrics", ``, "INVALID_PAYLOAD"},
		{"missing serverId", "subscribe-server-metrics", `,{}`, "INVALID_PAYLOAD"},
		{"serverId wrong type", "subscribe-server-metrics", `,{"serverId":7}`, "INVALID_PAYLOAD"},
		{"unknown server", "subscribe-server-logs", `,{"serverId":"nope"}`, "UNKNOWN_SERVER"},
		{"interval 0", "subscribe-server-metrics", `,{"serverId":"alpha","interval":0}`, "INVALID_PAYLOAD"},
		{"interval 1e12", "subscribe-server-metrics", `,{"serverId":"alpha","interval":1e12}`, "INVALID_PAYLOAD"},
		{"level wrong", "subscribe-server-logs", `,{"serverId":"alpha","level":"loud"}`, "INVALID_PAYLOAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.ack(c.emitRaw(tc.event, tc.args))
			if a["ok"] != false || a["code"] != tc.code {
				t.Errorf("ack = %v, want code %s", a, tc.code)
			}
		})
	}
	if a := c.ack(c.emit("get-connection-status", nil)); fmt.Sprint(a["subscriptions"]) != "[]" {
		t.Errorf("a refused event joined a room: %v", a["subscriptions"])
	}
}

// A payload over 1 MB reaches the session and is refused while the connection stays up; a frame
// over MaxFrameBytes is the library's limit and closes the connection.
func TestPayloadLimits(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialMonitoring(t, nil)
	big := map[string]any{"serverId": "alpha", "pad": strings.Repeat("x", 1<<20+1000)}
	if a := c.ack(c.emit("subscribe-server-metrics", big)); a["ok"] != false || a["code"] != "INVALID_PAYLOAD" {
		t.Errorf("1 MB payload ack = %v", a)
	}
	if a := c.ack(c.emit("ping", nil)); a["ok"] != true {
		t.Fatalf("ping after a big payload: %v", a)
	}
	huge := map[string]any{"pad": strings.Repeat("x", MaxFrameBytes+10)}
	c.emit("ping", huge)
	if !c.closed(wait) {
		t.Error("a frame over MaxFrameBytes did not close the connection")
	}
}

// Events of one socket are handled in order: subscribe and unsubscribe sent back to back leave
// no room joined.
func TestEventsInOrder(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialMonitoring(t, nil)
	var last int
	for range 20 {
		c.emit("subscribe-server-metrics", map[string]any{"serverId": "alpha", "interval": 1000})
		c.emit("subscribe-server-logs", map[string]any{"serverId": "alpha", "tail": 0})
		last = c.emit("unsubscribe", map[string]any{"serverId": "alpha"})
	}
	if a := c.ack(last); a["ok"] != true {
		t.Fatalf("last unsubscribe = %v", a)
	}
	if a := c.ack(c.emit("get-connection-status", nil)); fmt.Sprint(a["subscriptions"]) != "[]" {
		t.Errorf("rooms left after subscribe+unsubscribe pairs: %v", a["subscriptions"])
	}
	if st := f.eng.Hub().Stats(); st.Subscriptions != 0 {
		t.Errorf("hub subscriptions = %d, want 0", st.Subscriptions)
	}
}

func TestNamespacesRefused(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialWS(t)
	c.send("40")
	if fr := c.next(); !strings.HasPrefix(fr, "44{") || connectError(t, fr[2:]) != "Invalid namespace" {
		t.Errorf("connect to / answered %q", fr)
	}
	if fr := c.connect("/other", nil); !strings.HasPrefix(fr, "44/other,") || connectError(t, fr[len("44/other,"):]) != "Invalid namespace" {
		t.Errorf("connect to /other answered %q", fr)
	}
	if ans := c.connect(Namespace, nil); !strings.HasPrefix(ans, "40"+Namespace+",{") {
		t.Errorf("connect to %s after refusals answered %q", Namespace, ans)
	}
}

func TestToken(t *testing.T) {
	for _, tc := range []struct {
		name         string
		require      bool
		auth         map[string]any
		header       string
		query        string // added to the Engine.IO URL
		refused      bool
		startOutcome string // code of start-server for an unknown server: who got past the token check
	}{
		{name: "no token", auth: nil, startOutcome: "UNAUTHORIZED"},
		{name: "empty token counts as none", auth: map[string]any{"token": ""}, startOutcome: "UNAUTHORIZED"},
		{name: "good token", auth: map[string]any{"token": testToken}, startOutcome: "UNKNOWN_SERVER"},
		{name: "bearer header", header: "Bearer " + testToken, startOutcome: "UNKNOWN_SERVER"},
		{name: "query token", query: "&token=" + testToken, startOutcome: "UNKNOWN_SERVER"},
		{name: "wrong query token", query: "&token=nope", refused: true},
		{name: "wrong token", auth: map[string]any{"token": "nope"}, refused: true},
		{name: "token of another type", auth: map[string]any{"token": 12}, refused: true},
		{name: "wrong bearer header", header: "Bearer nope", refused: true},
		{name: "required, none", require: true, refused: true},
		{name: "required, good", require: true, auth: map[string]any{"token": testToken}, startOutcome: "UNKNOWN_SERVER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.require)
			var c *wsClient
			switch {
			case tc.header != "":
				c = f.dialWSHeader(t, http.Header{"Authorization": {tc.header}})
			case tc.query != "":
				c = f.dialWSQuery(t, tc.query)
			default:
				c = f.dialWS(t)
			}
			ans := c.connect(Namespace, tc.auth)
			if tc.refused {
				if !strings.HasPrefix(ans, "44"+Namespace+",") || connectError(t, ans[len("44"+Namespace+","):]) != "UNAUTHORIZED" {
					t.Fatalf("answer = %q, want UNAUTHORIZED", ans)
				}
				return
			}
			if !strings.HasPrefix(ans, "40"+Namespace+",{") {
				t.Fatalf("answer = %q, want connected", ans)
			}
			if a := c.ack(c.emit("start-server", map[string]any{"serverId": "nope"})); a["code"] != tc.startOutcome {
				t.Errorf("start-server ack = %v, want code %s", a, tc.startOutcome)
			}
		})
	}
}

// A socket that does not read stops its writer after maxInFlight unfinished writes: its hub queue
// then drops its own oldest messages, while another socket gets everything in order.
func TestSlowSocketLosesItsOwn(t *testing.T) {
	f := newFixture(t, false)
	fast := f.dialMonitoring(t, nil)
	fast.ack(fast.emit("subscribe-server-status", nil))
	slow := f.dialPolling(t, nil)
	slow.post(`42/monitoring,["subscribe-server-status",{}]`)
	slow.take(func(s string) bool { return strings.HasPrefix(s, `42/monitoring,["subscription-confirmed"`) })
	// slow polls no more from here on.

	// The writer may hold two whole batches (each up to a full queue) in the library; past that
	// and a full queue of its own, the hub must drop.
	const n = 3*hub.DefaultQueueSize + 1000
	for i := range n {
		f.eng.Hub().Broadcast(hub.NewMessage("test:seq", fmt.Appendf(nil, `{"i":%d}`, i)))
	}
	lastWant := fmt.Sprintf(`42/monitoring,["test:seq",{"i":%d}]`, n-1)
	prev := -1
	for {
		fr := fast.event("test:seq")
		var i int
		if _, err := fmt.Sscanf(fr, `42/monitoring,["test:seq",{"i":%d}]`, &i); err != nil || i <= prev {
			t.Fatalf("fast socket: %q after %d", fr, prev)
		}
		prev = i
		if fr == lastWant {
			break
		}
	}
	var slowConn *conn
	f.srv.mu.Lock()
	for c := range f.srv.conns {
		if c.sock.Conn().Transport().Name() == "polling" {
			slowConn = c
		}
	}
	f.srv.mu.Unlock()
	if slowConn == nil {
		t.Fatal("no polling connection")
	}
	if d := slowConn.sess.Client().Dropped(); d == 0 {
		t.Error("the slow socket dropped nothing: its writer kept taking messages it could not send")
	}
	// It is still connected and gets the newest messages when it polls again.
	slow.take(func(s string) bool { return s == lastWant })
}

// Close disconnects every socket and waits for every writer; a client's own disconnect ends its
// session and writer too.
func TestWriterLifecycle(t *testing.T) {
	f := newFixture(t, false)
	gone := f.dialMonitoring(t, nil)
	gone.ack(gone.emit("subscribe-server-metrics", map[string]any{"serverId": "alpha"}))
	gone.close()
	waitFor(t, "session of a closed client ends", func() bool {
		f.srv.mu.Lock()
		n := len(f.srv.conns)
		f.srv.mu.Unlock()
		return n == 0 && f.eng.Hub().Stats().Clients == 0
	})

	var cs []*wsClient
	for range 4 {
		c := f.dialMonitoring(t, nil)
		c.ack(c.emit("subscribe-server-logs", map[string]any{"serverId": "alpha"}))
		cs = append(cs, c)
	}
	p := f.dialPolling(t, nil)
	_ = p
	// The library answers the connect before it runs our connection handler: wait for it.
	waitFor(t, "five hub clients", func() bool { return f.eng.Hub().Stats().Clients == 5 })
	f.srv.Close() // returns once every writer goroutine has returned
	for i, c := range cs {
		if !c.closed(wait) {
			t.Errorf("client %d still connected after Close", i)
		}
	}
	if st := f.eng.Hub().Stats(); st.Clients != 0 || st.Subscriptions != 0 {
		t.Errorf("after Close: hub %+v", st)
	}
	f.srv.Close() // idempotent

	// A connection after Close is refused.
	d := websocket.Dialer{HandshakeTimeout: wait}
	if conn, resp, err := d.Dial(f.wsURL(), nil); err == nil {
		_ = resp.Body.Close()
		late := &wsClient{t: t, conn: conn, frames: make(chan string, 16), done: make(chan struct{})}
		go late.read()
		t.Cleanup(late.close)
		late.next() // open
		if ans := late.connect(Namespace, nil); strings.HasPrefix(ans, "40"+Namespace+",{") {
			t.Errorf("connected after Close: %q", ans)
		}
	}
}

// connectError is the message of a CONNECT_ERROR packet's data.
func connectError(t *testing.T, data string) string {
	t.Helper()
	var e struct{ Message string }
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("connect_error %q: %v", data, err)
	}
	return e.Message
}

func TestPacketNamespace(t *testing.T) {
	for _, tc := range []struct {
		in  string
		typ byte
		nsp string
	}{
		{`0/monitoring,{"token":"x"}`, '0', "/monitoring"},
		{`0/monitoring`, '0', "/monitoring"},
		{`0/monitoring?token=x`, '0', "/monitoring"},
		{`2/monitoring,1["ping"]`, '2', "/monitoring"},
		{`51-/monitoring,["x",{"_placeholder":true,"num":0}]`, '5', "/monitoring"},
		{`2["ping"]`, '2', "/"},
		{`0`, '0', "/"},
		{`2/monitoringx,["a"]`, '2', "/monitoringx"},
		{``, 0, ""},
	} {
		typ, nsp := packetNamespace([]byte(tc.in))
		if typ != tc.typ || nsp != tc.nsp {
			t.Errorf("packetNamespace(%q) = %q %q, want %q %q", tc.in, typ, nsp, tc.typ, tc.nsp)
		}
	}
}

// A client that emits without waiting for the CONNECT answer (the tightest form of emitting in
// the connect handler) is served, not dropped: see gate.
func TestEmitRightAfterConnect(t *testing.T) {
	f := newFixture(t, false)
	for i := range 30 {
		c := f.dialWS(t)
		c.send("40" + Namespace + ",")
		c.send("42" + Namespace + `,1["ping"]`)
		if a := c.ack(1); a["ok"] != true {
			t.Fatalf("round %d: ping ack = %v", i, a)
		}
		c.close()
	}
}

// The origin policy is the guard's: the handler itself does not refuse a WebSocket upgrade from
// another origin (the library alone would, even for origins the guard allows).
func TestCrossOriginUpgradeLeftToGuard(t *testing.T) {
	f := newFixture(t, false)
	c := f.dialWSHeader(t, http.Header{"Origin": {"http://localhost:3000"}})
	if ans := c.connect(Namespace, nil); !strings.HasPrefix(ans, "40"+Namespace+",{") {
		t.Fatalf("connect answer = %q", ans)
	}
}

// Frames are ASCII and mean the same JSON: non-ASCII characters become \u escapes (pairs beyond
// U+FFFF), invalid UTF-8 becomes U+FFFD.
func TestASCIIJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{`{"m":"é → 中"}`, `{"m":"\u00e9 \u2192 \u4e2d"}`},
		{`{"m":"😀"}`, `{"m":"\ud83d\ude00"}`},
		{"{\"m\":\"a\xffb\"}", `{"m":"a\ufffdb"}`},
		{`{"m":"\u2028 kept"}`, `{"m":"\u2028 kept"}`},
	} {
		if got := string(asciiJSON([]byte(tc.in))); got != tc.want {
			t.Errorf("asciiJSON(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	plain := []byte(`{"a":1}`)
	if got := asciiJSON(plain); &got[0] != &plain[0] {
		t.Error("an ASCII frame was copied")
	}
}

func FuzzASCIIJSON(f *testing.F) {
	for _, s := range []string{`{"a":"é"}`, `["→",1,{"b":"😀\u00e9"}]`, `"x"`, `{"k":"中文日志 warn"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want any
		if !utf8.ValidString(s) || json.Unmarshal([]byte(s), &want) != nil {
			return
		}
		out := asciiJSON([]byte(s))
		for _, c := range out {
			if c >= utf8.RuneSelf {
				t.Fatalf("non-ASCII byte in %q", out)
			}
		}
		var got any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("asciiJSON(%q) = %q: %v", s, out, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("asciiJSON(%q) = %q: decodes to %v, want %v", s, out, got, want)
		}
	})
}
