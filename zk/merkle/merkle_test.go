package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// leafBytes is the deterministic test leaf i of the given size.
func leafBytes(i, size int, buf []byte) []byte {
	buf = buf[:0]
	for j := 0; j < size; j += 8 {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(i)*0x9e3779b97f4a7c15+uint64(j))
	}
	return buf[:size]
}

// refRoot is a straightforward recursive Merkle root over leaf hashes.
func refRoot(leaves []Digest) Digest {
	if len(leaves) == 1 {
		return leaves[0]
	}
	h := len(leaves) / 2
	return HashNode(refRoot(leaves[:h]), refRoot(leaves[h:]))
}

func refLeaves(n, size int) []Digest {
	out := make([]Digest, n)
	for i := range out {
		out[i] = HashLeaf(leafBytes(i, size, nil))
	}
	return out
}

// refProof computes the expected proof positions independently of walk: all
// siblings on the opened paths that are not themselves on an opened path,
// sorted from the leaf level up and left to right.
func refProof(n int, indices []int) []int {
	onPath := map[int]bool{}
	for _, i := range indices {
		for p := n + i; p >= 1; p /= 2 {
			onPath[p] = true
		}
	}
	var need []int
	for p := range onPath {
		if p > 1 && !onPath[p^1] {
			need = append(need, p^1)
		}
	}
	sort.Slice(need, func(a, b int) bool {
		la, lb := bits.Len(uint(need[a])), bits.Len(uint(need[b]))
		if la != lb {
			return la > lb // deeper level (longer position) first
		}
		return need[a] < need[b]
	})
	return need
}

func TestHashLayout(t *testing.T) {
	for _, size := range []int{0, 1, 31, 96, 254, 255, 256, 1000} {
		data := leafBytes(7, size, nil)
		want := sha256.Sum256(append([]byte{0x00}, data...))
		if got := HashLeaf(data); got != want {
			t.Errorf("HashLeaf(len %d) mismatch", size)
		}
	}
	var l, r Digest
	for i := range l {
		l[i], r[i] = byte(i), byte(200+i)
	}
	want := sha256.Sum256(slices.Concat([]byte{0x01}, l[:], r[:]))
	if got := HashNode(l, r); got != want {
		t.Error("HashNode mismatch")
	}
	if HashNode(l, r) == HashNode(r, l) {
		t.Error("HashNode symmetric")
	}
	// Domain separation: a 64-byte leaf equal to left||right is not a node.
	if HashLeaf(slices.Concat(l[:], r[:])) == HashNode(l, r) {
		t.Error("leaf and node hashes collide")
	}
}

func TestBuild(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		for logn := 0; logn <= 13; logn++ {
			n := 1 << logn
			leaves := refLeaves(n, 96)
			want := refRoot(leaves)
			tr := Build(n, func(i int, buf []byte) []byte { return leafBytes(i, 96, buf) })
			if tr.Root() != want || tr.Leaves() != n {
				t.Fatalf("procs=%d n=%d: Build root mismatch", procs, n)
			}
			if got := BuildFromDigests(leaves); got.Root() != want || got.Leaves() != n {
				t.Fatalf("procs=%d n=%d: BuildFromDigests root mismatch", procs, n)
			}
			for i, d := range leaves {
				if tr.at(n+i) != d {
					t.Fatalf("procs=%d n=%d: leaf %d not stored", procs, n, i)
				}
			}
			for p := 1; p < n; p++ {
				if tr.at(p) != HashNode(tr.at(2*p), tr.at(2*p+1)) {
					t.Fatalf("procs=%d n=%d: node %d wrong", procs, n, p)
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestBuildLeafFuncs checks leaf callbacks that do not append to buf in place:
// ones that return other memory, grow the buffer, or return nothing.
func TestBuildLeafFuncs(t *testing.T) {
	const n = 1 << 11
	for _, size := range []int{0, 5, 96, 128, 129, 700} {
		own := make([][]byte, n)
		for i := range own {
			own[i] = leafBytes(i, size, nil)
		}
		want := refRoot(refLeaves(n, size))
		cases := map[string]func(int, []byte) []byte{
			"append":  func(i int, buf []byte) []byte { return leafBytes(i, size, buf) },
			"own":     func(i int, _ []byte) []byte { return own[i] },
			"nil-buf": func(i int, _ []byte) []byte { return leafBytes(i, size, nil) },
			"bytewise": func(i int, buf []byte) []byte {
				for _, c := range own[i] {
					buf = append(buf, c)
				}
				return buf
			},
		}
		for name, f := range cases {
			if got := Build(n, f).Root(); got != want {
				t.Errorf("size %d, %s: root mismatch", size, name)
			}
		}
	}
}

func TestBuildPanics(t *testing.T) {
	for _, n := range []int{0, -1, 3, 6, 1000} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Build(%d) did not panic", n)
				}
			}()
			Build(n, func(i int, buf []byte) []byte { return buf })
		}()
		if n >= 0 {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("BuildFromDigests(len %d) did not panic", n)
					}
				}()
				BuildFromDigests(make([]Digest, n))
			}()
		}
	}
}

