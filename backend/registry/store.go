package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// configFileMode: env values may hold secrets.
const configFileMode = 0o600

// Store is the config file and its contents in memory. Every change is validated, written
// atomically and only then applied in memory: if the write fails, nothing changes. All
// methods are safe for concurrent use and return deep copies.
type Store struct {
	path string

	mu  sync.RWMutex
	cfg Config // servers with defaults applied; settings as stored
}

// Open loads the config file at path. A missing file is an empty config; the file is created
// on the first change. A file that does not parse or validate is an error (a *ParseError or
// *ValidationError, wrapped with the path) and no Store is returned, so a broken file is never
// overwritten.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("registry: open: empty config path")
	}
	path = filepath.Clean(path)
	s := &Store{path: path, cfg: Config{Servers: []ServerDef{}}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("registry: read config: %w", err)
	}
	c, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("registry: config %s: %w", path, err)
	}
	s.cfg = *c
	return s, nil
}

// Path returns the config file's path.
func (s *Store) Path() string { return s.path }

// Config returns a copy of the whole config.
func (s *Store) Config() Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Clone()
}

// Servers returns a copy of every definition, in file order (never nil).
func (s *Store) Servers() []ServerDef {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Clone().Servers
}

// Server returns a copy of the definition with that id.
func (s *Store) Server(id string) (ServerDef, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.index(id)
	if i < 0 {
		return ServerDef{}, false
	}
	return s.cfg.Servers[i].Clone(), true
}

// Create adds a definition after applying defaults and validating it (a *ValidationError
// with bare paths). An id already used gives ErrConflict. It returns the stored definition.
func (s *Store) Create(d ServerDef) (ServerDef, error) {
	d = d.Clone()
	d.ApplyDefaults()
	if err := ValidateServer(d); err != nil {
		return ServerDef{}, fmt.Errorf("registry: create server: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index(d.ID) >= 0 {
		return ServerDef{}, fmt.Errorf("registry: server %q: %w", d.ID, ErrConflict)
	}
	next := s.cfg.Clone()
	next.Servers = append(next.Servers, d)
	if err := s.commit(next); err != nil {
		return ServerDef{}, err
	}
	return d.Clone(), nil
}

// Update replaces the definition with that id (the id argument wins over d.ID), after
// applying defaults and validating. An unknown id gives ErrNotFound.
func (s *Store) Update(id string, d ServerDef) (ServerDef, error) {
	d = d.Clone()
	d.ID = id
	d.ApplyDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return ServerDef{}, fmt.Errorf("registry: server %q: %w", id, ErrNotFound)
	}
	if err := ValidateServer(d); err != nil {
		return ServerDef{}, fmt.Errorf("registry: update server %q: %w", id, err)
	}
	next := s.cfg.Clone()
	next.Servers[i] = d
	if err := s.commit(next); err != nil {
		return ServerDef{}, err
	}
	return d.Clone(), nil
}

// Delete removes the definition with that id. An unknown id gives ErrNotFound.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return fmt.Errorf("registry: server %q: %w", id, ErrNotFound)
	}
	next := s.cfg.Clone()
	next.Servers = append(next.Servers[:i], next.Servers[i+1:]...)
	return s.commit(next)
}

// Settings returns the settings as stored (zero = default; see Settings.WithDefaults).
func (s *Store) Settings() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg.Settings.Clone()
}

// UpdateSettings replaces the settings after validating them (a *ValidationError with bare
// paths).
func (s *Store) UpdateSettings(st Settings) error {
	st = st.Clone()
	if len(st.AllowedOrigins) == 0 {
		st.AllowedOrigins = nil // stored as absent, as Decode reads it
	}
	if err := ValidateSettings(st); err != nil {
		return fmt.Errorf("registry: update settings: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.cfg.Clone()
	next.Settings = st
	return s.commit(next)
}

// index returns the position of id in s.cfg.Servers or -1. Callers hold s.mu.
func (s *Store) index(id string) int {
	for i, d := range s.cfg.Servers {
		if d.ID == id {
			return i
		}
	}
	return -1
}

// commit validates next, writes it and then makes it current. Callers hold s.mu for writing.
func (s *Store) commit(next Config) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	data, err := Encode(next)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, data, configFileMode); err != nil {
		return fmt.Errorf("registry: save %s: %w", s.path, err)
	}
	s.cfg = next
	return nil
}

// Encode renders a config as written to disk: indented JSON, HTML characters left as they
// are, a trailing newline. Servers is written as [] rather than null.
func Encode(c Config) ([]byte, error) {
	if c.Servers == nil {
		c.Servers = []ServerDef{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil { // Encode ends with '\n'
		return nil, fmt.Errorf("registry: encode: %w", err)
	}
	return buf.Bytes(), nil
}
