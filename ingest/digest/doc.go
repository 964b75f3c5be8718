// Package digest defines the canonical chunk digest, the one value every
// honest validator must compute identically for a chunk, and that anyone
// holding the raw messages can recompute later (the verify command does).
//
// It is defined here and nowhere else:
//
//	digest = SHA-256( "datadragon/chunk/v1"
//	                  ‖ u16 BE len(stream) ‖ stream
//	                  ‖ u64 BE index
//	                  ‖ for each message, in increasing seq order:
//	                        u64 BE seq ‖ u32 BE len(data) ‖ data )
//
// The domain string is the 19 ASCII bytes shown, with no length prefix and
// no terminator. stream is the stream's id as bytes (1 to MaxStreamLen of
// them), index the chunk's index, and the messages are exactly the chunk's
// messages: strictly increasing seqs, each payload at most MaxMessageLen
// bytes. A chunk with no messages is never digested (an empty chunk is not
// a chunk). Source timestamps are not part of the digest.
//
// Raw streams (third-party feeds with no seq) have their own digest,
// defined in raw.go with the normalisation their spec declares: what a
// third party does to recompute one from the messages it captured is, in
// full, Normalize.Apply on each message (dropping the ignored ones), then
//
//	chunk id = SHA-256("datadragon/raw/boundary/v1" ‖ n(first message))
//	content  = SHA-256("datadragon/raw/content/v1" ‖ for each message: u32 BE len ‖ n(m))
//	digest   = SHA-256("datadragon/raw/v1" ‖ u16 BE len(stream) ‖ stream
//	                   ‖ chunk id ‖ close ‖ u32 BE count ‖ content)
//
// where close is the next chunk's id (the record carries it) and count
// the number of kept messages. ComputeRaw does exactly this.
//
// Because every field is length-prefixed or fixed-size, two different
// (stream, index, messages) never share an encoding. The package has no
// dependencies beyond the standard library so that a verifier can import it
// alone.
package digest
