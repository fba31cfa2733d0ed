package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/logstore"
)

func TestDecodeSubscribeMetrics(t *testing.T) {
	cases := []struct {
		name     string
		payload  string
		want     SubscribeMetrics
		wantCode string
		wantMsg  string
	}{
		{"default interval", `{"serverId":"weather"}`, SubscribeMetrics{"weather", DefaultInterval}, "", ""},
		{"own interval", `{"serverId":"weather","interval":3000}`, SubscribeMetrics{"weather", 3 * time.Second}, "", ""},
		{"clamped up", `{"serverId":"a","interval":200}`, SubscribeMetrics{"a", MinInterval}, "", ""},
		{"clamped down", `{"serverId":"a","interval":120000}`, SubscribeMetrics{"a", MaxInterval}, "", ""},
		{"interval zero", `{"serverId":"a","interval":0}`, SubscribeMetrics{}, CodeInvalidPayload, "interval must be"},
		{"interval absurd", `{"serverId":"a","interval":1e12}`, SubscribeMetrics{}, CodeInvalidPayload, "interval must be"},
		{"interval negative", `{"serverId":"a","interval":-5}`, SubscribeMetrics{}, CodeInvalidPayload, "interval must be"},
		{"interval string", `{"serverId":"a","interval":"1000"}`, SubscribeMetrics{}, CodeInvalidPayload, "interval must be a number"},
		{"missing id", `{"interval":1000}`, SubscribeMetrics{}, CodeInvalidPayload, "serverId is required"},
		{"id number", `{"serverId":12}`, SubscribeMetrics{}, CodeInvalidPayload, "serverId must be a string"},
		{"id bad chars", `{"serverId":"../etc"}`, SubscribeMetrics{}, CodeInvalidPayload, "serverId must match"},
		{"string payload", `"weather"`, SubscribeMetrics{}, CodeInvalidPayload, "payload must be an object"},
		{"array payload", `["weather"]`, SubscribeMetrics{}, CodeInvalidPayload, "payload must be an object"},
		{"no payload", ``, SubscribeMetrics{}, CodeInvalidPayload, "payload must be an object"},
		{"null payload", `null`, SubscribeMetrics{}, CodeInvalidPayload, "payload must be an object"},
		{"broken json", `{"serverId":`, SubscribeMetrics{}, CodeInvalidPayload, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeSubscribeMetrics([]byte(c.payload))
			checkDecode(t, got, c.want, err, c.wantCode, c.wantMsg)
		})
	}
}

func TestDecodeSubscribeLogs(t *testing.T) {
	cases := []struct {
		name     string
		payload  string
		want     SubscribeLogs
		wantCode string
		wantMsg  string
	}{
		{"defaults", `{"serverId":"a"}`, SubscribeLogs{"a", logstore.Debug, DefaultTail, false}, "", ""},
		{"all set", `{"serverId":"a","level":"warn","tail":20,"batch":true}`, SubscribeLogs{"a", logstore.Warn, 20, true}, "", ""},
		{"tail capped", `{"serverId":"a","tail":99999}`, SubscribeLogs{"a", logstore.Debug, MaxTail, false}, "", ""},
		{"tail zero", `{"serverId":"a","tail":0}`, SubscribeLogs{"a", logstore.Debug, 0, false}, "", ""},
		{"tail negative", `{"serverId":"a","tail":-1}`, SubscribeLogs{}, CodeInvalidPayload, "tail must be"},
		{"tail fraction", `{"serverId":"a","tail":1.5}`, SubscribeLogs{}, CodeInvalidPayload, "tail must be"},
		{"bad level", `{"serverId":"a","level":"loud"}`, SubscribeLogs{}, CodeInvalidPayload, "level must be"},
		{"level number", `{"serverId":"a","level":3}`, SubscribeLogs{}, CodeInvalidPayload, "level must be a string"},
		{"batch string", `{"serverId":"a","batch":"yes"}`, SubscribeLogs{}, CodeInvalidPayload, "batch must be true or false"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeSubscribeLogs([]byte(c.payload))
			checkDecode(t, got, c.want, err, c.wantCode, c.wantMsg)
		})
	}
}

func TestDecodeUnsubscribe(t *testing.T) {
	cases := []struct {
		name     string
		payload  string
		want     Unsubscribe
		wantCode string
	}{
		{"room", `{"room":"server-logs-a"}`, Unsubscribe{Room: "server-logs-a"}, ""},
		{"status room", `{"room":"servers-status"}`, Unsubscribe{Room: "servers-status"}, ""},
		{"server both", `{"serverId":"a"}`, Unsubscribe{ServerID: "a"}, ""},
		{"server metrics", `{"serverId":"a","type":"metrics"}`, Unsubscribe{ServerID: "a", Type: "metrics"}, ""},
		{"bad type", `{"serverId":"a","type":"all"}`, Unsubscribe{}, CodeInvalidPayload},
		{"foreign room", `{"room":"admins"}`, Unsubscribe{}, CodeInvalidPayload},
		{"empty object", `{}`, Unsubscribe{}, CodeInvalidPayload},
		{"room number", `{"room":5}`, Unsubscribe{}, CodeInvalidPayload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeUnsubscribe([]byte(c.payload))
			checkDecode(t, got, c.want, err, c.wantCode, "")
		})
	}
}

