package registry

import (
	"strconv"
	"strings"
)

// DefaultCORSOrigin is allowed when CORS_ORIGINS is empty, as in the original.
const DefaultCORSOrigin = "http://localhost:3000"

// windowOrigins are the desktop window's origins (Wails v2 on macOS/Linux, Windows, dev).
var windowOrigins = [...]string{"wails://wails", "wails://wails.localhost", "http://wails.localhost"}

// AllowedOrigins is the Origin allow-list (protocol.md section 8): the server's own loopback
// origins for the effective port, the window's origins, the comma-separated corsEnv
// (CORS_ORIGINS; http://localhost:3000 when empty) and s.AllowedOrigins, without duplicates,
// in that order. Entries from corsEnv are trimmed and lose a trailing "/" (browsers never
// send one); empty entries are dropped.
func AllowedOrigins(s Settings, corsEnv string) []string {
	port := strconv.Itoa(s.WithDefaults().Port)
	list := []string{
		"http://localhost:" + port,
		"http://127.0.0.1:" + port,
		"http://[::1]:" + port,
	}
	list = append(list, windowOrigins[:]...)
	if strings.TrimSpace(corsEnv) == "" {
		list = append(list, DefaultCORSOrigin)
	}
	for o := range strings.SplitSeq(corsEnv, ",") {
		list = append(list, strings.TrimRight(strings.TrimSpace(o), "/"))
	}
	list = append(list, s.AllowedOrigins...)

	out := make([]string, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, o := range list {
		if o == "" || seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, o)
	}
	return out
}
