package registry

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validation rules, worded once.
const (
	ruleID         = "must match [a-z0-9][a-z0-9-]{0,62}"
	ruleNoNUL      = "must not contain NUL"
	ruleNotEmpty   = "must not be empty"
	ruleTransport  = "must be stdio, sse or streamable-http"
	ruleURL        = "must be an http or https URL"
	rulePolicy     = "must be never, on-failure or always"
	ruleEnvName    = `name must not be empty or contain "=" or NUL`
	ruleOrigin     = "must be an origin like http://localhost:3000"
	ruleTheme      = "must be light, dark or empty"
	ruleNotNeg     = "must be 0 or more"
	ruleHistoryInt = "must be -1 (off), 0 or more"
)

func ruleBetween(lo, hi int) string { return fmt.Sprintf("must be between %d and %d", lo, hi) }

// Validate checks every server definition (paths "servers[2].restart.policy"), that ids are
// unique, and the settings (paths "settings.port"). It does not apply defaults.
// The error is a *ValidationError.
func (c *Config) Validate() error {
	var ps problems
	seen := make(map[string]int, len(c.Servers))
	for i, d := range c.Servers {
		prefix := fmt.Sprintf("servers[%d]", i)
		validateServer(&ps, prefix, d)
		if d.ID == "" {
			continue
		}
		if j, ok := seen[d.ID]; ok {
			ps.add(prefix+".id", fmt.Sprintf("%q is already used by servers[%d]", d.ID, j))
			continue
		}
		seen[d.ID] = i
	}
	validateSettings(&ps, "settings", c.Settings)
	return ps.err()
}

// ValidateServer checks one definition as it will be stored (after ApplyDefaults); problems
// carry bare paths ("restart.policy"). The error is a *ValidationError.
func ValidateServer(d ServerDef) error {
	var ps problems
	validateServer(&ps, "", d)
	return ps.err()
}

// ValidateSettings checks settings as stored (zero values mean the default); problems carry
// bare paths ("port"). The error is a *ValidationError.
func ValidateSettings(s Settings) error {
	var ps problems
	validateSettings(&ps, "", s)
	return ps.err()
}

func validateServer(ps *problems, path string, d ServerDef) {
	at := func(field string) string { return joinPath(path, field) }

	switch {
	case d.ID == "" && d.Name != "":
		ps.add(at("id"), "cannot be made from name, set it")
	case d.ID == "":
		ps.add(at("id"), "must be set, or a name to make it from")
	case !idPattern.MatchString(d.ID):
		ps.add(at("id"), ruleID)
	}

	switch {
	case strings.TrimSpace(d.Command) == "":
		ps.add(at("command"), ruleNotEmpty)
	case strings.ContainsRune(d.Command, 0):
		ps.add(at("command"), ruleNoNUL)
	}
	for i, a := range d.Args {
		if strings.ContainsRune(a, 0) {
			ps.add(at(fmt.Sprintf("args[%d]", i)), ruleNoNUL)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.Env)) {
		field := at(fmt.Sprintf("env[%q]", k))
		if k == "" || strings.ContainsAny(k, "=\x00") {
			ps.add(field, ruleEnvName)
		}
		if strings.ContainsRune(d.Env[k], 0) {
			ps.add(field, ruleNoNUL)
		}
	}
	if strings.ContainsRune(d.Cwd, 0) {
		ps.add(at("cwd"), ruleNoNUL)
	}

	switch d.Transport {
	case TransportStdio, TransportSSE, TransportStreamableHTTP:
	default:
		ps.add(at("transport"), ruleTransport)
	}
	switch {
	case d.URL == "" && (d.Transport == TransportSSE || d.Transport == TransportStreamableHTTP):
		ps.add(at("url"), "required for transport "+d.Transport)
	case d.URL != "" && !isHTTPURL(d.URL):
		ps.add(at("url"), ruleURL)
	}

	switch d.Restart.Policy {
	case PolicyNever, PolicyOnFailure, PolicyAlways:
	default:
		ps.add(at("restart.policy"), rulePolicy)
	}
	if d.Restart.MaxRetries < 0 || d.Restart.MaxRetries > 1000 {
		ps.add(at("restart.maxRetries"), ruleBetween(0, 1000))
	}
	if d.Restart.BackoffMs < 100 || d.Restart.BackoffMs > 600000 {
		ps.add(at("restart.backoffMs"), ruleBetween(100, 600000))
	}
}

func validateSettings(ps *problems, path string, stored Settings) {
	at := func(field string) string { return joinPath(path, field) }
	s := stored.WithDefaults() // zero means "the default", so check the effective values

	if strings.TrimSpace(s.Host) == "" {
		ps.add(at("host"), ruleNotEmpty)
	}
	if s.Port < 1 || s.Port > 65535 {
		ps.add(at("port"), ruleBetween(1, 65535))
	}
	for i, o := range s.AllowedOrigins {
		if !IsOrigin(o) {
			ps.add(at(fmt.Sprintf("allowedOrigins[%d]", i)), ruleOrigin)
		}
	}
	if s.StopGraceMs < 100 || s.StopGraceMs > 600000 {
		ps.add(at("stopGraceMs"), ruleBetween(100, 600000))
	}
	if s.LogRingSize < 100 || s.LogRingSize > 1_000_000 {
		ps.add(at("logRingSize"), ruleBetween(100, 1_000_000))
	}
	if s.LogFileMaxBytes < 0 {
		ps.add(at("logFileMaxBytes"), ruleNotNeg)
	}
	if s.LogFiles < 1 || s.LogFiles > 100 {
		ps.add(at("logFiles"), ruleBetween(1, 100))
	}
	if s.HistoryIntervalMs < HistoryOff {
		ps.add(at("historyIntervalMs"), ruleHistoryInt)
	}
	if s.HistoryMinutes < 0 {
		ps.add(at("historyMinutes"), ruleNotNeg)
	}
	if s.MCPProbeIntervalMs < 1000 || s.MCPProbeIntervalMs > 3600000 {
		ps.add(at("mcpProbeIntervalMs"), ruleBetween(1000, 3600000))
	}
	if s.HealthRestartAfter < 0 || s.HealthRestartAfter > 100 {
		ps.add(at("healthRestartAfter"), ruleBetween(0, 100))
	}
	switch s.Theme {
	case "", "light", "dark":
	default:
		ps.add(at("theme"), ruleTheme)
	}
}

// isHTTPURL reports whether s is an absolute http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return u.Hostname() != "" && validPort(u.Port())
}

// IsOrigin reports whether s is a browser origin: scheme://host[:port], nothing else (no
// path, not even "/", no query, fragment or user info), scheme and host in lowercase as
// browsers send them.
func IsOrigin(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.User != nil || u.Hostname() == "" {
		return false
	}
	if u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return false
	}
	if strings.ContainsAny(s, " \t\r\n") || s != strings.ToLower(s) {
		return false
	}
	return validPort(u.Port())
}

func validPort(p string) bool {
	if p == "" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
