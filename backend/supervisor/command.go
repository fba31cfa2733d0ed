package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// command is a server definition resolved for one spawn: an absolute executable, the argv, the
// working directory and the full environment.
type command struct {
	Path string   // absolute path of the executable
	Args []string // argv, Args[0] is the command as written in the definition
	Dir  string   // working directory; "" is the monitor's own
	Env  []string // base environment + the definition's env (the definition wins)
}

// resolveCommand checks the working directory and finds the executable before anything is
// spawned, so that a missing program, a bad cwd or a file without execute permission is
// reported with a clear reason. A command without a path separator is searched in the PATH of
// the definition's env when it sets one, else in the PATH of the base environment; relative
// PATH entries and a relative command are taken relative to the definition's cwd.
func resolveCommand(def registry.ServerDef, base []string) (command, error) {
	if strings.TrimSpace(def.Command) == "" {
		return command{}, ErrNoCommand
	}
	dir := def.Cwd
	if dir != "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return command{}, fmt.Errorf("cwd %q: %w", dir, err)
		}
		if !fi.IsDir() {
			return command{}, fmt.Errorf("cwd %q: %w", dir, ErrNotDirectory)
		}
	}
	// relTo makes p absolute against the definition's cwd (or the monitor's own cwd).
	relTo := func(p string) (string, error) {
		if filepath.IsAbs(p) {
			return p, nil
		}
		if dir != "" {
			p = filepath.Join(dir, p)
		}
		return filepath.Abs(p)
	}
	env := mergeEnv(base, def.Env)

	var path string
	if strings.ContainsRune(def.Command, '/') || (runtime.GOOS == "windows" && strings.ContainsAny(def.Command, `\:`)) {
		p, err := relTo(def.Command)
		if err != nil {
			return command{}, fmt.Errorf("command %q: %w", def.Command, err)
		}
		if _, err := exec.LookPath(p); err != nil {
			return command{}, &exec.Error{Name: def.Command, Err: unwrapExecError(err)}
		}
		path = p
	} else {
		var denied bool
		for _, d := range filepath.SplitList(envValue(env, "PATH")) {
			if d == "" {
				d = "."
			}
			ad, err := relTo(d)
			if err != nil {
				continue
			}
			p, err := exec.LookPath(filepath.Join(ad, def.Command))
			if err == nil {
				path = p
				break
			}
			if errors.Is(err, fs.ErrPermission) {
				denied = true
			}
		}
		if path == "" {
			if denied {
				return command{}, &exec.Error{Name: def.Command, Err: fs.ErrPermission}
			}
			return command{}, &exec.Error{Name: def.Command, Err: exec.ErrNotFound}
		}
	}
	return command{
		Path: path,
		Args: append([]string{def.Command}, def.Args...),
		Dir:  dir,
		Env:  env,
	}, nil
}

// unwrapExecError returns the cause inside an *exec.Error, so that the error can be re-labelled
// with the command as the user wrote it.
func unwrapExecError(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// envKey is the name part of a KEY=value entry, case-folded where the OS ignores case.
func envKey(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	if runtime.GOOS == "windows" {
		k = strings.ToUpper(k)
	}
	return k
}

// envValue returns the value of key in env (the last entry wins, as in the exec'd program).
func envValue(env []string, key string) string {
	key = envKey(key + "=")
	v := ""
	for _, kv := range env {
		if envKey(kv) == key {
			_, v, _ = strings.Cut(kv, "=")
		}
	}
	return v
}

// mergeEnv returns base without the entries that over sets and without the shim's own
// variables, followed by the entries of over in sorted key order (over wins; the result is
// stable from one spawn to the next).
func mergeEnv(base []string, over map[string]string) []string {
	overKeys := make(map[string]bool, len(over))
	keys := make([]string, 0, len(over))
	for k := range over {
		overKeys[envKey(k+"=")] = true
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		k := envKey(kv)
		if overKeys[k] || k == envShim || k == envShimSpec {
			continue
		}
		out = append(out, kv)
	}
	for _, k := range keys {
		out = append(out, k+"="+over[k])
	}
	return out
}
