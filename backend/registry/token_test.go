package registry_test

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func noEnv(string) string { return "" }

func TestResolveTokenCreatesAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mcpwatch")
	tok, src, err := registry.ResolveToken(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if src != registry.TokenSourceGenerated {
		t.Errorf("source = %q, want %q", src, registry.TokenSourceGenerated)
	}
	if b, err := hex.DecodeString(tok); err != nil || len(tok) != 64 || len(b) != 32 {
		t.Errorf("token %q is not 64 hex characters", tok)
	}
	path := registry.TokenPath(dir)
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %o, want %o", p, got, want)
			}
		}
	}

	again, src, err := registry.ResolveToken(dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if again != tok || src != registry.TokenSourceFile {
		t.Errorf("second resolve = %q (%s), want the same token from the file", again, src)
	}

	regen, err := registry.RegenerateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if regen == tok || len(regen) != 64 {
		t.Errorf("RegenerateToken gave %q (old %q)", regen, tok)
	}
	if now, _, err := registry.ResolveToken(dir, noEnv); err != nil || now != regen {
		t.Errorf("after regenerate: %q, %v; want %q", now, err, regen)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("token folder holds %d entries, want only the token (no temp files)", len(entries))
	}
}

func TestResolveTokenFromFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // "" = a new token is generated
		source  string
	}{
		{"trimmed", "  my-token\n", "my-token", registry.TokenSourceFile},
		{"empty file", "", "", registry.TokenSourceGenerated},
		{"only whitespace", " \n\t", "", registry.TokenSourceGenerated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := registry.TokenPath(dir)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o644); err != nil { // umask may have narrowed it
				t.Fatal(err)
			}
			tok, src, err := registry.ResolveToken(dir, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if src != tt.source {
				t.Errorf("source = %q, want %q", src, tt.source)
			}
			if tt.want != "" && tok != tt.want {
				t.Errorf("token = %q, want %q", tok, tt.want)
			}
			if tt.want == "" {
				data, _ := os.ReadFile(path)
				if len(tok) != 64 || strings.TrimSpace(string(data)) != tok {
					t.Errorf("new token %q, file holds %q", tok, data)
				}
			}
			if runtime.GOOS != "windows" {
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := info.Mode().Perm(); got != 0o600 {
					t.Errorf("token file mode = %o, want 600", got)
				}
			}
		})
	}
}

func TestResolveTokenEnvWins(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(registry.TokenPath(dir), []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == registry.TokenEnvVar {
			return " from-env "
		}
		return ""
	}
	tok, src, err := registry.ResolveToken(dir, env)
	if err != nil || tok != "from-env" || src != registry.TokenSourceEnv {
		t.Errorf("got %q, %q, %v; want from-env, env", tok, src, err)
	}

	// With the env set, nothing is written.
	empty := filepath.Join(t.TempDir(), "none")
	if _, _, err := registry.ResolveToken(empty, env); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("ResolveToken wrote to disk although the env held the token (stat: %v)", err)
	}

	// nil getenv reads the process environment.
	t.Setenv(registry.TokenEnvVar, "process-env")
	if tok, src, err := registry.ResolveToken(empty, nil); err != nil || tok != "process-env" || src != registry.TokenSourceEnv {
		t.Errorf("nil getenv: got %q, %q, %v", tok, src, err)
	}
}

func TestResolveTokenUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A folder where the token file should be cannot be read, and must not be replaced.
	if err := os.Mkdir(registry.TokenPath(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := registry.ResolveToken(dir, noEnv); err == nil || !strings.Contains(err.Error(), "registry: read token") {
		t.Errorf("got %v, want a read error", err)
	}
	if info, err := os.Stat(registry.TokenPath(dir)); err != nil || !info.IsDir() {
		t.Errorf("the unreadable token path was replaced")
	}
}

func TestTokenEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "abcd", false},
		{"abcd", "abc", false},
		{"abc", "ABC", false},
		{"", "", false},
		{"abc", "", false},
		{"", "abc", false},
		{strings.Repeat("f", 64), strings.Repeat("f", 64), true},
		{strings.Repeat("f", 64), strings.Repeat("f", 63) + "e", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+"|"+tt.b, func(t *testing.T) {
			if got := registry.TokenEqual(tt.a, tt.b); got != tt.want {
				t.Errorf("TokenEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
