package registry

import (
	"path/filepath"
	"sync"

	"github.com/adrg/xdg"
)

// AppDir is the folder name under the XDG config and state folders.
const AppDir = "mcpwatch"

// xdgMu serialises xdg.Reload, which rewrites the xdg package's variables.
var xdgMu sync.Mutex

// DefaultConfigPath is $XDG_CONFIG_HOME/mcpwatch/config.json (the platform's equivalent when
// unset). The environment is read on every call.
func DefaultConfigPath() string {
	xdgMu.Lock()
	defer xdgMu.Unlock()
	xdg.Reload()
	return filepath.Join(xdg.ConfigHome, AppDir, "config.json")
}

// DefaultDataDir is $XDG_STATE_HOME/mcpwatch (the platform's equivalent when unset), where
// logs and state live. The environment is read on every call.
func DefaultDataDir() string {
	xdgMu.Lock()
	defer xdgMu.Unlock()
	xdg.Reload()
	return filepath.Join(xdg.StateHome, AppDir)
}
