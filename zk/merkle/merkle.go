package merkle

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Digest is a SHA-256 output: a leaf hash, an interior node or a root.
type Digest [32]byte

const (
	leafPrefix = 0x00
	nodePrefix = 0x01

	// parallelMin is the smallest leaf count for which Build and
	// BuildFromDigests spread work over several goroutines.
	parallelMin = 1 << 10
	// minChunk is the smallest number of leaves a parallel work item covers.
	minChunk = 64
	// leafStack is the largest leaf hashed by HashLeaf via a stack buffer.
	leafStack = 255
)

// HashLeaf returns SHA-256(0x00 || data).
func HashLeaf(data []byte) Digest {
	if len(data) <= leafStack {
		var b [1 + leafStack]byte
		b[0] = leafPrefix
		copy(b[1:], data)
		return sha256.Sum256(b[:1+len(data)])
	}
	h := sha256.New()
	h.Write([]byte{leafPrefix})
	h.Write(data)
	var d Digest
	h.Sum(d[:0])
	return d
}

// HashNode returns SHA-256(0x01 || left || right).
func HashNode(left, right Digest) Digest {
	var b [65]byte
	b[0] = nodePrefix
	copy(b[1:33], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// Tree is a Merkle tree over a power-of-two number of leaves, stored in heap
// layout: nodes[1] is the root, nodes[2p] and nodes[2p+1] are the children of
// nodes[p], and leaf i sits at position n+i. nodes[0] is unused.
//
// A tree built from a leaf function keeps only the levels at height ≥ skip
// (the subtree roots over blocks of 2^skip leaves and everything above):
// the leaf data is still in the caller's hands, so the few blocks a proof
// needs are rehashed on demand. That cuts the tree's memory by 2^skip,
// which for an LDE commitment is tens of megabytes of freshly touched
// pages — on small machines more costly than the rehashing.
type Tree struct {
	n     int
	skip  int // levels below this height are not stored
	nodes []Digest
	leaf  func(i int, buf []byte) []byte
}

// storedSkip is how many bottom levels a tree built by Build omits.
const storedSkip = 4

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

func log2(n int) int { return bits.TrailingZeros(uint(n)) }

// Build commits to n leaves; n must be a power of two ≥ 1 (Build panics
// otherwise). leaf(i, buf) must return leaf i's bytes, normally by appending
// to buf[:0]; buf is scratch space owned by the calling goroutine and is
// reused for the next leaf, so leaf must not retain it. For n ≥ 2^10 leaves
// and interior levels are hashed on runtime.GOMAXPROCS(0) goroutines, so leaf
// must be safe for concurrent use. The tree keeps leaf: Prove calls it
// again for the leaves near the opened ones, so the data behind it must not
// change while the tree is in use.
func Build(n int, leaf func(i int, buf []byte) []byte) *Tree {
	if !isPow2(n) {
		panic(fmt.Sprintf("merkle: Build: leaf count %d is not a power of two", n))
	}
	skip := min(storedSkip, log2(n))
	t := &Tree{n: n, skip: skip, nodes: make([]Digest, 2*(n>>skip)), leaf: leaf}
	t.build(func(lo int, out []Digest) {
		hashLeaves(leaf, lo, out)
	})
	return t
}

// hashLeaves writes the hashes of leaves lo, lo+1, … into out.
func hashLeaves(leaf func(i int, buf []byte) []byte, lo int, out []Digest) {
	// scratch[0] holds the leaf prefix; leaf appends right after it, so in
	// the common case the prefixed leaf is hashed without a copy.
	scratch := make([]byte, 1, 1+256)
	scratch[0] = leafPrefix
	for k := range out {
		got := leaf(lo+k, scratch[1:1])
		full := scratch[:cap(scratch)]
		if len(got) > 0 && (len(full) < 2 || &got[0] != &full[1]) {
			// leaf grew the buffer or returned other memory: copy.
			scratch = append(scratch[:1], got...)
		}
		out[k] = sha256.Sum256(scratch[:1+len(got)])
	}
}

// BuildFromDigests builds a tree whose leaf hashes are leaves (already
// hashed, e.g. with HashLeaf). len(leaves) must be a power of two ≥ 1
// (BuildFromDigests panics otherwise). leaves is copied.
func BuildFromDigests(leaves []Digest) *Tree {
	n := len(leaves)
	if !isPow2(n) {
		panic(fmt.Sprintf("merkle: BuildFromDigests: leaf count %d is not a power of two", n))
	}
	t := &Tree{n: n, nodes: make([]Digest, 2*n)}
	t.build(func(lo int, out []Digest) { copy(out, leaves[lo:]) })
	return t
}

// build fills t.nodes. fill(lo, out) must write the hashes of leaves lo,
// lo+1, … into out. The leaves are cut into 2^k equal chunks; each work item
// hashes one chunk's whole subtree in a scratch buffer and stores its
// levels at height ≥ skip, so workers never wait on each other. The few
// nodes above the chunk roots are hashed at the end.
func (t *Tree) build(fill func(lo int, out []Digest)) {
	n := t.n
	procs := runtime.GOMAXPROCS(0)
	chunks := 1
	if n >= parallelMin && procs > 1 {
		// Several chunks per worker for load balancing (leaf cost may vary),
		// but none smaller than minChunk leaves or than a stored block.
		for chunks < 4*procs && n/(2*chunks) >= max(minChunk, 1<<t.skip) {
			chunks *= 2
		}
	}
	size := n / chunks
	subtree := func(c int, level []Digest) {
		lo := c * size
		fill(lo, level)
		start := n + lo // heap position of level[0]
		for h := 0; ; h++ {
			if h >= t.skip {
				copy(t.nodes[start:], level)
			}
			if len(level) == 1 {
				return
			}
			for i := range len(level) / 2 {
				level[i] = HashNode(level[2*i], level[2*i+1])
			}
			level = level[:len(level)/2]
			start /= 2
		}
	}
	if chunks == 1 {
		subtree(0, make([]Digest, size))
		return
	}
	workers := min(procs, chunks)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			level := make([]Digest, size)
			for {
				c := int(next.Add(1) - 1)
				if c >= chunks {
					return
				}
				subtree(c, level)
			}
		})
	}
	wg.Wait()
	// Chunk roots sit at positions [chunks, 2*chunks); hash what is above.
	for p := chunks - 1; p >= 1; p-- {
		t.nodes[p] = HashNode(t.nodes[2*p], t.nodes[2*p+1])
	}
}

