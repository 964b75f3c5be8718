// Package store keeps the consensus app's state in bbolt: one file,
// app.db, under the directory the node gives it.
//
// It exists to give the app three things and nothing more: a Batch that
// collects one block's writes in memory (reads see them) and computes a
// canonical digest of them, an atomic Commit of the batch in a single
// bbolt transaction, so the state on disk always matches a whole number of
// blocks, and the guarantee that a damaged file is never read as state.
// Readers (the node's API) use View and see committed state only.
//
// # Integrity
//
// Every byte read from app.db is treated as possibly corrupt. Each stored
// value carries a CRC-32C of its bucket, key and value, verified on every
// read (Get, Scan, Batch.Get, Batch.Range); bbolt's own page reads are
// guarded, so a damaged page that makes bbolt panic or fault becomes an
// error too. Either way the store is marked corrupt: every later read and
// Commit fails with the same *CorruptError, which names the file, where
// the damage is and what the operator should do. Scrub verifies the whole
// file (every value, then bbolt's page consistency check).
//
// A read never returns a damaged value. It can miss damage that makes a
// key look absent: a damaged branch page can route a search to an intact
// leaf without the key. Scrub finds that (TestRandomDamageIsNeverReadAsState
// damages random bytes and checks both), so the app scrubs at start and
// the node periodically.
//
// The checksum detects accidental damage — a flipped bit on disk or in a
// cache, a torn or misdirected write, a truncated or overwritten page —
// which is the threat here. CRC-32C catches every error burst of up to 32
// bits and misses other random damage with probability 2⁻³², and it is
// computed in hardware: 40 ns for a 600-byte value on the machines this
// was measured on, against 450 ns for SHA-256, which would add nothing
// against the threat it does not cover. It does not resist someone who
// can write the file: they can recompute it (that is outside what this
// protects). It is local: values are sealed when written and opened when
// read, so the changeset digest and the app hash see only the values and
// do not depend on it.
//
// # Format
//
// The reserved bucket "_store" holds the format, FormatVersion. A file
// without it was written by a version that stored bare values (format 1);
// Open refuses it, and any other format, with an error saying so.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// FileName is the database file inside the store directory.
const FileName = "app.db"

// FormatVersion is the layout of the values this version writes and
// reads: each value followed by its CRC-32C (format 1 stored bare
// values). Format 3 keeps the values of format 2; what changed is the
// app's: its app hash commits to a digest of the whole state (package
// statehash), which a format-2 file has not kept.
const FormatVersion = "datadragon-store/3"

// FormatBeforeStateDigest is the format whose app hashes do not commit to
// the whole state; Open refuses it with a *FormatError whose Found says
// so.
const FormatBeforeStateDigest = "datadragon-store/2"

// FormatError is Open's error for a file of another format. It matches
// ErrFormat (errors.Is).
type FormatError struct {
	Path  string
	Found string // "" for format 1 (no marker)
}

func (e *FormatError) Error() string {
	switch e.Found {
	case "":
		return fmt.Sprintf("store: %s was written by an older version of DataDragon (format 1, values without checksums), which this version does not read: re-initialise this state", e.Path)
	case FormatBeforeStateDigest:
		return fmt.Sprintf("store: %s was written by an older version of DataDragon (format 2), whose app hash does not commit to the whole state; this version computes other app hashes, so it can neither read this file nor extend its chain", e.Path)
	}
	return fmt.Sprintf("store: %s has format %q; this version reads %q only: use the DataDragon version that wrote it, or re-initialise this state", e.Path, e.Found, FormatVersion)
}

// Unwrap makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Unwrap() error { return ErrFormat }

// formatBucket is reserved for the format marker.
const formatBucket = "_store"

var keyFormat = []byte("format")

// ErrFormat is matched (errors.Is) by Open's error for a file of another
// format.
var ErrFormat = errors.New("a store format this version does not read")

// ErrCorrupt is what every *CorruptError matches (errors.Is).
var ErrCorrupt = errors.New("the state file is corrupt")

