//go:build desktop

package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/options/mac"
	"github.com/wailsapp/wails/v2/pkg/options/windows"
	wruntime "github.com/wailsapp/wails/v2/pkg/runtime"
)

// uniqueID names the single-instance lock: a second start hands over to the first window.
const uniqueID = "io.github.mcpwatch.desktop"

// Desktop is what Run needs besides the app's options.
type Desktop struct {
	Options
	Assets fs.FS  // the window's UI (frontend/dist)
	Icon   []byte // PNG, the window icon on Linux
}

// wailsRuntime is Runtime over the Wails runtime, with the context Wails gave OnStartup.
type wailsRuntime struct{ ctx context.Context }

func (r wailsRuntime) EventsEmit(event string, data ...any) {
	wruntime.EventsEmit(r.ctx, event, data...)
}
func (r wailsRuntime) WindowShow()                     { wruntime.WindowShow(r.ctx) }
func (r wailsRuntime) WindowHide()                     { wruntime.WindowHide(r.ctx) }
func (r wailsRuntime) WindowUnminimise()               { wruntime.WindowUnminimise(r.ctx) }
func (r wailsRuntime) WindowIsMaximised() bool         { return wruntime.WindowIsMaximised(r.ctx) }
func (r wailsRuntime) WindowGetSize() (int, int)       { return wruntime.WindowGetSize(r.ctx) }
func (r wailsRuntime) WindowGetPosition() (int, int)   { return wruntime.WindowGetPosition(r.ctx) }
func (r wailsRuntime) WindowSetPosition(x, y int)      { wruntime.WindowSetPosition(r.ctx, x, y) }
func (r wailsRuntime) WindowExecJS(js string)          { wruntime.WindowExecJS(r.ctx, js) }
func (r wailsRuntime) ClipboardSetText(t string) error { return wruntime.ClipboardSetText(r.ctx, t) }
func (r wailsRuntime) BrowserOpenURL(url string)       { wruntime.BrowserOpenURL(r.ctx, url) }
func (r wailsRuntime) Quit()                           { wruntime.Quit(r.ctx) }
func (r wailsRuntime) InfoDialog(title, message string) error {
	_, err := wruntime.MessageDialog(r.ctx, wruntime.MessageDialogOptions{Type: wruntime.InfoDialog, Title: title, Message: message})
	return err
}

// Run opens the window over the engine and returns when the application ends: the window was
// closed (unless keepRunningInBackground), Quit was chosen, or ctx ended (SIGINT, SIGTERM). By
// then every child has been stopped.
func Run(ctx context.Context, d Desktop) error {
	a := New(d.Options)
	ws := LoadWindowState(a.opts.StateFile)
	start := options.Normal
	if ws.Maximised {
		start = options.Maximised
	}

	// A signal quits like the menu does; the watcher ends with Run.
	gate := &quitGate{quit: a.quit}
	defer watchQuit(ctx, gate)()

	var stopErr error
	err := wails.Run(&options.App{
		Title:            "MCP Watch",
		Width:            ws.Width,
		Height:           ws.Height,
		MinWidth:         minWidth,
		MinHeight:        minHeight,
		WindowStartState: start,
		BackgroundColour: options.NewRGB(0xf5, 0xf7, 0xfa),
		AssetServer:      &assetserver.Options{Assets: d.Assets},
		Menu:             a.menu(),
		OnStartup: func(wctx context.Context) {
			rt := wailsRuntime{wctx}
			a.start(rt)
			a.restoreWindowPosition(rt)
		},
		OnDomReady: func(context.Context) {
			gate.markReady()
			a.domReady()
		},
		OnBeforeClose: func(context.Context) bool { return a.beforeClose() },
		OnShutdown:    func(context.Context) { stopErr = a.stop() },
		Bind:          []any{a},
		SingleInstanceLock: &options.SingleInstanceLock{
			UniqueId:               uniqueID,
			OnSecondInstanceLaunch: func(options.SecondInstanceData) { a.secondInstance() },
		},
		Linux:   &linux.Options{Icon: d.Icon, ProgramName: "mcpwatch", WebviewGpuPolicy: linux.WebviewGpuPolicyOnDemand},
		Mac:     &mac.Options{About: &mac.AboutInfo{Title: "MCP Watch", Message: "Version " + a.eng.Version(), Icon: d.Icon}},
		Windows: &windows.Options{},
	})
	a.mu.Lock()
	started := a.started
	a.mu.Unlock()
	if !started {
		// OnStartup never ran: the engine was opened but not run.
		if cerr := a.eng.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if err != nil {
			return fmt.Errorf("desktop window: %w", err)
		}
		return nil
	}
	if err != nil {
		// The window never opened (no WebKit/WebView2, …): the engine may still run.
		return errors.Join(fmt.Errorf("desktop window: %w", err), a.stop())
	}
	return stopErr
}

