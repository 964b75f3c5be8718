package rescue

//go:generate go run ./internal/gen -in testdata/rescue-ethstark.json -out constants.go

import (
	"errors"

	"github.com/datadragon/datadragon/zk/field"
)

// Parameters of the Rescue instance.
const (
	Width     = 12 // state size
	Rate      = 8  // elements absorbed per permutation
	Capacity  = 4  // elements never exposed
	Rounds    = 10 // full rounds
	DigestLen = 4  // elements of a hash output
)

var (
	mds    [Width][Width]field.Element
	mdsInv [Width][Width]field.Element
	rc     [2*Rounds + 1][Width]field.Element
)

func init() {
	for i := range Width {
		for j := range Width {
			mds[i][j] = field.New(mdsCanonical[i][j])
		}
	}
	for r := range rc {
		for j := range Width {
			rc[r][j] = field.New(roundConstantsCanonical[r][j])
		}
	}
	inv, ok := invert(&mds)
	if !ok {
		panic("rescue: MDS matrix is singular")
	}
	mdsInv = *inv
}

// invert returns m^-1 by Gauss–Jordan elimination, or false if m is singular.
func invert(m *[Width][Width]field.Element) (*[Width][Width]field.Element, bool) {
	a := *m
	var b [Width][Width]field.Element
	for i := range Width {
		b[i][i] = field.One()
	}
	for col := range Width {
		pivot := -1
		for r := col; r < Width; r++ {
			if !a[r][col].IsZero() {
				pivot = r
				break
			}
		}
		if pivot < 0 {
			return nil, false
		}
		a[col], a[pivot] = a[pivot], a[col]
		b[col], b[pivot] = b[pivot], b[col]
		s := a[col][col].Inverse()
		for j := range Width {
			a[col][j] = a[col][j].Mul(s)
			b[col][j] = b[col][j].Mul(s)
		}
		for r := range Width {
			if r == col || a[r][col].IsZero() {
				continue
			}
			f := a[r][col]
			for j := range Width {
				a[r][j] = a[r][j].Sub(f.Mul(a[col][j]))
				b[r][j] = b[r][j].Sub(f.Mul(b[col][j]))
			}
		}
	}
	return &b, true
}

// MDS returns a copy of the MDS matrix.
func MDS() *[Width][Width]field.Element { m := mds; return &m }

// MDSInverse returns a copy of the inverse of the MDS matrix.
func MDSInverse() *[Width][Width]field.Element { m := mdsInv; return &m }

// RoundConstants returns a copy of K0..K20: K0 is added before the first
// round, and round r (1-based) adds K(2r−1) after its cube-root half and
// K(2r) after its cube half.
func RoundConstants() *[2*Rounds + 1][Width]field.Element { k := rc; return &k }

// linear sets dst = mds·src + k.
func linear(dst, src *[Width]field.Element, k *[Width]field.Element) {
	var t [Width]field.Element
	for i := range Width {
		t[i] = Dot(&mds[i], src).Add(k[i])
	}
	*dst = t
}

// round applies round r (1-based) to s and returns the middle state in mid
// (after the cube-root half and its constant).
func round(s *[Width]field.Element, r int, mid *[Width]field.Element) {
	cubeRoots(s)
	linear(mid, s, &rc[2*r-1])
	var c [Width]field.Element
	for j := range Width {
		c[j] = mid[j].Cube()
	}
	linear(s, &c, &rc[2*r])
}

// Permute applies the Rescue permutation in place, starting with the
// addition of K0.
func Permute(state *[Width]field.Element) {
	var mid [Width]field.Element
	for j := range Width {
		state[j] = state[j].Add(rc[0][j])
	}
	for r := 1; r <= Rounds; r++ {
		round(state, r, &mid)
	}
}

// PermuteRounds is Permute that also records the middle state of every
// round: mid[r−1] is the state of round r after its cube-root half (the
// value the hash-chain AIR stores in a trace row).
func PermuteRounds(state *[Width]field.Element, mid *[Rounds][Width]field.Element) {
	for j := range Width {
		state[j] = state[j].Add(rc[0][j])
	}
	for r := 1; r <= Rounds; r++ {
		round(state, r, &mid[r-1])
	}
}

// Hash is the sponge hash of one rate block: the permutation applied to
// (in ‖ 0⁴), truncated to the first DigestLen elements.
func Hash(in [Rate]field.Element) [DigestLen]field.Element {
	var s [Width]field.Element
	copy(s[:Rate], in[:])
	Permute(&s)
	return [DigestLen]field.Element(s[:DigestLen])
}

// HashPair hashes two digests: Hash(left ‖ right).
func HashPair(left, right [DigestLen]field.Element) [DigestLen]field.Element {
	var s [Width]field.Element
	copy(s[:DigestLen], left[:])
	copy(s[DigestLen:Rate], right[:])
	Permute(&s)
	return [DigestLen]field.Element(s[:DigestLen])
}

// ErrShortChain is returned by Chain for fewer than two inputs.
var ErrShortChain = errors.New("rescue: a hash chain needs at least two inputs")

// Chain returns the hash chain of w: out = w[0], then out = HashPair(out,
// w[i]) for i = 1..len(w)−1.
func Chain(w [][DigestLen]field.Element) ([DigestLen]field.Element, error) {
	if len(w) < 2 {
		return [DigestLen]field.Element{}, ErrShortChain
	}
	out := w[0]
	for _, x := range w[1:] {
		out = HashPair(out, x)
	}
	return out, nil
}
