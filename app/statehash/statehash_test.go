package statehash

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The digest of a set does not depend on the order it was built in, nor
// on elements added and removed on the way; any one change shows.
func TestOrderIndependentAndIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var elems [][]byte
	for i := range 200 {
		elems = append(elems, Element("b", fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "v%d", rng.Int())))
	}
	var a, b Digest
	for _, e := range elems {
		a.Add(e)
	}
	perm := rng.Perm(len(elems))
	for _, i := range perm {
		b.Add(Element("b", []byte("transient"), []byte{byte(i)}))
		b.Add(elems[i])
		b.Remove(Element("b", []byte("transient"), []byte{byte(i)}))
	}
	if !a.Equal(&b) || a.Sum() != b.Sum() {
		t.Fatal("the same set built in another order has another digest")
	}
	var c Digest
	c.Combine(&a)
	c.Remove(elems[7])
	if c.Sum() == a.Sum() {
		t.Fatal("removing an element did not change the digest")
	}
	c.Add(Element("b", []byte("k7"), []byte("other")))
	if c.Sum() == a.Sum() {
		t.Fatal("changing a value did not change the digest")
	}
	d, err := Unmarshal(a.Marshal())
	if err != nil || !d.Equal(&a) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := Unmarshal(make([]byte, Size-1)); err == nil {
		t.Fatal("a short encoding was read")
	}
	var empty Digest
	if empty.Sum() == a.Sum() {
		t.Fatal("the empty set has the digest of a full one")
	}
}

// The element encoding is injective across bucket, key and value bounds.
func TestElementIsInjective(t *testing.T) {
	if string(Element("ab", []byte("c"), nil)) == string(Element("a", []byte("bc"), nil)) ||
		string(Element("a", []byte("bc"), []byte("d"))) == string(Element("a", []byte("b"), []byte("cd"))) {
		t.Fatal("two elements encode the same")
	}
}

func BenchmarkAdd(b *testing.B) {
	var d Digest
	e := Element("records", make([]byte, 24), make([]byte, 600))
	for b.Loop() {
		d.Add(e)
	}
}
