//go:build !desktop

package main

import (
	"io"
	"io/fs"
)

// runDesktop without the desktop build tags: there is no window to open, so mcpwatch serves
// headless (the web UI at the printed URL is the same UI).
func runDesktop(o options, ui fs.FS, stdout, stderr io.Writer) int {
	return runHeadless(o, ui, stdout, stderr)
}