// node returns the digest at heap position p, rehashing its block of
// 2^skip leaves if that level is not stored; blocks caches rehashed blocks
// (by block root position) for the duration of one Prove.
func (t *Tree) node(p int, blocks map[int][]Digest) Digest {
	if p < len(t.nodes) {
		return t.nodes[p]
	}
	h := log2(t.n) - (bits.Len(uint(p)) - 1) // height of p
	q := p >> (t.skip - h)                   // its block's root
	b, ok := blocks[q]
	if !ok {
		// Local heap of the block: root at 1, leaves at 2^skip + i.
		width := 1 << t.skip
		b = make([]Digest, 2*width)
		hashLeaves(t.leaf, q*width-t.n, b[width:])
		for i := width - 1; i >= 1; i-- {
			b[i] = HashNode(b[2*i], b[2*i+1])
		}
		blocks[q] = b
	}
	return b[(1<<(t.skip-h))+p-(q<<(t.skip-h))]
}

// Root returns the tree's root digest.
func (t *Tree) Root() Digest { return t.nodes[1] }

// Leaves returns the number of leaves.
func (t *Tree) Leaves() int { return t.n }

var (
	errEmpty    = errors.New("merkle: no indices")
	errN        = errors.New("merkle: leaf count is not a power of two")
	errOrder    = errors.New("merkle: indices not strictly increasing")
	errRange    = errors.New("merkle: index out of range")
	errHashes   = errors.New("merkle: number of leaf hashes differs from number of indices")
	errShort    = errors.New("merkle: proof too short")
	errLong     = errors.New("merkle: proof too long")
	errMismatch = errors.New("merkle: root mismatch")
)

