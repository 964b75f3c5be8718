// Package stark is DataDragon's zk-STARK engine: it proves that an
// execution trace satisfies an AIR (algebraic intermediate representation)
// and verifies such proofs, with no trusted setup and only hash-based
// assumptions, so proofs stay sound against quantum adversaries.
//
// The engine is generic. A statement is an Air (trace shape, constraints,
// periodic columns, assertions) plus a trace builder; the engine knows
// nothing of Rescue, hash chains or signatures.
//
// # Protocol
//
// The prover interpolates each trace column over the trace domain ⟨g⟩ of n
// rows, evaluates it over the coset c·⟨ω⟩ of m = n·Blowup points (c = 3) and
// commits to the rows with a SHA-256 Merkle tree whose leaf i holds the
// rows of x and −x (positions i and i + m/2). A transcript absorbs the
// statement name, public inputs, trace shape and every option before that
// commitment; all challenges come from it (Fiat–Shamir).
//
// Each constraint C_k must vanish on its row set; its divisor Z_k is that
// set's vanishing polynomial (sparse: products of x^(n/P) − ω terms), so
// constraints on periodic row sets need no selector columns and keep their
// degree. With random α_k from the cubic extension the prover evaluates
// H = Σ α_k C_k/Z_k over a sub-coset just large enough for H's degree,
// interpolates it, splits it into segments H_i of degree < n with
// H(x) = Σ x^(i·n) H_i(x) and commits to their extensions.
//
// At a random out-of-domain point z the prover sends every trace column at
// z and g·z and every H_i at z; the verifier recomputes Σ α_k C_k(z)/Z_k(z)
// from those values and compares with Σ z^(i·n) H_i(z). The DEEP
// composition polynomial, a random combination of (f_j(x) − f_j(z))/(x − z),
// (f_j(x) − f_j(gz))/(x − gz) and (H_i(x) − H_i(z))/(x − z), is of degree
// < n exactly when those claims are honest; FRI proves that. Its first fold
// (by 2, pairing x with −x) is not committed: a query opens the paired trace
// and composition leaf, so the verifier computes both DEEP values and folds
// them itself. The committed layers then fold by FoldingFactor down to a
// remainder sent as coefficients. After a proof of work (GrindingBits) the
// query positions are drawn; the proof opens the trace, the composition and
// every FRI layer there, with compact Merkle multi-proofs.
//
// # Zero knowledge
//
// With Options.ZeroKnowledge the last ZKRows() trace rows hold uniform
// randomness (constraints are not enforced there), so the openings of the
// trace polynomials at the query points, their successors and z, g·z are
// uniformly distributed; a random polynomial of degree < n is committed as
// an extra composition column and enters the DEEP combination, masking
// every value FRI reveals.
//
// # Security
//
// Options.ConjecturedSecurity gives the conjectured bits (see its doc).
// Verify refuses proofs whose options fall below a floor (default 100
// bits), checks every count in the proof against what it derives itself,
// and rejects non-canonical encodings.
package stark
