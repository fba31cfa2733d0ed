package app

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The contract of protocol.md section 4: the window's bridge and a Socket.IO client get the same
// events with the same payloads (timestamps aside) for the same child and subscriptions.
//
// The Socket.IO side is the real thing on the wire: the app's own HTTP server (httpapi with the
// backend/socketio server) on a loopback port, spoken to over a real WebSocket with the
// Engine.IO 4 / Socket.IO 5 framing (open, CONNECT /monitoring with the token, EVENT with ack
// ids, ping/pong). The client is hand-written here rather than the JavaScript socket.io-client,
// so that this test runs in plain `go test` with nothing but the module's own dependencies.

// sioClient is a minimal Socket.IO client of /monitoring over WebSocket.
type sioClient struct {
	t    *testing.T
	conn *websocket.Conn
	done chan struct{}

	mu     sync.Mutex
	events []emitted // decoded like the bridge's: one json.RawMessage each
	acks   map[int]json.RawMessage
	notify chan struct{}
	wmu    sync.Mutex // one writer
	nextID int
}

func dialSIO(t *testing.T, baseURL, token string) *sioClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(baseURL, "http") + "/socket.io/?EIO=4&transport=websocket"
	d := websocket.Dialer{HandshakeTimeout: wait}
	conn, resp, err := d.Dial(u, http.Header{})
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	_ = resp.Body.Close()
	c := &sioClient{t: t, conn: conn, done: make(chan struct{}), acks: map[int]json.RawMessage{}, notify: make(chan struct{}, 1)}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	_, open, err := conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(open), "0{") {
		t.Fatalf("open packet %q: %v", open, err)
	}
	auth, _ := json.Marshal(map[string]string{"token": token})
	c.send("40/monitoring," + string(auth))
	_, ans, err := conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(ans), "40/monitoring,{") {
		t.Fatalf("connect answer %q: %v", ans, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *sioClient) send(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Errorf("send: %v", err)
	}
}

func (c *sioClient) read() {
	defer close(c.done)
	const evPrefix, ackPrefix = "42/monitoring,", "43/monitoring,"
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		s := string(b)
		switch {
		case s == "2":
			c.send("3")
		case strings.HasPrefix(s, evPrefix):
			var args []json.RawMessage
			if err := json.Unmarshal([]byte(s[len(evPrefix):]), &args); err != nil || len(args) == 0 {
				c.t.Errorf("event frame %q: %v", truncate(s), err)
				continue
			}
			var name string
			_ = json.Unmarshal(args[0], &name)
			data := make([]any, 0, 1)
			for _, a := range args[1:] {
				data = append(data, a)
			}
			c.mu.Lock()
			c.events = append(c.events, emitted{name, data})
			c.mu.Unlock()
		case strings.HasPrefix(s, ackPrefix):
			rest := s[len(ackPrefix):]
			i := strings.IndexByte(rest, '[')
			id, err := strconv.Atoi(rest[:max(i, 0)])
			var args []json.RawMessage
			if err != nil || json.Unmarshal([]byte(rest[i:]), &args) != nil || len(args) != 1 {
				c.t.Errorf("ack frame %q", truncate(s))
				continue
			}
			c.mu.Lock()
			c.acks[id] = args[0]
			c.mu.Unlock()
		default:
			continue
		}
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

func (c *sioClient) close() {
	_ = c.conn.Close()
	<-c.done
}

// emit sends an event with an ack id and waits for the ack.
func (c *sioClient) emit(event, payload string) map[string]any {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	name, _ := json.Marshal(event)
	c.send("42/monitoring," + strconv.Itoa(id) + "[" + string(name) + "," + payload + "]")
	var ack json.RawMessage
	c.waitFor("ack "+strconv.Itoa(id), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		ack = c.acks[id]
		return ack != nil
	})
	var m map[string]any
	if err := json.Unmarshal(ack, &m); err != nil {
		c.t.Fatalf("ack %s: %v", ack, err)
	}
	return m
}

func (c *sioClient) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-c.notify:
		case <-c.done:
			c.t.Fatalf("connection closed while waiting for %s", what)
		case <-deadline.C:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *sioClient) snapshot() []emitted {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]emitted(nil), c.events...)
}

// byKey indexes payloads by a key made from each decoded payload.
func byKey(t *testing.T, raws []json.RawMessage, key func(map[string]any) string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range raws {
		m, ok := decode(t, r).(map[string]any)
		if !ok {
			t.Fatalf("payload is not an object: %s", r)
		}
		out[key(m)] = m
	}
	return out
}

