package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/protocol"
)

// Deadlines of the self-test.
const (
	selfTestWindowWait = 45 * time.Second // the window's checks
	selfTestReportWait = 60 * time.Second // the window's report, from DOM ready
)

// SelfTestCheck is one check of the self-test.
type SelfTestCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// SelfTestResult is the file the self-test writes (MCPWATCH_SELFTEST=<file>).
type SelfTestResult struct {
	OK       bool            `json:"ok"`
	Version  string          `json:"version"`
	ServerID string          `json:"serverId,omitempty"`
	PID      int             `json:"pid,omitempty"`
	Checks   []SelfTestCheck `json:"checks"`
	Window   json.RawMessage `json:"window,omitempty"` // the window's report as it came
	Time     string          `json:"time"`
}

// windowReport is what the self-test script in the window sends back (SelfTestReport).
type windowReport struct {
	Error       string          `json:"error"`
	UILoaded    bool            `json:"uiLoaded"`
	Title       string          `json:"title"`
	Version     string          `json:"version"`
	ProcessInfo json.RawMessage `json:"processInfo"`
	LogLine     json.RawMessage `json:"logLine"`
	ElapsedMs   int64           `json:"elapsedMs"`
}

// selfTestJS runs in the window: it subscribes over the bridge the way the UI does (bound Emit,
// runtime EventsOn), waits until the UI shows the server and a process:info and a log line of
// the child arrived live (not replayed), and reports back through the bound SelfTestReport.
func selfTestJS(serverID, name string, wait time.Duration) string {
	id, _ := json.Marshal(serverID)
	nm, _ := json.Marshal(name)
	return fmt.Sprintf(`(function () {
  const ID = %s, NAME = %s, WAIT = %d;
  const A = window.go && window.go.app && window.go.app.App;
  if (!A || !window.runtime) return;
  const t0 = Date.now();
  let info = null, line = null, version = '';
  const offs = [
    window.runtime.EventsOn('process:info', (p) => { if (!info && p && p.serverId === ID && p.processInfo && p.processInfo.pid > 0) info = p; }),
    window.runtime.EventsOn('process:logs', (p) => { if (!line && p && p.serverId === ID && p.logData && p.logData.metadata && p.logData.metadata.stream !== 'system' && !p.logData.metadata.replay) line = p; }),
  ];
  const done = (extra) => {
    for (const off of offs) if (typeof off === 'function') off();
    const text = document.body ? document.body.innerText : '';
    return A.SelfTestReport(Object.assign({ uiLoaded: text.includes(NAME), title: document.title, version,
      processInfo: info, logLine: line, elapsedMs: Date.now() - t0 }, extra || {}));
  };
  const tick = () => {
    const text = document.body ? document.body.innerText : '';
    if ((text.includes(NAME) && info && line) || Date.now() - t0 > WAIT) { done(); return; }
    setTimeout(tick, 100);
  };
  A.Health()
    .then((h) => { version = h.version; })
    .then(() => A.Emit('subscribe-server-metrics', { serverId: ID, interval: 1000 }))
    .then(() => A.Emit('subscribe-server-logs', { serverId: ID, tail: 50 }))
    .then(tick)
    .catch((e) => done({ error: String(e) }));
})();`, id, nm, wait.Milliseconds())
}

// selfTestServer is the server the self-test watches: the first one that starts by itself.
func (a *App) selfTestServer() (engine.ServerView, bool) {
	for _, s := range a.eng.Servers(false) {
		if s.AutoStart {
			return s, true
		}
	}
	return engine.ServerView{}, false
}

