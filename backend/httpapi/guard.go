package httpapi

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Areas of the one port.
const (
	apiPrefix    = "/api/"
	socketPrefix = "/socket.io/"
	healthPath   = "/api/v1/health"
)

// routes puts the guard in front of everything the port serves.
func (s *Server) routes(ui, socket http.Handler) http.Handler {
	api := s.apiHandler()
	if socket == nil {
		socket = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusNotFound, codeNotFound, "the Socket.IO endpoint is not available")
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch area(r.URL.Path) {
		case areaAPI:
			s.guard(w, r, areaAPI, api)
		case areaSocket:
			s.guard(w, r, areaSocket, socket)
		default:
			s.guard(w, r, areaUI, ui)
		}
	})
}

type areaKind int

const (
	areaUI areaKind = iota
	areaAPI
	areaSocket
)

func area(path string) areaKind {
	switch {
	case strings.HasPrefix(path, apiPrefix) || path == "/api":
		return areaAPI
	case strings.HasPrefix(path, socketPrefix) || path == "/socket.io":
		return areaSocket
	}
	return areaUI
}

// guard applies protocol.md section 8 to one request, then hands it on:
//  1. the Host header must name this server (DNS rebinding) → 403;
//  2. an Origin, when present, must be on the allow-list (both transports: a WebSocket upgrade
//     is not covered by CORS) → 403; allowed origins get CORS headers and preflight answers;
//  3. the token: every REST call but health → 401. On /socket.io/ the Socket.IO handshake
//     itself checks it (auth: { token }, protocol.md section 8.4) and refuses the connection
//     when it is required; here, when it is required, a token sent in the query or a Bearer
//     header that is wrong is refused early, and a request without one goes on to the handshake.
//
// The UI's static files carry no data and need no token (the browser cannot send it: the UI
// reads it from the URL fragment), only the Host and Origin checks.
func (s *Server) guard(w http.ResponseWriter, r *http.Request, kind areaKind, next http.Handler) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Add("Vary", "Origin")

	if !s.hostAllowed(r.Host) {
		s.log.Debug("refused host", "host", r.Host, "path", r.URL.Path)
		writeError(w, http.StatusForbidden, codeForbidden, "host "+strconv.Quote(r.Host)+" is not allowed")
		return
	}
	origins, hasOrigin := r.Header["Origin"]
	if hasOrigin {
		if len(origins) != 1 || !s.originAllowed(origins[0], r.Host) {
			s.log.Debug("refused origin", "origin", origins, "path", r.URL.Path)
			writeError(w, http.StatusForbidden, codeForbidden, "origin "+strconv.Quote(strings.Join(origins, ", "))+" is not allowed")
			return
		}
		h.Set("Access-Control-Allow-Origin", origins[0])
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && kind != areaUI {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if kind == areaAPI {
			h.Set("Access-Control-Expose-Headers", "Content-Disposition")
		}
	}

	switch kind {
	case areaAPI:
		h.Set("Cache-Control", "no-store")
		if !(r.URL.Path == healthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead)) &&
			!s.eng.CheckToken(bearerToken(r)) {
			writeUnauthorized(w, bearerToken(r) != "")
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "the request body is larger than 1 MiB")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	case areaSocket:
		if s.requireToken() {
			t := bearerToken(r)
			if t == "" {
				t = r.URL.Query().Get("token")
			}
			if t != "" && !s.eng.CheckToken(t) {
				writeUnauthorized(w, true)
				return
			}
		}
	}
	next.ServeHTTP(w, r)
}

// hostAllowed: the Host header must name a loopback host (localhost, 127.0.0.1, [::1]) with the
// server's port, or the host the server is bound to. Bound to every interface (0.0.0.0, ::),
// any IP literal is accepted too: a rebinding attack needs a name, and the token is required
// there anyway.
func (s *Server) hostAllowed(hostHeader string) bool {
	host, port, err := net.SplitHostPort(hostHeader)
	if err != nil {
		// No port: only right when the server is on port 80, which browsers leave out.
		if s.port != 80 {
			return false
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostHeader, "["), "]"), "80"
	}
	if port != strconv.Itoa(s.port) {
		return false
	}
	host = strings.ToLower(host)
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	if !s.nonLoopback {
		return false
	}
	if host == strings.ToLower(s.host) {
		return true
	}
	bound := net.ParseIP(s.host)
	return bound != nil && bound.IsUnspecified() && net.ParseIP(host) != nil
}

// originAllowed: on the allow-list, or the origin of the (already accepted) Host itself.
// "null" (sandboxed frames, file: pages) is always foreign.
func (s *Server) originAllowed(origin, hostHeader string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	if origin == "http://"+strings.ToLower(hostHeader) {
		return true
	}
	return slices.Contains(s.allowedOrigins(), origin)
}

// bearerToken is the token of an "Authorization: Bearer <token>" header, or "".
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

func writeUnauthorized(w http.ResponseWriter, presented bool) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="mcpwatch"`)
	msg := "the access token is missing: send Authorization: Bearer <token>"
	if presented {
		msg = "the access token is wrong"
	}
	writeError(w, http.StatusUnauthorized, codeUnauthorized, msg)
}
