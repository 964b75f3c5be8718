// Package ziggy implements Ziggy signatures: post-quantum signatures that
// are zero-knowledge STARK proofs.
//
// # Why it exists
//
// Every attestation a DataDragon validator makes, and every chunk a
// producer signs, carries a signature that must still mean something when
// the receipt is checked years later, possibly by someone with a quantum
// computer. Elliptic-curve signatures (Ed25519, ECDSA) would then be
// forgeable. Ziggy (the seed's "ZIGGY API", after the signature scheme of
// StarkWare's ethSTARK) rests only on hash functions: a signature is a proof,
// made with DataDragon's own STARK engine (zk/stark), that the signer knows
// a secret whose Rescue hash (zk/rescue) is the public key.
//
// # Keys
//
// A private key is 32 uniformly random bytes. The secret s, 8 field
// elements, is derived from it exactly as the seed's Ziggy does (see
// deriveSecret: BLAKE2s-256 with the tag "Ziggy secret preimage seed", then
// rejection sampling of 62-bit words read as Montgomery forms), and the
// public key is pk = rescue.Hash(s), 4 field elements. Public keys are
// therefore interoperable with the seed's Ziggy; the vectors in
// testdata/rescue-ethstark.json check it. GenerateKey, NewKeyFromSeed,
// PublicKey.Bytes/String and the key files (keyfile.go) are the API.
//
// # The statement
//
// The public statement is "I know s with rescue.Hash(s) = pk". Its AIR has
// twelve columns, one Rescue state, and uses eleven rows of the trace:
//
//	row 0       s ‖ 0 0 0 0 (the input, before K0 is added)
//	rows 1..10  the middle state m_r of round r (after its cube-root half)
//
// With c = cur³, F = M·c + kf (the state after round r, forward from m_r)
// and B = (M⁻¹·next − kb)³ (the same state, backward from m_(r+1)), where kf
// and kb are periodic columns of period 16 holding the round constants:
//
//	group      rows   count  numerator               degree
//	inputStep  0      12     cur[j] + K0[j] − B[j]      3
//	capZero    0       4     cur[8+j]                   1
//	roundStep  1..9   12     F[j] − B[j]                3
//	output     10      4     F[j] − pk[j]               3
//
// 32 constraints of degree at most 3; every cell of the eleven rows is
// constrained (a test changes each one). The output is checked by a
// constraint on row 10 rather than by assertions on a twelfth row, which
// saves a row. The statement declares that it governs these eleven rows
// (stark.AirInfo.Rows) and that it is zero-knowledge; all other rows are
// free, and Ziggy fills them with randomness.
//
// # Message binding
//
// The message is bound through the statement's public inputs, which the
// engine absorbs into the Fiat–Shamir transcript, after the statement name
// "datadragon/ziggy/v1" and before any commitment:
//
//	digest       = SHA-256("datadragon/ziggy/v1" ‖ pk ‖ message)
//	PublicInputs = pk ‖ digest
//
// with pk in its 32-byte encoding (each element 8 bytes, canonical
// little-endian). Every challenge of the proof therefore depends on the
// key and the message: a proof for one (pk, message) is useless for any
// other. The tag separates the digest from every other SHA-256 use in
// DataDragon; including pk makes the signature a statement about that key
// and that message together. Hashing the message first keeps the
// transcript small for any message length.
//
// # Zero knowledge
//
// The trace holds the secret, so zero knowledge is required, not optional:
// the statement is declared zero-knowledge, SignWithOptions refuses
// options without it and Verify (with the engine) rejects a proof made
// without it. A query opens every trace polynomial at two points, x and
// −x (the engine pairs them in one Merkle leaf), and the composition
// values opened there depend on the rows after x and −x; z and g·z lie in
// F_p³ and count three base-field values each. A signature therefore
// reveals 4·Queries + 6 base-field values of each trace polynomial, and the
// engine fills its last Options.ZKRows() = 4·Queries + 6 trace rows with
// uniform randomness, which makes them uniformly distributed. The engine
// also randomises the composition segments (overlapping segments sharing
// random polynomials, so each opened segment value is uniform given H's),
// masks the DEEP composition with a random polynomial and salts the trace
// and composition Merkle leaves; zk/stark's
// package documentation gives the simulator argument. Ziggy also fills
// every row after the hash with randomness before the engine adds its
// own: with the default options the trace has 128 rows, 11 for the hash
// and 117 random. Tests check that no value a signature opens is a secret
// element, that neither the private key nor the secret appears in the
// signature bytes, and that two signatures share no opened value.
//
// How many random rows to add protects the signer, so it is the signer's
// choice: Verify takes the trace length from the proof. The statement
// governs the hash's eleven rows whatever the length, and the engine
// refuses options whose random rows would not fit after them, so a forger
// cannot choose a trace short enough for the random rows to cover the
// output row (TestShortTraceForgeryIsRejected).
//
// # Randomness
//
// Signing is hedged, as FIPS 204 signs by default: all of a signature's
// randomness (Ziggy's random rows and the engine's rows and mask) comes
// from one AES-256-CTR stream keyed by SHA-256 of a tag, the private key,
// the message digest and 32 fresh bytes from crypto/rand. Signing a message
// twice gives two different valid signatures. Unlike Ed25519 a STARK
// signature cannot be made deterministic by deriving the randomness from
// the key alone: two signatures of different messages with the same random
// rows would open the same trace polynomials at twice as many points and
// could reveal the secret. Mixing in the message keeps distinct messages
// apart even if the system generator fails; mixing in fresh bytes keeps a
// fault during signing from producing two proofs with shared randomness.
//
// # Security
//
// DefaultOptions give 128 bits of conjectured security: 24 queries at
// blowup 32 (5 bits each) plus 9 bits of proof-of-work grinding, less
// one bit, by eq. (19) of the ethSTARK documentation as
// stark.Options.ConjecturedSecurity computes it, below the field bound
// (183 − log2 of the 4096-point evaluation domain) and SHA-256's 128-bit
// collision resistance (which also covers the message digest). A forger
// chooses the options of a forged signature, so the verifier's floor, not
// the signer's default, is the security of the scheme: Verify rejects
// anything below MinSecurity = 128 bits (VerifyWithFloor can lower it,
// never below the engine's own floor of stark.DefaultMinSecurity = 100).
// The bits are classical; a quantum adversary gains at most Grover's
// square-root speed-up on the hash-based parts, with no Shor-style break.
//
// Proven security is much lower: 67 bits for DefaultOptions
// (stark.Options.ProvenSecurity, the ethSTARK bound in the list-decoding
// regime, where a query at blowup 32 is worth at most 2.5 bits instead of
// the conjectured 5). Signature.ProvenSecurityBits reports it. Reaching 100
// proven bits takes 35 queries at 14 grinding bits, which needs a 256-row
// trace: a 40 KB signature, several times slower to sign (measured once,
// on a loaded machine: 40 ms). The default stays with the conjecture, as
// deployed STARK signatures do.
//
// # Encoding
//
// A signature is the 8 bytes "DDZIGGY" 0x01 (magic and version) followed
// by the STARK proof (stark.Proof.MarshalBinary), which carries its
// options; ParseSignature accepts only canonical encodings of at most
// MaxSignatureSize bytes and never panics (fuzzed). EncodeHex,
// EncodeBase64 and DecodeText carry signatures in JSON.
//
// # Choice of options
//
// The statement needs 11 rows, so the trace length is set by the random
// rows, 4·Queries + 6: at most 27 queries fit a 128-row trace, which rules
// out blowups below 16 (their query counts need 256 rows). After the
// engine's first fold the DEEP polynomial has degree below n/2 = 64;
// LastLayerDegree 64 sends it whole as the FRI remainder (1.5 KB), which
// is smaller than committing and opening any FRI layer for a polynomial
// this small. The randomised composition overlaps segments by
// 2·Queries + 1 = 49 coefficients, so the degree-380 composition takes five
// segments of 128 coefficients instead of three: about 2.3 KB more per
// signature. Measured on the 2-core development machine before that
// change and before ethSTARK's one bit was subtracted (median of 31
// signatures; the signature size varies a little with how the query
// positions share Merkle paths), with those blowups and queries:
//
//	blowup queries grinding  last layer  rows  sign    verify  size
//	64     19      14        64          128   8.7 ms  0.32 ms 18.1 KB
//	64     20       8        64          128   7.0 ms  0.43 ms 18.8 KB
//	64     19      14        16 (fold 4) 128   7.8 ms  0.32 ms 21.7 KB
//	32     23      13        64          128   4.6 ms  0.24 ms 19.5 KB
//	32     24       8        64          128   4.2 ms  0.23 ms 20.1 KB
//	32     23      13        32 (fold 2) 128   4.7 ms  0.30 ms 23.3 KB
//	16     28      16        64          128   6.2 ms  0.29 ms 21.0 KB
//	 8     38      14        128         256   4.7 ms  0.40 ms 28.1 KB
//	 4     57      14        128         256   4.1 ms  0.57 ms 34.9 KB
//
// Blowup 32 keeps signing well inside 10 ms. The subtracted bit is paid
// with a 24th query rather than a 14th grinding bit: measured in one
// process on a loaded machine (median of 40, interleaved), 23 queries with
// 14 bits signed in 10.8 ms and 21.2 KB, 24 queries with 9 bits in 8.7 ms
// and 22.7 KB (proven bits 70 against 67). The signature is now about
// 23 KB with the five randomised segments and the engine's leaf salts
// (16 bytes per query; median 22,979 B, at most 23,747 B over 100
// signatures; 'datadragon bench sig' measures it beside Ed25519 and
// ML-DSA-65).
package ziggy
