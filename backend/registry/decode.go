package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// utf8BOM is skipped at the start of a file (some Windows editors write it).
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Decode reads a config.json strictly: a syntax error is a *ParseError with its line and
// column; a value of the wrong type or an unknown field is a *ValidationError naming the path
// ("servers[2].args: must be an array of strings", `servers[0]: unknown field "comand"`).
// Then defaults are applied to every server and the config is validated (*ValidationError).
// Settings are returned as stored (zero = default, see Settings.WithDefaults).
// Zero bytes or only whitespace is an empty config. A null value is the same as a missing one.
// Inside a "restart" object a missing maxRetries means the default (5); an explicit 0 is kept.
func Decode(data []byte) (*Config, error) {
	root, empty, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	c := &Config{Servers: []ServerDef{}}
	if !empty {
		var dc decoder
		dc.config(c, root)
		if err := dc.ps.err(); err != nil {
			return nil, err
		}
	}
	for i := range c.Servers {
		c.Servers[i].ApplyDefaults()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// DecodeServer reads one server definition (a REST body) as strictly as Decode, with bare
// paths ("args: must be an array of strings"). It neither applies defaults nor validates:
// Store.Create and Store.Update do both.
func DecodeServer(data []byte) (ServerDef, error) {
	root, empty, err := parseJSON(data)
	if err != nil {
		return ServerDef{}, err
	}
	if empty {
		return ServerDef{}, &ValidationError{Problems: []Problem{{Rule: "must be an object"}}}
	}
	var dc decoder
	d := dc.server("", root)
	return d, dc.ps.err()
}

// DecodeSettings reads a settings object as strictly as Decode, with bare paths. It does not
// validate: Store.UpdateSettings does.
func DecodeSettings(data []byte) (Settings, error) {
	root, empty, err := parseJSON(data)
	if err != nil {
		return Settings{}, err
	}
	if empty {
		return Settings{}, &ValidationError{Problems: []Problem{{Rule: "must be an object"}}}
	}
	var dc decoder
	s := dc.settings("", root)
	return s, dc.ps.err()
}

// parseJSON checks the syntax (returning a *ParseError) and decodes into generic values with
// numbers kept as json.Number. empty is true for zero bytes or only JSON whitespace.
func parseJSON(data []byte) (v any, empty bool, err error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return nil, true, nil
	}
	// Unmarshal checks the whole input first, so a syntax error (trailing data included)
	// comes back as a *json.SyntaxError with its offset.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, false, newParseError(data, se)
		}
		return nil, false, fmt.Errorf("registry: decode: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("registry: decode: %w", err)
	}
	return v, false, nil
}

// newParseError turns the byte offset of a syntax error into a line and column. The offset
// counts the bytes read, the bad character included; at the end of the input the position is
// just after the last character.
func newParseError(data []byte, se *json.SyntaxError) *ParseError {
	pos := int(se.Offset) - 1
	if strings.HasPrefix(se.Error(), "unexpected end") {
		pos = int(se.Offset)
	}
	pos = max(0, min(pos, len(data)))
	line, col := lineColumn(data, pos)
	return &ParseError{Line: line, Column: col, Err: se}
}

// lineColumn returns the 1-based line and column (in runes) of byte position pos.
func lineColumn(data []byte, pos int) (line, col int) {
	before := data[:pos]
	line = 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}

// decoder walks the generic JSON tree into the typed structs, collecting a Problem for every
// value of the wrong type and every unknown field (in sorted key order, so errors are stable).
type decoder struct {
	ps problems
}

func (dc *decoder) unknown(path, key string) {
	dc.ps.add(path, fmt.Sprintf("unknown field %q", key))
}

func (dc *decoder) object(path string, v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		dc.ps.add(path, "must be an object")
	}
	return m, ok
}

func (dc *decoder) config(c *Config, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		dc.ps.add("", "the top level must be an object")
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		val := m[k]
		switch k {
		case "servers":
			if val == nil {
				continue
			}
			list, ok := val.([]any)
			if !ok {
				dc.ps.add("servers", "must be an array")
				continue
			}
			for i, sv := range list {
				c.Servers = append(c.Servers, dc.server(fmt.Sprintf("servers[%d]", i), sv))
			}
		case "settings":
			if val != nil {
				c.Settings = dc.settings("settings", val)
			}
		default:
			dc.unknown("", k)
		}
	}
}