func leafHashesAt(tr *Tree, indices []int) []Digest {
	out := make([]Digest, len(indices))
	for k, i := range indices {
		out[k] = tr.at(tr.n + i)
	}
	return out
}

func randomIndices(r *rand.Rand, n int) []int {
	var idx []int
	switch r.IntN(4) {
	case 0: // single
		idx = []int{r.IntN(n)}
	case 1: // dense subset
		for i := range n {
			if r.IntN(2) == 0 {
				idx = append(idx, i)
			}
		}
	default: // sparse subset
		k := 1 + r.IntN(min(n, 40))
		set := map[int]bool{}
		for len(set) < k {
			set[r.IntN(n)] = true
		}
		for i := range set {
			idx = append(idx, i)
		}
		slices.Sort(idx)
	}
	if len(idx) == 0 {
		idx = []int{0}
	}
	return idx
}

func TestProveVerifyRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for logn := 0; logn <= 11; logn++ {
		n := 1 << logn
		tr := BuildFromDigests(refLeaves(n, 40))
		for range 60 {
			idx := randomIndices(r, n)
			checkProof(t, tr, idx)
		}
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		if proof := checkProof(t, tr, all); len(proof) != 0 {
			t.Errorf("n=%d: opening all leaves needs %d nodes, want 0", n, len(proof))
		}
	}
}

// checkProof proves idx, compares with the reference and checks that Verify
// accepts; it returns the proof.
func checkProof(t *testing.T, tr *Tree, idx []int) []Digest {
	t.Helper()
	n := tr.n
	proof, err := tr.Prove(idx)
	if err != nil {
		t.Fatalf("n=%d idx=%v: Prove: %v", n, idx, err)
	}
	pl, err := ProofLen(n, idx)
	if err != nil || pl != len(proof) {
		t.Fatalf("n=%d idx=%v: ProofLen=%d,%v; proof has %d", n, idx, pl, err, len(proof))
	}
	ref := refProof(n, idx)
	if len(ref) != len(proof) {
		t.Fatalf("n=%d idx=%v: proof len %d, minimal is %d", n, idx, len(proof), len(ref))
	}
	for k, p := range ref {
		if proof[k] != tr.at(p) {
			t.Fatalf("n=%d idx=%v: proof[%d] is not node %d", n, idx, k, p)
		}
	}
	if err := Verify(tr.Root(), n, idx, leafHashesAt(tr, idx), proof); err != nil {
		t.Fatalf("n=%d idx=%v: Verify: %v", n, idx, err)
	}
	return proof
}

