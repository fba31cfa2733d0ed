package app

import (
	"fmt"
	"html/template"
	"strings"
)

// aboutText is the About dialog: version, files, where the web UI is, the background setting.
func (a *App) aboutText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MCP Watch %s\nStarts, supervises and monitors local MCP servers.\n\n", a.eng.Version())
	fmt.Fprintf(&b, "Configuration: %s\nLogs and state: %s\n", a.eng.ConfigPath(), a.eng.DataDir())
	u, acc := a.externalAccess()
	if acc.Enabled {
		fmt.Fprintf(&b, "Web UI and API: %s\n", u)
	} else {
		fmt.Fprintf(&b, "Web UI and API: off (%s)\n", acc.Reason)
	}
	if a.eng.Settings().KeepRunningInBackground {
		b.WriteString("\nKeep running in the background is on: closing the window leaves your servers running; " +
			"choose Quit to stop them.\n")
	} else {
		b.WriteString("\nClosing the window stops every server.\n")
	}
	return b.String()
}

// errorPageTmpl is the whole window when the configuration cannot be read: the reason, the
// file, and that the file was left untouched.
var errorPageTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MCP Watch: configuration error</title>
<style>
 body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f5f7fa;color:#1f2937}
 main{max-width:760px;margin:48px auto;padding:28px 32px;background:#fff;border-radius:12px;
      box-shadow:0 1px 3px rgba(0,0,0,.12);border-top:6px solid #dc2626}
 h1{font-size:22px;margin:0 0 12px} code,pre{font:13px/1.45 ui-monospace,monospace}
 pre{background:#fef2f2;border:1px solid #fecaca;padding:12px 14px;border-radius:8px;white-space:pre-wrap;word-break:break-word}
 .muted{color:#6b7280}
</style></head>
<body><main>
<h1>MCP Watch cannot read its configuration</h1>
<p>The file <code>{{.Path}}</code> could not be used:</p>
<pre id="reason">{{.Reason}}</pre>
<p>Nothing was started, and the file was <strong>not changed</strong>. Fix it in a text editor (or move it
away to start with an empty configuration), then start MCP Watch again.</p>
<p class="muted">MCP Watch {{.Version}}. Close this window to exit.</p>
</main></body></html>
`))

// ErrorPage renders the configuration error page.
func ErrorPage(path, reason, version string) ([]byte, error) {
	var b strings.Builder
	err := errorPageTmpl.Execute(&b, struct{ Path, Reason, Version string }{path, reason, version})
	if err != nil {
		return nil, fmt.Errorf("render error page: %w", err)
	}
	return []byte(b.String()), nil
}
