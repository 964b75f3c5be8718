package stark

import (
	"fmt"
	"math"
	"math/bits"
)

// fieldModulus is p = 2^61 + 20·2^32 + 1, the base field's size.
const fieldModulus = 1<<61 + 20<<32 + 1

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

// DefaultOptions gives 128 bits of conjectured security: 37 queries at
// blowup 8 (3 bits each) plus 18 bits of grinding, less ethSTARK's one bit
// (ConjecturedSecurity). Blowup 8 rather than 4 keeps proofs under 100 KB
// at 128 bits for chains of thousands of hashes; 18 grinding bits cost the
// prover about 12 ms on two cores (20 would cost four times that to save
// one query). Their proven security is far lower, 72 bits
// (ProvenSecurity); ProvenOptions reach 100.
func DefaultOptions() Options {
	return Options{
		Blowup:          8,
		Queries:         37,
		GrindingBits:    18,
		FoldingFactor:   8,
		LastLayerDegree: 64,
	}
}

// ProvenOptions are for users who want security that is proven rather than
// conjectured: at least 100 proven bits (ProvenSecurity) for every trace of
// up to 2^20 rows, and 128 conjectured bits. They differ from
// DefaultOptions only in the number of queries, so proofs are about half
// as large again (123.9 KB instead of 84.7 KB for 6,144 hashes) for about
// the same proving time: more queries only open more of what is already
// committed. Each query buys what the Johnson bound allows, about 1.48
// proven bits at blowup 8 instead of the conjectured 3.
func ProvenOptions() Options {
	o := DefaultOptions()
	o.Queries = 57
	return o
}

// Hard limits on options, checked before anything is allocated.
const (
	MaxBlowup       = 64
	MaxQueries      = 512
	MaxGrindingBits = 32
	MaxLastLayer    = 256
)

// Security constants of the soundness calculators.
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
// over a trace of traceLength rows with these options, eq. (19) of the
// ethSTARK documentation with its field term made stricter:
//
//	min(min(Queries·log2(Blowup) + GrindingBits,  field bound) − 1,  hash bound)
//
// The first term is the FRI query bound of the ethSTARK conjecture (each
// query catches a far-from-low-degree function except with probability
// 1/Blowup; grinding multiplies a cheating prover's work). The field bound
// log2|F_p³| − log2(LDE size) accounts for challenges drawn from the cubic
// extension against polynomials of degree up to the evaluation domain
// size (DEEP and out-of-domain sampling). The one bit subtracted is the
// union of the two error terms (the errors before and after the queries
// add up). The hash bound is SHA-256's 128-bit collision resistance.
func (o Options) ConjecturedSecurity(traceLength int) int {
	query := o.Queries*bits.TrailingZeros(uint(o.Blowup)) + o.GrindingBits
	lde := bits.Len(uint(traceLength*o.Blowup)) - 1
	fieldBound := extensionBits - lde
	return min(min(query, fieldBound)-1, hashBits)
}

// ProvenSecurity returns the proven bits of security of a proof over a
// trace of traceLength rows with these options: the bound of eq. (20) of
// the ethSTARK documentation, which combines its knowledge-soundness
// theorem (Theorem 4, eq. 11) with the batched-FRI soundness of
// Ben-Sasson, Carmon, Ishai, Kopparty and Saraf (Theorem 3, eq. 10) in the
// list-decoding regime: up to the Johnson bound 1 − √ρ (ρ = 1/Blowup),
// where a word has a short list of nearby codewords. That is the strongest
// bound proven for this protocol; the unique-decoding regime gives less
// (only (1 − ρ)/2 per query). With D the LDE domain, K = F_p³, ℓ = m/ρ,
// a = Blowup (the largest composition the engine allows) and Σt the FRI
// folding factors:
//
//	ε₀ = ℓ/|K| + (a·n + n + a)·ℓ²/(|K| − a·|D| + n)
//	     + (m+½)⁷·|D|²/(2ρ^{3/2}|K|) + (2m+1)(|D|+1)·Σt/(√ρ·|K|)
//	λ  = min(−log2 ε₀,  GrindingBits − Queries·log2(√ρ·(1 + 1/(2m)))) − 1
//
// The theorem holds for every integer m ≥ 3; larger m makes each query
// worth more and the commit-phase term ε₀ larger, and this returns the
// best m, capped by SHA-256's 128 bits. Each query is worth at most
// log2(1/√ρ) bits, half the conjectured log2(1/ρ), so proven bits are
// far below conjectured ones for the same options.
func (o Options) ProvenSecurity(traceLength int) int {
	rho := 1 / float64(o.Blowup)
	sqrtRho := math.Sqrt(rho)
	k := math.Pow(2, 3*math.Log2(float64(fieldModulus)))
	n := float64(traceLength)
	d := n * float64(o.Blowup)
	a := float64(o.Blowup)
	sumT := 2.0
	for deg := traceLength / 2; deg > o.LastLayerDegree && deg >= o.FoldingFactor; deg /= o.FoldingFactor {
		sumT += float64(o.FoldingFactor)
	}
	best := math.Inf(-1)
	for m := 3; m <= 1024; m++ {
		mf := float64(m)
		l := mf / rho
		e0 := l/k + (a*n+n+a)*l*l/(k-a*d+n) +
			math.Pow(mf+0.5, 7)*d*d/(2*math.Pow(rho, 1.5)*k) +
			(2*mf+1)*(d+1)*sumT/(sqrtRho*k)
		query := float64(o.GrindingBits) - float64(o.Queries)*math.Log2(sqrtRho*(1+1/(2*mf)))
		best = max(best, min(-math.Log2(e0), query)-1)
	}
	return min(int(math.Floor(best)), hashBits)
}

// ZKRows is the number of trace rows after the computation that must hold
// uniform randomness when ZeroKnowledge is on: one per base-field value a
// proof can reveal about each trace polynomial. A query opens every trace
// polynomial at x and −x (a paired leaf), and the composition values there
// are functions of the trace at x, −x, g·x and −g·x: four values per
// query. The out-of-domain point z and g·z lie in F_p³, so each of those
// two evaluations is three base-field linear functionals of the rows: six
// more. With 4·Queries + 6 random rows every revealed evaluation is
// uniformly distributed whatever the witness (doc.go gives the argument).
func (o Options) ZKRows() int {
	if !o.ZeroKnowledge {
		return 0
	}
	return 4*o.Queries + 6
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