// CorruptError reports damage found in the file. Once one is returned the
// store refuses every read and commit with it.
type CorruptError struct {
	Path   string // the file
	Where  string // the bucket and key, or "page structure"
	Detail string // what was wrong
	Advice string // what to do (Options.Advice)
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("%s is corrupt (%s: %s); the node refuses to serve or extend this state", e.Path, e.Where, e.Detail)
	if e.Advice != "" {
		msg += ". " + e.Advice
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// DefaultAdvice ends a CorruptError when Options.Advice is empty.
const DefaultAdvice = "Stop the process and restore the file from a backup"

// Options are what Open needs besides the directory.
type Options struct {
	// Buckets are created if missing.
	Buckets []string
	// Advice ends every CorruptError: what the operator should do.
	// Empty means DefaultAdvice.
	Advice string
}

// Store is the open database.
type Store struct {
	db      *bolt.DB
	path    string
	advice  string
	buckets [][]byte
	corrupt atomic.Pointer[CorruptError] // set once, never cleared
}

// Open opens (creating if needed) dir/app.db with the given buckets. It
// fails after two seconds if another process holds the file, and with a
// *CorruptError if bbolt cannot read the file's structure.
func Open(dir string, o Options) (s *Store, err error) {
	if dir == "" {
		return nil, errors.New("store: no directory given")
	}
	for _, b := range o.Buckets {
		if b == formatBucket || b == "" || len(b) > 255 {
			return nil, fmt.Errorf("store: bucket name %q is reserved or invalid", b)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	s = &Store{path: path, advice: o.Advice}
	if s.advice == "" {
		s.advice = DefaultAdvice
	}
	// bbolt reads the meta pages and the freelist here: a damaged one is
	// an error or, for some damage, a panic.
	var db *bolt.DB
	err = s.guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, FreelistType: bolt.FreelistMapType})
		return err
	})
	if err != nil {
		switch {
		case errors.Is(err, ErrCorrupt):
			return nil, err
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("store: %s is locked by another process", path)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
			return nil, s.markCorrupt("file header", "bbolt cannot read it: "+err.Error())
		}
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s.db = db
	if err := s.init(o.Buckets); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// init checks the format marker (writing it into a new file) and creates
// the buckets.
func (s *Store) init(buckets []string) error {
	err := s.guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			fb := tx.Bucket([]byte(formatBucket))
			if fb == nil {
				empty := true
				tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
				if !empty {
					return &FormatError{Path: s.path}
				}
				var err error
				if fb, err = tx.CreateBucket([]byte(formatBucket)); err != nil {
					return err
				}
				if err := fb.Put(keyFormat, seal([]byte(formatBucket), keyFormat, []byte(FormatVersion))); err != nil {
					return err
				}
			}
			v, err := s.open([]byte(formatBucket), keyFormat, fb.Get(keyFormat))
			if err != nil {
				return err
			}
			if string(v) != FormatVersion {
				return &FormatError{Path: s.path, Found: string(v)}
			}
			for _, b := range buckets {
				if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
					return fmt.Errorf("store: creating bucket %s: %w", b, err)
				}
				s.buckets = append(s.buckets, []byte(b))
			}
			return nil
		})
	})
	return err
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// UsedBytes is what the store's pages hold: the pages bbolt has allocated
// (it grows the file ahead of them, in steps) less those on its free list.
func (s *Store) UsedBytes() int64 {
	var size int64
	if err := s.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return 0
	}
	return size - int64(s.db.Stats().FreeAlloc)
}

// Corrupted returns the *CorruptError once damage has been found, nil
// before.
func (s *Store) Corrupted() error {
	if e := s.corrupt.Load(); e != nil {
		return e
	}
	return nil
}

// MarkCorrupt declares the file damaged where its values contradict each
// other (the caller knows how they must agree; every value's checksum
// held), with the same effect as damage found by a read: every later
// read and commit fails with the returned *CorruptError.
func (s *Store) MarkCorrupt(where, detail string) error { return s.markCorrupt(where, detail) }

// markCorrupt records the first damage found and returns it; later calls
// return the first error, so every caller reports the same thing.
func (s *Store) markCorrupt(where, detail string) *CorruptError {
	e := &CorruptError{Path: s.path, Where: where, Detail: detail, Advice: s.advice}
	s.corrupt.CompareAndSwap(nil, e)
	return s.corrupt.Load()
}

// guard runs fn, which calls into bbolt, turning a panic or a memory
// fault (a damaged page can make bbolt read outside its mapping) into a
// *CorruptError. Only bbolt calls and the checksum run under it, so a
// panic in the caller's own code is never taken for damage.
func (s *Store) guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = s.markCorrupt("page structure", fmt.Sprintf("bbolt failed reading it: %v", v))
		}
	}()
	return fn()
}