// runSelfTest runs once the window's DOM is ready: it injects selfTestJS, checks the window's
// report and the HTTP side, writes the result file and then quits (at the latest after
// SelfTestHold, or earlier on SIGTERM, which gives a test the time to take a screenshot).
func (a *App) runSelfTest(ctx context.Context, rt Runtime) {
	res := SelfTestResult{Version: a.eng.Version()}
	check := func(name string, ok bool, detail string) {
		res.Checks = append(res.Checks, SelfTestCheck{Name: name, OK: ok, Detail: detail})
	}
	defer func() {
		res.OK = len(res.Checks) > 0
		for _, c := range res.Checks {
			res.OK = res.OK && c.OK
		}
		res.Time = protocol.Time(time.Now())
		if err := writeJSONFile(a.opts.SelfTest, res); err != nil {
			a.log.Error("self-test: result not written", "err", err)
		}
		a.log.Info("self-test done", "ok", res.OK, "file", a.opts.SelfTest)
		hold := time.NewTimer(a.opts.SelfTestHold)
		defer hold.Stop()
		select {
		case <-ctx.Done():
		case <-hold.C:
			a.quit()
		}
	}()

	srv, ok := a.selfTestServer()
	if !ok {
		check("config", false, "no server with autoStart in the configuration")
		return
	}
	res.ServerID = srv.ID
	rt.WindowExecJS(selfTestJS(srv.ID, srv.Name, selfTestWindowWait))

	timer := time.NewTimer(selfTestReportWait)
	defer timer.Stop()
	var raw json.RawMessage
	select {
	case raw = <-a.selfReports:
	case <-ctx.Done():
		check("window-report", false, "the app stopped before the window reported")
		return
	case <-timer.C:
		check("window-report", false, "no report from the window: the page or the bound methods did not load")
		return
	}
	res.Window = raw
	var rep windowReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		check("window-report", false, "unreadable report: "+err.Error())
		return
	}
	check("window-report", rep.Error == "", rep.Error)
	check("ui-loaded", rep.UILoaded, fmt.Sprintf("page %q shows the server name %q: %v", rep.Title, srv.Name, rep.UILoaded))
	check("bound-method", rep.Version == a.eng.Version(), fmt.Sprintf("Health().version = %q", rep.Version))

	var info struct {
		ServerID    string `json:"serverId"`
		ProcessInfo struct {
			PID int `json:"pid"`
		} `json:"processInfo"`
	}
	infoOK := len(rep.ProcessInfo) > 0 && string(rep.ProcessInfo) != "null" && json.Unmarshal(rep.ProcessInfo, &info) == nil && info.ProcessInfo.PID > 0
	res.PID = info.ProcessInfo.PID
	check("process-info", infoOK, fmt.Sprintf("process:info over the bridge: pid %d", info.ProcessInfo.PID))

	var line struct {
		LogData struct {
			Message  string `json:"message"`
			Metadata struct {
				Stream string `json:"stream"`
			} `json:"metadata"`
		} `json:"logData"`
	}
	lineOK := len(rep.LogLine) > 0 && string(rep.LogLine) != "null" && json.Unmarshal(rep.LogLine, &line) == nil && line.LogData.Message != ""
	check("log-line", lineOK, fmt.Sprintf("process:logs over the bridge: [%s] %q", line.LogData.Metadata.Stream, line.LogData.Message))

	a.mu.Lock()
	b := a.bridge
	a.mu.Unlock()
	n1, n2 := b.forwarded(protocol.EvProcessInfo), b.forwarded(protocol.EvProcessLogs)
	check("bridge", n1 > 0 && n2 > 0, fmt.Sprintf("forwarded %d process:info, %d process:logs", n1, n2))

	herr := a.checkHTTP(ctx)
	check("http", herr == nil, errText(herr))
}

func errText(err error) string {
	if err == nil {
		return "GET /api/v1/health answered this version"
	}
	return err.Error()
}

// checkHTTP asks the HTTP side for its health, as a browser would.
func (a *App) checkHTTP(ctx context.Context) error {
	a.mu.Lock()
	srv, why := a.srv, a.extReason
	a.mu.Unlock()
	if srv == nil {
		return fmt.Errorf("no HTTP server: %s", why)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/api/v1/health", nil)
	if err != nil {
		return fmt.Errorf("health request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var h engine.Health
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &h) != nil || h.Version != a.eng.Version() {
		return fmt.Errorf("health: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// writeJSONFile writes v to path atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
