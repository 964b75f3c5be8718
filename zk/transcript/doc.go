// Package transcript implements the Fiat–Shamir transcript of the zk-STARK
// engine: prover and verifier absorb the same messages in the same order and
// derive identical pseudo-random challenges from them, which turns the
// interactive protocol into a non-interactive proof. Every input is
// domain-separated by an operation byte and length-prefixed, so distinct
// message sequences never hash the same, and Grind adds a proof-of-work step
// that makes grinding over transcripts (e.g. to get lucky queries) costly.
//
// The state is 32 bytes plus a challenge counter. All lengths and the
// counter are 8-byte little-endian unsigned integers (written u64 below);
// "||" is concatenation, H is SHA-256:
//
//	New(p):          state = H("datadragon/transcript/v1" || u64(len p) || p); counter = 0
//	Absorb(l, d):    state = H(state || 0x01 || u64(len l) || l || u64(len d) || d)
//	Challenge(l):    out   = H(state || 0x02 || u64(len l) || l || u64(counter))
//	                 state = H(state || 0x03 || out); counter++; return out
//	Grind/CheckGrind: h    = H(state || 0x04 || u64(nonce))   (state unchanged)
//
// A nonce passes for b bits if h, read as a big-endian 256-bit integer, has
// at least b leading zero bits (bits 0..7 of h[0] from the most significant,
// then h[1], ...).
package transcript
