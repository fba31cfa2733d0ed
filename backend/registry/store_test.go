package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestStoreMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if got := s.Servers(); got == nil || len(got) != 0 {
		t.Errorf("Servers() = %#v, want empty and non-nil", got)
	}
	if got := s.Settings(); !reflect.DeepEqual(got, registry.Settings{}) {
		t.Errorf("Settings() = %+v, want zero", got)
	}
	if _, ok := s.Server("x"); ok {
		t.Error("Server(x) found something in an empty config")
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created the folder or file before any change (stat: %v)", err)
	}
}

func TestStoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mcpwatch", "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}

	created, err := s.Create(registry.ServerDef{Name: "Weather API", Command: "npx", Env: map[string]string{"KEY": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID != "weather-api" || created.Restart.MaxRetries != 5 || created.Args == nil {
		t.Errorf("Create did not apply defaults: %+v", created)
	}
	if _, err := s.Create(registry.ServerDef{ID: "other", Command: "node", Args: []string{"srv.js"}}); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]fs.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %o, want %o", p, got, want)
			}
		}
	}

	// The file holds exactly what the store holds, in the canonical encoding.
	reopen := func() *registry.Store {
		t.Helper()
		r, err := registry.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Config(), s.Config()) {
			t.Errorf("file and memory differ:\nfile %+v\nmem  %+v", r.Config(), s.Config())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := registry.Encode(s.Config())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("file content:\n%s\nwant:\n%s", data, want)
		}
		return r
	}
	if got := reopen().Servers(); len(got) != 2 || got[0].ID != "weather-api" || got[1].ID != "other" {
		t.Errorf("after create: %+v", got)
	}

	// Update: the id in the path wins over the body's.
	updated, err := s.Update("other", registry.ServerDef{ID: "ignored", Command: "deno", Restart: registry.RestartPolicy{Policy: "always", MaxRetries: 0, BackoffMs: 500}})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ID != "other" || updated.Name != "other" || updated.Command != "deno" || updated.Restart.MaxRetries != 0 {
		t.Errorf("Update returned %+v", updated)
	}
	if got, ok := reopen().Server("other"); !ok || got.Command != "deno" {
		t.Errorf("after update: %+v %v", got, ok)
	}
	if _, ok := s.Server("ignored"); ok {
		t.Error("Update used the body's id")
	}

	if err := s.UpdateSettings(registry.Settings{Port: 4000, Theme: "dark", AllowedOrigins: []string{}}); err != nil {
		t.Fatal(err)
	}
	if got := reopen().Settings(); !reflect.DeepEqual(got, registry.Settings{Port: 4000, Theme: "dark"}) {
		t.Errorf("after settings: %+v", got)
	}

	if err := s.Delete("weather-api"); err != nil {
		t.Fatal(err)
	}
	if got := reopen().Servers(); len(got) != 1 || got[0].ID != "other" {
		t.Errorf("after delete: %+v", got)
	}

	// No temp file is left behind by any of these writes.
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "config.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only config.json", names)
	}
}

func TestStoreErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(registry.ServerDef{ID: "a", Command: "x"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		do      func() error
		is      error
		message string
	}{
		{"create taken id", func() error { _, err := s.Create(registry.ServerDef{Name: "A", Command: "y"}); return err },
			registry.ErrConflict, `registry: server "a": already exists`},
		{"create invalid", func() error {
			_, err := s.Create(registry.ServerDef{ID: "b", Restart: registry.RestartPolicy{Policy: "x"}})
			return err
		},
			registry.ErrInvalid, "registry: create server: command: must not be empty; restart.policy: must be never, on-failure or always"},
		{"update missing", func() error { _, err := s.Update("nope", registry.ServerDef{Command: "x"}); return err },
			registry.ErrNotFound, `registry: server "nope": not found`},
		{"update invalid", func() error { _, err := s.Update("a", registry.ServerDef{Command: ""}); return err },
			registry.ErrInvalid, `registry: update server "a": command: must not be empty`},
		{"delete missing", func() error { return s.Delete("nope") },
			registry.ErrNotFound, `registry: server "nope": not found`},
		{"settings invalid", func() error { return s.UpdateSettings(registry.Settings{Port: -1}) },
			registry.ErrInvalid, "registry: update settings: port: must be between 1 and 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want errors.Is %v", err, tt.is)
			}
			if err.Error() != tt.message {
				t.Errorf("message %q, want %q", err.Error(), tt.message)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if !bytes.Equal(after, before) {
				t.Errorf("a refused change rewrote the file")
			}
			if got := s.Servers(); len(got) != 1 || got[0].Command != "x" {
				t.Errorf("a refused change altered the store: %+v", got)
			}
		})
	}
}

