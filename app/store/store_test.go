package store

import (
	"bytes"
	"strings"
	"testing"
)

func TestBatchOverlayAndCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Buckets: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.Put([]byte("a"), []byte("k1"), []byte("v1"))
	b.Put([]byte("a"), []byte("k3"), []byte("v3"))
	if v, _ := b.Get([]byte("a"), []byte("k1")); string(v) != "v1" {
		t.Fatalf("batch read %q", v)
	}
	h1 := b.Hash()
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch()
	b.Delete([]byte("a"), []byte("k1"))
	b.Put([]byte("a"), []byte("k2"), []byte("v2"))
	kvs, err := b.Range([]byte("a"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 2 || string(kvs[0].Key) != "k2" || string(kvs[1].Key) != "k3" {
		t.Fatalf("merged range: %q", kvs)
	}
	kvs, _ = b.Range([]byte("a"), []byte("k2"), []byte("k3"))
	if len(kvs) != 1 || string(kvs[0].Value) != "v2" {
		t.Fatalf("bounded range: %q", kvs)
	}
	if b.Hash() == h1 {
		t.Fatal("different changesets share a hash")
	}
	if b.Hash("a") != s.NewBatch().Hash() {
		t.Fatal("excluded bucket still hashed")
	}
	// Committed state is untouched until Commit; closing drops the batch.
	s.View(func(tx Tx) error {
		if !bytes.Equal(tx.Get([]byte("a"), []byte("k1")), []byte("v1")) {
			t.Fatal("uncommitted delete visible")
		}
		return nil
	})
	s.Close()
	s, err = Open(dir, Options{Buckets: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx Tx) error {
		if tx.Get([]byte("a"), []byte("k2")) != nil {
			t.Fatal("uncommitted write survived a reopen")
		}
		return nil
	})
}

func TestHashOrderIndependent(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Buckets: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b1, b2 := s.NewBatch(), s.NewBatch()
	b1.Put([]byte("a"), []byte("x"), []byte("1"))
	b1.Put([]byte("a"), []byte("y"), []byte("2"))
	b2.Put([]byte("a"), []byte("y"), []byte("2"))
	b2.Put([]byte("a"), []byte("x"), []byte("1"))
	if b1.Hash() != b2.Hash() {
		t.Fatal("hash depends on write order")
	}
	b2.Put([]byte("a"), []byte("x"), []byte{})
	if b1.Hash() == b2.Hash() {
		t.Fatal("value change not hashed")
	}
}

// TestUndeclaredBucketRefused: a batch that writes to a bucket Open was
// not given commits nothing, so no state can hold values a snapshot
// would leave out.
func TestUndeclaredBucketRefused(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Buckets: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	b.Put([]byte("a"), []byte("k"), []byte("1"))
	b.Put([]byte("z"), []byte("k"), []byte("2"))
	if err := b.Commit(); err == nil || !strings.Contains(err.Error(), "bucket z was not declared") {
		t.Fatalf("commit to an undeclared bucket: %v", err)
	}
	s.View(func(tx Tx) error {
		if v := tx.Get([]byte("a"), []byte("k")); v != nil {
			t.Errorf("the refused batch wrote a/k = %q", v)
		}
		return nil
	})
}
