package gateway

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/datadragon/datadragon/ingest/digest"
)

// objectStore keeps accepted chunks' bytes as files named by their chunk
// digest (content-addressed), in two-level directories: ab/abcdef….
//
// An object the retention policy released leaves a tombstone beside it:
// an empty file ab/abcdef….released whose modification time is the
// moment of release. It costs an inode and no data block, and lets the
// node answer 410 Gone with the date for a digest it once served, 404 for
// one it never held, and never store released bytes again (after a
// crash, a chunk still in the log is stored again unless its tombstone
// says no).
type objectStore struct {
	dir    string
	noSync bool
}

const tombstoneSuffix = ".released"

func (o *objectStore) path(d digest.Digest) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(o.dir, h[:2], h)
}

func (o *objectStore) tombstone(d digest.Digest) string { return o.path(d) + tombstoneSuffix }

// put writes an object once (atomically: a temporary file synced and
// renamed, then its directory synced, so the object is durable when put
// returns — a log release depends on it). It returns when the object was
// stored: now, or the file's time if it was already there. An object
// released by the retention policy is not stored again (released is then
// set).
func (o *objectStore) put(d digest.Digest, data []byte, now time.Time) (storedAt time.Time, released bool, err error) {
	if at, released, done := o.exists(d); done {
		return at, released, nil
	}
	f, err := o.temp()
	if err != nil {
		return time.Time{}, false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return time.Time{}, false, err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return time.Time{}, false, err
	}
	return o.adopt(d, f.Name(), now)
}

// exists says whether object d is stored (and since when) or was
// released: either way there is nothing to write.
func (o *objectStore) exists(d digest.Digest) (storedAt time.Time, released, done bool) {
	if st, err := os.Stat(o.path(d)); err == nil {
		return st.ModTime(), false, true
	}
	if _, err := os.Stat(o.tombstone(d)); err == nil {
		return time.Time{}, true, true
	}
	return time.Time{}, false, false
}

// temp creates a temporary file for an object being written. It lies in
// the prefetch directory, which the gateway empties when it opens, so a
// crash leaves nothing behind for long.
func (o *objectStore) temp() (*os.File, error) {
	dir := filepath.Join(o.dir, prefetchDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, ".tmp-*")
}

// adopt makes the closed file at src object d, as put does: synced, then
// renamed into place and its directory synced, so the object is durable
// when adopt returns; one fsync of the file and one of its directory,
// whatever wrote it. If the object is already there or was released, src
// is removed instead. The bytes must be the object's: the caller hashed
// them.
func (o *objectStore) adopt(d digest.Digest, src string, now time.Time) (storedAt time.Time, released bool, err error) {
	if at, released, done := o.exists(d); done {
		os.Remove(src)
		return at, released, nil
	}
	fail := func(err error) (time.Time, bool, error) {
		os.Remove(src)
		return time.Time{}, false, err
	}
	p := o.path(d)
	dir := filepath.Dir(p)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fail(err)
		}
		if !o.noSync {
			if err := syncDir(o.dir); err != nil {
				return fail(err)
			}
		}
	}
	if !o.noSync {
		f, err := os.OpenFile(src, os.O_RDWR, 0)
		if err != nil {
			return fail(err)
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := os.Rename(src, p); err != nil {
		return fail(err)
	}
	if !o.noSync {
		if err := syncDir(dir); err != nil {
			return time.Time{}, false, err
		}
	}
	return now, false, nil
}

// open returns an object's file. If there is none it returns an error
// wrapping os.ErrNotExist, or a *releasedError if the retention policy
// released it.
func (o *objectStore) open(d digest.Digest) (*os.File, error) {
	f, err := os.Open(o.path(d))
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return f, err
	}
	if st, serr := os.Stat(o.tombstone(d)); serr == nil {
		return nil, &releasedError{at: st.ModTime()}
	}
	return nil, err
}

// markReleased writes the tombstones of objects about to be deleted, with
// the release time, and makes them durable (each distinct directory
// synced once): the answer for these digests turns from 200 into 410,
// never into 404.
func (o *objectStore) markReleased(ds []digest.Digest, at time.Time) error {
	dirs := map[string]bool{}
	for _, d := range ds {
		p := o.tombstone(d)
		if _, err := os.Stat(p); err == nil {
			continue // a pass a crash interrupted: keep the first date
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Chtimes(p, at, at); err != nil {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	if o.noSync {
		return nil
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes released objects (their tombstones are durable). One
// already gone is fine: a pass a crash interrupted is run again.
func (o *objectStore) remove(ds []digest.Digest) error {
	for _, d := range ds {
		if err := os.Remove(o.path(d)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

var errNoObject = errors.New("no chunk with this digest is stored on this node")

// releasedError says that an object was stored here and released by the
// retention policy.
type releasedError struct{ at time.Time }

func (e *releasedError) Error() string {
	return fmt.Sprintf("this chunk's bytes were released by this node's retention policy on %s; the receipt still verifies; the bytes may be on another node or with the producer",
		e.at.UTC().Format(time.RFC3339))
}
