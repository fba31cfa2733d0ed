package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Window size limits: a remembered size outside them is ignored.
const (
	DefaultWidth  = 1280
	DefaultHeight = 820
	minWidth      = 640
	minHeight     = 480
	maxSide       = 16384
)

// WindowState is the window's size and position, kept in a small JSON file in the data dir.
type WindowState struct {
	Width     int  `json:"width"`
	Height    int  `json:"height"`
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Maximised bool `json:"maximised,omitempty"`
	// HasPosition: X and Y were saved (a first start lets the window system place it).
	HasPosition bool `json:"hasPosition,omitempty"`
}

// LoadWindowState reads the state file; a missing or broken file, or a size out of range,
// gives the defaults (and a broken file is left as it is: the next save replaces it).
func LoadWindowState(path string) WindowState {
	def := WindowState{Width: DefaultWidth, Height: DefaultHeight}
	if path == "" {
		return def
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	var s WindowState
	if json.Unmarshal(b, &s) != nil {
		return def
	}
	if s.Width < minWidth || s.Height < minHeight || s.Width > maxSide || s.Height > maxSide {
		s.Width, s.Height = DefaultWidth, DefaultHeight
	}
	if s.X < -maxSide || s.Y < -maxSide || s.X > maxSide || s.Y > maxSide {
		s.HasPosition = false
	}
	return s
}

// SaveWindowState writes the state file atomically (temp file, rename).
func SaveWindowState(path string, s WindowState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode window state: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".window-*.json")
	if err != nil {
		return fmt.Errorf("window state: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write window state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write window state: %w", err)
	}
	return nil
}

// saveWindowState records the window as it is now (before it closes). A maximised window keeps
// the size it had before, so that un-maximising after a restart gives it back.
func (a *App) saveWindowState(rt Runtime) {
	path := a.opts.StateFile
	if path == "" {
		return
	}
	s := LoadWindowState(path)
	if rt.WindowIsMaximised() {
		s.Maximised = true
	} else {
		w, h := rt.WindowGetSize()
		x, y := rt.WindowGetPosition()
		if w >= minWidth && h >= minHeight && w <= maxSide && h <= maxSide {
			s.Width, s.Height = w, h
		}
		s.X, s.Y, s.HasPosition, s.Maximised = x, y, true, false
	}
	if err := SaveWindowState(path, s); err != nil {
		a.log.Warn("window state not saved", "err", err)
	}
}

// restoreWindowPosition moves the window where it was (size and maximised are start options).
func (a *App) restoreWindowPosition(rt Runtime) {
	if a.opts.StateFile == "" {
		return
	}
	if s := LoadWindowState(a.opts.StateFile); s.HasPosition && !s.Maximised {
		rt.WindowSetPosition(s.X, s.Y)
	}
}
