package rescue

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
)

type vectors struct {
	Prime          string     `json:"prime"`
	StateSize      int        `json:"state_size"`
	WordSize       int        `json:"word_size"`
	NumRounds      int        `json:"num_rounds"`
	Alpha          int        `json:"alpha"`
	AlphaInverse   string     `json:"alpha_inverse"`
	MDS            [][]string `json:"mds_matrix"`
	RoundConstants [][]string `json:"round_constants"`
	HashVectors    []struct {
		Input  []string `json:"input"`
		Output []string `json:"output"`
	} `json:"hash_vectors"`
	ChainVectors []struct {
		ChainLength int        `json:"chain_length"`
		Witness     [][]string `json:"witness"`
		Output      []string   `json:"output"`
	} `json:"chain_vectors"`
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/rescue-ethstark.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func hexU64(t testing.TB, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func elem(t testing.TB, s string) field.Element {
	t.Helper()
	e, err := field.FromCanonical(hexU64(t, s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return e
}

func TestParametersMatchJSON(t *testing.T) {
	v := loadVectors(t)
	if hexU64(t, v.Prime) != field.Modulus || v.StateSize != Width || v.WordSize != DigestLen ||
		v.NumRounds != Rounds || v.Alpha != 3 || Rate+Capacity != Width {
		t.Fatal("parameters differ from the vectors file")
	}
	if hexU64(t, v.AlphaInverse) != alphaInverse {
		t.Fatalf("alphaInverse %#x, JSON %s", alphaInverse, v.AlphaInverse)
	}
	// alpha_inverse·3 ≡ 1 mod p−1, so x ↦ x^alphaInverse inverts cubing.
	pm1 := new(big.Int).SetUint64(field.Modulus - 1)
	prod := new(big.Int).Mul(new(big.Int).SetUint64(alphaInverse), big.NewInt(3))
	if prod.Mod(prod, pm1).Cmp(big.NewInt(1)) != 0 {
		t.Fatal("3·alphaInverse is not 1 mod p−1")
	}
	m, k := MDS(), RoundConstants()
	if len(v.MDS) != Width || len(v.RoundConstants) != 2*Rounds+1 {
		t.Fatal("JSON constant shapes")
	}
	for i := range Width {
		for j := range Width {
			if m[i][j] != elem(t, v.MDS[i][j]) {
				t.Fatalf("MDS[%d][%d] differs from JSON", i, j)
			}
		}
	}
	for r := range k {
		for j := range Width {
			if k[r][j] != elem(t, v.RoundConstants[r][j]) {
				t.Fatalf("K%d[%d] differs from JSON", r, j)
			}
		}
	}
}

func TestMDSInverse(t *testing.T) {
	m, mi := MDS(), MDSInverse()
	for i := range Width {
		for j := range Width {
			var acc field.Acc
			for k := range Width {
				acc.AddMul(m[i][k], mi[k][j])
			}
			want := field.Zero()
			if i == j {
				want = field.One()
			}
			if acc.Reduce() != want {
				t.Fatalf("MDS·MDS^-1 differs from I at (%d,%d)", i, j)
			}
		}
	}
	// The accessors hand out copies.
	m[0][0] = field.Zero()
	if MDS()[0][0].IsZero() {
		t.Fatal("MDS() exposes internal state")
	}
}

// cubeRoot is the reference cube root: x^alphaInverse by square-and-multiply.
func cubeRoot(x field.Element) field.Element { return x.Exp(alphaInverse) }

func TestCubeRoots(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var s, want [Width]field.Element
		for j := range s {
			s[j] = field.New(r.Uint64N(field.Modulus))
			if j == 0 {
				s[j] = field.Zero()
			}
			if j == 1 {
				s[j] = field.New(field.Modulus - 1)
			}
			want[j] = cubeRoot(s[j])
			if want[j].Cube() != s[j] {
				t.Fatalf("cube root of %#x is wrong", s[j].Uint64())
			}
		}
		cubeRoots(&s)
		if s != want {
			t.Fatal("addition chain differs from Exp(alphaInverse)")
		}
		// Dot agrees with a plain sum of products (also on p−1 entries).
		var sum field.Element
		for j := range Width {
			sum = sum.Add(mds[3][j].Mul(want[j]))
		}
		if Dot(&mds[3], &want) != sum {
			t.Fatal("Dot differs from the sum of products")
		}
	}
	// The largest internal values: twelve products of (p−1)·(p−1) in
	// Montgomery form push the accumulator to its bound.
	var big [Width]field.Element
	for j := range big {
		big[j] = field.FromMontgomery(field.Modulus - 1)
	}
	if want := big[0].Mul(big[0]).Mul(field.New(Width)); Dot(&big, &big) != want {
		t.Fatal("Dot overflows on the largest inputs")
	}
}

func parseWord(t *testing.T, ss []string) [DigestLen]field.Element {
	t.Helper()
	if len(ss) != DigestLen {
		t.Fatalf("word of %d elements", len(ss))
	}
	var w [DigestLen]field.Element
	for i, s := range ss {
		w[i] = elem(t, s)
	}
	return w
}

func TestHashVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.HashVectors) == 0 {
		t.Fatal("no hash vectors")
	}
	for i, hv := range v.HashVectors {
		var in [Rate]field.Element
		for j, s := range hv.Input {
			in[j] = elem(t, s)
		}
		want := parseWord(t, hv.Output)
		if got := Hash(in); got != want {
			t.Fatalf("hash vector %d: got %v, want %v", i, got, want)
		}
		if got := HashPair([DigestLen]field.Element(in[:4]), [DigestLen]field.Element(in[4:])); got != want {
			t.Fatalf("hash vector %d: HashPair differs", i)
		}
	}
}

func TestChainVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.ChainVectors) == 0 {
		t.Fatal("no chain vectors")
	}
	for i, cv := range v.ChainVectors {
		w := make([][DigestLen]field.Element, len(cv.Witness))
		for k, ss := range cv.Witness {
			w[k] = parseWord(t, ss)
		}
		if cv.ChainLength != len(w)-1 {
			t.Fatalf("chain vector %d: length %d with %d inputs", i, cv.ChainLength, len(w))
		}
		got, err := Chain(w)
		if err != nil {
			t.Fatal(err)
		}
		if want := parseWord(t, cv.Output); got != want {
			t.Fatalf("chain vector %d: got %v, want %v", i, got, want)
		}
	}
	if _, err := Chain(make([][DigestLen]field.Element, 1)); err == nil {
		t.Fatal("Chain accepted a single input")
	}
}