func TestStoreCorruptFileUntouched(t *testing.T) {
	tests := []struct {
		name    string
		content string
		as      any // pointer to the error type errors.As must find
	}{
		{"syntax", "{\n  \"servers\": [\n    {\"id\": \"a\",}\n  ]\n}\n", new(*registry.ParseError)},
		{"invalid", `{"servers":[{"id":"a"}]}`, new(*registry.ValidationError)},
		{"unknown field", `{"servers":[],"extra":1}`, new(*registry.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := registry.Open(path)
			if s != nil {
				t.Error("Open returned a store for a broken file")
			}
			if err == nil || !errors.As(err, tt.as) {
				t.Fatalf("Open error %v (%T), want %T inside", err, err, tt.as)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != tt.content {
				t.Errorf("the broken file changed: %q", after)
			}
		})
	}

	t.Run("parse error position survives wrapping", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte("{\n  \"servers\": [\n    {\"id\": \"a\",}\n  ]\n}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := registry.Open(path)
		var pe *registry.ParseError
		if !errors.As(err, &pe) || pe.Line != 3 || pe.Column != 16 {
			t.Fatalf("got %v, want a *ParseError at 3:16", err)
		}
	})
}

func TestStoreWriteFailureKeepsState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// A plain file where the folder should be: the folder cannot be created, even by root.
	if err := os.WriteFile(filepath.Join(dir, "sub"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(registry.ServerDef{ID: "a", Command: "x"}); err == nil || !strings.Contains(err.Error(), "registry: save") {
		t.Fatalf("Create with an unwritable folder: got %v, want a save error", err)
	}
	if err := s.UpdateSettings(registry.Settings{Port: 5000}); err == nil {
		t.Fatal("UpdateSettings with an unwritable folder succeeded")
	}
	if got := s.Servers(); len(got) != 0 {
		t.Errorf("a failed write changed the servers: %+v", got)
	}
	if got := s.Settings(); !reflect.DeepEqual(got, registry.Settings{}) {
		t.Errorf("a failed write changed the settings: %+v", got)
	}
}

func TestStoreReturnsCopies(t *testing.T) {
	s, err := registry.Open(filepath.Join(t.TempDir(), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	in := registry.ServerDef{ID: "a", Command: "x", Args: []string{"1"}, Env: map[string]string{"K": "v"}}
	out, err := s.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateSettings(registry.Settings{AllowedOrigins: []string{"http://a.b"}}); err != nil {
		t.Fatal(err)
	}
	in.Args[0], in.Env["K"] = "in", "in"
	out.Args[0], out.Env["K"] = "out", "out"
	got, _ := s.Server("a")
	got.Args[0] = "got"
	s.Servers()[0].Env["K"] = "list"
	s.Config().Servers[0].Args[0] = "config"
	s.Settings().AllowedOrigins[0] = "settings"
	s.Config().Settings.AllowedOrigins[0] = "config"

	final, _ := s.Server("a")
	if final.Args[0] != "1" || final.Env["K"] != "v" {
		t.Errorf("the store shares memory with its callers: %+v", final)
	}
	if o := s.Settings().AllowedOrigins[0]; o != "http://a.b" {
		t.Errorf("settings share memory: %q", o)
	}
}

func TestStoreConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		conflicts int
		errs      []error
	)
	for w := range workers {
		wg.Go(func() {
			for i := range 3 {
				_, err := s.Create(registry.ServerDef{ID: fmt.Sprintf("w%d-%d", w, i), Command: "x"})
				// everyone also races for the same id: exactly one wins
				_, errShared := s.Create(registry.ServerDef{ID: fmt.Sprintf("shared-%d", i), Command: "x"})
				_ = s.Servers()
				_, _ = s.Server("shared-0")
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				switch {
				case errors.Is(errShared, registry.ErrConflict):
					conflicts++
				case errShared != nil:
					errs = append(errs, errShared)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if want := 3 * (workers - 1); conflicts != want {
		t.Errorf("conflicts = %d, want %d", conflicts, want)
	}
	r, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.Servers()), workers*3+3; got != want {
		t.Errorf("the file holds %d servers, want %d", got, want)
	}
	if !reflect.DeepEqual(r.Config(), s.Config()) {
		t.Error("file and memory differ after concurrent creates")
	}
}

func TestStoreFailedRenameLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	s, err := registry.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// A non-empty folder at the file's path: the temp file is written, the rename fails.
	if err := os.MkdirAll(filepath.Join(path, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(registry.ServerDef{ID: "a", Command: "x"}); err == nil {
		t.Fatal("Create succeeded although the rename cannot")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "config.json" || !entries[0].IsDir() {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want only the config.json folder (temp file removed)", names)
	}
	if len(s.Servers()) != 0 {
		t.Error("a failed write changed the store")
	}
}
