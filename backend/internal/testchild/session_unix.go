//go:build unix

package main

import "syscall"

// newSession starts a process in a session (and process group) of its own, as a daemon does.
func newSession() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
