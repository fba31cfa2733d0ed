package app

import (
	"errors"
	"fmt"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// Error codes, the same as the REST API's { error: { code } }.
const (
	codeInvalid     = "INVALID"
	codeNotFound    = "NOT_FOUND"
	codeConflict    = "CONFLICT"
	codeUnavailable = "UNAVAILABLE"
	codeInternal    = "INTERNAL"
	codeUpstream    = "UPSTREAM_ERROR"
)

// errUnavailable: what the call needs is not there (the HTTP server, a display, the engine).
var errUnavailable = errors.New("unavailable")

// apiError is what a bound method rejects with: Wails sends err.Error() to the window, where
// the transport reads "CODE: message" back into the code and the message.
type apiError struct {
	code string
	msg  string
	err  error
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }
func (e *apiError) Unwrap() error { return e.err }

// Code is the REST error code of the error.
func (e *apiError) Code() string { return e.code }

// toAPIError maps an engine or registry error as the REST adapter does: invalid input, unknown
// server, conflict; anything else is internal (logged by the caller, no detail sent).
func (a *App) toAPIError(method string, err error) error {
	if err == nil {
		return nil
	}
	var (
		ve *registry.ValidationError
		pe *registry.ParseError
		ae *apiError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apiError{codeInvalid, ve.Error(), err}
	case errors.As(err, &pe):
		return &apiError{codeInvalid, "invalid JSON: " + pe.Error(), err}
	case errors.Is(err, engine.ErrNotFound):
		return &apiError{codeNotFound, err.Error(), err}
	case errors.Is(err, engine.ErrConflict), errors.Is(err, registry.ErrConflict):
		return &apiError{codeConflict, err.Error(), err}
	case errors.Is(err, registry.ErrInvalid):
		return &apiError{codeInvalid, err.Error(), err}
	}
	a.log.Error("bound method failed", "method", method, "err", err)
	return &apiError{codeInternal, "internal error; see the monitor's log", err}
}

// unavailable is an UNAVAILABLE error with a message for the user.
func unavailable(format string, args ...any) error {
	return &apiError{codeUnavailable, fmt.Sprintf(format, args...), errUnavailable}
}
