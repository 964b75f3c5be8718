package node

import (
	"io"
	"log/slog"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
)

// TestCompactedEpochGivesBackItsPages: an epoch of four validators'
// signed extensions (~20 KB each, every one on pages of its own), once
// their summaries are decided, is kept in pages about as large as what
// it holds. Replacing each value in place left every leaf page allocated
// for the ~300 bytes of its two stripped entries: pages 17 times what
// they held.
func TestCompactedEpochGivesBackItsPages(t *testing.T) {
	_, ar := newTestArchive(t)
	var err error
	defer ar.Close()
	ar.sum = &summaryCheck{chainID: "c", compact: true, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		key:    func([]byte) ([]byte, bool) { return []byte("key"), true },
		verify: func(_, _, _ []byte) error { return nil }}
	const epoch = 256
	sig := make([]byte, 20<<10)
	err = ar.db.Update(func(tx *bolt.Tx) error {
		for b := int64(2); b <= epoch+1; b++ {
			for v := range 4 {
				ext := &wire.Extension{Height: b - 1, Signature: sig,
					Attestations: []wire.Attestation{{Stream: "sensors", Index: uint64(b), Digest: wire.Digest{byte(v)}, TimeMs: b}}}
				raw, err := ext.Marshal()
				if err != nil {
					return err
				}
				if err := put(tx, bucketExtensions, extKey(b, fakeAddr(v)), raw); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = ar.db.Update(func(tx *bolt.Tx) error {
		for v := range 4 {
			leaves, _, _, _, err := ar.epochLeaves(tx, fakeAddr(v), 1, epoch)
			if err != nil {
				return err
			}
			s := &wire.SummaryTx{Validator: fakeAddr(v), First: 1, Last: epoch, Leaves: uint32(len(leaves)), Root: merkle.Root(leaves), Signature: []byte("signed")}
			raw, err := s.Marshal()
			if err != nil {
				return err
			}
			if err := ar.applySummary(tx, epoch+10, raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = ar.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExtensions)
		var held, stripped int
		b.ForEach(func(k, v []byte) error {
			held += len(k) + len(v)
			if v[4] == strippedMark {
				stripped++
			}
			return nil
		})
		st := b.Stats()
		if stripped != 4*epoch {
			t.Fatalf("%d of %d extensions stripped", stripped, 4*epoch)
		}
		t.Logf("%d extensions, %d bytes, in %d bytes of leaf pages (%d in use)", stripped, held, st.LeafAlloc, st.LeafInuse)
		if st.LeafAlloc > 2*held {
			t.Fatalf("the compacted epoch holds %d bytes in %d bytes of leaf pages", held, st.LeafAlloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
