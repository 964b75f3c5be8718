package ethstark

import (
	"bytes"
	"encoding/hex"
	"testing"

	"golang.org/x/crypto/blake2s"
)

func blake2sHex(n int, key []byte, parts ...[]byte) string {
	out := make([]byte, n)
	blake2sSum(out, key, parts...)
	return hex.EncodeToString(out)
}

// RFC 7693, Appendix B: BLAKE2s-256("abc").
func TestBlake2sRFC7693Abc(t *testing.T) {
	const want = "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
	if got := blake2sHex(32, nil, []byte("abc")); got != want {
		t.Fatalf("BLAKE2s-256(abc) = %s, want %s", got, want)
	}
}

// rfcSelftestSeq is RFC 7693's deterministic test input (Appendix E).
func rfcSelftestSeq(n int, seed uint32) []byte {
	out := make([]byte, n)
	a, b := 0xdead4bad*seed, uint32(1)
	for i := range out {
		t := a + b
		a, b = b, t
		out[i] = byte(t >> 24)
	}
	return out
}

// RFC 7693, Appendix E: the hash of the digests of lengths 16, 20, 28 and
// 32 bytes, keyed and not, of inputs of 0 to 1024 bytes. It covers the
// 20-byte digest ethSTARK's master branch uses.
func TestBlake2sRFC7693Selftest(t *testing.T) {
	const want = "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe"
	var acc []byte
	for _, outLen := range []int{16, 20, 28, 32} {
		for _, inLen := range []int{0, 3, 64, 65, 255, 1024} {
			in := rfcSelftestSeq(inLen, uint32(inLen))
			md := make([]byte, outLen)
			blake2sSum(md, nil, in)
			acc = append(acc, md...)
			blake2sSum(md, rfcSelftestSeq(outLen, uint32(outLen)), in)
			acc = append(acc, md...)
		}
	}
	if got := blake2sHex(32, nil, acc); got != want {
		t.Fatalf("self-test hash %s, want %s", got, want)
	}
}

// Blake2s-160 values: "Hello World!" as ethSTARK's master branch and
// Python's hashlib.blake2s(digest_size=20) compute it, and the empty and
// block-boundary inputs from hashlib.
func TestBlake2s160Known(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Hello World!", "e6076197dab4e568b725421a4356e191f4ac13ab"},
		{"", "354c9c33f735962418bdacb9479873429c34916f"},
		{string(bytes.Repeat([]byte("a"), 64)), "5561e21d611174ed5993bd548cad3b29c7a915cb"},
		{string(bytes.Repeat([]byte("a"), 65)), "a273d3200b9051f966b99617b881a5c554b6dbb1"},
	} {
		if got := blake2sHex(20, nil, []byte(c.in)); got != c.want {
			t.Errorf("Blake2s-160(%d bytes) = %s, want %s", len(c.in), got, c.want)
		}
	}
	// ethSTARK master's test of hashing two digests: h3 = H(h1 ‖ h2),
	// h1 = H("Hello World!"), h2 = H(h1).
	h1, h2 := make([]byte, 20), make([]byte, 20)
	blake2sSum(h1, nil, []byte("Hello World!"))
	blake2sSum(h2, nil, h1)
	if got := blake2sHex(20, nil, h1, h2); got != "042a4d555a0aca24aa204811609c584ea9b2b427" {
		t.Fatalf("H(h1 ‖ h2) = %s", got)
	}
}

// The 32-byte digest, keyed and not, against golang.org/x/crypto for every
// input length up to five blocks, and split into parts at every point.
func TestBlake2s256MatchesXCrypto(t *testing.T) {
	msg := rfcSelftestSeq(5*blake2sBlockSize+1, 7)
	key := rfcSelftestSeq(32, 3)
	kh, err := blake2s.New256(key)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= len(msg); n++ {
		want := blake2s.Sum256(msg[:n])
		var got [32]byte
		blake2sSum(got[:], nil, msg[:n])
		if got != want {
			t.Fatalf("unkeyed, %d bytes: %x, want %x", n, got, want)
		}
		kh.Reset()
		kh.Write(msg[:n])
		blake2sSum(got[:], key, msg[:n])
		if !bytes.Equal(got[:], kh.Sum(nil)) {
			t.Fatalf("keyed, %d bytes: differs", n)
		}
	}
	whole := blake2sHex(20, nil, msg)
	for cut := 0; cut <= len(msg); cut++ {
		if got := blake2sHex(20, nil, msg[:cut], nil, msg[cut:]); got != whole {
			t.Fatalf("split at %d: %s, want %s", cut, got, whole)
		}
	}
}

// A shorter digest is not a prefix of a longer one: the length is hashed.
func TestBlake2sLengthIsAParameter(t *testing.T) {
	d160 := blake2sHex(20, nil, []byte("abc"))
	d256 := blake2sHex(32, nil, []byte("abc"))
	if d256[:40] == d160 {
		t.Fatal("the 20-byte digest is a prefix of the 32-byte one")
	}
}

func BenchmarkBlake2s160(b *testing.B) {
	var in [40]byte
	out := make([]byte, 20)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		blake2sSum(out, nil, in[:])
	}
}

func BenchmarkBlake2s256XCrypto(b *testing.B) {
	var in [40]byte
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		blake2s.Sum256(in[:])
	}
}
