// Package ethstark verifies proofs made by StarkWare's ethSTARK, exactly
// as ethSTARK's own verifiers check them: Ziggy signatures and Rescue
// hash-chain proofs of its "ziggy" branch, and the Rescue hash-chain proofs
// of its master branch; and it makes them.
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
//   - the trace commitment (a Blake2s Merkle root), then the random
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
// before the query phase is absorbed, challenges are squeezed a digest at a
// time with a counter, and field elements are drawn as ethSTARK draws them
// (Montgomery form, 62-bit masked rejection sampling, an extension element's
// coefficients highest first). Field elements in a proof are 8-byte
// big-endian Montgomery representations.
//
// # Branches
//
// ethSTARK's two branches are two proof systems over the same field
// p = 2^61 + 20·2^32 + 1 and the same Rescue hash-chain AIR (Branch):
//
//   - the ziggy branch (128 bits conjectured): the cubic extension
//     F_p[X]/(X³ + 2X − 1), Blake2s-256 digests, optional zero knowledge
//     (salted trace leaves, slackness and a blinding column), Ziggy
//     signatures; security min(log2(blowup)·queries + grinding, 128,
//     183 − log2(trace length));
//   - the master branch (80 bits): the quadratic extension
//     F_p[φ]/(φ² − φ − 1), Blake2s with a 160-bit digest (a parameter of
//     Blake2s, not a truncation; the package has its own Blake2s core for
//     it), no zero knowledge, hash chains only, blowup at most 2^10;
//     security min(log2(blowup)·queries + grinding, 80, 122 − log2(trace
//     length)).
//
// The verifier, the AIRs and FRI are written once, generic over the
// extension; the digest length is a parameter of the channel and the
// tables. ParseParams tells the branch from the parameter file: the ziggy
// branch's verifier requires stark.enable_zero_knowledge and master's files
// have no such key, so a file with it is the ziggy branch's and one without
// it master's. ParseParamsBranch and ParseFileBranch read a file as a named
// branch's. A master-branch proof claims at most 80 bits, so
// DefaultMinSecurity refuses it: a caller accepts it only by lowering the
// floor.
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
// ProveChain makes either branch's chain proofs from Go (the branch of
// its Params), SignZiggy the ziggy branch's signatures. ethSTARK's provers
// are deterministic — under zero knowledge the salts, the trace's padding
// and its blinding column are drawn from chains seeded with the private key
// and the message (a signature) or the witness (a chain) — and for every
// vector the bytes are exactly those ethSTARK wrote (testdata/VECTORS.md,
// testdata/master/README.md), so its verifiers accept what they make.
// MarshalChainFile and MarshalZiggyFile write ethSTARK's output files.
//
// ethSTARK builds a random extension element from random base elements
// passed as constructor arguments, whose order of evaluation C++ leaves to
// the compiler; GCC's right-to-left order is the one followed here, and
// the vectors were made with GCC.
package ethstark