// checkIndices validates n and indices as Prove, ProofLen and Verify require.
func checkIndices(n int, indices []int) error {
	if !isPow2(n) {
		return errN
	}
	if len(indices) == 0 {
		return errEmpty
	}
	prev := -1
	for _, i := range indices {
		if i <= prev {
			return errOrder
		}
		if i >= n {
			return errRange
		}
		prev = i
	}
	return nil
}

// walk calls need(p) for every node position p a proof for indices must
// contain, in proof order. indices must already be valid.
//
// At each level the known positions are sorted. A position whose sibling is
// also known needs nothing; otherwise its sibling goes into the proof. The
// parents become the known positions of the next level.
func walk(n int, indices []int, need func(p int)) {
	pos := make([]int, len(indices))
	for k, i := range indices {
		pos[k] = n + i
	}
	for len(pos) > 1 || pos[0] > 1 {
		m := 0
		for k := 0; k < len(pos); k++ {
			p := pos[k]
			if p&1 == 0 && k+1 < len(pos) && pos[k+1] == p+1 {
				k++
			} else {
				need(p ^ 1)
			}
			pos[m] = p / 2
			m++
		}
		pos = pos[:m]
	}
}

// Prove returns a multi-opening for the given leaf indices, which must be
// non-empty, strictly increasing and in [0, Leaves()). The proof holds the
// minimal set of node digests the verifier cannot compute from the opened
// leaves, each once, ordered level by level from the leaves up and left to
// right within a level. Its length is ProofLen(t.Leaves(), indices).
func (t *Tree) Prove(indices []int) ([]Digest, error) {
	if err := checkIndices(t.n, indices); err != nil {
		return nil, err
	}
	var proof []Digest
	blocks := map[int][]Digest{}
	walk(t.n, indices, func(p int) { proof = append(proof, t.node(p, blocks)) })
	return proof, nil
}

// ProofLen returns the number of digests in a valid proof for indices in a
// tree of n leaves, or an error if n or indices are invalid (as for Verify).
func ProofLen(n int, indices []int) (int, error) {
	if err := checkIndices(n, indices); err != nil {
		return 0, err
	}
	count := 0
	walk(n, indices, func(int) { count++ })
	return count, nil
}

// Verify checks that leafHashes[k] is the hash of leaf indices[k] of the tree
// with n leaves and the given root, using proof as produced by Prove. It
// returns an error if n is not a power of two, indices are empty, not
// strictly increasing or out of range, len(leafHashes) != len(indices),
// len(proof) != ProofLen(n, indices), or the recomputed root differs. It
// never panics.
func Verify(root Digest, n int, indices []int, leafHashes []Digest, proof []Digest) error {
	if err := checkIndices(n, indices); err != nil {
		return err
	}
	if len(leafHashes) != len(indices) {
		return errHashes
	}
	type node struct {
		p int
		d Digest
	}
	cur := make([]node, len(indices))
	for k, i := range indices {
		cur[k] = node{n + i, leafHashes[k]}
	}
	used := 0
	for len(cur) > 1 || cur[0].p > 1 {
		m := 0
		for k := 0; k < len(cur); k++ {
			p, d := cur[k].p, cur[k].d
			var h Digest
			switch {
			case p&1 == 0 && k+1 < len(cur) && cur[k+1].p == p+1:
				h = HashNode(d, cur[k+1].d)
				k++
			case used == len(proof):
				return errShort
			case p&1 == 0:
				h = HashNode(d, proof[used])
				used++
			default:
				h = HashNode(proof[used], d)
				used++
			}
			cur[m] = node{p / 2, h}
			m++
		}
		cur = cur[:m]
	}
	if used != len(proof) {
		return errLong
	}
	if cur[0].d != root {
		return errMismatch
	}
	return nil
}
