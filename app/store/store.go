// Package store keeps the consensus app's state in bbolt: one file,
// app.db, under the directory the node gives it.
//
// It exists to give the app two things and nothing more: a Batch that
// collects one block's writes in memory (reads see them) and computes a
// canonical digest of them, and an atomic Commit of the batch in a single
// bbolt transaction, so the state on disk always matches a whole number of
// blocks. Readers (the node's API) use View and see committed state only.
package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// FileName is the database file inside the store directory.
const FileName = "app.db"

// Store is the open database.
type Store struct {
	db      *bolt.DB
	buckets [][]byte
}

// Open opens (creating if needed) dir/app.db with the given buckets. It
// fails after two seconds if another process holds the file.
func Open(dir string, buckets ...string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory given")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is locked by another process", path)
		}
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s := &Store{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
			s.buckets = append(s.buckets, []byte(b))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: creating buckets: %w", err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Tx is a read-only view of committed state.
type Tx struct{ tx *bolt.Tx }

// Get returns a copy of the value, or nil if absent.
func (t Tx) Get(bucket, key []byte) []byte {
	b := t.tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	v := b.Get(key)
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}

// Scan calls fn for keys in [from, to) in order (to nil: to the end),
// stopping when fn returns false. Key and value are only valid during fn.
func (t Tx) Scan(bucket, from, to []byte, fn func(k, v []byte) bool) {
	b := t.tx.Bucket(bucket)
	if b == nil {
		return
	}
	c := b.Cursor()
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if to != nil && bytes.Compare(k, to) >= 0 {
			return
		}
		if !fn(k, v) {
			return
		}
	}
}

// View runs fn over a consistent snapshot of committed state.
func (s *Store) View(fn func(Tx) error) error {
	return s.db.View(func(tx *bolt.Tx) error { return fn(Tx{tx}) })
}

// Batch collects writes over committed state. It is not safe for
// concurrent use.
type Batch struct {
	s      *Store
	writes map[string]map[string][]byte // bucket → key → value; nil value deletes
}

// NewBatch starts an empty batch.
func (s *Store) NewBatch() *Batch { return &Batch{s: s, writes: map[string]map[string][]byte{}} }

// Empty reports whether the batch has no writes.
func (b *Batch) Empty() bool { return len(b.writes) == 0 }

// Get returns the value as the batch sees it: its own write, or the
// committed value; nil if absent.
func (b *Batch) Get(bucket, key []byte) ([]byte, error) {
	if m, ok := b.writes[string(bucket)]; ok {
		if v, ok := m[string(key)]; ok {
			return v, nil
		}
	}
	var out []byte
	err := b.s.View(func(t Tx) error { out = t.Get(bucket, key); return nil })
	return out, err
}

// Put writes value (copied) under key.
func (b *Batch) Put(bucket, key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	b.set(bucket, key, bytes.Clone(value))
}

// Delete removes key.
func (b *Batch) Delete(bucket, key []byte) { b.set(bucket, key, nil) }

func (b *Batch) set(bucket, key, value []byte) {
	m, ok := b.writes[string(bucket)]
	if !ok {
		m = map[string][]byte{}
		b.writes[string(bucket)] = m
	}
	m[string(key)] = value
}

// KV is one key and value.
type KV struct{ Key, Value []byte }

// Range returns the keys in [from, to) with their values as the batch sees
// them, in key order.
func (b *Batch) Range(bucket, from, to []byte) ([]KV, error) {
	var out []KV
	err := b.s.View(func(t Tx) error {
		t.Scan(bucket, from, to, func(k, v []byte) bool {
			out = append(out, KV{bytes.Clone(k), bytes.Clone(v)})
			return true
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := b.writes[string(bucket)]
	if len(m) == 0 {
		return out, nil
	}
	merged := map[string][]byte{}
	for _, kv := range out {
		merged[string(kv.Key)] = kv.Value
	}
	for k, v := range m {
		kb := []byte(k)
		if bytes.Compare(kb, from) < 0 || to != nil && bytes.Compare(kb, to) >= 0 {
			continue
		}
		if v == nil {
			delete(merged, k)
		} else {
			merged[k] = v
		}
	}
	out = out[:0]
	for k, v := range merged {
		out = append(out, KV{[]byte(k), v})
	}
	slices.SortFunc(out, func(a, b KV) int { return bytes.Compare(a.Key, b.Key) })
	return out, nil
}

// ChangesetDomain starts the changeset digest.
const ChangesetDomain = "datadragon/changeset/v1"

// Hash returns the digest of the batch's writes outside the excluded
// buckets:
//
//	SHA-256("datadragon/changeset/v1" ‖ for each write, sorted by bucket
//	        then key: u8 len ‖ bucket ‖ u32 len ‖ key ‖ (0x00 for a delete |
//	        0x01 ‖ u32 len ‖ value))
func (b *Batch) Hash(exclude ...string) [32]byte {
	h := sha256.New()
	h.Write([]byte(ChangesetDomain))
	names := make([]string, 0, len(b.writes))
	for n := range b.writes {
		if !slices.Contains(exclude, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var w codec.Writer
	for _, n := range names {
		m := b.writes[n]
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			w.B = w.B[:0]
			w.Bytes8([]byte(n))
			w.Bytes32([]byte(k))
			if v := m[k]; v == nil {
				w.U8(0)
			} else {
				w.U8(1)
				w.Bytes32(v)
			}
			h.Write(w.B)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Commit writes the batch in one bbolt transaction (fsynced) and empties
// it. On error nothing is written.
func (b *Batch) Commit() error {
	err := b.s.db.Update(func(tx *bolt.Tx) error {
		for n, m := range b.writes {
			bk := tx.Bucket([]byte(n))
			if bk == nil {
				var err error
				if bk, err = tx.CreateBucket([]byte(n)); err != nil {
					return err
				}
			}
			for k, v := range m {
				var err error
				if v == nil {
					err = bk.Delete([]byte(k))
				} else {
					err = bk.Put([]byte(k), v)
				}
				if err != nil {
					return fmt.Errorf("bucket %s: %w", n, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	b.writes = map[string]map[string][]byte{}
	return nil
}
