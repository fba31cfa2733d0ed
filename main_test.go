package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

var binary string

func TestMain(m *testing.M) {
	supervisor.RunShimIfRequested()
	dir, err := os.MkdirTemp("", "mcpwatch-main-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mcpwatch")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build mcpwatch: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mcpwatch runs the binary to its end and returns its exit code, stdout and stderr.
func mcpwatch(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	corrupt := "{\n  \"servers\": [\n    { \"id\": \"a\" \"command\": \"x\" }\n  ]\n}\n"
	corruptPath := writeConfig(t, dir, corrupt)
	invalidDir := t.TempDir()
	invalidPath := writeConfig(t, invalidDir, `{"servers":[{"id":"a","command":"x","restart":{"policy":"sometimes"}}]}`)

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := fmt.Sprint(taken.Addr().(*net.TCPAddr).Port)
	okDir := t.TempDir()
	okPath := writeConfig(t, okDir, `{"servers":[]}`)

	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown flag", []string{"--headless", "--bogus"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"--headless", "extra"}, 2, `unexpected argument "extra"`},
		{"bad port", []string{"--headless", "--port", "70000"}, 2, "must be between 1 and 65535"},
		{"corrupt config", []string{"--headless", "--config", corruptPath, "--data-dir", dir}, 2, "line 3, column"},
		{"invalid config", []string{"--headless", "--config", invalidPath, "--data-dir", invalidDir}, 2, "servers[0].restart.policy: must be never, on-failure or always"},
		{"port taken", []string{"--headless", "--config", okPath, "--data-dir", okDir, "--port", takenPort}, 2, "address already in use"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := mcpwatch(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
	if b, _ := os.ReadFile(corruptPath); string(b) != corrupt {
		t.Fatal("the corrupt config file was changed")
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := mcpwatch(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "mcpwatch ") {
		t.Fatalf("%d %q", code, out)
	}
}

// The example configuration: the auto-start servers start, and Ctrl-C stops them all with no
// process left behind and exit status 0.
func TestHeadlessExampleStartsAndStopsCleanly(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("build/examples/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, string(example))
	port := freePort(t)
	cmd := exec.Command(binary, "--headless", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--port", fmt.Sprint(port))
	cmd.Env = append(os.Environ(), "MCPWATCH_TOKEN=test-token-123")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("mcpwatch: listening on http://127.0.0.1:%d/#token=test-token-123\n", port)
	if line != want {
		t.Fatalf("ready line %q, want %q", line, want)
	}

	var children []int
	deadline := time.Now().Add(20 * time.Second)
	for len(children) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("auto-start servers not running: %v", children)
		}
		children = descendants(cmd.Process.Pid)
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGINT: %v", err)
	}
	for _, pid := range children {
		if alive(pid) {
			t.Errorf("process %d outlived the monitor", pid)
		}
	}
}

var ppidField = regexp.MustCompile(`\) \S+ (\d+) `)

// descendants lists every process below pid (Linux /proc).
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if m := ppidField.FindSubmatch(b); m != nil {
			var pp int
			fmt.Sscan(string(m[1]), &pp)
			parent[p] = pp
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				walk(c)
			}
		}
	}
	walk(pid)
	return out
}

// alive reports whether pid is a live process that is not a zombie (Linux).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}
