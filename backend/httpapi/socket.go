package httpapi

import (
	"log/slog"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/socketio"
)

// defaultSocket makes the backend/socketio server (the /monitoring namespace), told at each
// handshake whether the token is required.
func defaultSocket(logger *slog.Logger) SocketFactory {
	return func(eng *engine.Engine, requireToken func() bool) (SocketServer, error) {
		srv, err := socketio.New(eng, socketio.Options{RequireToken: requireToken, Logger: logger})
		if err != nil {
			return nil, err
		}
		return srv, nil
	}
}
