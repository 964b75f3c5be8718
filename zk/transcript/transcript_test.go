package transcript

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func u64(x int) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(x)) }

func h(parts ...[]byte) [32]byte { return sha256.Sum256(slices.Concat(parts...)) }

// TestLayout recomputes every operation from the documented byte layout.
func TestLayout(t *testing.T) {
	for _, size := range []int{0, 5, 203, 204, 205, 5000} {
		label := "lbl"
		if size == 5000 {
			label = strings.Repeat("L", 300) // long label: streaming path
		}
		data := bytes.Repeat([]byte{0xab}, size)
		tr := New("proto")
		state := h([]byte("datadragon/transcript/v1"), u64(5), []byte("proto"))
		if tr.state != state {
			t.Fatal("New layout")
		}
		tr.Absorb(label, data)
		state = h(state[:], []byte{1}, u64(len(label)), []byte(label), u64(size), data)
		if tr.state != state {
			t.Fatalf("Absorb layout (size %d)", size)
		}
		for ctr := range 3 {
			out := tr.Challenge(label)
			want := h(state[:], []byte{2}, u64(len(label)), []byte(label), u64(ctr))
			if out != want {
				t.Fatalf("Challenge layout (size %d, counter %d)", size, ctr)
			}
			state = h(state[:], []byte{3}, out[:])
			if tr.state != state || tr.counter != uint64(ctr+1) {
				t.Fatalf("Challenge ratchet (size %d, counter %d)", size, ctr)
			}
		}
		g := h(state[:], []byte{4}, u64(12345))
		lz := 0
		for lz < 32 && g[lz/8]&(0x80>>(lz%8)) == 0 {
			lz++
		}
		if !tr.CheckGrind(12345, lz) || (lz < 32 && tr.CheckGrind(12345, lz+1)) {
			t.Fatalf("CheckGrind layout (lz %d)", lz)
		}
	}
}

func TestDeterminism(t *testing.T) {
	run := func() [][32]byte {
		tr := New("stark")
		tr.Absorb("root", []byte{1, 2, 3})
		a := tr.Challenge("alpha")
		b := tr.Challenge("alpha")
		tr.Absorb("ood", nil)
		return [][32]byte{a, b, tr.Challenge("z")}
	}
	x, y := run(), run()
	if !slices.Equal(x, y) {
		t.Fatal("not deterministic")
	}
	if x[0] == x[1] {
		t.Fatal("repeated challenge with the same label")
	}
}

// TestSeparation draws a challenge after many distinct transcripts and
// checks they are pairwise different.
func TestSeparation(t *testing.T) {
	type step struct{ label, data string }
	cases := map[string][]step{
		"empty":          nil,
		"a":              {{"a", "x"}},
		"label":          {{"b", "x"}},
		"data":           {{"a", "y"}},
		"emptydata":      {{"a", ""}},
		"emptylabel":     {{"", "ax"}},
		"ab|c":           {{"ab", "c"}},
		"a|bc":           {{"a", "bc"}},
		"abc|":           {{"abc", ""}},
		"|abc":           {{"", "abc"}},
		"order1":         {{"a", "x"}, {"b", "y"}},
		"order2":         {{"b", "y"}, {"a", "x"}},
		"split":          {{"a", "x"}, {"a", "y"}},
		"joined":         {{"a", "xy"}},
		"twice":          {{"a", "x"}, {"a", "x"}},
		"length-forgery": {{"a", "x\x01\x01\x00\x00\x00\x00\x00\x00\x00a\x01\x00\x00\x00\x00\x00\x00\x00y"}},
	}
	seen := map[[32]byte]string{}
	for _, proto := range []string{"p", "q", "", "pq"} {
		for name, steps := range cases {
			tr := New(proto)
			for _, s := range steps {
				tr.Absorb(s.label, []byte(s.data))
			}
			for _, label := range []string{"c", "d"} {
				u := *tr
				c := u.Challenge(label)
				id := fmt.Sprintf("proto=%q %s label=%s", proto, name, label)
				if prev, dup := seen[c]; dup {
					t.Errorf("%s collides with %s", id, prev)
				}
				seen[c] = id
			}
		}
	}
	// A challenge must not equal what absorbing would produce, and the state
	// after a challenge must differ from the state before it.
	tr := New("p")
	before := tr.state
	tr.Challenge("c")
	if tr.state == before {
		t.Error("Challenge did not advance the state")
	}
}

// leadingZeros counts leading zero bits of the grind hash directly.
func leadingZeros(tr *Transcript, nonce uint64) int {
	d := h(tr.state[:], []byte{4}, binary.LittleEndian.AppendUint64(nil, nonce))
	n := 0
	for _, b := range d {
		for m := byte(0x80); m != 0; m >>= 1 {
			if b&m != 0 {
				return n
			}
			n++
		}
	}
	return n
}

