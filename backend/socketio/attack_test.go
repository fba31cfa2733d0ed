package socketio

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// quiet is how long a connection that must stay up is watched for a close.
const quiet = 500 * time.Millisecond

// TestMalformedEngineIOOverWebSocket sends one hostile frame per case on a fresh /monitoring
// connection over WebSocket. A frame that cannot be decoded closes that connection (as the
// reference server does); a well-formed frame that means nothing harmful leaves it working. In
// every case another client on the same server keeps working.
func TestMalformedEngineIOOverWebSocket(t *testing.T) {
	f := newFixture(t, false)
	bystander := f.dialMonitoring(t, nil)
	for _, tc := range []struct {
		name   string
		frame  string
		binary bool
		closes bool
	}{
		{name: "empty frame", frame: "", closes: true},
		{name: "unknown Engine.IO packet type", frame: "x", closes: true},
		{name: "Engine.IO packet type out of range", frame: "9", closes: true},
		{name: "message with an empty Socket.IO packet", frame: "4", closes: true},
		{name: "unknown Socket.IO packet type", frame: "47/monitoring,", closes: true},
		{name: "event without arguments", frame: "42", closes: true},
		{name: "event with broken JSON", frame: `42/monitoring,[`, closes: true},
		{name: "event payload not an array", frame: `42/monitoring,{}`, closes: true},
		{name: "event array cut short", frame: `42/monitoring,["ping"`, closes: true},
		{name: "namespace without its comma", frame: "4/monitoring", closes: true},
		{name: "CONNECT_ERROR sent by a client", frame: "44/monitoring,{}", closes: true},
		{name: "NUL and invalid UTF-8", frame: "4\x00\xff", closes: true},
		{name: "binary frame outside a binary event", frame: "\xff\x00\x01", binary: true, closes: true},
		{name: "ping sent by the client (protocol 4)", frame: "2", closes: true},
		{name: "event name a number", frame: `42/monitoring,[1]`, closes: false},
		{name: "ack of an unknown id", frame: `43/monitoring,99[]`, closes: false},
		{name: "unsolicited pong", frame: "3", closes: false},
		{name: "noop", frame: "6", closes: false},
		{name: "second open", frame: "0", closes: false},
		{name: "binary event whose attachment never comes", frame: `451-/monitoring,["ping",{"_placeholder":true,"num":0}]`, closes: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := f.dialMonitoring(t, nil)
			typ := websocket.TextMessage
			if tc.binary {
				typ = websocket.BinaryMessage
			}
			if err := c.conn.WriteMessage(typ, []byte(tc.frame)); err != nil {
				t.Fatal(err)
			}
			if tc.closes {
				if !c.closed(wait) {
					t.Fatalf("frame %q did not close the connection", tc.frame)
				}
			} else {
				if c.closed(quiet) {
					t.Fatalf("frame %q closed the connection", tc.frame)
				}
				if !strings.HasPrefix(tc.frame, "45") { // still waiting for its attachment
					if a := c.ack(c.emit("ping", nil)); a["ok"] != true {
						t.Fatalf("ping after %q: %v", tc.frame, a)
					}
				}
			}
			if a := bystander.ack(bystander.emit("ping", nil)); a["ok"] != true {
				t.Fatalf("the other client after %q: %v", tc.frame, a)
			}
		})
	}
}

// pollRaw sends one request on the polling transport and returns status and body.
func pollRaw(t *testing.T, f *fixture, method, query, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.http.URL+Path+"?"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sessionGone reports whether a polling session has ended: its next GET is refused as unknown,
// or answers the close packet.
func sessionGone(t *testing.T, f *fixture, sid string) bool {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		st, body := pollRaw(t, f, "GET", "EIO=4&transport=polling&sid="+sid, "", nil)
		if st == http.StatusBadRequest && strings.Contains(body, "Session ID unknown") {
			return true
		}
		if st != http.StatusOK {
			return false
		}
		for _, pkt := range strings.Split(body, "\x1e") {
			if pkt == "1" {
				return true
			}
		}
	}
	return false
}

// TestMalformedEngineIOOverPolling: a polling POST whose body is not an Engine.IO payload is
// refused and ends its session; so does a payload that holds a broken Socket.IO packet. Requests
// the library refuses (unknown session, protocol or transport, oversized or binary bodies) get
// their error status and leave other sessions alone.
func TestMalformedEngineIOOverPolling(t *testing.T) {
	f := newFixture(t, false)
	bystander := f.dialMonitoring(t, nil)
	text := "text/plain;charset=UTF-8"
	for _, tc := range []struct {
		name        string
		body        string
		contentType string
		status      int // of the POST; 0: any
		ends        bool
	}{
		{name: "garbage body", body: "zzz", contentType: text, status: 400, ends: true},
		{name: "Engine.IO packet type out of range", body: "9", contentType: text, status: 400, ends: true},
		{name: "garbage after a valid packet", body: "3\x1ezzz", contentType: text, status: 400, ends: true},
		{name: "invalid base64 packet", body: "b!!!!", contentType: text, status: 400, ends: true},
		{name: "broken Socket.IO packet in a valid payload", body: `42/monitoring,[`, contentType: text, ends: true},
		{name: "empty Socket.IO packet", body: "4\x1e", contentType: text, ends: true},
		{name: "binary body on protocol 4", body: "\x00\x01", contentType: "application/octet-stream", status: 400},
		{name: "body over the frame limit", body: strings.Repeat("4", MaxFrameBytes+1), contentType: text, status: 413},
		{name: "valid noop payload", body: "6", contentType: text, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.dialPolling(t, nil)
			st, body := pollRaw(t, f, "POST", "EIO=4&transport=polling&sid="+p.sid, tc.contentType, []byte(tc.body))
			if tc.status != 0 && st != tc.status {
				t.Fatalf("POST status %d %q, want %d", st, body, tc.status)
			}
			if tc.ends {
				if !sessionGone(t, f, p.sid) {
					t.Fatal("the session is still open")
				}
			} else if tc.status == 200 {
				if err := p.postErr("6"); err != nil {
					t.Fatalf("session broken by a valid payload: %v", err)
				}
			}
			if a := bystander.ack(bystander.emit("ping", nil)); a["ok"] != true {
				t.Fatalf("the other client: %v", a)
			}
		})
	}
	for _, tc := range []struct {
		name, method, query string
		status              int
		code                string
	}{
		{"unknown session", "POST", "EIO=4&transport=polling&sid=nope", 400, `"code":1`},
		{"unknown session on GET", "GET", "EIO=4&transport=polling&sid=nope", 400, `"code":1`},
		// allowEIO3: like the reference server, anything but EIO=4 is served as protocol 3
		// (length-prefixed payloads), never refused or misread as 4.
		{"unknown protocol version served as 3", "GET", "EIO=5&transport=polling", 200, `:0{"maxPayload"`},
		{"unknown transport", "GET", "EIO=4&transport=pigeon", 400, `"code":0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, body := pollRaw(t, f, tc.method, tc.query, text, []byte("6"))
			if st != tc.status || !strings.Contains(body, tc.code) {
				t.Fatalf("%d %q, want %d with %s", st, body, tc.status, tc.code)
			}
		})
	}
}