// The checksum of a value covers its bucket and key too, so a value that
// moved to another key (a damaged branch page, a misdirected write) fails
// as surely as a changed one:
//
//	CRC-32C(u8 len ‖ bucket ‖ u32 len ‖ key ‖ value), big-endian, after the value
const sumSize = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(bucket, key, value []byte) uint32 {
	var hdr [4]byte
	hdr[0] = byte(len(bucket))
	c := crc32.Update(0, castagnoli, hdr[:1])
	c = crc32.Update(c, castagnoli, bucket)
	binary.BigEndian.PutUint32(hdr[:], uint32(len(key)))
	c = crc32.Update(c, castagnoli, hdr[:])
	c = crc32.Update(c, castagnoli, key)
	return crc32.Update(c, castagnoli, value)
}

// seal returns value followed by its checksum, in a new slice.
func seal(bucket, key, value []byte) []byte {
	out := make([]byte, len(value), len(value)+sumSize)
	copy(out, value)
	return binary.BigEndian.AppendUint32(out, checksum(bucket, key, value))
}

// open verifies a stored value (nil: absent) and returns it without its
// checksum, aliasing stored.
func (s *Store) open(bucket, key, stored []byte) ([]byte, error) {
	if stored == nil {
		return nil, nil
	}
	if len(stored) < sumSize {
		return nil, s.markCorrupt(where(bucket, key), fmt.Sprintf("a %d-byte value is shorter than its checksum", len(stored)))
	}
	n := len(stored) - sumSize
	if checksum(bucket, key, stored[:n]) != binary.BigEndian.Uint32(stored[n:]) {
		return nil, s.markCorrupt(where(bucket, key), "the value does not match its checksum")
	}
	return stored[:n:n], nil
}

func where(bucket, key []byte) string {
	if len(key) > 64 {
		key = key[:64]
	}
	return fmt.Sprintf("bucket %q, key %s", bucket, hex.EncodeToString(key))
}

// Tx is a read-only view of committed state. The first damage it meets
// makes Get and Scan return nothing more and View return the error.
type Tx struct {
	s   *Store
	tx  *bolt.Tx
	err *error
}

// Err returns the damage this transaction has met, nil if none.
func (t Tx) Err() error { return *t.err }

// Get returns a copy of the value, or nil if absent. A damaged value is
// never returned: Get returns nil and the damage is Err (and View's
// error). When the key is absent, the entries on either side of where it
// would be are verified instead: a damaged key lands there, so damage to
// the key itself is not mistaken for its absence. (Damage that moves an
// entry further away, or drops a page from the tree, is left to Scrub.)
func (t Tx) Get(bucket, key []byte) (out []byte) {
	if *t.err != nil {
		return nil
	}
	inCaller := false
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer t.catch(&inCaller)
	b := t.tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	k, v := c.Seek(key)
	if k != nil && bytes.Equal(k, key) {
		ov, err := t.verify(bucket, k, v)
		if err != nil {
			return nil
		}
		return bytes.Clone(ov)
	}
	// Absent: the neighbours.
	if k != nil {
		if _, err := t.verify(bucket, k, v); err != nil {
			return nil
		}
		k, v = c.Prev()
	} else {
		k, v = c.Last()
	}
	if k != nil {
		t.verify(bucket, k, v)
	}
	return nil
}

// verify opens a stored entry, recording damage as the transaction's.
func (t Tx) verify(bucket, k, v []byte) ([]byte, error) {
	if v == nil {
		*t.err = t.s.markCorrupt(where(bucket, k), "a nested bucket where a value belongs")
		return nil, *t.err
	}
	ov, err := t.s.open(bucket, k, v)
	if err != nil {
		*t.err = err
	}
	return ov, err
}

// catch, deferred by Get and Scan, turns a panic or a memory fault in
// bbolt (a damaged page can make it read outside its map) into the
// transaction's damage. A panic while the caller's own code runs
// (*inCaller) is a bug, not damage, and goes on unchanged.
func (t Tx) catch(inCaller *bool) {
	if *inCaller {
		return
	}
	if v := recover(); v != nil {
		*t.err = t.s.markCorrupt("page structure", fmt.Sprintf("bbolt failed reading it: %v", v))
	}
}

