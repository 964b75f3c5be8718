package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// digestValue is a value whose bytes occur once in the file, so a test
// can find and damage it.
var digestValue = bytes.Repeat([]byte{0x5a, 0xa5, 0x3c, 0xc3}, 8)

// fill commits a store whose bucket "records" holds n filler values and,
// under key "sensors/5", digestValue.
func fill(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := Open(dir, Options{Buckets: []string{"records", "meta"}, Advice: "Restore it from a peer."})
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	for i := range n {
		b.Put([]byte("records"), binary.BigEndian.AppendUint64([]byte("filler/"), uint64(i)), bytes.Repeat([]byte{byte(i)}, 100))
	}
	b.Put([]byte("records"), []byte("sensors/5"), digestValue)
	b.Put([]byte("meta"), []byte("height"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// offsetOf returns where pattern occurs in the file; exactly once.
func offsetOf(t *testing.T, path string, pattern []byte) int64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, pattern)
	if i < 0 || bytes.Contains(raw[i+1:], pattern) {
		t.Fatalf("the pattern occurs %d times in %s, want once", bytes.Count(raw, pattern), path)
	}
	return int64(i)
}

// patch writes b at off in the file, as a failing disk would.
func patch(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func flipBit(t *testing.T, path string, off int64, bit uint) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	patch(t, path, off, []byte{raw[off] ^ 1<<bit})
}

// wantCorrupt checks that err is the store's corruption error naming the
// file, the place and the advice.
func wantCorrupt(t *testing.T, err error, path string, place ...string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want a *CorruptError", err)
	}
	msg := err.Error()
	for _, want := range append([]string{path, "refuses to serve", "Restore it from a peer."}, place...) {
		if !strings.Contains(msg, want) {
			t.Errorf("the error %q does not say %q", msg, want)
		}
	}
}

func TestFlippedBitInAValueIsNeverReturned(t *testing.T) {
	for bit := range uint(8) {
		dir := t.TempDir()
		fill(t, dir, 10)
		path := filepath.Join(dir, FileName)
		flipBit(t, path, offsetOf(t, path, digestValue)+17, bit)

		s, err := Open(dir, Options{Buckets: []string{"records", "meta"}, Advice: "Restore it from a peer."})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		err = s.View(func(tx Tx) error {
			got = tx.Get([]byte("records"), []byte("sensors/5"))
			return nil
		})
		if got != nil {
			t.Fatalf("bit %d: the damaged value was returned: %x", bit, got)
		}
		wantCorrupt(t, err, path, `bucket "records", key `+"73656e736f72732f35", "does not match its checksum")

		// Sticky: nothing more is read or committed, even intact values.
		called := false
		err = s.View(func(tx Tx) error { called = true; return nil })
		wantCorrupt(t, err, path)
		if called {
			t.Fatal("a read ran on a store known to be corrupt")
		}
		if s.Corrupted() == nil {
			t.Fatal("Corrupted() is nil after damage was found")
		}
		b := s.NewBatch()
		b.Put([]byte("meta"), []byte("height"), []byte{1})
		wantCorrupt(t, b.Commit(), path)
		_, err = b.Get([]byte("meta"), []byte("other"))
		wantCorrupt(t, err, path)
		s.Close()
	}
}

func TestScanStopsAtADamagedValue(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 10)
	path := filepath.Join(dir, FileName)
	flipBit(t, path, offsetOf(t, path, digestValue), 0)
	s, err := Open(dir, Options{Buckets: []string{"records"}, Advice: "Restore it from a peer."})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var seen []string
	err = s.View(func(tx Tx) error {
		tx.Scan([]byte("records"), nil, nil, func(k, v []byte) bool {
			if bytes.HasPrefix(v, digestValue[:4]) {
				t.Errorf("the damaged value reached the scan: %x", v)
			}
			seen = append(seen, string(k))
			return true
		})
		return nil
	})
	wantCorrupt(t, err, path, "sensors/5"[:0])
	for _, k := range seen {
		if k == "sensors/5" {
			t.Fatal("the scan passed the damaged key")
		}
	}
	b := s.NewBatch()
	if _, err := b.Range([]byte("records"), nil, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Range over damage: %v", err)
	}
}

