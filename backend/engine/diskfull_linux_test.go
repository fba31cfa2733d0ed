//go:build linux

package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/internal/testutil"
	"github.com/mcpwatch/mcpwatch/backend/logstore"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
	"github.com/mcpwatch/mcpwatch/backend/registry"
)

// warnings counts the Warn records of a logger per "server" attribute.
type warnings struct {
	mu sync.Mutex
	n  map[string]int
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w *warnings) WithGroup(string) slog.Handler                { return w }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "server" {
			w.mu.Lock()
			w.n[a.Value.String()]++
			w.mu.Unlock()
		}
		return true
	})
	return nil
}

func (w *warnings) of(server string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n[server]
}

// lastSeqOnDisk is the highest seq in a server's current log file.
func lastSeqOnDisk(t *testing.T, dataDir, id string) uint64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "logs", id, "current.ndjson"))
	if err != nil {
		return 0
	}
	defer f.Close()
	var top uint64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Metadata struct{ Seq uint64 } `json:"metadata"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Metadata.Seq > top {
			top = e.Metadata.Seq
		}
	}
	return top
}

// TestLogDiskFull: the log directory is a small tmpfs that fills up. Live streaming goes on
// (a hub subscriber keeps getting new entries), the failure is reported once per server (one
// warning each, however many flushes fail), the engine stays up, and writing resumes once there
// is room again. Skipped where tmpfs cannot be mounted (not root, or in a container without
// CAP_SYS_ADMIN).
func TestLogDiskFull(t *testing.T) {
	bin := testutil.BuildTestChild(t)
	data := t.TempDir()
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(data, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", data, err)
		}
	})
	var defs []registry.ServerDef
	for _, id := range []string{"a", "b"} {
		d := child(id, "-lines", "-1", "-rate", "200", "-prefix", id+" says hello, line")
		d.Command, d.AutoStart = bin, true
		defs = append(defs, d)
	}
	warn := &warnings{n: map[string]int{}}
	r := startWith(t, registry.Settings{HistoryIntervalMs: -1}, slog.New(warn), data, defs...)
	c := r.eng.Hub().NewClient("live")
	c.SubscribeLogs("a", logstore.Debug, 0, false)
	c.SubscribeLogs("b", logstore.Debug, 0, false)
	col := collect(t, c)
	liveTop := func(id string) uint64 {
		var top uint64
		for _, e := range col.snapshot() {
			if e.event == protocol.EvProcessLogs && e.log.ServerID == id && e.log.LogData.Metadata.Seq > top {
				top = e.log.LogData.Metadata.Seq
			}
		}
		return top
	}
	waitFor(t, 20*time.Second, "entries on disk", func() bool {
		return lastSeqOnDisk(t, data, "a") > 20 && lastSeqOnDisk(t, data, "b") > 20
	})

	// Fill the file system.
	filler := filepath.Join(data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	f.Close()
	waitFor(t, 20*time.Second, "the disk error seen by both servers", func() bool {
		return errors.Is(r.eng.logs.DiskError("a"), syscall.ENOSPC) && errors.Is(r.eng.logs.DiskError("b"), syscall.ENOSPC)
	})
	failedAt := map[string]uint64{"a": r.eng.logs.LastSeq("a"), "b": r.eng.logs.LastSeq("b")}
	for _, id := range []string{"a", "b"} {
		waitFor(t, 20*time.Second, "live entries and lost disk writes while the disk is full", func() bool {
			return liveTop(id) > failedAt[id]+100 && r.eng.logs.DiskDropped(id) > 100
		})
		if n := warn.of(id); n != 1 {
			t.Errorf("server %s: %d warnings about the disk, want exactly 1", id, n)
		}
		if st := r.eng.state(id); st.Status != "running" {
			t.Errorf("server %s is %s during the disk failure", id, st.Status)
		}
	}

	// Room again: writing resumes.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	resumedAt := map[string]uint64{"a": r.eng.logs.LastSeq("a"), "b": r.eng.logs.LastSeq("b")}
	for _, id := range []string{"a", "b"} {
		waitFor(t, 20*time.Second, "writing resumed", func() bool {
			return r.eng.logs.DiskError(id) == nil && lastSeqOnDisk(t, data, id) > resumedAt[id]
		})
		t.Logf("server %s: disk full at seq %d, %d entries not written, on disk again from seq ≤ %d, warnings %d",
			id, failedAt[id], r.eng.logs.DiskDropped(id), resumedAt[id], warn.of(id))
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("engine stop after the disk failure: %v", err)
	}
	r.cancel = nil
}
