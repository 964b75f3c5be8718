// Package stark is DataDragon's zk-STARK engine: it proves that an
// execution trace satisfies an AIR (algebraic intermediate representation)
// and verifies such proofs, with no trusted setup and only hash-based
// assumptions, so proofs stay sound against quantum adversaries.
//
// The engine is generic. A statement is an Air (trace shape, constraints,
// periodic columns, assertions, the rows its constraints govern and
// whether it is zero-knowledge) plus a trace builder; the engine knows
// nothing of Rescue, hash chains or signatures.
//
// # The statement decides
//
// Everything the verifier checks comes from the statement, never from the
// proof. AirInfo.Rows says which leading rows the constraints govern and
// AirInfo.ZeroKnowledge whether proofs hide the witness; the options a
// proof carries must agree (the same zero-knowledge flag, and no more
// random rows than the statement leaves after its rows), or the proof is
// refused with ErrStatementMismatch. A prover therefore cannot lift
// constraints from rows the verifier meant to check by asking for zero
// knowledge. The transcript absorbs, before the first commitment, the
// statement's name, its public inputs and a canonical encoding of its
// whole description (shape, constrained rows, zero-knowledge flag,
// periodic columns, every constraint's degree, cycles, next-row use and
// row set, every assertion's cell and value), so an AIR whose
// PublicInputs forget a value still binds it, and every option.
//
// # Protocol
//
// The prover interpolates each trace column over the trace domain ⟨g⟩ of n
// rows, evaluates it over the coset c·⟨ω⟩ of m = n·Blowup points (c = 3) and
// commits to the rows with a SHA-256 Merkle tree whose leaf i holds the
// rows of x and −x (positions i and i + m/2). All challenges come from the
// transcript (Fiat–Shamir).
//
// Each constraint C_k must vanish on its row set; its divisor Z_k is that
// set's vanishing polynomial (sparse: products of x^(n/P) − ω terms), so
// constraints on periodic row sets need no selector columns and keep their
// degree. With random α_k from the cubic extension the prover evaluates
// H = Σ α_k C_k/Z_k over a sub-coset just large enough for H's degree,
// interpolates it, splits it into segments H_i of degree < n with
// H(x) = Σ x^(i·s) H_i(x) (s = n without zero knowledge; see below) and
// commits to their extensions. Before it goes on, the prover checks the
// out-of-domain identity itself, so it refuses a trace that breaks a
// constraint instead of emitting an invalid proof.
//
// At a random out-of-domain point z the prover sends every trace column at
// z and g·z and every H_i at z; the verifier recomputes Σ α_k C_k(z)/Z_k(z)
// from those values and compares with Σ z^(i·s) H_i(z). The DEEP
// composition polynomial, a random combination of (f_j(x) − f_j(z))/(x − z),
// (f_j(x) − f_j(gz))/(x − gz) and (H_i(x) − H_i(z))/(x − z), is of degree
// < n − 1 exactly when those claims are honest and every committed column
// has degree < n. FRI proves degree < n of (1 + γx) times it, for a random
// γ (degree adjustment), which is degree < n − 1 of the DEEP polynomial: a
// column committed as a polynomial of degree n, the same rows under
// another commitment, is refused, so proofs are not malleable that way.
// Its first fold
// (by 2, pairing x with −x) is not committed: a query opens the paired trace
// and composition leaf, so the verifier computes both DEEP values and folds
// them itself. The committed layers then fold by FoldingFactor down to a
// remainder sent as coefficients. After a proof of work (GrindingBits) the
// query positions are drawn; the proof opens the trace, the composition and
// every FRI layer there, with compact Merkle multi-proofs.
//
// # Zero knowledge
//
// A zero-knowledge statement leaves the rows after AirInfo.Rows to the
// prover, which fills the last Options.ZKRows() = 4·Queries + 6 of them
// with uniform randomness. A proof then hides the witness; the argument is
// a simulator that, knowing only the statement, produces the values a
// proof reveals with the same distribution. With Q queries at ±x_q:
//
//   - Trace openings. The proof reveals each trace polynomial at x_q and
//     −x_q; the composition values there are functions of the trace at
//     ±x_q and ±g·x_q, and the out-of-domain check reveals it at z and g·z,
//     which lie in F_p³ and count three base-field values each. That is at
//     most 4Q + 6 linear functionals of a column. Restricted to the random
//     rows, evaluation at points outside the trace domain is a Cauchy-like
//     matrix (entries c_y·g^i/(y − g^i)), every square minor of which is
//     invertible for the base points; z is random in F_p³, so with
//     overwhelming probability the extension points add full rank too.
//     With 4Q + 6 random rows the revealed trace values are therefore
//     uniform and independent of the witness: the simulator draws them
//     at random, then computes H at ±x_q and z from them as the verifier
//     would.
//
//   - Composition openings. H itself is now simulated, but each segment
//     H_i depends on every row, so the segments are randomised (in the
//     manner of Haböck and Kindi's note on adding zero knowledge to
//     STARKs, kept at degree < n): consecutive segments overlap by
//     k = 2Q + 1 coefficients (stride s = n − k), and segment i gets a
//     random polynomial r_i of degree < k at its top while segment i+1
//     loses it at its bottom, H'_i = H_i + x^s·r_i − r_(i−1). The sum
//     Σ x^(i·s) H'_i is still H. A segment is opened at the 2Q base points
//     ±x_q and at z: 2Q + 1 points, so r_i, with k random coefficients, makes
//     H'_i uniform there given everything before it (Vandermonde), for
//     i = 0 … d − 2. The simulator draws those openings at random and
//     solves Σ y^(i·s) H'_i(y) = H(y) for the last segment at each point.
//     With one segment there is nothing to split: H'_0 = H is simulated.
//
//   - FRI. A random polynomial M of degree < n is committed as an extra
//     composition column and enters the DEEP combination with a nonzero
//     random weight. The FRI layers and remainder reveal at most the n/2
//     coefficients of the first folded polynomial; with M's 2Q + 1 opened
//     values that is 2Q + 1 + n/2 ≤ n functionals of M (n ≥ 4Q + 8), so
//     they are uniform subject to the consistency the verifier checks at
//     the queries, and the simulator samples them that way.
//
//   - Commitments. Trace and composition leaves carry their position's
//     16 random bytes (Proof.Salts, sent only for opened positions), so
//     the hash of a leaf no query opens, a sibling in a multi-proof,
//     hides its values with SHA-256 as a random oracle; the simulator
//     sends random digests for them. FRI leaves need no salt: every FRI layer is a function of the
//     first folded polynomial, which the simulator has drawn.
//
// Query positions, z and the other challenges are public coins the
// simulator programs the transcript with, as in any Fiat–Shamir
// zero-knowledge argument.
//
// # Security
//
// Options.ConjecturedSecurity gives the conjectured bits (eq. 19 of the
// ethSTARK documentation) and Options.ProvenSecurity the proven bits (its
// eq. 20, in the list-decoding regime). Proven bits are far lower for the
// same options: about 72 for DefaultOptions, which ProvenOptions raise to
// 100. Verify refuses proofs whose options fall below a floor in
// conjectured bits (default 100), or do not fit the statement, checks
// every count in the proof against what it derives itself, and rejects
// non-canonical encodings.
package stark