// GenerateBindings is main for `wails build`'s bindings step: Wails lists App's methods and exits.
func GenerateBindings() error {
	return wails.Run(&options.App{Title: "MCP Watch", Bind: []any{&App{}}})
}

// errorShownEvent is how the error page says it is painted.
const errorShownEvent = "mcpwatch:error-shown"

// ErrorWindow is what RunError shows.
type ErrorWindow struct {
	ConfigPath string
	Reason     string
	Version    string
	Icon       []byte
	Shown      func(text string) // called once the page is painted, with its text (optional)
}

// RunError opens a window that only explains why MCP Watch cannot start (a configuration that
// cannot be read) and returns when it is closed or ctx ends. The file is not touched.
func RunError(ctx context.Context, w ErrorWindow) error {
	page, err := ErrorPage(w.ConfigPath, w.Reason, w.Version)
	if err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		wctx context.Context
	)
	gate := &quitGate{quit: func() {
		mu.Lock()
		c := wctx
		mu.Unlock()
		if c != nil {
			wruntime.Quit(c)
		}
	}}
	defer watchQuit(ctx, gate)()
	err = wails.Run(&options.App{
		Title:  "MCP Watch: configuration error",
		Width:  820,
		Height: 520,
		AssetServer: &assetserver.Options{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = rw.Write(page)
		})},
		OnStartup: func(c context.Context) {
			mu.Lock()
			wctx = c
			mu.Unlock()
		},
		OnDomReady: func(c context.Context) {
			gate.markReady()
			if w.Shown == nil {
				return
			}
			// Reported once the page has painted (two animation frames), with its text.
			var once sync.Once
			wruntime.EventsOn(c, errorShownEvent, func(data ...any) {
				text := ""
				if len(data) > 0 {
					text, _ = data[0].(string)
				}
				once.Do(func() { w.Shown(text) })
			})
			wruntime.WindowExecJS(c, "requestAnimationFrame(() => requestAnimationFrame(() => "+
				"window.runtime.EventsEmit('"+errorShownEvent+"', document.body.innerText)))")
		},
		Linux: &linux.Options{Icon: w.Icon, ProgramName: "mcpwatch"},
	})
	if err != nil {
		return fmt.Errorf("desktop window: %w", err)
	}
	return nil
}

// menu is MCP Watch ▸ Open in browser, Copy URL, About, Quit (plus the standard app and edit
// menus on macOS, where copy and paste need them).
func (a *App) menu() *menu.Menu {
	m := menu.NewMenu()
	if goruntime.GOOS == "darwin" {
		m.Append(menu.AppMenu())
		m.Append(menu.EditMenu())
	}
	sub := m.AddSubmenu("MCP Watch")
	sub.AddText("Open in Browser", keys.CmdOrCtrl("b"), func(*menu.CallbackData) { a.menuOpenInBrowser() })
	sub.AddText("Copy Browser URL (with token)", nil, func(*menu.CallbackData) { a.menuCopyURL() })
	sub.AddSeparator()
	sub.AddText("About MCP Watch", nil, func(*menu.CallbackData) { a.menuAbout() })
	sub.AddSeparator()
	sub.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) { a.quit() })
	return m
}

func (a *App) menuOpenInBrowser() {
	if err := a.OpenInBrowser(); err != nil {
		a.notice("Cannot open the browser", err)
	}
}

func (a *App) menuCopyURL() {
	u, err := a.browserURL()
	if err == nil {
		if rt := a.runtime(); rt != nil {
			err = rt.ClipboardSetText(u)
		}
	}
	if err != nil {
		a.notice("Cannot copy the URL", err)
	}
}

func (a *App) menuAbout() {
	if rt := a.runtime(); rt != nil {
		if err := rt.InfoDialog("About MCP Watch", a.aboutText()); err != nil {
			a.log.Debug("about dialog", "err", err)
		}
	}
}

func (a *App) notice(title string, err error) {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 && strings.ToUpper(msg[:i]) == msg[:i] {
		msg = msg[i+2:] // drop the code the window's transport reads
	}
	if rt := a.runtime(); rt != nil {
		_ = rt.InfoDialog(title, msg)
	}
}
