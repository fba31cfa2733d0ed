// Command mcpwatch starts, supervises and monitors local MCP servers. With --headless it serves
// the web UI, REST and Socket.IO on localhost; otherwise it opens the desktop window too.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcpwatch/mcpwatch/backend/engine"
	"github.com/mcpwatch/mcpwatch/backend/httpapi"
	"github.com/mcpwatch/mcpwatch/backend/registry"
	"github.com/mcpwatch/mcpwatch/backend/supervisor"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

//go:embed all:frontend/dist
var assets embed.FS

// options are the command line (protocol.md section 7).
type options struct {
	headless bool
	config   string
	host     string
	port     int
	dataDir  string
	version  bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fl := flag.NewFlagSet("mcpwatch", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.BoolVar(&o.headless, "headless", false, "no window: serve until SIGINT or SIGTERM, then stop every child")
	fl.StringVar(&o.config, "config", "", "configuration file (default $XDG_CONFIG_HOME/mcpwatch/config.json)")
	fl.StringVar(&o.host, "host", "", "address to listen on (default 127.0.0.1; anything but loopback requires the token everywhere)")
	fl.IntVar(&o.port, "port", 0, "port to listen on (default 3001)")
	fl.StringVar(&o.dataDir, "data-dir", "", "logs and state (default $XDG_STATE_HOME/mcpwatch)")
	fl.BoolVar(&o.version, "version", false, "print the version and exit")
	if err := fl.Parse(args); err != nil {
		return o, err
	}
	if fl.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fl.Arg(0))
	}
	if o.port < 0 || o.port > 65535 {
		return o, fmt.Errorf("--port %d: must be between 1 and 65535", o.port)
	}
	if o.config == "" {
		o.config = registry.DefaultConfigPath()
	}
	if o.dataDir == "" {
		o.dataDir = registry.DefaultDataDir()
	}
	return o, nil
}

func main() {
	supervisor.RunShimIfRequested() // the child-holding shim is this binary re-executed
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, "mcpwatch", version)
		return 0
	}
	ui, err := fs.Sub(assets, "frontend/dist")
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		return 1
	}
	if o.headless {
		return runHeadless(o, ui, stdout, stderr)
	}
	return runDesktop(o, ui, stdout, stderr)
}

// runHeadless serves until SIGINT or SIGTERM, then stops every child tree.
func runHeadless(o options, ui fs.FS, stdout, stderr io.Writer) int {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	stopProfile, err := startProfile()
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		return 2
	}
	defer stopProfile()
	eng, err := engine.Open(engine.Options{ConfigPath: o.config, DataDir: o.dataDir, Version: version, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := httpapi.Listen(eng, httpapi.Options{Host: o.host, Port: o.port, UI: ui, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "mcpwatch:", err)
		eng.Close()
		return 2
	}
	fmt.Fprintf(stdout, "mcpwatch: listening on %s/#token=%s\n", srv.URL(), eng.Token())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx) }()
	runErr := eng.Run(ctx) // returns after ctx ends and every child is stopped
	if err := <-serveErr; err != nil {
		fmt.Fprintln(stderr, "mcpwatch: serve:", err)
		return 1
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "mcpwatch: stop:", runErr)
		return 1
	}
	return 0
}
