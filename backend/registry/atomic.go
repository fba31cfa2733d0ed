package registry

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data so that a reader (or a crash) sees either the old
// file or the new one, never a mix: a temp file in the same directory, written, fsynced and
// given perm, renamed over path, then the directory fsynced. The directory is created 0700
// when missing. On failure the temp file is removed and path is untouched.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = f.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	// Restrict the mode before any byte is written: the data may hold secrets.
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync temp file: %w", err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fmt.Errorf("close temp file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace file: %w", err)
	}
	// The new file is in place; a failed directory sync only weakens durability after a
	// power loss, so it is reported but does not undo the change.
	if err := syncDir(dir); err != nil {
		slog.Warn("registry: sync directory failed", "dir", dir, "err", err)
	}
	return nil
}
