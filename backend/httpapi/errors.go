package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Error codes of { error: { code, message } }.
const (
	codeInvalid          = "INVALID"
	codeNotFound         = "NOT_FOUND"
	codeConflict         = "CONFLICT"
	codeUnauthorized     = "UNAUTHORIZED"
	codeForbidden        = "FORBIDDEN"
	codeTooLarge         = "TOO_LARGE"
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	codeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	codeInternal         = "INTERNAL"
)

// apiError is the body of every error answer. Problems lists the broken rules of a definition
// or settings (field and rule), for forms that mark the fields.
type apiError struct {
	Code     string             `json:"code"`
	Message  string             `json:"message"`
	Problems []registry.Problem `json:"problems,omitempty"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: apiError{Code: code, Message: message}})
}

// writeJSON writes v with a status. Every value written here encodes (no channels or funcs).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"INTERNAL","message":"cannot encode the answer"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fail answers an engine or registry error with its status: 400 for invalid input (the
// registry's "field: rule" text), 404, 409, 413, else 500 (logged, no detail sent).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ve *registry.ValidationError
		pe *registry.ParseError
		me *http.MaxBytesError
	)
	switch {
	case errors.As(err, &me):
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "the request body is larger than 1 MiB")
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: apiError{Code: codeInvalid, Message: ve.Error(), Problems: ve.Problems}})
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, codeInvalid, "invalid JSON: "+pe.Error())
	case errors.Is(err, errUnsupportedMedia):
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "the body must be JSON (Content-Type: application/json)")
	case errors.Is(err, errBadRequest):
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
	case errors.Is(err, engine.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, engine.ErrConflict), errors.Is(err, registry.ErrConflict):
		writeError(w, http.StatusConflict, codeConflict, err.Error())
	case errors.Is(err, registry.ErrInvalid):
		writeError(w, http.StatusBadRequest, codeInvalid, err.Error())
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error; see the monitor's log")
	}
}

// errUnsupportedMedia: a body sent as something else than JSON.
var errUnsupportedMedia = errors.New("unsupported media type")

// errBadRequest marks the handler's own 400s (a query parameter, a body that is not JSON).
var errBadRequest = errors.New("bad request")

// badRequest is a 400 whose message is exactly msg.
type badRequest struct{ msg string }

func (e badRequest) Error() string        { return e.msg }
func (e badRequest) Is(target error) bool { return target == errBadRequest }

func invalid(msg string) error { return badRequest{msg} }
