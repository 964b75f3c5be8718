package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// Damage anywhere in the file: whatever byte goes bad, opening and reading
// never panic, every read either returns the value written, fails with the
// corruption error or, for a damaged branch page, finds the key absent;
// and then the scrub finds the damage. (STORE_DAMAGE_SEED picks other
// damage; seed 11 includes a branch page.)
func TestRandomDamageIsNeverReadAsState(t *testing.T) {
	seed := uint64(11)
	if v := os.Getenv("STORE_DAMAGE_SEED"); v != "" {
		fmt.Sscan(v, &seed)
	}
	master := t.TempDir()
	const n, trials = 1500, 300
	value := func(i int) []byte {
		return bytes.Repeat(binary.BigEndian.AppendUint32(nil, uint32(i)*2654435761), 1+i%40)
	}
	key := func(i int) []byte { return binary.BigEndian.AppendUint64([]byte("k/"), uint64(i)) }
	s, err := Open(master, Options{Buckets: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += 500 {
		b := s.NewBatch()
		for i := lo; i < min(lo+500, n); i++ {
			b.Put([]byte("a"), key(i), value(i))
			b.Put([]byte("b"), key(i), value(i+1))
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	clean, err := os.ReadFile(filepath.Join(master, FileName))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 12))
	var silent, found, harmless int
	for trial := range trials {
		dir := t.TempDir()
		raw := bytes.Clone(clean)
		off := rng.IntN(len(raw))
		raw[off] ^= byte(1 + rng.IntN(255))
		if err := os.WriteFile(filepath.Join(dir, FileName), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{Buckets: []string{"a", "b"}})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("trial %d (byte %d): open: %v", trial, off, err)
			}
			found++
			continue
		}
		missing := 0
		err = s.View(func(tx Tx) error {
			for i := 0; i < n && tx.Err() == nil; i++ {
				for bi, bk := range []string{"a", "b"} {
					v := tx.Get([]byte(bk), key(i))
					switch {
					case tx.Err() != nil:
					case v == nil:
						missing++
					case !bytes.Equal(v, value(i+bi)):
						t.Fatalf("trial %d (byte %d): %s/%d read back wrong: %x", trial, off, bk, i, v)
					}
				}
			}
			return nil
		})
		switch {
		case err != nil && !errors.Is(err, ErrCorrupt):
			t.Fatalf("trial %d (byte %d): %v", trial, off, err)
		case err != nil:
			found++
		case missing > 0:
			silent++
			// A damaged branch page can route a search to the wrong
			// leaf, whose entries are intact: the scrub must find it.
			t.Logf("trial %d (byte %d of page %d): %d values read as absent without an error", trial, off, off/os.Getpagesize(), missing)
		default:
			harmless++
		}
		if err == nil {
			if _, serr := s.Scrub(t.Context()); serr != nil && !errors.Is(serr, ErrCorrupt) {
				t.Fatalf("trial %d: scrub: %v", trial, serr)
			} else if serr == nil && missing > 0 {
				t.Errorf("trial %d: the scrub did not find what made values vanish", trial)
			}
		}
		s.Close()
	}
	t.Logf("%d trials: %d found, %d harmless (free or unused bytes), %d read as absent", trials, found, harmless, silent)
	if found == 0 {
		t.Fatal("no trial damaged anything: the test is not testing")
	}
}