// TestPermuteRoundsMatchesDefinition checks the recorded middle states and
// the result against a literal transcription of the hash semantics.
func TestPermuteRoundsMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, k := MDS(), RoundConstants()
	mul := func(v [Width]field.Element) (o [Width]field.Element) {
		for i := range Width {
			for j := range Width {
				o[i] = o[i].Add(m[i][j].Mul(v[j]))
			}
		}
		return o
	}
	for range 20 {
		var s [Width]field.Element
		for j := range s {
			s[j] = field.New(r.Uint64N(field.Modulus))
		}
		ref := s
		for j := range ref {
			ref[j] = ref[j].Add(k[0][j])
		}
		var wantMid [Rounds][Width]field.Element
		for i := 1; i < 2*Rounds; i += 2 {
			for j := range ref {
				ref[j] = ref[j].Exp(alphaInverse)
			}
			ref = mul(ref)
			for j := range ref {
				ref[j] = ref[j].Add(k[i][j])
			}
			wantMid[i/2] = ref
			for j := range ref {
				ref[j] = ref[j].Exp(3)
			}
			ref = mul(ref)
			for j := range ref {
				ref[j] = ref[j].Add(k[i+1][j])
			}
		}
		var mid [Rounds][Width]field.Element
		s2 := s
		PermuteRounds(&s, &mid)
		Permute(&s2)
		if s != ref || s2 != ref || mid != wantMid {
			t.Fatal("permutation differs from its definition")
		}
	}
}

func BenchmarkHash(b *testing.B) {
	var in [Rate]field.Element
	for j := range in {
		in[j] = field.New(uint64(j + 1))
	}
	for b.Loop() {
		d := Hash(in)
		in[0] = d[0]
	}
}

func BenchmarkPermute(b *testing.B) {
	var s [Width]field.Element
	for b.Loop() {
		Permute(&s)
	}
}

func TestMulLazy(t *testing.T) {
	const p = field.Modulus
	r := rand.New(rand.NewPCG(7, 8))
	vals := []uint64{0, 1, 2, p - 1, p, p + 1, 2*p - 1}
	for range 2000 {
		vals = append(vals, r.Uint64N(2*p))
	}
	for i, a := range vals {
		b := vals[(i*7+3)%len(vals)]
		got := mulLazy(a, b)
		want := field.FromMontgomery(a % p).Mul(field.FromMontgomery(b % p)).Montgomery()
		if got >= 2*p || got%p != want {
			t.Fatalf("mulLazy(%#x, %#x) = %#x, want %#x mod p", a, b, got, want)
		}
	}
	if inv, mod := pInv, uint64(p); inv*mod != 1 {
		t.Fatal("pInv is not p^-1 mod 2^64")
	}
}
