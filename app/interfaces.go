package app

import "github.com/datadragon/datadragon/app/wire"

// Scheme verifies the signatures validators put on their vote extensions
// (Ziggy in production: package app/ziggysig; a fast fake in tests:
// package app/fakesig). Verify must be deterministic: every validator
// must reach the same answer for the same input.
type Scheme interface {
	// CheckPublicKey reports whether pub is a well-formed public key.
	CheckPublicKey(pub []byte) error
	// Verify returns nil if sig is pub's valid signature of msg.
	Verify(pub, msg, sig []byte) error
}

// Signer signs this node's vote extensions.
type Signer interface {
	// PublicKey returns the public key the genesis registers for this
	// validator; the app finds its own validator entry by it.
	PublicKey() []byte
	// Sign signs msg (32 bytes, wire.SignBytes).
	Sign(msg []byte) ([]byte, error)
}

// Attestor is the node's side of attesting: ingest observes the streams,
// chunks and hashes them, and hands the app what this validator attests.
// The app calls it from CometBFT's consensus goroutine, so both methods
// must return quickly and must be safe to call while ingest runs.
type Attestor interface {
	// Attestations returns this validator's attestations that are still to
	// be delivered: every chunk it has attested that has been reported
	// neither in Included, Decided nor Stale of a Committed call (or that
	// was reported Dropped after it was Included). The app
	// drops those already in flight, already counted or already decided,
	// sorts them and sends at most wire.MaxAttestations per height, so
	// returning too many is harmless. height is the height being voted
	// on.
	Attestations(height int64) []wire.Attestation
	// Committed tells the attestor what one committed block did; the
	// attestor should stop re-sending the chunks in Included and Decided.
	Committed(CommitNotice)
}

// CommitNotice is what Commit tells the Attestor about one block.
type CommitNotice struct {
	Height int64
	// Included are this validator's own attestations counted in this
	// block (carried by the extension it made at Height−1). An
	// attestation for a chunk that it re-sends with the same digest and
	// verdict after this is a harmless duplicate.
	Included []wire.Attestation
	// Decided are the chunks this block accepted or disputed. Attestations
	// for them are still heard for W more blocks (late), then ignored.
	Decided []Decision
	// Dropped are chunks the app forgot because validators holding more
	// than a third of the power never attested them within W blocks of the
	// first attestation (see package tally). An attestor that attested one
	// should offer its attestation again: it counts towards a fresh tally.
	Dropped []wire.ChunkKey
	// Stale are chunks the attestor offered that are settled: too late to
	// count at all. The attestor should forget its attestations for them.
	Stale []wire.ChunkKey
	// Pushed are the pushed chunks this block carried, hashed and checked
	// against the stream's rules by this node: the attestor attests each
	// with its own observation time.
	Pushed []PushedChunk
}

// Decision is one decided chunk.
type Decision struct {
	Key     wire.ChunkKey
	Status  wire.Status  // accepted or disputed
	Digest  wire.Digest  // accepted digest (zero when disputed)
	Verdict wire.Verdict // accepted verdict
}