func TestProofSizes(t *testing.T) {
	const n = 1 << 10
	tr := BuildFromDigests(refLeaves(n, 8))
	cases := []struct {
		idx  []int
		want int
	}{
		{[]int{5}, 10},
		{[]int{4, 5}, 9},        // siblings share everything above the leaves
		{[]int{0, 1, 2, 3}, 8},  // a full subtree of 4
		{[]int{0, n - 1}, 18},   // disjoint halves: only the root is shared
		{[]int{0, 2}, 10},       // paths merge one level up
		{[]int{6, 7, 8, 9}, 10}, // two sibling pairs in neighbouring quads
	}
	for _, c := range cases {
		proof := checkProof(t, tr, c.idx)
		if len(proof) != c.want {
			t.Errorf("idx=%v: proof len %d, want %d", c.idx, len(proof), c.want)
		}
		if sep := 10 * len(c.idx); len(c.idx) > 1 && len(proof) >= sep {
			t.Errorf("idx=%v: multi-proof %d not smaller than separate paths %d", c.idx, len(proof), sep)
		}
	}
}

func TestInvalidIndices(t *testing.T) {
	const n = 16
	tr := BuildFromDigests(refLeaves(n, 8))
	good, _ := tr.Prove([]int{3, 9})
	lh := leafHashesAt(tr, []int{3, 9})
	for _, idx := range [][]int{nil, {}, {3, 3}, {9, 3}, {-1}, {16}, {0, 16}, {1, 2, 2}} {
		if _, err := tr.Prove(idx); err == nil {
			t.Errorf("Prove(%v) accepted", idx)
		}
		if _, err := ProofLen(n, idx); err == nil {
			t.Errorf("ProofLen(%v) accepted", idx)
		}
		hs := make([]Digest, len(idx))
		if err := Verify(tr.Root(), n, idx, hs, good); err == nil {
			t.Errorf("Verify(%v) accepted", idx)
		}
	}
	for _, bad := range []int{0, -16, 15, 17, 32} {
		if _, err := ProofLen(bad, []int{3, 9}); err == nil && !isPow2(bad) {
			t.Errorf("ProofLen(n=%d) accepted", bad)
		}
		if err := Verify(tr.Root(), bad, []int{3, 9}, lh, good); err == nil {
			t.Errorf("Verify(n=%d) accepted", bad)
		}
	}
	if err := Verify(tr.Root(), n, []int{3, 9}, lh[:1], good); err == nil {
		t.Error("Verify accepted too few leaf hashes")
	}
	if err := Verify(tr.Root(), n, []int{3, 9}, append(lh, lh[0]), good); err == nil {
		t.Error("Verify accepted too many leaf hashes")
	}
}

// TestHugeN exercises the largest leaf counts an int can express without
// building a tree: proof lengths are exact and Verify fails cleanly.
func TestHugeN(t *testing.T) {
	n := 1 << (bits.UintSize - 2)
	idx := []int{0, 1, n - 2, n - 1}
	depth := bits.UintSize - 2
	pl, err := ProofLen(n, idx)
	// Each sibling pair needs depth-2 nodes: none at the leaves, none below
	// the root where the two paths meet.
	if want := 2 * (depth - 2); err != nil || pl != want {
		t.Fatalf("ProofLen = %d, %v; want %d", pl, err, want)
	}
	if Verify(Digest{}, n, idx, make([]Digest, 4), make([]Digest, pl)) == nil {
		t.Fatal("accepted garbage")
	}
	if _, err := ProofLen(-n*2, idx); err == nil { // MinInt
		t.Fatal("accepted n = MinInt")
	}
}

func flip(d Digest, bit int) Digest {
	d[bit/8] ^= 1 << (bit % 8)
	return d
}

