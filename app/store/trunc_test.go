package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A file cut short (a lost tail, a copy that stopped): an error, never a
// crash, whether it was cut before opening or under an open store (reads
// beyond the end of a mapped file fault).
func TestTruncatedFileIsAnError(t *testing.T) {
	for _, under := range []bool{false, true} {
		dir := t.TempDir()
		fill(t, dir, 3000)
		path := filepath.Join(dir, FileName)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		var s *Store
		if under {
			if s, err = Open(dir, Options{Buckets: []string{"records"}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Truncate(path, fi.Size()/4); err != nil {
			t.Fatal(err)
		}
		if !under {
			s, err = Open(dir, Options{Buckets: []string{"records"}})
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("opening a truncated file: %v", err)
				}
				t.Logf("under=false: %v", err)
				continue
			}
		}
		err = s.View(func(tx Tx) error {
			tx.Scan([]byte("records"), nil, nil, func(_, _ []byte) bool { return true })
			return nil
		})
		if err == nil {
			_, err = s.Scrub(t.Context())
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("under=%v: reading a truncated file: %v", under, err)
		}
		t.Logf("under=%v: %v", under, err)
		s.Close()
	}
}