func TestGrind(t *testing.T) {
	for _, procs := range []int{1, 2, 3, 7} {
		old := runtime.GOMAXPROCS(procs)
		for bits := 0; bits <= 14; bits++ {
			tr := New("grind")
			tr.Absorb("round", u64(bits))
			st := *tr
			nonce := tr.Grind(bits)
			if *tr != st {
				t.Fatal("Grind changed the transcript")
			}
			if !tr.CheckGrind(nonce, bits) {
				t.Fatalf("procs=%d bits=%d: nonce %d fails CheckGrind", procs, bits, nonce)
			}
			if lz := leadingZeros(tr, nonce); lz < bits {
				t.Fatalf("procs=%d bits=%d: nonce %d has only %d leading zeros", procs, bits, nonce, lz)
			}
			// Smallest: no smaller nonce passes (so the result does not
			// depend on the number of goroutines).
			for n := uint64(0); n < nonce; n++ {
				if leadingZeros(tr, n) >= bits {
					t.Fatalf("procs=%d bits=%d: %d found but %d is smaller", procs, bits, nonce, n)
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

func TestCheckGrind(t *testing.T) {
	tr := New("check")
	tr.Absorb("x", []byte("y"))
	nonce := tr.Grind(12)
	if !tr.CheckGrind(nonce, 12) {
		t.Fatal("valid nonce rejected")
	}
	// CheckGrind must agree exactly with the directly counted leading zeros.
	wrong := 0
	for n := uint64(0); n < 4096; n++ {
		lz := leadingZeros(tr, n)
		for bits := 1; bits <= 16; bits++ {
			if got := tr.CheckGrind(n, bits); got != (lz >= bits) {
				t.Fatalf("CheckGrind(%d, %d) = %v with %d leading zeros", n, bits, got, lz)
			}
		}
		if !tr.CheckGrind(n, 0) {
			t.Fatal("bits=0 must accept any nonce")
		}
		if !tr.CheckGrind(n, 12) {
			wrong++
		}
	}
	if wrong < 4000 {
		t.Errorf("only %d of 4096 nonces fail 12 bits", wrong)
	}
	for _, bits := range []int{-1, 33, 64} {
		if tr.CheckGrind(nonce, bits) {
			t.Errorf("CheckGrind accepted bits=%d", bits)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Grind(%d) did not panic", bits)
				}
			}()
			tr.Grind(bits)
		}()
	}
	// The nonce is bound to the state: after absorbing more it fails (with
	// overwhelming probability for 12 bits over several tries).
	fails := 0
	for i := range 8 {
		u := *tr
		u.Absorb("more", u64(i))
		if !u.CheckGrind(nonce, 12) {
			fails++
		}
	}
	if fails < 6 {
		t.Errorf("nonce still valid in %d of 8 other states", 8-fails)
	}
}

func TestChallengeAfterGrind(t *testing.T) {
	a := New("p")
	a.Absorb("commit", []byte("root"))
	b := *a
	nonce := a.Grind(10)
	a.Absorb("pow", u64(int(nonce)))
	if a.Challenge("q") == b.Challenge("q") {
		t.Fatal("absorbing the nonce did not change the challenge")
	}
	c, d := *a, *a
	c.Absorb("pow", u64(int(nonce)))
	d.Absorb("pow", u64(int(nonce)+1))
	if c.Challenge("q") == d.Challenge("q") {
		t.Fatal("different nonces give the same challenge")
	}
}

func BenchmarkGrind(b *testing.B) {
	for _, bits := range []int{16, 20} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			tr := New("bench")
			i, tried := 0, 0.0
			for b.Loop() {
				tr.Absorb("i", u64(i)) // fresh state: average over nonces
				tried += float64(tr.Grind(bits) + 1)
				i++
			}
			// Grind returns the smallest passing nonce, so nonce+1 hashes
			// is the sequential work; ns/hash shows the parallel throughput.
			b.ReportMetric(tried/float64(i), "hashes/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/tried, "ns/hash")
		})
	}
}

// BenchmarkGrindHash is the cost of one proof-of-work attempt (one
// single-block SHA-256).
func BenchmarkGrindHash(b *testing.B) {
	tr := New("bench")
	n := uint64(0)
	for b.Loop() {
		tr.CheckGrind(n, 32)
		n++
	}
}

func BenchmarkAbsorbChallenge(b *testing.B) {
	tr := New("bench")
	data := make([]byte, 32)
	for b.Loop() {
		tr.Absorb("root", data)
		tr.Challenge("alpha")
	}
}
