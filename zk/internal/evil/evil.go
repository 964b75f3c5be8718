// Package evil is a cheating STARK prover for tests: the engine's prover
// with its own checks switched off and with the liberties a forger would
// take. Every statement's tests use it to show that the real verifier,
// through the real encoding and parsing, rejects what it forges. It is
// internal to zk and imported only by tests.
package evil

import (
	"errors"
	"io"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/internal/cheat"
	"github.com/datadragon/datadragon/zk/stark"
)

// Config says which liberties the cheating prover takes.
type Config struct {
	// SkipChecks proves a trace that does not satisfy the AIR: the
	// prover's checks of the composition's degree, the out-of-domain
	// identity and the DEEP polynomial's degree are off.
	SkipChecks bool
	// ForgeOOD fixes the last composition segment's claimed value at z so
	// that the out-of-domain check passes whatever the trace; FRI must
	// then catch it.
	ForgeOOD bool
	// ForgeLastLayer sends the last FRI layer with twice the coefficients
	// its degree bound allows, as a prover with a high-degree DEEP
	// polynomial would need.
	ForgeLastLayer bool
	// HighDegreeTrace commits trace column 0 as a polynomial of degree n
	// (the honest one plus x^n − 1): the same rows, another commitment,
	// with consistent out-of-domain values.
	HighDegreeTrace bool
	// LiftRows lets the options decide what the statement should: the
	// proof uses the options' zero-knowledge flag, and with zero knowledge
	// the constraints govern only the rows the options' random rows leave
	// (TraceLength − ZKRows), whatever the statement declares.
	LiftRows bool
	// SolveAssertions > 0 chooses the values of the AIR's last
	// SolveAssertions assertions after seeing the challenges, so that the
	// out-of-domain check holds for any committed trace: the values
	// returned make a statement whose transcript, if it did not bind them,
	// would verify. At most 3 (one equation in F_p³).
	SolveAssertions int
	// Rand supplies the zero-knowledge randomness (crypto/rand if nil).
	Rand io.Reader
}

// Prove makes a proof of trace for air under opts with cfg's liberties. It
// returns the solved assertion values when cfg.SolveAssertions > 0. The
// trace is consumed, as by stark.Prove.
func Prove(air stark.Air, trace stark.Trace, opts stark.Options, cfg Config) (*stark.Proof, []field.Element, error) {
	if cfg.SolveAssertions < 0 || cfg.SolveAssertions > 3 {
		return nil, nil, errors.New("evil: SolveAssertions must be 0 to 3")
	}
	p, solved, err := cheat.Prove(air, trace, opts, cheat.Config(cfg))
	if err != nil {
		return nil, nil, err
	}
	return p.(*stark.Proof), solved, nil
}

// Encode round-trips p through its encoding, as a verifier receives it.
func Encode(p *stark.Proof) (*stark.Proof, error) {
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return stark.ParseProof(b)
}