func (dc *decoder) server(path string, v any) ServerDef {
	var d ServerDef
	m, ok := dc.object(path, v)
	if !ok {
		return d
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, val := joinPath(path, k), m[k]
		switch k {
		case "id":
			d.ID = dc.str(p, val)
		case "name":
			d.Name = dc.str(p, val)
		case "command":
			d.Command = dc.str(p, val)
		case "args":
			d.Args = dc.strs(p, val)
		case "env":
			d.Env = dc.strMap(p, val)
		case "cwd":
			d.Cwd = dc.str(p, val)
		case "transport":
			d.Transport = dc.str(p, val)
		case "url":
			d.URL = dc.str(p, val)
		case "autoStart":
			d.AutoStart = dc.boolean(p, val)
		case "restart":
			d.Restart = dc.restart(p, val)
		case "tags":
			d.Tags = dc.strs(p, val)
		default:
			dc.unknown(path, k)
		}
	}
	return d
}

func (dc *decoder) restart(path string, v any) RestartPolicy {
	var r RestartPolicy
	if v == nil {
		return r
	}
	m, ok := dc.object(path, v)
	if !ok {
		return r
	}
	if m["maxRetries"] == nil { // left out: the default, not 0
		r.MaxRetries = DefaultMaxRetries
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, val := joinPath(path, k), m[k]
		switch k {
		case "policy":
			r.Policy = dc.str(p, val)
		case "maxRetries":
			if val != nil {
				r.MaxRetries = dc.integer(p, val)
			}
		case "backoffMs":
			r.BackoffMs = dc.integer(p, val)
		default:
			dc.unknown(path, k)
		}
	}
	return r
}

func (dc *decoder) settings(path string, v any) Settings {
	var s Settings
	m, ok := dc.object(path, v)
	if !ok {
		return s
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p, val := joinPath(path, k), m[k]
		switch k {
		case "host":
			s.Host = dc.str(p, val)
		case "port":
			s.Port = dc.integer(p, val)
		case "allowedOrigins":
			if list := dc.strs(p, val); len(list) > 0 { // empty = absent (omitempty)
				s.AllowedOrigins = list
			}
		case "requireToken":
			s.RequireToken = dc.boolean(p, val)
		case "stopGraceMs":
			s.StopGraceMs = dc.integer(p, val)
		case "logRingSize":
			s.LogRingSize = dc.integer(p, val)
		case "logFileMaxBytes":
			s.LogFileMaxBytes = dc.integer(p, val)
		case "logFiles":
			s.LogFiles = dc.integer(p, val)
		case "historyIntervalMs":
			s.HistoryIntervalMs = dc.integer(p, val)
		case "historyMinutes":
			s.HistoryMinutes = dc.integer(p, val)
		case "mcpProbe":
			if val != nil {
				b := dc.boolean(p, val)
				s.MCPProbe = &b
			}
		case "mcpProbeIntervalMs":
			s.MCPProbeIntervalMs = dc.integer(p, val)
		case "healthRestartAfter":
			s.HealthRestartAfter = dc.integer(p, val)
		case "keepRunningInBackground":
			s.KeepRunningInBackground = dc.boolean(p, val)
		case "theme":
			s.Theme = dc.str(p, val)
		default:
			dc.unknown(path, k)
		}
	}
	return s
}

func (dc *decoder) str(path string, v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		dc.ps.add(path, "must be a string")
	}
	return s
}

func (dc *decoder) boolean(path string, v any) bool {
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		dc.ps.add(path, "must be true or false")
	}
	return b
}

func (dc *decoder) strs(path string, v any) []string {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, isStr := e.(string)
		if !isStr {
			ok = false
			break
		}
		out = append(out, s)
	}
	if !ok {
		dc.ps.add(path, "must be an array of strings")
		return nil
	}
	return out
}

func (dc *decoder) strMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, isStr := e.(string)
		if !isStr {
			ok = false
			break
		}
		out[k] = s
	}
	if !ok {
		dc.ps.add(path, "must be an object with string values")
		return nil
	}
	return out
}

// maxExactFloat is the largest integer a float64 holds exactly (2^53).
const maxExactFloat = 1 << 53

func (dc *decoder) integer(path string, v any) int {
	if v == nil {
		return 0
	}
	num, ok := v.(json.Number)
	if !ok {
		dc.ps.add(path, "must be an integer")
		return 0
	}
	n, err := strconv.ParseInt(string(num), 10, strconv.IntSize)
	if err == nil {
		return int(n)
	}
	if errors.Is(err, strconv.ErrRange) {
		dc.ps.add(path, "is too large")
		return 0
	}
	// 1e3 or 5.0: accepted when it is a whole number.
	f, ferr := strconv.ParseFloat(string(num), 64)
	switch {
	case ferr != nil || math.Abs(f) > maxExactFloat || f > math.MaxInt || f < math.MinInt:
		dc.ps.add(path, "is too large")
		return 0
	case f != math.Trunc(f):
		dc.ps.add(path, "must be an integer")
		return 0
	}
	return int(f)
}