func TestDecodeSystemAndEmpty(t *testing.T) {
	if got, err := DecodeSubscribeSystem(nil); err != nil || got.Interval != DefaultInterval {
		t.Fatalf("absent payload: %+v %v", got, err)
	}
	if got, err := DecodeSubscribeSystem([]byte(`{"interval":2000}`)); err != nil || got.Interval != 2*time.Second {
		t.Fatalf("interval: %+v %v", got, err)
	}
	if _, err := DecodeSubscribeSystem([]byte(`"x"`)); err == nil {
		t.Fatal("string payload accepted")
	}
	if err := DecodeEmpty([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := DecodeEmpty([]byte(`42`)); err == nil {
		t.Fatal("number accepted as empty payload")
	}
}

func TestPayloadLimit(t *testing.T) {
	big := `{"serverId":"a","pad":"` + strings.Repeat("x", MaxPayloadBytes) + `"}`
	_, err := DecodeSubscribeMetrics([]byte(big))
	if err == nil || err.Code != CodeInvalidPayload || !strings.Contains(err.Message, "over the limit") {
		t.Fatalf("got %v", err)
	}
}

func TestParseRoom(t *testing.T) {
	for room, want := range map[string][2]string{
		"server-metrics-a1": {"metrics", "a1"},
		"server-logs-x":     {"logs", "x"},
		"servers-status":    {"status", ""},
		"system-metrics":    {"system", ""},
	} {
		kind, id, ok := ParseRoom(room)
		if !ok || kind != want[0] || id != want[1] {
			t.Errorf("%s: %s %s %v", room, kind, id, ok)
		}
	}
	for _, bad := range []string{"", "server-logs-", "other"} {
		if _, _, ok := ParseRoom(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestEncodeLogIsJSON(t *testing.T) {
	now := time.Date(2026, 11, 25, 22, 0, 0, 123e6, time.UTC)
	b := EncodeLog("srv", []byte(`{"level":"info","message":"hi"}`), now)
	var v struct {
		ServerID  string          `json:"serverId"`
		Timestamp string          `json:"timestamp"`
		LogData   json.RawMessage `json:"logData"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if v.ServerID != "srv" || v.Timestamp != "2026-11-25T22:00:00.123Z" || string(v.LogData) != `{"level":"info","message":"hi"}` {
		t.Fatalf("%+v", v)
	}
	batch := EncodeLogBatch("srv", [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}, now)
	var bv struct {
		Entries []map[string]int `json:"entries"`
	}
	if err := json.Unmarshal(batch, &bv); err != nil || len(bv.Entries) != 2 {
		t.Fatalf("%s: %v", batch, err)
	}
}

func checkDecode[T comparable](t *testing.T, got, want T, err *Error, code, msg string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		if got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted: %+v", got)
	}
	if err.Code != code || !strings.Contains(err.Message, msg) {
		t.Fatalf("got %s %q, want %s containing %q", err.Code, err.Message, code, msg)
	}
}

// FuzzDecodeEvent: no payload makes a decoder panic, and an accepted one is always valid.
func FuzzDecodeEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		if m, err := DecodeSubscribeMetrics(payload); err == nil {
			if m.Interval < MinInterval || m.Interval > MaxInterval || !serverIDPattern.MatchString(m.ServerID) {
				t.Fatalf("accepted out of range: %+v", m)
			}
		}
		if l, err := DecodeSubscribeLogs(payload); err == nil {
			if l.Tail < 0 || l.Tail > MaxTail || l.Level > logstore.Error {
				t.Fatalf("accepted out of range: %+v", l)
			}
		}
		if u, err := DecodeUnsubscribe(payload); err == nil && u.Room == "" && u.ServerID == "" {
			t.Fatalf("accepted empty unsubscribe: %+v", u)
		}
		_, _ = DecodeSubscribeSystem(payload)
		_, _ = DecodeServerRef(payload)
		_ = DecodeEmpty(payload)
	})
}

func TestDecodeCallTool(t *testing.T) {
	ok, perr := DecodeCallTool([]byte(`{"serverId":"every","name":"echo","arguments":{"message":"hi"}}`))
	if perr != nil || ok.ServerID != "every" || ok.Name != "echo" || string(ok.Arguments) != `{"message":"hi"}` {
		t.Fatalf("DecodeCallTool = %+v, %v", ok, perr)
	}
	if c, perr := DecodeCallTool([]byte(`{"serverId":"every","name":"x","arguments":null}`)); perr != nil || c.Arguments != nil {
		t.Fatalf("null arguments = %+v, %v", c, perr)
	}
	for _, bad := range []string{``, `[]`, `{"name":"echo"}`, `{"serverId":"every"}`, `{"serverId":"every","name":""}`,
		`{"serverId":"every","name":"echo","arguments":[1]}`, `{"serverId":"every","name":"echo","arguments":"x"}`, `{"serverId":"Bad!","name":"e"}`} {
		if _, perr := DecodeCallTool([]byte(bad)); perr == nil || perr.Code != CodeInvalidPayload {
			t.Errorf("%s: got %v, want INVALID_PAYLOAD", bad, perr)
		}
	}
}
