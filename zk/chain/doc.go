// Package chain is the Rescue hash-chain statement as an AIR:
//
//	"I know w0, …, wn (4 field elements each) such that
//	 H(…H(H(w0, w1), w2)…, wn) = out"
//
// for any length n ≥ 1, where H is rescue.HashPair. The public statement
// is (n, out); the witness never leaves the prover. BuildTrace computes
// the trace, NewAir the constraints, and stark proves and verifies them.
// It follows the hash-chain AIR of the ethSTARK documentation (§3), with a
// smaller constraint set.
//
// # Trace
//
// Twelve columns hold a Rescue state. Each batch of 32 rows holds three
// consecutive hashes A, B, C of the chain (row offsets within a batch):
//
//	0        input of A: left ‖ right ‖ 0 0 0 0 (before K0 is added)
//	1..10    middle states m_1..m_10 of A
//	11..20   middle states of B
//	21..30   middle states of C
//	31       final state of C (its first four elements are C's output)
//
// Hash i (1-based) sits at position (i−1) mod 3 of batch (i−1)/3. Its left input is the
// previous output (w0 for hash 1) and its right input is wi. The rows of
// an n-hash chain are RowsFor(n) = 32·⌈n/3⌉; the rest of the power-of-two
// trace holds padding hashes continuing the chain with right input 0, so
// every constraint holds on every row and no selector is needed.
//
// # Constraints
//
// Every row stores a middle state, so one round links two rows: going
// forward from the current row and backward from the next one must meet
// at the full state s_r. With c = cur³ (elementwise):
//
//	F = M·c + kf                  forward half round: s_ρ from m_ρ
//	B = (M⁻¹·next − kb)³          backward half round: s_ρ from m_(ρ+1)
//
// Both have degree 3. kf and kb are periodic columns (period 32, 24 in
// all): at a row holding round ρ, kf = K(2ρ) and kb = M⁻¹·K(2ρ+1) (at rows
// 0, 10 and 20, which precede a first round, kb = M⁻¹·K1). Storing M⁻¹·K
// rather than K lets one product M⁻¹·next serve every row. At rows 10 and
// 20 the first four entries of kf also carry K0: the output of A (or B)
// plus K0 is exactly the start of the next hash. Periodic values are only
// ever added, so they never raise a degree.
//
//	group      rows (mod 32)       j       numerator           degree
//	capZero    0                   8..11   cur[j]                 1
//	firstHalf  0                   0..7    cur[j] + K0[j] − B[j]  3
//	capReset   0, 10, 20           8..11   B[j] − K0[j]           3
//	roundStep  1..29               0..3    F[j] − B[j]            3
//	roundStep  1..29 ∖ {10, 20}    4..11   F[j] − B[j]            3
//	lastHalf   30                  0..11   F[j] − next[j]         3
//	batchLink  31                  0..3    next[j] − cur[j]       1
//	output     32b + 10(q+1)       0..3    M·c[j] + K20[j] − out[j]  3
//
// All but capZero and output read the next row. firstHalf and capReset
// say the first round of A starts from (left, right, 0) + K0; at rows 10
// and 20, roundStep on j < 4 links B's (C's) left input to A's (B's)
// output, j = 4..7 is left free for the witness, and capReset restarts
// the capacity at zero. lastHalf writes C's final state to row 31 and
// batchLink makes it the left input of the next batch.
//
// The output of hash n (batch b = (n−1)/3, position q = (n−1) mod 3) is
// four assertions on row 32b+31 when q = 2, and otherwise the output group
// on the row of A's or B's last middle state. batchLink is left out when
// the chain fits in one batch (n ≤ 3): it would only tie padding to the
// chain, and with zero-knowledge rows it might apply on no row at all.
//
// That is 40 constraints, plus 4 for batchLink and 4 for the output when
// present: 48 at most (ethSTARK's AIR has 52, a straightforward split by
// row type 56). Every trace cell of the used rows is constrained: changing
// any single one is caught (a test changes each in turn).
//
// With zero knowledge (Options.ZeroKnowledge) the statement leaves the
// last Options.ZKRows() rows to randomness and constrains all the others
// (NewAirFor); Prove and Verify derive the trace length and those rows
// from the options in the same way, so the chain's rows are always
// constrained.
//
// EvaluateBase computes c, M·c, M⁻¹·next and B once per point: two 12×12
// matrix–vector products with one reduction per row, and 24 cubes.
package chain
