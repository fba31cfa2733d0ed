//go:build !unix

package main

import "syscall"

// newSession: no sessions here; the grandchild starts as usual.
func newSession() *syscall.SysProcAttr { return nil }
