package gateway

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"github.com/datadragon/datadragon/ingest/digest"
)

// objectStore keeps accepted chunks' bytes as files named by their chunk
// digest (content-addressed), in two-level directories: ab/abcdef….
type objectStore struct {
	dir    string
	noSync bool
}

func (o *objectStore) path(d digest.Digest) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(o.dir, h[:2], h)
}

// put writes an object once (atomically: a temporary file renamed).
func (o *objectStore) put(d digest.Digest, data []byte) error {
	p := o.path(d)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if !o.noSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}

// open returns an object's file, or an error wrapping os.ErrNotExist.
func (o *objectStore) open(d digest.Digest) (*os.File, error) {
	return os.Open(o.path(d))
}

var errNoObject = errors.New("no chunk with this digest is stored on this node")
