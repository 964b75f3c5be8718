// Package wire defines the canonical binary formats of the consensus app —
// the attestation, the vote extension, the injected commit and the record
// — with decoders that never panic and accept only canonical input (every
// decoded value re-encodes to the same bytes; fuzz tests check this). They
// are in a package of their own because they outlive the code: signatures
// and receipts made today must verify years from now.
//
// All integers are big-endian; i64 is two's complement; "u8 len ‖ bytes"
// is a byte string with its length first.
//
// # Attestation
//
//	u8 len ‖ stream id ‖ u64 index ‖ digest[32] ‖ i64 time_ms ‖ u8 verdict ‖ u32 code
//
// Stream ids are 1–64 bytes of [A-Za-z0-9._-], starting alphanumeric.
// time_ms is the validator's observation time in Unix milliseconds, 0 …
// 253402300799999. Verdict 0 = ok (code 0), 1 = gap (code 0, zero digest),
// 2 = rule violation (code ≥ 1, the rule's number). At most 118 bytes.
//
// # Vote extension (version 1)
//
//	u8 version = 1 ‖ u64 height ‖ u16 n ‖ n × attestation ‖ u32 len ‖ signature
//
// n is 1 … MaxAttestations (256); attestations are strictly increasing by
// (stream id bytewise, index), so no chunk appears twice; the signature is
// 1 … MaxSignatureBytes (48 KiB); the whole is at most MaxExtensionBytes
// (96 KiB). A validator with nothing to attest sends an empty extension
// (zero bytes, no signature). The signature is the validator's Ziggy
// signature of SignBytes:
//
//	SHA-256("datadragon/extension/v1" ‖ u8 len ‖ chain id ‖ u64 height ‖
//	        u8 len ‖ CometBFT address ‖ root)
//
// where root is the Merkle root (package merkle: RFC 9162 with SHA-256)
// over the encoded attestations in order. Binding the chain, the height
// and the address stops an extension from being replayed on another chain,
// at another height, or as another validator's; the root lets a receipt
// carry one attestation with its path instead of the whole extension.
//
// # Injected commit (version 1)
//
//	"DDxc" 0x01 ‖ u64 height ‖ u32 round ‖ u16 n ‖ n × (
//	    u8 len ‖ address ‖ u64 power ‖ u8 flag ‖ u32 len ‖ extension ‖
//	    u16 len ‖ CometBFT extension signature)
//
// The first and only transaction of every block from the second height
// with vote extensions on: the proposer's local extended commit of the
// previous height, one entry per validator in validator-set order. flag is
// CometBFT's BlockIDFlag (1 absent, 2 commit, 3 nil); only commit votes
// carry an extension and its signature.
//
// # Record (version 1)
//
//	u8 version = 1 ‖ u8 len ‖ stream ‖ u64 index ‖ u8 status ‖ digest[32] ‖
//	u8 verdict ‖ u32 code ‖ i64 time_ms ‖ u64 first height ‖
//	u64 decided height ‖ u64 power ‖ u64 total power ‖ u16 n ‖ n × (
//	    u8 len ‖ validator address ‖ u64 power ‖ digest[32] ‖ i64 time_ms ‖
//	    u8 verdict ‖ u32 code ‖ u64 height ‖ u16 vote ‖ u16 leaf ‖ u8 outcome)
//
// status 1 = accepted, 2 = disputed (digest, verdict, time and power zero).
// The attestations are those counted up to the decision, in validator
// order; (height, vote, leaf) locate each one's signed extension: the
// injected commit in the block at that height, its vote number vote, the
// attestation number leaf. outcome: 1 agreed, 2 faulty, 3 gap,
// 4 equivocated, 5 attested (disputed chunk). The accepted records of a
// block, ordered by (stream, index), are the leaves of its record root.
package wire
