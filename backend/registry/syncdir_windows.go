//go:build windows

package registry

// syncDir is a no-op on Windows, which has no fsync for directories; the rename relies on
// the file system's metadata journal.
func syncDir(string) error { return nil }
