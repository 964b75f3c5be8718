package stark

import (
	"fmt"
	"math/bits"
)

// Options are the proof parameters. They travel inside every proof and are
// absorbed into the transcript, so a verifier sees exactly what the prover
// used and can refuse parameters below its security floor.
type Options struct {
	// Blowup is the Reed–Solomon expansion factor of the low-degree
	// extension: a power of two from 2 to 64. Each query then carries
	// log2(Blowup) bits of conjectured soundness.
	Blowup int
	// Queries is the number of FRI query positions.
	Queries int
	// GrindingBits is the proof-of-work the prover performs before the
	// query positions are drawn; it adds directly to soundness.
	GrindingBits int
	// FoldingFactor is the FRI folding factor: 2, 4, 8 or 16.
	FoldingFactor int
	// LastLayerDegree bounds the degree of the final FRI polynomial, sent in
	// the clear as coefficients: a power of two from 1 to 256.
	LastLayerDegree int
	// ZeroKnowledge randomises the trace and masks the composition so that
	// the proof reveals nothing about the witness beyond the statement.
	ZeroKnowledge bool
}

// DefaultOptions gives 129 bits of conjectured security: 37 queries at
// blowup 8 (3 bits each) plus 18 bits of grinding. Blowup 8 rather than 4
// keeps proofs under 100 KB at 128 bits for chains of thousands of hashes;
// 18 grinding bits cost the prover about 12 ms on two cores (20 would cost
// four times that to save one query).
func DefaultOptions() Options {
	return Options{
		Blowup:          8,
		Queries:         37,
		GrindingBits:    18,
		FoldingFactor:   8,
		LastLayerDegree: 64,
	}
}

// Hard limits on options, checked before anything is allocated.
const (
	MaxBlowup       = 64
	MaxQueries      = 512
	MaxGrindingBits = 32
	MaxLastLayer    = 256
)

// Security constants of the conjectured-soundness calculator.
const (
	// extensionBits is log2 |F_p^3|, rounded down.
	extensionBits = 183
	// hashBits is the collision resistance of SHA-256 (half its output),
	// which caps what Merkle commitments and Fiat–Shamir can give.
	hashBits = 128
)

// Validate reports options outside the supported ranges.
func (o Options) Validate() error {
	pow2 := func(v int) bool { return v > 0 && v&(v-1) == 0 }
	switch {
	case !pow2(o.Blowup) || o.Blowup < 2 || o.Blowup > MaxBlowup:
		return fmt.Errorf("stark: blowup %d must be a power of two from 2 to %d", o.Blowup, MaxBlowup)
	case o.Queries < 1 || o.Queries > MaxQueries:
		return fmt.Errorf("stark: %d queries outside 1..%d", o.Queries, MaxQueries)
	case o.GrindingBits < 0 || o.GrindingBits > MaxGrindingBits:
		return fmt.Errorf("stark: %d grinding bits outside 0..%d", o.GrindingBits, MaxGrindingBits)
	case o.FoldingFactor != 2 && o.FoldingFactor != 4 && o.FoldingFactor != 8 && o.FoldingFactor != 16:
		return fmt.Errorf("stark: folding factor %d must be 2, 4, 8 or 16", o.FoldingFactor)
	case !pow2(o.LastLayerDegree) || o.LastLayerDegree > MaxLastLayer:
		return fmt.Errorf("stark: last-layer degree %d must be a power of two from 1 to %d", o.LastLayerDegree, MaxLastLayer)
	}
	return nil
}

// ConjecturedSecurity returns the conjectured bits of security of a proof
// over a trace of traceLength rows with these options:
//
//	min(Queries·log2(Blowup) + GrindingBits,  field bound,  hash bound)
//
// The first term is the FRI query bound of the ethSTARK conjecture (each
// query catches a far-from-low-degree function except with probability
// 1/Blowup; grinding multiplies a cheating prover's work). The field bound
// log2|F_p³| − log2(LDE size) accounts for challenges drawn from the cubic
// extension against polynomials of degree up to the evaluation domain
// size (DEEP and out-of-domain sampling). The hash bound is SHA-256's
// 128-bit collision resistance.
func (o Options) ConjecturedSecurity(traceLength int) int {
	query := o.Queries*bits.TrailingZeros(uint(o.Blowup)) + o.GrindingBits
	lde := bits.Len(uint(traceLength*o.Blowup)) - 1
	fieldBound := extensionBits - lde
	return min(query, fieldBound, hashBits)
}

// ZKRows is the number of trailing trace rows filled with randomness when
// ZeroKnowledge is on. Each query opens every trace polynomial at x and −x
// (a paired leaf) and, through the composition values there, at g·x and
// −g·x; the out-of-domain check adds z and g·z. With at least that many
// random rows (4·Queries + 2) those evaluations are uniformly distributed
// whatever the witness.
func (o Options) ZKRows() int {
	if !o.ZeroKnowledge {
		return 0
	}
	return 4*o.Queries + 2
}

// TraceLengthFor returns the smallest power-of-two trace length that holds
// rows rows of computation plus the rows zero knowledge reserves.
func TraceLengthFor(rows int, o Options) int {
	need := rows + o.ZKRows()
	n := 8
	for n < need {
		n <<= 1
	}
	return n
}