// Scan calls fn for keys in [from, to) in order (to nil: to the end),
// stopping when fn returns false or at the first damaged value (then
// Err). Key and value are only valid during fn.
func (t Tx) Scan(bucket, from, to []byte, fn func(k, v []byte) bool) {
	if *t.err != nil {
		return
	}
	inCaller := false
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer t.catch(&inCaller)
	b := t.tx.Bucket(bucket)
	if b == nil {
		return
	}
	c := b.Cursor()
	for k, v := c.Seek(from); k != nil; k, v = c.Next() {
		if to != nil && bytes.Compare(k, to) >= 0 {
			return
		}
		if v == nil {
			*t.err = t.s.markCorrupt(where(bucket, k), "a nested bucket where a value belongs")
			return
		}
		v, err := t.s.open(bucket, k, v)
		if err != nil {
			*t.err = err
			return
		}
		inCaller = true
		more := fn(k, v)
		inCaller = false
		if !more {
			return
		}
	}
}

// View runs fn over a consistent snapshot of committed state. It returns
// the store's *CorruptError without calling fn once damage has been
// found, and the damage fn's reads met in preference to fn's own error.
func (s *Store) View(fn func(Tx) error) error {
	if e := s.Corrupted(); e != nil {
		return e
	}
	// fn runs unguarded: a panic in the caller's code is a bug to report
	// as one, not damage. Its bbolt calls go through Get and Scan.
	var terr, ferr error
	err := s.db.View(func(tx *bolt.Tx) error {
		ferr = fn(Tx{s: s, tx: tx, err: &terr})
		return nil
	})
	switch {
	case terr != nil:
		return terr
	case err != nil:
		return fmt.Errorf("store: %w", err)
	}
	return ferr
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
// committed value; nil if absent. Damage in the committed value is an
// error.
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

// Change is one write of a batch with the committed value it replaces.
type Change struct {
	Bucket string
	Key    []byte
	Old    []byte // nil: the key was absent
	New    []byte // nil: the write deletes the key
}

// Changes returns the batch's writes with the committed values they
// replace, sorted by bucket then key (so a digest folded from them is
// computed the same way everywhere). Writes that change nothing are left
// out. Damage in a committed value is an error.
func (b *Batch) Changes() ([]Change, error) {
	var out []Change
	err := b.s.View(func(t Tx) error {
		for n, m := range b.writes {
			for k, v := range m {
				old := t.Get([]byte(n), []byte(k))
				if t.Err() != nil {
					return t.Err()
				}
				if (old == nil) == (v == nil) && bytes.Equal(old, v) {
					continue
				}
				out = append(out, Change{Bucket: n, Key: []byte(k), Old: old, New: v})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y Change) int {
		if c := cmpString(x.Bucket, y.Bucket); c != 0 {
			return c
		}
		return bytes.Compare(x.Key, y.Key)
	})
	return out, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Buckets returns the names of the buckets Open was given.
func (s *Store) Buckets() []string {
	out := make([]string, len(s.buckets))
	for i, b := range s.buckets {
		out[i] = string(b)
	}
	return out
}

// Reset deletes every value of every bucket in one transaction (the
// format marker stays): what a failed restore of a snapshot leaves
// behind is never read as state.
func (s *Store) Reset() error {
	if e := s.Corrupted(); e != nil {
		return e
	}
	return s.guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			var names [][]byte
			tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				if string(name) != formatBucket {
					names = append(names, bytes.Clone(name))
				}
				return nil
			})
			for _, n := range names {
				if err := tx.DeleteBucket(n); err != nil {
					return err
				}
			}
			for _, n := range s.buckets {
				if _, err := tx.CreateBucketIfNotExists(n); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// ChangesetDomain starts the changeset digest.
const ChangesetDomain = "datadragon/changeset/v1"

// Hash returns the digest of the batch's writes outside the excluded
// buckets:
//
//	SHA-256("datadragon/changeset/v1" ‖ for each write, sorted by bucket
//	        then key: u8 len ‖ bucket ‖ u32 len ‖ key ‖ (0x00 for a delete |
//	        0x01 ‖ u32 len ‖ value))
//
// The values are the app's, without the store's checksums, so the digest
// (and the app hash built on it) does not depend on the file format.
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

// fillPercent is how full bbolt fills a page it splits. Its default, one
// half, suits keys inserted at random; the app's keys grow at their ends
// (heights, a stream's next sequence number), so a split page is never
// filled again and the default left half of every page empty — the file
// grew twice as fast as what it holds.
const fillPercent = 0.9

// Commit seals and writes the batch in one bbolt transaction (fsynced)
// and empties it. On error nothing is written; a store found corrupt
// commits nothing more.
func (b *Batch) Commit() error {
	if e := b.s.Corrupted(); e != nil {
		return e
	}
	err := b.s.guard(func() error {
		return b.s.db.Update(func(tx *bolt.Tx) error {
			for n, m := range b.writes {
				if n == formatBucket {
					return fmt.Errorf("bucket %s is reserved", n)
				}
				bk := tx.Bucket([]byte(n))
				if bk == nil {
					// Every bucket is declared to Open, which creates it:
					// a snapshot carries, and a restore accepts, only the
					// declared ones, so a write anywhere else would make
					// a state no snapshot can reproduce.
					return fmt.Errorf("bucket %s was not declared when the store was opened", n)
				}
				bk.FillPercent = fillPercent
				for k, v := range m {
					var err error
					if v == nil {
						err = bk.Delete([]byte(k))
					} else {
						err = bk.Put([]byte(k), seal([]byte(n), []byte(k), v))
					}
					if err != nil {
						return fmt.Errorf("bucket %s: %w", n, err)
					}
				}
			}
			return nil
		})
	})
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("store: commit: %w", err)
	}
	b.writes = map[string]map[string][]byte{}
	return nil
}

// ScrubStats says what a Scrub read.
type ScrubStats struct {
	Buckets   int
	Keys      int
	Bytes     int64         // keys and stored values read
	FileBytes int64         // size of the file
	Took      time.Duration // the whole scrub
	PagesTook time.Duration // of which bbolt's page check, which commits wait for
}

// scrubSlice bounds the keys one read transaction of Scrub visits, so a
// scrub never holds a transaction open long: a long reader keeps bbolt
// from reusing freed pages and delays a writer that must grow the map.
const scrubSlice = 4096

// Scrub verifies the whole file: every value of every bucket against its
// checksum, reading through bbolt's branch and leaf pages, then bbolt's
// own consistency check of the page structure (freelist, page
// reachability, key order). The values are read beside readers and
// commits, in short transactions; the page check reads the freelist,
// which the writer changes, so it holds the writer's lock and a commit
// waits for it (PagesTook). It stops early when ctx ends. Damage is
// returned as the store's *CorruptError (and marks the store corrupt).
func (s *Store) Scrub(ctx context.Context) (ScrubStats, error) {
	start := time.Now()
	var st ScrubStats
	if fi, err := os.Stat(s.path); err == nil {
		st.FileBytes = fi.Size()
	}
	var names [][]byte
	err := s.View(func(t Tx) error {
		return s.guard(func() error {
			return t.tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, bytes.Clone(name))
				return nil
			})
		})
	})
	if err != nil {
		return st, err
	}
	st.Buckets = len(names)
	for _, name := range names {
		var from []byte
		for {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			n := 0
			var last []byte
			err := s.View(func(t Tx) error {
				t.Scan(name, from, nil, func(k, v []byte) bool {
					n++
					st.Bytes += int64(len(k) + len(v) + sumSize)
					if n == scrubSlice {
						last = bytes.Clone(k)
						return false
					}
					return true
				})
				return nil
			})
			if err != nil {
				return st, err
			}
			st.Keys += n
			if last == nil {
				break
			}
			from = append(last, 0) // the next key after last
		}
	}
	pages := time.Now()
	err = s.checkPages()
	st.PagesTook = time.Since(pages)
	st.Took = time.Since(start)
	return st, err
}

// errRollback ends checkPages' write transaction without committing it.
var errRollback = errors.New("rollback")

// checkPages runs bbolt's consistency check in a write transaction that
// it rolls back: the check reads the freelist, which only the writer may
// touch, and a damaged freelist would hand out pages still in use.
func (s *Store) checkPages() error {
	var damage error
	err := s.guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			for cerr := range tx.Check() {
				if damage == nil {
					damage = s.markCorrupt("page structure", "bbolt's consistency check: "+cerr.Error())
				}
			}
			return errRollback
		})
	})
	switch {
	case damage != nil:
		return damage
	case errors.Is(err, errRollback):
		return nil
	}
	return err
}
