package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testChild builds backend/internal/testchild into dir.
func testChild(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "testchild")
	if b, err := exec.Command("go", "build", "-o", out, "./backend/internal/testchild").CombinedOutput(); err != nil {
		t.Fatalf("build testchild: %v\n%s", err, b)
	}
	return out
}

// monitor is one mcpwatch --headless run by a test.
type monitor struct {
	cmd    *exec.Cmd
	base   string
	token  string
	mu     sync.Mutex
	stderr strings.Builder
	exited chan struct{}
}

func (m *monitor) errText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stderr.String()
}

type lockedWriter struct{ m *monitor }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.m.stderr.Write(p)
}

// startMonitor runs mcpwatch --headless on cfg and dataDir until its ready line.
func startMonitor(t *testing.T, cfg, dataDir string) *monitor {
	t.Helper()
	port := freePort(t)
	m := &monitor{token: "reliability-token-1", base: fmt.Sprintf("http://127.0.0.1:%d", port), exited: make(chan struct{})}
	m.cmd = exec.Command(binary, "--headless", "--config", cfg, "--data-dir", dataDir, "--port", fmt.Sprint(port))
	m.cmd.Env = append(os.Environ(), "MCPWATCH_TOKEN="+m.token)
	m.cmd.Stderr = lockedWriter{m}
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- l
		_, _ = io.Copy(io.Discard, stdout)
		_ = m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		<-m.exited
	})
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "mcpwatch: listening on ") {
			<-m.exited
			t.Fatalf("ready line %q; stderr:\n%s", l, m.errText())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("not ready; stderr:\n%s", m.errText())
	}
	return m
}

func (m *monitor) get(t *testing.T, path string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", m.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

type restEntry struct {
	Message  string `json:"message"`
	Metadata struct {
		Stream string `json:"stream"`
		Seq    uint64 `json:"seq"`
	} `json:"metadata"`
}

func (m *monitor) logs(t *testing.T, id, query string) []restEntry {
	t.Helper()
	var out struct{ Entries []restEntry }
	m.get(t, "/api/v1/servers/"+id+"/logs?"+query, &out)
	return out.Entries
}

// running waits until every server in ids runs and returns their pids.
func (m *monitor) running(t *testing.T, ids ...string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Servers []struct {
				ID    string `json:"id"`
				State struct {
					Status string `json:"status"`
					PID    int    `json:"pid"`
				} `json:"state"`
			}
		}
		m.get(t, "/api/v1/servers", &list)
		pids := map[string]int{}
		for _, s := range list.Servers {
			if s.State.Status == "running" {
				pids[s.ID] = s.State.PID
			}
		}
		if len(pids) == len(ids) {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers running: %v, want %v", pids, ids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// maxSeqOnDisk is the highest seq in the NDJSON files of a server.
func maxSeqOnDisk(t *testing.T, dataDir, id string) uint64 {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "logs", id, "*.ndjson"))
	var top uint64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			var e restEntry
			if json.Unmarshal([]byte(line), &e) == nil && e.Metadata.Seq > top {
				top = e.Metadata.Seq
			}
		}
	}
	return top
}

// TestKilledMonitorLeavesNothingAndRestartsClean: mcpwatch is SIGKILLed while it supervises a
// chatty child and a child with a grandchild. No process of theirs survives (Linux: Pdeathsig
// and the shim), and mcpwatch started again on the same configuration and data directory
// starts the servers again, continues every server's seq after what reached the disk, answers
// queries over both runs in seq order and logs no error.
func TestKilledMonitorLeavesNothingAndRestartsClean(t *testing.T) {
	dir := t.TempDir()
	child := testChild(t, dir)
	cfg := writeConfig(t, dir, fmt.Sprintf(`{"servers":[
		{"id":"tick","command":%q,"args":["-lines","-1","-rate","200"],"autoStart":true},
		{"id":"tree","command":%q,"args":["-grandchild","-gc-setsid"],"autoStart":true}],
		"settings":{"historyIntervalMs":-1}}`, child, child))
	data := filepath.Join(dir, "data")

	first := startMonitor(t, cfg, data)
	first.running(t, "tick", "tree")
	var procs []int
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs = descendants(first.cmd.Process.Pid)
		if len(procs) >= 5 && len(first.logs(t, "tick", "limit=1")) == 1 && len(first.logs(t, "tree", "q=grandchild+pid")) == 1 {
			break // two shims, two children, one grandchild
		}
		if time.Now().After(deadline) {
			t.Fatalf("process tree below the monitor: %v", procs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var gc int
	fmt.Sscanf(first.logs(t, "tree", "q=grandchild+pid")[0].Message, "grandchild pid %d", &gc)
	if gc > 0 && !containsInt(procs, gc) {
		procs = append(procs, gc)
	}
	time.Sleep(300 * time.Millisecond) // some lines reach the disk

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	end := time.Now().Add(20 * time.Second)
	for {
		var left []int
		for _, p := range procs {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("processes %v outlived the SIGKILLed monitor (all: %v)", left, procs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	onDisk := map[string]uint64{"tick": maxSeqOnDisk(t, data, "tick"), "tree": maxSeqOnDisk(t, data, "tree")}
	if onDisk["tick"] == 0 || onDisk["tree"] == 0 {
		t.Fatalf("nothing on disk before the kill: %v", onDisk)
	}

	second := startMonitor(t, cfg, data)
	second.running(t, "tick", "tree")
	for id, before := range onDisk {
		var started []restEntry
		end := time.Now().Add(20 * time.Second)
		for {
			started = second.logs(t, id, "q=started+(pid")
			if len(started) == 2 || time.Now().After(end) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(started) != 2 || started[1].Metadata.Seq <= before {
			t.Fatalf("%s: started lines %+v; want two, the second after seq %d on disk", id, started, before)
		}
		all := second.logs(t, id, "limit=100000")
		for i := 1; i < len(all); i++ {
			if all[i].Metadata.Seq <= all[i-1].Metadata.Seq {
				t.Fatalf("%s: seq %d after %d in the query over both runs", id, all[i].Metadata.Seq, all[i-1].Metadata.Seq)
			}
		}
		t.Logf("%s: %d on disk at the kill, restarted at seq %d, %d entries over both runs", id, before, started[1].Metadata.Seq, len(all))
	}
	if err := second.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-second.exited
	if code := second.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("second run exited %d", code)
	}
	if s := second.errText(); strings.Contains(s, "level=ERROR") || strings.Contains(s, "level=WARN") {
		t.Errorf("the second run complained:\n%s", s)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
