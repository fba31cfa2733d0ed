// Package testutil holds helpers shared by the tests of several packages.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// BuildTestChild builds backend/internal/testchild once per test binary and returns its path.
func BuildTestChild(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcpwatch-testchild-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "testchild")
		if runtime.GOOS == "windows" {
			buildPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/mcpwatch/mcpwatch/backend/internal/testchild")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build testchild: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

// ProcessAlive reports whether pid names a live process that is not a zombie.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if runtime.GOOS == "linux" {
		b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
		if err != nil {
			return false
		}
		// state is the field after the last ')'
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == ')' {
				if i+2 < len(b) && b[i+2] == 'Z' {
					return false
				}
				return true
			}
		}
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
