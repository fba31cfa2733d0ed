package socketio

import (
	"bytes"
	"io"
	"net/http"

	"github.com/zishang520/socket.io/parsers/engine/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// checkPolling makes a polling POST whose body is not an Engine.IO payload end its session, as
// the reference server does ("parse error"): the library drops such a body silently and keeps
// the session. The POST is answered 400 and the session closed; a valid body goes on unchanged.
// Bodies over MaxFrameBytes are left to the library, which refuses them (413).
func (s *Server) checkPolling(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sid := q.Get("sid")
		if r.Method != http.MethodPost || sid == "" || q.Get("transport") != "polling" || r.Body == nil {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxFrameBytes+1))
		if err != nil {
			s.closeSession(sid, "unreadable polling body")
			http.Error(w, `{"code":3,"message":"Bad request"}`, http.StatusBadRequest)
			return
		}
		if len(body) <= MaxFrameBytes && !validPayload(body, q.Get("EIO"), r.Header.Get("Content-Type")) {
			s.closeSession(sid, "malformed polling payload")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":3,"message":"Bad request"}`)
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		next.ServeHTTP(w, r)
	})
}

// validPayload reports whether body decodes as an Engine.IO payload of the given protocol version.
func validPayload(body []byte, eio, contentType string) bool {
	p := parser.Parserv4()
	if eio == "3" {
		p = parser.Parserv3()
	}
	var buf types.BufferInterface = types.NewStringBuffer(bytes.Clone(body))
	if contentType == "application/octet-stream" {
		buf = types.NewBytesBuffer(bytes.Clone(body))
	}
	_, err := p.DecodePayload(buf)
	return err == nil
}

// closeSession ends the Engine.IO session sid at once, if it exists.
func (s *Server) closeSession(sid, why string) {
	if sock, ok := s.io.Engine().Clients().Load(sid); ok {
		s.log.Debug("socketio: closing session", "sid", sid, "reason", why)
		sock.Close(true)
	}
}