func TestTamper(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, logn := range []int{0, 1, 3, 6, 9} {
		n := 1 << logn
		tr := BuildFromDigests(refLeaves(n, 16))
		root := tr.Root()
		for range 30 {
			idx := randomIndices(r, n)
			lh := leafHashesAt(tr, idx)
			proof, _ := tr.Prove(idx)
			if err := Verify(root, n, idx, lh, proof); err != nil {
				t.Fatal(err)
			}
			bit := r.IntN(256)
			if Verify(flip(root, bit), n, idx, lh, proof) == nil {
				t.Fatalf("n=%d idx=%v: tampered root accepted", n, idx)
			}
			for k := range proof {
				p2 := slices.Clone(proof)
				p2[k] = flip(p2[k], bit)
				if Verify(root, n, idx, lh, p2) == nil {
					t.Fatalf("n=%d idx=%v: tampered proof[%d] accepted", n, idx, k)
				}
			}
			for k := range lh {
				l2 := slices.Clone(lh)
				l2[k] = flip(l2[k], bit)
				if Verify(root, n, idx, l2, proof) == nil {
					t.Fatalf("n=%d idx=%v: tampered leaf %d accepted", n, idx, k)
				}
			}
			// Extra, missing and reordered proof nodes.
			if Verify(root, n, idx, lh, append(slices.Clone(proof), proof...)) == nil && len(proof) > 0 {
				t.Fatalf("n=%d idx=%v: doubled proof accepted", n, idx)
			}
			if Verify(root, n, idx, lh, append(slices.Clone(proof), Digest{})) == nil {
				t.Fatalf("n=%d idx=%v: extra node accepted", n, idx)
			}
			if len(proof) > 0 {
				if Verify(root, n, idx, lh, proof[:len(proof)-1]) == nil {
					t.Fatalf("n=%d idx=%v: short proof accepted", n, idx)
				}
				if Verify(root, n, idx, lh, proof[1:]) == nil {
					t.Fatalf("n=%d idx=%v: proof missing first node accepted", n, idx)
				}
			}
			if len(proof) > 1 && proof[0] != proof[1] {
				p2 := slices.Clone(proof)
				p2[0], p2[1] = p2[1], p2[0]
				if Verify(root, n, idx, lh, p2) == nil {
					t.Fatalf("n=%d idx=%v: swapped proof accepted", n, idx)
				}
			}
			// Changed indices: one index moved to another leaf (keeping the
			// set valid) with the same leaf hashes and proof must fail.
			if n > 1 {
				for k := range idx {
					i2 := slices.Clone(idx)
					i2[k] ^= 1 + r.IntN(n-1)
					slices.Sort(i2)
					if len(slices.Compact(slices.Clone(i2))) != len(idx) {
						continue // collided with another opened index
					}
					if Verify(root, n, i2, lh, proof) == nil {
						t.Fatalf("n=%d idx=%v -> %v: moved index accepted", n, idx, i2)
					}
				}
			}
			if Verify(root, 2*n, idx, lh, proof) == nil {
				t.Fatalf("n=%d idx=%v: wrong leaf count accepted", n, idx)
			}
		}
	}
}

// fuzzTree is the fixed tree FuzzVerify checks proofs against.
var fuzzTree = BuildFromDigests(refLeaves(64, 8))

// encodeFuzz lays out a Verify call as FuzzVerify decodes it.
func encodeFuzz(nSel byte, idx []int, lh, proof []Digest) []byte {
	b := []byte{nSel, byte(len(idx))}
	for _, i := range idx {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(i)))
	}
	for _, d := range lh {
		b = append(b, d[:]...)
	}
	for _, d := range proof {
		b = append(b, d[:]...)
	}
	return b
}

