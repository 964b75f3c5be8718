//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// dirLocking says whether Open keeps a second Log out of a directory.
const dirLocking = true

// lockDir takes an exclusive flock on the lock file in dir, which is held
// for as long as the returned file is open (a crashed process's lock goes
// with it).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("wal: %s is in use: another open Log holds the lock on %s", dir, path)
		}
		return nil, fmt.Errorf("wal: locking %s: %w", path, err)
	}
	return f, nil
}

// syncDir makes the entries of dir (files created or removed) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
