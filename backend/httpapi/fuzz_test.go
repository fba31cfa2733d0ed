package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/engine"
)

// FuzzDecodeServerDef sends arbitrary bodies to POST /api/v1/servers through the whole guarded
// handler of a real engine: it never panics, never answers 500, and a refusal is a JSON error
// (400 INVALID, or 409 for an id in use). Seeds: testdata/fuzz/FuzzDecodeServerDef.
func FuzzDecodeServerDef(f *testing.F) {
	f.Add([]byte(`{"name":"Weather API","command":"npx","args":["-y","x"],"env":{"A":"1"},"restart":{"policy":"always"}}`))
	f.Add([]byte(`{"id":"a","command":"x","transport":"sse","url":"http://127.0.0.1:1/sse"}`))

	eng := openEngine(f)
	s, err := Listen(eng, Options{Port: -1, Socket: fakeFactory(&fakeSocket{}), Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	host := s.Addr().String()

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "http://"+host+"/api/v1/servers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+eng.Token())
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusCreated:
			var v engine.ServerView
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.ID == "" {
				t.Fatalf("201 with body %s: %v", rec.Body, err)
			}
			if err := eng.DeleteServer(t.Context(), v.ID); err != nil {
				t.Fatalf("delete %s: %v", v.ID, err)
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			var b errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
				t.Fatalf("%d with body %q: not a JSON error (%v)", rec.Code, rec.Body, err)
			}
		default:
			t.Fatalf("body %q: status %d (%s)", body, rec.Code, rec.Body)
		}
	})
}
