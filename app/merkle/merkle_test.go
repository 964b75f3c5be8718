package merkle

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

func leaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		out[i] = LeafHash([]byte(fmt.Sprintf("leaf %d", i)))
	}
	return out
}

func TestRootSmall(t *testing.T) {
	if Root(nil) != sha256.Sum256(nil) {
		t.Fatal("empty root")
	}
	l := leaves(3)
	want := InnerHash(InnerHash(l[0], l[1]), l[2])
	if Root(l) != want {
		t.Fatal("3-leaf root does not split at 2")
	}
	l5 := leaves(5)
	want5 := InnerHash(Root(l5[:4]), l5[4])
	if Root(l5) != want5 {
		t.Fatal("5-leaf root does not split at 4")
	}
}

func TestProofRoundTrip(t *testing.T) {
	for n := 1; n <= 33; n++ {
		l := leaves(n)
		root := Root(l)
		for i := 0; i < n; i++ {
			p := Proof(l, i)
			if err := Verify(root, l[i], i, n, p); err != nil {
				t.Fatalf("n=%d i=%d: %v", n, i, err)
			}
			// Wrong index, wrong leaf, wrong size and a cut path all fail.
			if n > 1 {
				if Verify(root, l[i], (i+1)%n, n, p) == nil {
					t.Fatalf("n=%d i=%d: accepted at the wrong index", n, i)
				}
				if Verify(root, l[(i+1)%n], i, n, p) == nil {
					t.Fatalf("n=%d i=%d: accepted the wrong leaf", n, i)
				}
				if Verify(root, l[i], i, n, p[:len(p)-1]) == nil {
					t.Fatalf("n=%d i=%d: accepted a short path", n, i)
				}
			}
		}
	}
}

func TestVerifyRejectsBadArgs(t *testing.T) {
	l := leaves(4)
	root := Root(l)
	for _, c := range []struct{ i, n int }{{-1, 4}, {4, 4}, {0, 0}} {
		if Verify(root, l[0], c.i, c.n, Proof(l, 0)) == nil {
			t.Fatalf("accepted i=%d n=%d", c.i, c.n)
		}
	}
}