func FuzzVerify(f *testing.F) {
	for _, idx := range [][]int{{0}, {63}, {4, 5}, {1, 2, 40}, {0, 1, 2, 3, 60, 61, 62, 63}} {
		proof, _ := fuzzTree.Prove(idx)
		f.Add(encodeFuzz(6, idx, leafHashesAt(fuzzTree, idx), proof))
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add(encodeFuzz(0x80, []int{-1, 3}, nil, nil))
	f.Add(encodeFuzz(0x40|62, []int{0, 1000, 30000}, make([]Digest, 3), make([]Digest, 20)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		// nSel: bit 7 set yields a raw, possibly invalid n (negative, zero,
		// not a power of two); else bit 6 set yields n = 2^(low 6 bits), up to
		// 2^63 (which overflows to a negative int); else n = 2^(low 3 bits).
		var n int
		switch s := data[0]; {
		case s&0x80 != 0:
			n = int(int8(s << 1))
		case s&0x40 != 0:
			n = 1 << (s & 63)
		default:
			n = 1 << (s & 7)
		}
		k := int(data[1])
		data = data[2:]
		var idx []int
		for ; k > 0 && len(data) >= 2; k-- {
			idx = append(idx, int(int16(binary.LittleEndian.Uint16(data))))
			data = data[2:]
		}
		var digests []Digest
		for ; len(data) >= 32; data = data[32:] {
			digests = append(digests, Digest(data[:32]))
		}
		nl := min(len(idx), len(digests))
		lh, proof := digests[:nl], digests[nl:]
		err := Verify(fuzzTree.Root(), n, idx, lh, proof)
		if _, perr := ProofLen(n, idx); perr == nil && err == nil {
			if pl, _ := ProofLen(n, idx); pl != len(proof) {
				t.Fatalf("accepted proof of length %d, ProofLen %d", len(proof), pl)
			}
		}
		if err == nil {
			// Soundness against the real tree: only its leaves can verify.
			if n != 64 {
				t.Fatalf("accepted n=%d for a 64-leaf root", n)
			}
			if want := leafHashesAt(fuzzTree, idx); !slices.Equal(want, lh) {
				t.Fatalf("accepted wrong leaf hashes for %v", idx)
			}
		}
	})
}

func BenchmarkHashNode(b *testing.B) {
	var l, r Digest
	for b.Loop() {
		l = HashNode(l, r)
	}
}

func BenchmarkHashLeaf96(b *testing.B) {
	data := make([]byte, 96)
	for b.Loop() {
		d := HashLeaf(data)
		data[0] = d[0]
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, logn := range []int{16, 18} {
		n := 1 << logn
		b.Run(fmt.Sprintf("2^%d/96B", logn), func(b *testing.B) {
			leaf := func(i int, buf []byte) []byte { return leafBytes(i, 96, buf) }
			b.SetBytes(int64(n) * 96)
			for b.Loop() {
				Build(n, leaf)
			}
		})
	}
}

func BenchmarkProveVerify(b *testing.B) {
	const n = 1 << 16
	tr := Build(n, func(i int, buf []byte) []byte { return leafBytes(i, 96, buf) })
	r := rand.New(rand.NewPCG(5, 6))
	set := map[int]bool{}
	for len(set) < 64 {
		set[r.IntN(n)] = true
	}
	var idx []int
	for i := range set {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	lh := leafHashesAt(tr, idx)
	proof, _ := tr.Prove(idx)
	b.Run("Prove64of2^16", func(b *testing.B) {
		for b.Loop() {
			tr.Prove(idx)
		}
	})
	b.Run("Verify64of2^16", func(b *testing.B) {
		for b.Loop() {
			if err := Verify(tr.Root(), n, idx, lh, proof); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// at returns the digest at heap position p, stored or rehashed.
func (t *Tree) at(p int) Digest { return t.node(p, map[int][]Digest{}) }

func TestTreeStoresOnlyUpperLevels(t *testing.T) {
	n := 1 << 12
	tr := Build(n, func(i int, buf []byte) []byte { return leafBytes(i, 96, buf) })
	if got, want := len(tr.nodes), 2*n>>storedSkip; got != want {
		t.Fatalf("tree stores %d digests, want %d", got, want)
	}
	// Every position, stored or rehashed, agrees with the reference.
	leaves := refLeaves(n, 96)
	for i, d := range leaves {
		if tr.at(n+i) != d {
			t.Fatalf("leaf %d rehashed wrongly", i)
		}
	}
}
