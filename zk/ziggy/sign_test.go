package ziggy

import (
	"bytes"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/evil"
	"github.com/datadragon/datadragon/zk/stark"
)

// testKey returns a deterministic key for index i.
func testKey(t testing.TB, i int) *PrivateKey {
	t.Helper()
	seed := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("ziggy test key"), uint64(i)))
	priv, err := NewKeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// sharedSig is one signature many tests inspect, made once.
var sharedSig = sync.OnceValues(func() ([]byte, error) {
	priv, _ := NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, PrivateKeySize))
	return Sign(priv, []byte("the shared test message"))
})

func signedFixture(t testing.TB) (*PrivateKey, []byte, []byte) {
	t.Helper()
	priv, _ := NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, PrivateKeySize))
	sig, err := sharedSig()
	if err != nil {
		t.Fatal(err)
	}
	return priv, []byte("the shared test message"), sig
}

func TestDefaultOptions(t *testing.T) {
	o := DefaultOptions()
	if err := checkOptions(o); err != nil {
		t.Fatal(err)
	}
	n := traceLength(o)
	if bits := o.ConjecturedSecurity(n); bits < MinSecurity {
		t.Fatalf("default options give %d bits, want at least %d", bits, MinSecurity)
	}
	// The design point: a 128-row trace whose DEEP composition, folded
	// once by the engine, has degree below 64 and is sent whole as the FRI
	// remainder, so no FRI layer is committed.
	if n != 128 || o.LastLayerDegree < n/2 {
		t.Fatalf("default options give a trace of %d rows and last layer %d; the size analysis assumes 128 rows and no FRI layer", n, o.LastLayerDegree)
	}
	if r := o.ZKRows(); n-computationRows < r {
		t.Fatalf("%d rows leave no room for %d random rows", n, r)
	}
}

func TestSignVerifyRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	messages := [][]byte{nil, {0x00}, big, []byte("attestation: chunk 17 of stream s has digest d")}
	keys := []*PrivateKey{testKey(t, 1), testKey(t, 2), testKey(t, 3)}
	for _, v := range loadKeyVectors(t)[:2] {
		k, err := ParsePrivateKeyHex(v.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for ki, priv := range keys {
		for mi, msg := range messages {
			if (ki+mi)%2 == 1 && len(msg) == len(big) && ki > 1 {
				continue // the 1 MiB message with three keys is plenty
			}
			sig, err := Sign(priv, msg)
			if err != nil {
				t.Fatalf("key %d message %d: %v", ki, mi, err)
			}
			if err := Verify(priv.Public(), msg, sig); err != nil {
				t.Fatalf("key %d message %d: %v", ki, mi, err)
			}
			other := messages[(mi+1)%len(messages)]
			if err := Verify(priv.Public(), other, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("key %d message %d: verified against another message: %v", ki, mi, err)
			}
			otherKey := keys[(ki+1)%len(keys)].Public()
			if err := Verify(otherKey, msg, sig); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("key %d message %d: verified under another public key: %v", ki, mi, err)
			}
		}
	}
}

// TestMessageBinding: messages that differ in one bit, or only by where pk
// ends and the message starts, are different statements.
func TestMessageBinding(t *testing.T) {
	priv, msg, sig := signedFixture(t)
	for i := range msg {
		m := append([]byte(nil), msg...)
		m[i] ^= 1 << (i % 8)
		if Verify(priv.Public(), m, sig) == nil {
			t.Fatalf("signature verified with message bit %d flipped", i)
		}
	}
	for _, m := range [][]byte{msg[:len(msg)-1], append(append([]byte(nil), msg...), 0)} {
		if Verify(priv.Public(), m, sig) == nil {
			t.Fatalf("signature verified for %q", m)
		}
	}
	pub := priv.Public()
	d := messageDigest(pub, msg)
	want := sha256.Sum256(append(append([]byte("datadragon/ziggy/v1"), pub.Bytes()...), msg...))
	if *d != want {
		t.Fatal("message digest differs from its documented definition")
	}
	if pi := publicInputs(pub, d); !bytes.Equal(pi, append(pub.Bytes(), want[:]...)) {
		t.Fatal("public inputs differ from pk ‖ digest")
	}
}

