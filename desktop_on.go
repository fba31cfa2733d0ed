//go:build desktop

package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/mcpwatch/mcpwatch/app"
	"github.com/mcpwatch/mcpwatch/backend/engine"
)

//go:embed build/appicon.png
var appIcon []byte

// bindingsBuild is set by desktop_bindings.go when `wails build` compiles this program to
// generate the JavaScript bindings: then main only describes the bound methods and exits.
var bindingsBuild bool

// runDesktop opens the window over the engine (the HTTP side on :3001 runs as well). Without a
// display it serves headless; a configuration that cannot be read is shown in a window, and the
// file is left as it is.
func runDesktop(o options, ui fs.FS, stdout, stderr io.Writer) int {
	if bindingsBuild {
		if err := app.GenerateBindings(); err != nil {
			fmt.Fprintln(stderr, "mcpwatch: bindings:", err)
			return 1
		}
		return 0
	}
	if !hasDisplay(os.Getenv) {
		fmt.Fprintln(stderr, "mcpwatch: no display (DISPLAY and WAYLAND_DISPLAY are unset): running headless; open the printed URL in a browser")
		return runHeadless(o, ui, stdout, stderr)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	eng, err := engine.Open(engine.Options{ConfigPath: o.config, DataDir: o.dataDir, Version: version, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		werr := app.RunError(ctx, app.ErrorWindow{
			ConfigPath: o.config, Reason: err.Error(), Version: version, Icon: appIcon,
			Shown: func(text string) {
				first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
				fmt.Fprintf(stderr, "mcpwatch: the window shows %q; the file was not changed\n", first)
			},
		})
		if werr != nil {
			fmt.Fprintln(stderr, "mcpwatch:", werr)
		}
		return 2
	}
	var hold time.Duration
	if v := os.Getenv("MCPWATCH_SELFTEST_HOLD"); v != "" {
		if hold, err = time.ParseDuration(v); err != nil {
			fmt.Fprintln(stderr, "mcpwatch: MCPWATCH_SELFTEST_HOLD:", err)
			_ = eng.Close()
			return 2
		}
	}
	err = app.Run(ctx, app.Desktop{
		Options: app.Options{
			Engine:       eng,
			Host:         o.host,
			Port:         o.port,
			UI:           ui,
			Logger:       logger,
			SelfTest:     os.Getenv("MCPWATCH_SELFTEST"),
			SelfTestHold: hold,
		},
		Assets: ui,
		Icon:   appIcon,
	})
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		return 1
	}
	return 0
}

// hasDisplay: Linux and the BSDs need an X11 or Wayland display; Windows and macOS have one.
func hasDisplay(getenv func(string) string) bool {
	switch goruntime.GOOS {
	case "windows", "darwin":
		return true
	}
	return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
}
