package merkle

import (
	"crypto/sha256"
	"errors"
)

// Hash is a SHA-256 output.
type Hash = [sha256.Size]byte

// LeafHash returns SHA-256(0x00 ‖ data).
func LeafHash(data []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// InnerHash returns SHA-256(0x01 ‖ left ‖ right).
func InnerHash(left, right Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[1+sha256.Size:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the root of a tree with no leaves: SHA-256 of nothing.
var EmptyRoot = sha256.Sum256(nil)

// split returns the largest power of two strictly below n (n ≥ 2).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// Root returns the root over leaf hashes (already passed through LeafHash).
func Root(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return InnerHash(Root(leaves[:k]), Root(leaves[k:]))
}

// RootOf hashes each item with LeafHash and returns the root.
func RootOf(items [][]byte) Hash {
	leaves := make([]Hash, len(items))
	for i, it := range items {
		leaves[i] = LeafHash(it)
	}
	return Root(leaves)
}

// Proof returns the inclusion path of leaf i among leaves: the sibling
// hashes from the leaf's level up to the root. It panics if i is out of
// range, a programming error.
func Proof(leaves []Hash, i int) []Hash {
	if i < 0 || i >= len(leaves) {
		panic("merkle: proof index out of range")
	}
	var path []Hash
	var walk func(ls []Hash, m int)
	walk = func(ls []Hash, m int) {
		if len(ls) <= 1 {
			return
		}
		k := split(len(ls))
		if m < k {
			walk(ls[:k], m)
			path = append(path, Root(ls[k:]))
		} else {
			walk(ls[k:], m-k)
			path = append(path, Root(ls[:k]))
		}
	}
	walk(leaves, i)
	return path
}

// ErrProof is returned by Verify for every proof that does not hold.
var ErrProof = errors.New("merkle: inclusion proof does not match the root")

// Verify checks that leaf (a leaf hash) sits at index i of a tree of n
// leaves with the given root, following RFC 9162 §2.1.3.2.
func Verify(root, leaf Hash, i, n int, path []Hash) error {
	if i < 0 || n <= 0 || i >= n {
		return ErrProof
	}
	fn, sn := uint64(i), uint64(n-1)
	r := leaf
	for _, p := range path {
		if sn == 0 {
			return ErrProof
		}
		if fn&1 == 1 || fn == sn {
			r = InnerHash(p, r)
			if fn&1 == 0 {
				for fn&1 == 0 && fn != 0 {
					fn >>= 1
					sn >>= 1
				}
			}
		} else {
			r = InnerHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || r != root {
		return ErrProof
	}
	return nil
}
