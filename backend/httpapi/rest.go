package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"runtime"
	"strings"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/hub"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

const apiV1 = "/api/v1/"

// handlerFunc handles one route; id is the {id} segment, if the route has one.
type handlerFunc func(w http.ResponseWriter, r *http.Request, id string)

// route is one method and path under /api/v1/; a "{id}" segment matches any one segment.
type route struct {
	method string
	path   []string
	handle handlerFunc
}

func (rt route) match(segs []string) (id string, ok bool) {
	if len(segs) != len(rt.path) {
		return "", false
	}
	for i, p := range rt.path {
		switch {
		case p == "{id}" && segs[i] != "":
			id = segs[i]
		case p == "{name}" && segs[i] != "": // read by the handler (mcp.go)
		case p != segs[i]:
			return "", false
		}
	}
	return id, true
}

func mkRoute(method, path string, h handlerFunc) route {
	return route{method: method, path: strings.Split(path, "/"), handle: h}
}

// apiHandler routes /api/: unknown paths are 404, known paths with another method 405 (with
// Allow), all as JSON errors. The guard has checked the token already.
func (s *Server) apiHandler() http.Handler {
	routes := []route{
		mkRoute(http.MethodGet, "health", s.health),
		mkRoute(http.MethodGet, "servers", s.listServers),
		mkRoute(http.MethodPost, "servers", s.createServer),
		mkRoute(http.MethodGet, "servers/{id}", s.getServer),
		mkRoute(http.MethodPut, "servers/{id}", s.updateServer),
		mkRoute(http.MethodDelete, "servers/{id}", s.deleteServer),
		mkRoute(http.MethodPost, "servers/{id}/start", s.lifecycle(actionStart)),
		mkRoute(http.MethodPost, "servers/{id}/stop", s.lifecycle(actionStop)),
		mkRoute(http.MethodPost, "servers/{id}/restart", s.lifecycle(actionRestart)),
		mkRoute(http.MethodGet, "servers/{id}/logs", s.logs),
		mkRoute(http.MethodGet, "servers/{id}/metrics", s.metrics),
		mkRoute(http.MethodGet, "servers/{id}/mcp", s.getMCP),
		mkRoute(http.MethodPost, "servers/{id}/mcp/probe", s.probeMCP),
		mkRoute(http.MethodPost, "servers/{id}/tools/{name}/call", s.callTool),
		mkRoute(http.MethodGet, "system/metrics", s.systemMetrics),
		mkRoute(http.MethodGet, "settings", s.getSettings),
		mkRoute(http.MethodPut, "settings", s.putSettings),
		mkRoute(http.MethodPost, "token/regenerate", s.regenerateToken),
		mkRoute(http.MethodGet, "debug/stats", s.debugStats),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, apiV1)
		if !ok {
			writeError(w, http.StatusNotFound, codeNotFound, "no API at "+req.URL.Path)
			return
		}
		segs := strings.Split(rest, "/")
		var allow []string
		for _, rt := range routes {
			id, ok := rt.match(segs)
			if !ok {
				continue
			}
			if req.Method == rt.method || (req.Method == http.MethodHead && rt.method == http.MethodGet) {
				rt.handle(w, req, id)
				return
			}
			allow = append(allow, rt.method)
		}
		if len(allow) == 0 {
			writeError(w, http.StatusNotFound, codeNotFound, "no API at "+req.URL.Path)
			return
		}
		if containsStr(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(append(allow, http.MethodOptions), ", "))
		if req.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, req.Method+" is not allowed on "+req.URL.Path)
	})
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, s.eng.Health())
}

func (s *Server) listServers(w http.ResponseWriter, _ *http.Request, _ string) {
	// Every REST caller has presented the token: env values are shown.
	writeJSON(w, http.StatusOK, struct {
		Servers []engine.ServerView `json:"servers"`
	}{s.eng.Servers(true)})
}

func (s *Server) getServer(w http.ResponseWriter, r *http.Request, id string) {
	v, err := s.eng.Server(id, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) createServer(w http.ResponseWriter, r *http.Request, _ string) {
	d, err := decodeServerDef(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.eng.CreateServer(d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", apiV1+"servers/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) updateServer(w http.ResponseWriter, r *http.Request, id string) {
	d, err := decodeServerDef(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.ID != "" && d.ID != id {
		s.fail(w, r, &registry.ValidationError{Problems: []registry.Problem{{Field: "id", Rule: "must be the id in the path (" + id + ") or left out"}}})
		return
	}
	v, err := s.eng.UpdateServer(id, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteServer(w http.ResponseWriter, r *http.Request, id string) {
	if err := s.eng.DeleteServer(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type action int

const (
	actionStart action = iota
	actionStop
	actionRestart
)

func (s *Server) lifecycle(a action) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, id string) {
		var (
			st  engine.ServerState
			err error
		)
		switch a {
		case actionStart:
			st, err = s.eng.StartServer(id)
		case actionStop:
			st, err = s.eng.StopServer(r.Context(), id)
		case actionRestart:
			st, err = s.eng.RestartServer(r.Context(), id)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, engine.LifecycleAnswer{ID: id, State: st})
	}
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request, id string) {
	since, err := engine.ParseQueryTime("since", r.URL.Query().Get("since"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answer, err := s.eng.MetricsAnswer(id, since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) systemMetrics(w http.ResponseWriter, r *http.Request, _ string) {
	m, err := s.eng.SystemMetrics()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) settingsAnswer(st registry.Settings) engine.SettingsView {
	on, why := s.ExternalAccess()
	return s.eng.SettingsView(st, s.URL(), engine.ExternalAccess{Enabled: on, Reason: why})
}

func (s *Server) getSettings(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, s.settingsAnswer(s.eng.Settings()))
}

// putSettings replaces the settings with the body (a settings object, strictly decoded); host
// and port take effect at the next start.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, _ string) {
	body, err := readJSONBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := registry.DecodeSettings(body)
	if err != nil {
		s.fail(w, r, asInvalid(err))
		return
	}
	stored, err := s.eng.UpdateSettings(st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.settingsAnswer(stored))
}

func (s *Server) regenerateToken(w http.ResponseWriter, r *http.Request, _ string) {
	t, err := s.eng.RegenerateToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Token string `json:"token"`
	}{t})
}

func (s *Server) debugStats(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, struct {
		Hub        hub.Stats `json:"hub"`
		Goroutines int       `json:"goroutines"`
	}{s.eng.Hub().Stats(), runtime.NumGoroutine()})
}

// readJSONBody reads a request body of at most MaxBodyBytes (the guard set the limit). A
// Content-Type, when sent, must be JSON.
func readJSONBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errUnsupportedMedia
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err // *http.MaxBytesError → 413; a broken connection → 500 (logged)
	}
	return body, nil
}

// decodeServerDef reads a ServerDef body strictly: syntax errors with line and column, wrong
// types and unknown fields named (registry.DecodeServer). Any decoding failure is a 400.
func decodeServerDef(r *http.Request) (registry.ServerDef, error) {
	body, err := readJSONBody(r)
	if err != nil {
		return registry.ServerDef{}, err
	}
	d, err := registry.DecodeServer(body)
	if err != nil {
		return registry.ServerDef{}, asInvalid(err)
	}
	return d, nil
}

// asInvalid keeps the registry's *ParseError and *ValidationError (fail words them) and makes
// any other decoding failure a plain 400.
func asInvalid(err error) error {
	if err == nil || errors.Is(err, registry.ErrInvalid) {
		return err
	}
	return invalid("invalid JSON: " + err.Error())
}
