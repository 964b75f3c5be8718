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
// Because every field is length-prefixed or fixed-size, two different
// (stream, index, messages) never share an encoding. The package has no
// dependencies beyond the standard library so that a verifier can import it
// alone.
package digest
