//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package wal

import (
	"fmt"
	"os"
	"path/filepath"
)

// dirLocking says whether Open keeps a second Log out of a directory: not on
// this platform, where the standard library offers no flock.
const dirLocking = false

// lockDir opens the lock file in dir without locking it: on this platform
// the caller must make sure a directory is opened by one Log at a time.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return f, nil
}

// syncDir tries to make the entries of dir durable. Some platforms (Windows)
// cannot fsync a directory; there the file system's own ordering is relied
// on, and failures are ignored.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	d.Sync()
	d.Close()
	return nil
}