// flipPositions lists the bytes TestEveryByteFlipIsRejected flips: all of
// them, or under the race detector (where it would take most of a minute)
// every byte of the first KiB, which holds the header, the commitments, the
// out-of-domain values and the FRI remainder, and every fifth byte after.
func flipPositions(n int) []int {
	var pos []int
	for i := range n {
		if !raceEnabled || i < 1024 || i%5 == 0 || i >= n-64 {
			pos = append(pos, i)
		}
	}
	return pos
}

// TestEveryByteFlipIsRejected flips one bit of every byte of a signature
// in turn (bit i mod 8 of byte i); no flipped signature may verify. The
// verifications run on every core.
func TestEveryByteFlipIsRejected(t *testing.T) {
	t.Parallel()
	priv, msg, sig := signedFixture(t)
	pub := priv.Public()
	positions := flipPositions(len(sig))
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, len(positions))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			bad := append([]byte(nil), sig...)
			for k := w; k < len(positions); k += workers {
				i := positions[k]
				bad[i] ^= 1 << (i % 8)
				errs[k] = Verify(pub, msg, bad)
				bad[i] = sig[i]
			}
		})
	}
	wg.Wait()
	for k, err := range errs {
		i := positions[k]
		if err == nil {
			t.Fatalf("signature with byte %d of %d flipped verified", i, len(sig))
		}
		if !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("byte %d: error %v does not wrap ErrInvalidSignature", i, err)
		}
	}
}

func TestTruncatedOrExtendedIsRejected(t *testing.T) {
	t.Parallel()
	priv, msg, sig := signedFixture(t)
	pub := priv.Public()
	for n := 0; n < len(sig); n++ {
		if Verify(pub, msg, sig[:n]) == nil {
			t.Fatalf("signature truncated to %d of %d bytes verified", n, len(sig))
		}
	}
	for _, tail := range [][]byte{{0}, {1, 2, 3}, sig[:64]} {
		if Verify(pub, msg, append(append([]byte(nil), sig...), tail...)) == nil {
			t.Fatalf("signature with %d bytes appended verified", len(tail))
		}
	}
}

func TestSignaturesAreRandomised(t *testing.T) {
	priv, msg, sig := signedFixture(t)
	again, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sig, again) {
		t.Fatal("two signatures of the same message are identical")
	}
	if err := Verify(priv.Public(), msg, again); err != nil {
		t.Fatal(err)
	}
}

// openedValues returns every field element a signature reveals: the trace
// and composition openings, the out-of-domain values and the FRI
// remainder and openings (extension elements split into coefficients).
func openedValues(t *testing.T, sig []byte) (trace, all []field.Element) {
	t.Helper()
	s, err := ParseSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	p := s.proof
	ext := func(dst []field.Element, v ...field.Ext) []field.Element {
		for _, x := range v {
			dst = append(dst, x.A0, x.A1, x.A2)
		}
		return dst
	}
	for _, row := range p.Trace.Rows {
		trace = append(trace, row...)
	}
	trace = ext(trace, p.OODTrace...)
	trace = ext(trace, p.OODTraceNext...)
	all = append(all, trace...)
	for _, row := range p.Composition.Rows {
		all = ext(all, row...)
	}
	all = ext(all, p.OODComposition...)
	all = ext(all, p.Remainder...)
	for _, o := range p.FRI {
		for _, row := range o.Rows {
			all = ext(all, row...)
		}
	}
	return trace, all
}

