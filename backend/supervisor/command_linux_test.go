//go:build linux

package supervisor

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

func TestResolveCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "tool"), 0o755)
	write(filepath.Join(bin, "locked"), 0o644)
	write(filepath.Join(dir, "local"), 0o755)
	baseBin := filepath.Join(dir, "base")
	if err := os.Mkdir(baseBin, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(baseBin, "basetool"), 0o755)
	base := []string{"PATH=" + filepath.Join(dir, "missing") + ":" + baseBin, "HOME=/home/x"}

	def := func(cmd, cwd string, env map[string]string) registry.ServerDef {
		return registry.ServerDef{ID: "r", Command: cmd, Args: []string{"-v"}, Cwd: cwd, Env: env}
	}
	tests := []struct {
		name    string
		def     registry.ServerDef
		want    string // resolved path
		wantErr error
	}{
		{"base PATH", def("basetool", "", nil), filepath.Join(baseBin, "basetool"), nil},
		{"definition PATH replaces base PATH", def("basetool", "", map[string]string{"PATH": bin}), "", exec.ErrNotFound},
		{"definition PATH wins", def("tool", "", map[string]string{"PATH": bin}), filepath.Join(bin, "tool"), nil},
		{"not in base PATH", def("tool", "", nil), "", exec.ErrNotFound},
		{"relative PATH entry against cwd", def("tool", dir, map[string]string{"PATH": "bin"}), filepath.Join(bin, "tool"), nil},
		{"empty PATH entry is cwd", def("local", dir, map[string]string{"PATH": ":/bin"}), filepath.Join(dir, "local"), nil},
		{"relative command against cwd", def("./bin/tool", dir, nil), filepath.Join(bin, "tool"), nil},
		{"absolute command", def(filepath.Join(bin, "tool"), "", nil), filepath.Join(bin, "tool"), nil},
		{"not executable in PATH", def("locked", "", map[string]string{"PATH": bin}), "", fs.ErrPermission},
		{"not executable by path", def(filepath.Join(bin, "locked"), "", nil), "", fs.ErrPermission},
		{"directory by path", def(bin, "", nil), "", nil}, // any error
		{"bad cwd", def("basetool", filepath.Join(dir, "nope"), nil), "", fs.ErrNotExist},
		{"cwd not a directory", def("basetool", filepath.Join(dir, "local"), nil), "", ErrNotDirectory},
		{"empty command", def("", "", nil), "", ErrNoCommand},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := resolveCommand(tc.def, base)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("resolved to %q, want an error", c.Path)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Path != tc.want || !slices.Equal(c.Args, []string{tc.def.Command, "-v"}) || c.Dir != tc.def.Cwd {
				t.Fatalf("got %+v, want path %q", c, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	base := []string{"A=1", "PATH=/bin", envShim + "=1", "B=2", envShimSpec + "={}"}
	got := mergeEnv(base, map[string]string{"PATH": "/opt/bin", "Z": "26", "C": "3"})
	want := []string{"A=1", "B=2", "C=3", "PATH=/opt/bin", "Z=26"}
	if !slices.Equal(got, want) {
		t.Fatalf("mergeEnv = %q, want %q", got, want)
	}
	if v := envValue([]string{"X=1", "X=2"}, "X"); v != "2" {
		t.Fatalf("envValue = %q, want the last one", v)
	}
}