func str(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestContractBridgeMatchesSocketIO(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.waitRunning("ticker")
	f.app.mu.Lock()
	base := f.app.srv.URL()
	f.app.mu.Unlock()
	sio := dialSIO(t, base, testToken)

	// The same subscriptions on both paths, one after the other.
	subs := []struct{ event, payload string }{
		{"subscribe-server-status", `{}`},
		{"subscribe-server-logs", `{"serverId":"ticker","tail":5}`},
		{"subscribe-server-metrics", `{"serverId":"ticker","interval":1000}`},
		{"subscribe-server-logs", `{"serverId":"nope"}`}, // refused the same way on both
	}
	for _, s := range subs {
		bAck, err := f.app.Emit(s.event, json.RawMessage(s.payload))
		if err != nil {
			t.Fatal(err)
		}
		sAck := sio.emit(s.event, s.payload)
		if b, s2 := withoutKeys(decode(t, mustJSON(t, bAck)), "timestamp"), withoutKeys(sAck, "timestamp"); !reflect.DeepEqual(b, s2) {
			t.Errorf("%s ack: bridge %s, socket.io %s", s.event, str(b), str(s2))
		}
	}

	// A restart makes status events; both paths must see it and the live lines after it.
	if _, err := f.app.RestartServer("ticker"); err != nil {
		t.Fatal(err)
	}
	ready := func(evs []emitted) bool {
		running := 0
		for _, raw := range payloadsNoFail(evs, "server-status-changed") {
			if strings.Contains(string(raw), `"status":"running"`) {
				running++
			}
		}
		return running >= 1 && len(payloadsNoFail(evs, "process:info")) >= 2 && len(payloadsNoFail(evs, "process:logs")) >= 15
	}
	f.rt.waitEvents(t, "bridge events", ready)
	sio.waitFor("socket.io events", func() bool { return ready(sio.snapshot()) })
	bridgeEvs := f.rt.waitEvents(t, "bridge events", ready)
	sioEvs := sio.snapshot()

	// Which events: the same names on both (connection-established aside: Socket.IO's arrives
	// before the namespace connect completes and is not counted by this client).
	names := func(evs []emitted) map[string]bool {
		m := map[string]bool{}
		for _, e := range evs {
			if e.Event != "connection-established" {
				m[e.Event] = true
			}
		}
		return m
	}
	if b, s := names(bridgeEvs), names(sioEvs); !reflect.DeepEqual(b, s) {
		t.Errorf("event names differ: bridge %v, socket.io %v", b, s)
	}

	// subscription-confirmed and subscription-error: equal but for the timestamp, in order.
	for _, name := range []string{"subscription-confirmed", "subscription-error"} {
		b, s := payloads(t, bridgeEvs, name), payloads(t, sioEvs, name)
		if len(b) != len(s) || len(b) == 0 {
			t.Fatalf("%s: bridge %d, socket.io %d", name, len(b), len(s))
		}
		for i := range b {
			bb, ss := withoutKeys(decode(t, b[i]), "timestamp"), withoutKeys(decode(t, s[i]), "timestamp")
			if !reflect.DeepEqual(bb, ss) {
				t.Errorf("%s #%d: bridge %s, socket.io %s", name, i, str(bb), str(ss))
			}
		}
	}

	// process:logs: the same entry (by seq) is the same payload, logData byte for byte. An entry
	// one path got live while the other, subscribed a moment later, got it as replay is not the
	// same event: only entries of the same kind on both paths are compared.
	seqAndKind := func(m map[string]any) string {
		md := m["logData"].(map[string]any)["metadata"].(map[string]any)
		return str(md["seq"]) + "/" + str(md["replay"])
	}
	bl := byKey(t, payloads(t, bridgeEvs, "process:logs"), seqAndKind)
	sl := byKey(t, payloads(t, sioEvs, "process:logs"), seqAndKind)
	common := 0
	for seq, b := range bl {
		s, ok := sl[seq]
		if !ok {
			continue
		}
		common++
		if !reflect.DeepEqual(withoutKeys(b, "timestamp"), withoutKeys(s, "timestamp")) || str(b["logData"]) != str(s["logData"]) {
			t.Errorf("process:logs seq %s: bridge %s, socket.io %s", seq, str(b), str(s))
		}
	}
	if common < 10 {
		t.Errorf("only %d log entries seen on both paths", common)
	}

	// server-status-changed: the same transitions, equal but for the timestamp.
	bs, ss := payloads(t, bridgeEvs, "server-status-changed"), payloads(t, sioEvs, "server-status-changed")
	if len(bs) != len(ss) {
		t.Errorf("server-status-changed: bridge %d, socket.io %d", len(bs), len(ss))
	}
	for i := range min(len(bs), len(ss)) {
		b, s := withoutKeys(decode(t, bs[i]), "timestamp"), withoutKeys(decode(t, ss[i]), "timestamp")
		if !reflect.DeepEqual(b, s) {
			t.Errorf("server-status-changed #%d: bridge %s, socket.io %s", i, str(b), str(s))
		}
	}

	// process:info: the same sample (processInfo.timestamp) is the same payload, timestamps
	// aside; every payload has the same fields on both paths.
	bi := byKey(t, payloads(t, bridgeEvs, "process:info"), func(m map[string]any) string {
		return str(m["processInfo"].(map[string]any)["timestamp"])
	})
	si := byKey(t, payloads(t, sioEvs, "process:info"), func(m map[string]any) string {
		return str(m["processInfo"].(map[string]any)["timestamp"])
	})
	same := 0
	for k, b := range bi {
		if s, ok := si[k]; ok {
			same++
			if !reflect.DeepEqual(withoutKeys(b, "timestamp"), withoutKeys(s, "timestamp")) {
				t.Errorf("process:info of sample %s: bridge %s, socket.io %s", k, str(b), str(s))
			}
		}
	}
	var anyB, anyS map[string]any
	for _, v := range bi {
		anyB = v
	}
	for _, v := range si {
		anyS = v
	}
	if !reflect.DeepEqual(shape(anyB), shape(anyS)) {
		t.Errorf("process:info fields differ: bridge %s, socket.io %s", str(shape(anyB)), str(shape(anyS)))
	}
	t.Logf("compared %d log entries, %d status changes, %d process:info samples seen on both paths (%d on the bridge, %d over socket.io)",
		common, min(len(bs), len(ss)), same, len(bi), len(si))
}

// shape replaces every leaf of a decoded JSON value by its type name.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[k] = shape(val)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	case nil:
		return "null"
	}
	return reflect.TypeOf(v).String()
}

// payloadsNoFail is payloads for a predicate (no *testing.T calls off the test goroutine).
func payloadsNoFail(evs []emitted, name string) []json.RawMessage {
	var out []json.RawMessage
	for _, e := range evs {
		if e.Event == name && len(e.Data) == 1 {
			if raw, ok := e.Data[0].(json.RawMessage); ok {
				out = append(out, raw)
			}
		}
	}
	return out
}