// TestOpeningsRevealNothing: nothing a signature opens is an element of the
// secret preimage, the bytes of the private key and of the secret appear
// nowhere in it, and two signatures (of different messages, or of the same
// one) share no opened value.
func TestOpeningsRevealNothing(t *testing.T) {
	priv, msg, sig1 := signedFixture(t)
	sig2, err := Sign(priv, []byte("another message"))
	if err != nil {
		t.Fatal(err)
	}
	sig3, err := Sign(priv, msg)
	if err != nil {
		t.Fatal(err)
	}
	secret := map[field.Element]bool{}
	for _, e := range priv.secret {
		secret[e] = true
	}
	sets := make([]map[field.Element]bool, 3)
	for i, sig := range [][]byte{sig1, sig2, sig3} {
		trace, all := openedValues(t, sig)
		if len(trace) < DefaultOptions().Queries*width {
			t.Fatalf("signature %d opens only %d trace values", i, len(trace))
		}
		for _, v := range all {
			if secret[v] {
				t.Fatalf("signature %d opens a secret-preimage element", i)
			}
		}
		for _, e := range priv.secret {
			if bytes.Contains(sig, e.AppendBytes(nil)) {
				t.Fatalf("signature %d contains the encoding of a secret-preimage element", i)
			}
		}
		for k := 0; k+8 <= PrivateKeySize; k++ {
			if bytes.Contains(sig, priv.seed[k:k+8]) {
				t.Fatalf("signature %d contains 8 bytes of the private key", i)
			}
		}
		sets[i] = map[field.Element]bool{}
		for _, v := range trace {
			sets[i][v] = true
		}
	}
	for i := range sets {
		for j := i + 1; j < len(sets); j++ {
			for v := range sets[j] {
				if sets[i][v] {
					t.Fatalf("signatures %d and %d open the same trace value", i, j)
				}
			}
		}
	}
}

func TestSecurityFloor(t *testing.T) {
	priv := testKey(t, 9)
	msg := []byte("weak")
	weak := DefaultOptions()
	weak.Queries, weak.GrindingBits = 20, 11 // 100 + 11 − 1 = 110 bits
	sig, err := SignWithOptions(priv, msg, weak)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	if s.SecurityBits() != 110 || s.Options() != weak {
		t.Fatalf("signature reports %d bits, options %+v", s.SecurityBits(), s.Options())
	}
	err = Verify(priv.Public(), msg, sig)
	if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "floor") {
		t.Fatalf("Verify of a 110-bit signature: %v", err)
	}
	if err := VerifyWithFloor(priv.Public(), msg, sig, 100); err != nil {
		t.Fatalf("VerifyWithFloor(100) of a 110-bit signature: %v", err)
	}
	// The engine's floor holds whatever is asked.
	weaker := weak
	weaker.Queries = 15 // 75 + 11 − 1
	sig, err = SignWithOptions(priv, msg, weaker)
	if err != nil {
		t.Fatal(err)
	}
	if VerifyWithFloor(priv.Public(), msg, sig, 1) == nil {
		t.Fatal("an 85-bit signature verified with floor 1")
	}
}

