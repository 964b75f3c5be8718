// Package ethstark verifies proofs made by StarkWare's ethSTARK (the
// "ziggy" branch): Ziggy signatures and Rescue hash-chain proofs, exactly
// as ethSTARK's own verifier checks them; and it makes them.
//
// DataDragon's engine (zk/stark) has its own proof format, transcript and
// Merkle trees; the seed system signs with ethSTARK's C++ Ziggy, whose
// signatures that engine cannot read. This package is a second, separate
// verifier for ethSTARK's format, so that DataDragon can check what the
// seed made. It shares only the field (zk/field), the NTTs its provers use
// (zk/poly) and the Rescue constants (zk/rescue) with the engine.
//
// # What is checked
//
// An ethSTARK proof is the sequence of the prover's channel messages; the
// verifier reads them in order:
//
//   - the trace commitment (a Blake2s-256 Merkle root), then the random
//     coefficients of the AIR's constraints;
//   - the composition commitment (its four degree-n pieces), the
//     out-of-domain point z, the trace's mask values at z·g^r and the pieces
//     at z⁴, which must satisfy the AIR's composition identity;
//   - coefficients of the DEEP "boundary" AIR that ties every column to its
//     value at z (and at z's Frobenius conjugate, since the trace is over
//     F_p);
//   - the FRI layers' commitments and folding points (fri_step_list), the
//     last layer's coefficients (last_layer_degree_bound), the proof of
//     work, and the query indices;
//   - for each query, the trace and composition rows (salted leaves under
//     zero knowledge, packed rows otherwise), each FRI layer's coset, the
//     Merkle paths, and the last layer's value.
//
// The Fiat–Shamir channel is ethSTARK's Blake2s hash chain: every message
// before the query phase is absorbed, challenges are squeezed 32 bytes at a
// time with a counter, and field elements are drawn as ethSTARK draws them
// (Montgomery form, 62-bit masked rejection sampling, an extension element's
// coefficients highest first). Field elements in a proof are 8-byte
// big-endian Montgomery representations.
//
// # Where it differs from ethSTARK
//
// It refuses, where ethSTARK accepts: an encoded field element ≥ p (ethSTARK
// never writes one and does not check), and bytes after the end of the proof
// (ethSTARK ignores them). Both make the encoding of a valid proof unique.
// It also refuses parameters whose claimed security (Params.Security) is
// below a floor the caller gives, DefaultMinSecurity by default.
//
// # Proving
//
// ProveChain and SignZiggy make ethSTARK's proofs from Go. ethSTARK's
// provers are deterministic — under zero knowledge the salts, the trace's
// padding and its blinding column are drawn from chains seeded with the
// private key and the message (a signature) or the witness (a chain) — and
// for both shared vectors the bytes are exactly those ethSTARK wrote, so
// its verifier accepts what they make. MarshalChainFile and
// MarshalZiggyFile write ethSTARK's output files.
//
// The master branch of ethSTARK is not supported: it works over a
// quadratic extension (X² − X − 1) with 160-bit Blake2s digests, and its
// proofs do not verify here.
package ethstark
