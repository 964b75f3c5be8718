package store

import (
	"testing"
)

// Changes pairs every write with the committed value it replaces, in
// bucket then key order, and leaves out writes that change nothing;
// Reset leaves every bucket empty and the store usable.
func TestChangesAndReset(t *testing.T) {
	s, err := Open(t.TempDir(), Options{Buckets: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	b.Put([]byte("a"), []byte("keep"), []byte("same"))
	b.Put([]byte("a"), []byte("old"), []byte("v1"))
	b.Put([]byte("b"), []byte("gone"), []byte("x"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch()
	b.Put([]byte("b"), []byte("new"), []byte("n"))
	b.Delete([]byte("b"), []byte("gone"))
	b.Put([]byte("a"), []byte("old"), []byte("v2"))
	b.Put([]byte("a"), []byte("keep"), []byte("same"))
	b.Delete([]byte("a"), []byte("never"))
	ch, err := b.Changes()
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Bucket: "a", Key: []byte("old"), Old: []byte("v1"), New: []byte("v2")},
		{Bucket: "b", Key: []byte("gone"), Old: []byte("x"), New: nil},
		{Bucket: "b", Key: []byte("new"), Old: nil, New: []byte("n")},
	}
	if len(ch) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(ch), len(want), ch)
	}
	for i, c := range ch {
		w := want[i]
		if c.Bucket != w.Bucket || string(c.Key) != string(w.Key) || string(c.Old) != string(w.Old) || (c.Old == nil) != (w.Old == nil) ||
			string(c.New) != string(w.New) || (c.New == nil) != (w.New == nil) {
			t.Fatalf("change %d: %+v, want %+v", i, c, w)
		}
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	n := 0
	s.View(func(tx Tx) error {
		for _, bk := range []string{"a", "b"} {
			tx.Scan([]byte(bk), nil, nil, func(k, v []byte) bool { n++; return true })
		}
		return nil
	})
	if n != 0 {
		t.Fatalf("%d values left after Reset", n)
	}
	b = s.NewBatch()
	b.Put([]byte("a"), []byte("k"), []byte("v"))
	if err := b.Commit(); err != nil {
		t.Fatalf("a commit after Reset: %v", err)
	}
}
