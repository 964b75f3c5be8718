package ziggy

import (
	crand "crypto/rand"
	"errors"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/evil"
	"github.com/datadragon/datadragon/zk/stark"
)

func cloneTrace(t stark.Trace) stark.Trace {
	c := make(stark.Trace, len(t))
	for i := range t {
		c[i] = append([]field.Element(nil), t[i]...)
	}
	return c
}

// forge signs msg for victim with a cheating prover over trace and
// returns the encoded signature.
func forge(t *testing.T, victim PublicKey, msg []byte, trace stark.Trace, opts stark.Options, cfg evil.Config) []byte {
	t.Helper()
	a := newAir(victim, messageDigest(victim, msg), len(trace[0]))
	proof, _, err := evil.Prove(a, trace, opts, cfg)
	if err != nil {
		t.Fatalf("the cheating prover failed, so the forgery tests nothing: %v", err)
	}
	sig, err := (&Signature{proof: proof}).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestForgeriesAreRejected: every signature a forger can make without the
// victim's secret, or for another message or key, is rejected by Verify
// at the default floor, through the real encoding.
func TestForgeriesAreRejected(t *testing.T) {
	victim := testKey(t, 20)
	forger := testKey(t, 21)
	msg := []byte("pay 10 to Alice")
	o := DefaultOptions()
	n := traceLength(o)
	honest, err := Sign(victim, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(victim.Public(), msg, honest); err != nil {
		t.Fatalf("the honest signature the forgeries start from: %v", err)
	}
	ownTrace := func(secret *[SecretLen]field.Element) stark.Trace {
		tr, err := buildTrace(secret, n, crand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	wrongCell := ownTrace(&victim.secret)
	wrongCell[5][7] = wrongCell[5][7].Add(field.One())
	cases := []struct {
		name string
		pub  PublicKey
		msg  []byte
		sig  []byte
	}{
		{"another message", victim.Public(), []byte("pay 10 to Mallory"), honest},
		{"another key", forger.Public(), msg, honest},
		{"forger's own trace in the victim's statement", victim.Public(), msg,
			forge(t, victim.Public(), msg, ownTrace(&forger.secret), o, evil.Config{SkipChecks: true})},
		{"forger's own trace, out-of-domain values forged", victim.Public(), msg,
			forge(t, victim.Public(), msg, ownTrace(&forger.secret), o, evil.Config{SkipChecks: true, ForgeOOD: true})},
		{"forger's own trace, last FRI layer of too high degree", victim.Public(), msg,
			forge(t, victim.Public(), msg, ownTrace(&forger.secret), o, evil.Config{SkipChecks: true, ForgeOOD: true, ForgeLastLayer: true})},
		{"one wrong trace cell", victim.Public(), msg,
			forge(t, victim.Public(), msg, wrongCell, o, evil.Config{SkipChecks: true})},
	}
	for _, c := range cases {
		err := Verify(c.pub, c.msg, c.sig)
		if !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: Verify = %v, want ErrInvalidSignature", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
}

// TestShortTraceForgeryIsRejected plays a forger who does not know the
// secret and wants the output constraint (row 10, "the digest is the
// public key") off: a trace so short that the options' random rows would
// cover the hash's last rows. The statement declares that it governs the
// first 11 rows, so neither the honest prover nor a cheating one that
// lets the options decide the rows gets such a proof.
func TestShortTraceForgeryIsRejected(t *testing.T) {
	victim := testKey(t, 12)
	forger := testKey(t, 13)
	o := DefaultOptions()
	o.Queries = 12 // 54 random rows leave 10 of a 64-row trace
	const n = 64
	msg := []byte("forged")
	a := newAir(victim.Public(), messageDigest(victim.Public(), msg), n)
	tr, err := buildTrace(&forger.secret, n, crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if n-o.ZKRows() != computationRows-1 {
		t.Fatalf("setup no longer leaves the output row to randomness: %d random rows of %d", o.ZKRows(), n)
	}
	if _, err := stark.Prove(a, cloneTrace(tr), o); !errors.Is(err, stark.ErrStatementMismatch) {
		t.Fatalf("the engine proved a statement whose random rows cover its output row: %v", err)
	}
	if _, _, err := evil.Prove(a, cloneTrace(tr), o, evil.Config{LiftRows: true, SkipChecks: true}); err == nil {
		t.Fatal("the engine let a constraint lose every row it governs")
	}
}