func TestZeroKnowledgeIsRequired(t *testing.T) {
	priv := testKey(t, 10)
	o := DefaultOptions()
	o.ZeroKnowledge = false
	if _, err := SignWithOptions(priv, nil, o); err == nil {
		t.Fatal("SignWithOptions without zero knowledge succeeded")
	}
	if _, err := Sign(nil, nil); err == nil {
		t.Fatal("Sign(nil) succeeded")
	}
	// A valid proof of the statement that is not zero-knowledge (it would
	// leak the secret) is not a signature.
	// The engine refuses to make one (the statement is zero-knowledge), so
	// a cheating prover that lets the options decide makes it.
	n := traceLength(o)
	a := newAir(priv.Public(), messageDigest(priv.Public(), nil), n)
	tr, err := buildTrace(&priv.secret, n, crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stark.Prove(a, cloneTrace(tr), o); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("the engine proved the statement without zero knowledge: %v", err)
	}
	proof, _, err := evil.Prove(a, tr, o, evil.Config{LiftRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := stark.Verify(a, proof, MinSecurity); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("the engine verified a proof without zero knowledge of a zero-knowledge statement: %v", err)
	}
	sig, err := (&Signature{proof: proof}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(priv.Public(), nil, sig); err == nil || !strings.Contains(err.Error(), "zero-knowledge") {
		t.Fatalf("Verify of a proof without zero knowledge: %v", err)
	}
}

func TestParseSignatureErrors(t *testing.T) {
	_, _, sig := signedFixture(t)
	v2 := append([]byte(nil), sig...)
	v2[7] = 2
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":     {nil, "bad magic"},
		"magic":     {sig[:8], "malformed"},
		"chain":     {[]byte("DDCHAIN\x01xxxxxxxxxxxxxxxxxxxx"), "bad magic"},
		"version 2": {v2, "version 2"},
		"huge":      {make([]byte, MaxSignatureSize+1), "limit"},
	}
	for name, c := range cases {
		_, err := ParseSignature(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
	s, err := ParseSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.MarshalBinary()
	if err != nil || !bytes.Equal(again, sig) {
		t.Fatal("MarshalBinary(ParseSignature(sig)) differs from sig")
	}
}

func TestSignatureText(t *testing.T) {
	priv, msg, sig := signedFixture(t)
	h, b64 := EncodeHex(sig), EncodeBase64(sig)
	if !strings.HasPrefix(h, "0x") || strings.HasPrefix(b64, "0x") {
		t.Fatalf("encodings: %.10s… %.10s…", h, b64)
	}
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(b64)
	for _, text := range []string{h, b64, "  " + b64 + "\n", strings.TrimRight(b64, "="), urlSafe, "0x" + strings.ToUpper(h[2:]), "0X" + h[2:]} {
		got, err := DecodeText(text)
		if err != nil || !bytes.Equal(got, sig) {
			t.Fatalf("DecodeText(%.12s…): %v", text, err)
		}
	}
	if err := Verify(priv.Public(), msg, mustDecode(t, b64)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "0xzz", "0x123", "not base64!", strings.Repeat("A", 2*MaxSignatureSize+8)} {
		if got, err := DecodeText(bad); err == nil && len(got) > 0 {
			t.Errorf("DecodeText(%.12q) accepted", bad)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := DecodeText(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseSignature: the decoder never panics, accepts only canonical
// encodings, and Verify never panics on what it accepts.
func FuzzParseSignature(f *testing.F) {
	sig, err := sharedSig()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Add(sig[:len(sig)/2])
	f.Add(sig[:9])
	f.Add([]byte("DDZIGGY\x01DDSTARK\x02"))
	f.Add([]byte{})
	pub, _ := NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, PrivateKeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSignature(b)
		if err != nil {
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding (%v)", err)
		}
		_ = Verify(pub.Public(), []byte("the shared test message"), b)
	})
}

func FuzzDecodeText(f *testing.F) {
	f.Add("0x00")
	f.Add("REVaSUdHWQE=")
	f.Add("  \n")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeText(s)
		if err == nil && len(b) > MaxSignatureSize+1 {
			t.Fatalf("decoded %d bytes", len(b))
		}
	})
}

func FuzzParseKeyFiles(f *testing.F) {
	priv, _ := NewKeyFromSeed(bytes.Repeat([]byte{1}, PrivateKeySize))
	f.Add(MarshalPrivateKeyFile(priv))
	f.Add(MarshalPublicKeyFile(priv.Public()))
	f.Add([]byte(priv.Public().String()))
	f.Add([]byte(`{"type":"datadragon/ziggy/public-key","version":1,"public_key":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParsePrivateKeyFile(b); err == nil {
			if _, err := ParsePrivateKeyFile(MarshalPrivateKeyFile(k)); err != nil {
				t.Fatalf("re-encoded private key file does not parse: %v", err)
			}
		}
		if pub, err := ParsePublicKeyFile(b); err == nil {
			if got, err := ParsePublicKeyFile(MarshalPublicKeyFile(pub)); err != nil || got != pub {
				t.Fatalf("re-encoded public key file: %v", err)
			}
		}
	})
}

// TestTraceLengthIsTheSignersChoice: Verify accepts the trace length a
// signature claims (how many random rows to add is the signer's concern),
// within bounds.
func TestTraceLengthIsTheSignersChoice(t *testing.T) {
	priv := testKey(t, 11)
	msg := []byte("n")
	o := DefaultOptions()
	if n := traceLength(o); n != 128 {
		t.Fatalf("default trace length %d, want 128", n)
	}
	for _, n := range []int{256, 512} {
		sig, err := sign(priv, msg, o, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(priv.Public(), msg, sig); err != nil {
			t.Fatalf("%d rows: %v", n, err)
		}
	}
	for _, n := range []int{8, 48, 8192} {
		if checkTraceLength(n) == nil {
			t.Errorf("trace length %d accepted", n)
		}
	}
	// 64 rows leave 53 after the hash, fewer than the 4·Queries+6 random
	// rows the options need: the engine refuses to sign.
	if _, err := sign(priv, msg, o, 64); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Errorf("signing in 64 rows: %v, want ErrStatementMismatch", err)
	}
}
