// Package rawchunk cuts an unmodified third-party feed — messages with no
// seq, no replay, seen from whenever a validator happened to connect —
// into chunks every validator that saw the same run of messages cuts the
// same way. It is pure: no clock, no I/O.
//
// # Boundaries from content alone
//
// Messages are normalised first (digest.Normalize: heartbeats left out,
// per-connection fields dropped). A message opens a new chunk when:
//
//   - content policy "content:M" (expected M messages, minimum Min,
//     maximum Max): the first 8 bytes of its boundary hash, read as a
//     big-endian u64, are below ⌊2^64 / M⌋ and none of the Min−1 messages
//     before it was below that target; or
//   - time policy "time:W" on field F: the message's F gives window
//     ⌊t / W⌋, the message before it also had a window, and the two differ;
//   - or, under either policy, the open chunk already holds Max messages.
//
// The first two rules look only at the message and a few before it, so a
// validator that connects late, or reconnects, knows where chunks start
// as soon as it has seen that many messages (Min−1, or one): from the next
// boundary on it cuts the same chunks as everyone else. The third rule is
// only known once a chunk's start is known, which is why a validator
// synchronises on the first two alone.
//
// A chunk is identified by the boundary hash of its first message (its
// id); it closes when the next chunk opens, and records that chunk's id
// (close), so consecutive chunks link.
//
// # What a validator can be sure of
//
// A Complete chunk was seen from its opening boundary to the next one
// without a break; its digest is the one every honest observer of the
// same messages computes. When the connection breaks (Gap), the open
// chunk is reported as Gap (its id known, no digest) and nothing is cut
// until the validator is synchronised again. A chunk over MaxBytes is
// reported as Overflow, its payloads released. Messages before the first
// boundary a validator can recognise belong to no chunk it can name.
package rawchunk