// The damage is found by a reader of the open store too: bbolt maps the
// file, so a sector that goes bad under a running node is read as it is.
func TestDamageUnderAnOpenStore(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 10)
	path := filepath.Join(dir, FileName)
	s, err := Open(dir, Options{Buckets: []string{"records"}, Advice: "Restore it from a peer."})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(func(tx Tx) error {
		if !bytes.Equal(tx.Get([]byte("records"), []byte("sensors/5")), digestValue) {
			t.Fatal("intact value not read back")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flipBit(t, path, offsetOf(t, path, digestValue)+31, 7)
	err = s.View(func(tx Tx) error {
		if v := tx.Get([]byte("records"), []byte("sensors/5")); v != nil {
			t.Fatalf("damaged value returned: %x", v)
		}
		return nil
	})
	wantCorrupt(t, err, path, "does not match its checksum")
}

// pageOf returns the offset of the page holding pattern.
func pageOf(t *testing.T, path string, pattern []byte) int64 {
	off := offsetOf(t, path, pattern)
	ps := int64(os.Getpagesize())
	return off / ps * ps
}

// Damage to a page's header makes bbolt panic or read outside its map;
// the store turns that into an error, and the caller never panics.
func TestDamagedPageIsAnErrorNotAPanic(t *testing.T) {
	cases := []struct {
		name  string
		off   int64 // within the page
		bytes []byte
	}{
		{"page type", 8, []byte{0xff, 0xff}},                    // flags: no such page type
		{"element count", 10, []byte{0xff, 0xff}},               // elements far beyond the page
		{"element offsets", 16, bytes.Repeat([]byte{0xff}, 64)}, // leaf elements pointing outside the map
		{"whole page", 0, bytes.Repeat([]byte{0xa7}, 4096)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, dir, 10)
			path := filepath.Join(dir, FileName)
			patch(t, path, pageOf(t, path, digestValue)+tc.off, tc.bytes)
			s, err := Open(dir, Options{Buckets: []string{"records"}, Advice: "Restore it from a peer."})
			if err != nil {
				wantCorrupt(t, err, path)
				return
			}
			defer s.Close()
			err = s.View(func(tx Tx) error {
				tx.Get([]byte("records"), []byte("sensors/5"))
				tx.Scan([]byte("records"), nil, nil, func(_, _ []byte) bool { return true })
				return nil
			})
			wantCorrupt(t, err, path)
			if _, err := s.Scrub(context.Background()); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("scrub of a damaged page: %v", err)
			}
		})
	}
}

func TestScrubFindsDamageNothingReads(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 10000) // several slices of the scrub
	path := filepath.Join(dir, FileName)
	s, err := Open(dir, Options{Buckets: []string{"records", "meta"}, Advice: "Restore it from a peer."})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Scrub(context.Background())
	if err != nil {
		t.Fatalf("scrub of an intact store: %v", err)
	}
	if st.Keys != 10000+2+1 || st.Buckets != 3 || st.Bytes == 0 || st.FileBytes == 0 {
		t.Fatalf("scrub stats %+v", st)
	}
	s.Close()

	flipBit(t, path, offsetOf(t, path, digestValue)+3, 2)
	s, err = Open(dir, Options{Buckets: []string{"records", "meta"}, Advice: "Restore it from a peer."})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.View(func(tx Tx) error { tx.Get([]byte("meta"), []byte("height")); return nil }); err != nil {
		t.Fatalf("an intact value: %v", err)
	}
	_, err = s.Scrub(context.Background())
	wantCorrupt(t, err, path, "records", "does not match its checksum")
	if s.Corrupted() == nil {
		t.Fatal("a scrub's finding did not mark the store corrupt")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s2dir := t.TempDir()
	fill(t, s2dir, 10)
	s2, err := Open(s2dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Scrub(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled scrub: %v", err)
	}
}

func TestDamagedHeaderIsRefusedAtOpen(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 10)
	path := filepath.Join(dir, FileName)
	ps := int64(os.Getpagesize())
	// Both meta pages: bbolt has no good copy to fall back on.
	patch(t, path, 16+8, bytes.Repeat([]byte{0xee}, 32))
	patch(t, path, ps+16+8, bytes.Repeat([]byte{0xee}, 32))
	_, err := Open(dir, Options{Advice: "Restore it from a peer."})
	wantCorrupt(t, err, path, "file header")
}

func TestOlderFormatIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("height"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, _ := os.ReadFile(path)
	_, err = Open(dir, Options{Buckets: []string{"meta"}})
	if err == nil || !strings.Contains(err.Error(), "older version") || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "re-initialise") {
		t.Fatalf("opening a format-1 file: %v", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("refusing the file changed it")
	}

	// A file of a format this version does not know.
	dir = t.TempDir()
	path = filepath.Join(dir, FileName)
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte(formatBucket))
		return b.Put(keyFormat, seal([]byte(formatBucket), keyFormat, []byte("datadragon-store/9")))
	})
	db.Close()
	if _, err = Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), `"datadragon-store/9"`) {
		t.Fatalf("opening a format-9 file: %v", err)
	}
}

// The checksum is the store's: batch digests see the app's values only.
func TestChecksumIsNotInTheChangesetHash(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Buckets: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	b.Put([]byte("a"), []byte("k"), []byte("v"))
	h := b.Hash()
	// The documented rule over the app's bytes, computed here by hand.
	want := sha256.Sum256([]byte("datadragon/changeset/v1" + "\x01a" + "\x00\x00\x00\x01k" + "\x01" + "\x00\x00\x00\x01v"))
	if h != want {
		t.Fatal("the changeset hash is not the digest of the app's values alone")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s.View(func(tx Tx) error {
		if v := tx.Get([]byte("a"), []byte("k")); string(v) != "v" {
			t.Fatalf("read back %q", v)
		}
		return nil
	})
}
