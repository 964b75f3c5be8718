package chain

import (
	"testing"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/evil"
	"github.com/datadragon/datadragon/zk/stark"
)

// TestForgeriesAreRejected is the evil-prover table for the hash-chain
// statement: every forgery goes through the proof file encoding and
// Verify at the default floor, with default options, and must be refused.
func TestForgeriesAreRejected(t *testing.T) {
	const n = 12 // four batches, 128 rows
	opts := stark.DefaultOptions()
	witness := RandomWitness(n, 40)
	traceLen := stark.TraceLengthFor(RowsFor(n), opts)
	build := func(w []Word) (stark.Trace, Statement) {
		tr, st, err := BuildTrace(w, traceLen)
		if err != nil {
			t.Fatal(err)
		}
		return tr, st
	}
	_, st := build(witness)
	honest, err := Prove(witness, opts)
	if err != nil {
		t.Fatal(err)
	}
	// forge proves trace as claim with the cheating prover's liberties.
	forge := func(claim Statement, tr stark.Trace, cfg evil.Config) *Proof {
		t.Helper()
		air, err := NewAirFor(claim, opts)
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := evil.Prove(air, tr, opts, cfg)
		if err != nil {
			t.Fatalf("the cheating prover failed, so the forgery tests nothing: %v", err)
		}
		return &Proof{Statement: claim, STARK: p}
	}
	wrongCell := func() stark.Trace {
		tr, _ := build(witness)
		tr[3][40] = tr[3][40].Add(field.One())
		return tr
	}
	otherOutput := st
	otherOutput.Output[1] = otherOutput.Output[1].Add(field.One())
	longer := st
	longer.Length = n + 1
	shorter := st
	shorter.Length = n - 1
	// A trace valid on its first half only: the second half is another
	// chain's, so the batch link breaks at row 63.
	partial, _ := build(witness)
	other, _ := build(RandomWitness(n, 41))
	for j := range partial {
		copy(partial[j][64:], other[j][64:])
	}
	if stark.CheckTrace(mustAir(t, st, opts), partial) == nil {
		t.Fatal("setup: the half-valid trace satisfies the statement")
	}
	skip := evil.Config{SkipChecks: true}
	cases := []struct {
		name  string
		proof *Proof
	}{
		{"one wrong trace cell", forge(st, wrongCell(), skip)},
		{"wrong public output", forge(otherOutput, func() stark.Trace { tr, _ := build(witness); return tr }(), skip)},
		{"wrong length (longer)", forge(longer, func() stark.Trace {
			// The claimed length needs 256 rows: the honest chain padded.
			tr, _, err := BuildTrace(witness, 2*traceLen)
			if err != nil {
				t.Fatal(err)
			}
			return tr
		}(), skip)},
		{"wrong length (shorter)", forge(shorter, func() stark.Trace { tr, _ := build(witness); return tr }(), skip)},
		{"trace valid on part of the domain", forge(st, partial, skip)},
		{"too-high-degree composition (out-of-domain values forged)", forge(st, wrongCell(), evil.Config{SkipChecks: true, ForgeOOD: true})},
		{"too-high-degree FRI last layer", forge(st, wrongCell(), evil.Config{SkipChecks: true, ForgeOOD: true, ForgeLastLayer: true})},
		{"honest proof reused with another output", &Proof{Statement: otherOutput, STARK: honest.STARK}},
		{"honest proof reused with another length", &Proof{Statement: longer, STARK: honest.STARK}},
	}
	if err := verifyFile(t, honest); err != nil {
		t.Fatalf("the honest proof the forgeries start from: %v", err)
	}
	for _, c := range cases {
		err := verifyFile(t, c.proof)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
	}
}

func mustAir(t *testing.T, s Statement, opts stark.Options) *Air {
	t.Helper()
	a, err := NewAirFor(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// verifyFile encodes p as a proof file, parses it back and verifies it at
// the default floor. Encoding errors fail the test: a forgery must reach
// the verifier.
func verifyFile(t *testing.T, p *Proof) error {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseProof(b)
	if err != nil {
		return err
	}
	return Verify(q, 0)
}
