// Package chunk cuts a stream of frames into chunks by a deterministic rule
// and digests each complete chunk with the canonical digest of package
// digest. It is pure: no clock, no I/O, no goroutines. The same frames give
// the same chunks on every node, and when a node cannot be sure it has a
// chunk's exact messages it says so (a gap) instead of producing a digest.
//
// # Policies
//
// Seq policy "seq:M": chunk i holds the frames with seq in [i·M, (i+1)·M),
// i.e. index = seq / M. A chunk closes as soon as all M are present, or as
// a gap when a frame of a later chunk arrives or the observer reports that
// its missing frames are lost. Frames may arrive in any order inside the
// open chunk, since membership depends on the seq alone.
//
// Time policy "time:Wms": index = source_time / W (source time in Unix
// nanoseconds, W in milliseconds). A chunk is the run of consecutive frames
// whose windows are equal; it closes when the frame after its last one
// arrives with a later window, so the newest window stays open until then
// (or until the stream ends). Source times are expected not to decrease: a
// frame whose window is earlier than the open chunk's still joins the open
// chunk (the boundary depends only on the frames in seq order) but marks it
// Invalid, and a negative source time does the same. Windows with no frames
// produce no chunk.
//
// # What a node can be sure of
//
// A Complete chunk has every message of its index, and its Digest is the
// digest every honest observer computes. Anything less gets a status
// without a digest:
//
//   - Gap: some of the chunk's messages were not observed (the observer
//     reported a gap, frames were skipped, or, under the time policy, the
//     node started mid-stream so the window's first frame is unknown). A
//     hole between two frames under the time policy makes both adjacent
//     windows gaps, since the lost frames may belong to either.
//   - Missing: no frame at all was observed for chunks Index..LastIndex
//     (one value covers the whole range, however long).
//   - Overflow: the chunk exceeded Policy.MaxMessages or Policy.MaxBytes.
//     Its payloads are dropped as soon as that happens (memory stays
//     bounded) and it is reported without a digest; every honest node
//     reaches the same verdict because it depends only on the frames.
//   - Conflict: a seq arrived twice with different payloads.
//   - Invalid: under the time policy, source time went backwards or was
//     negative inside the chunk.
//
// Duplicates of a seq the open chunk holds are ignored when identical (same
// payload and source time) and mark the chunk Conflict when different. A frame for a chunk that has
// already been reported (closed, gap or missing) is late: it is ignored and
// Add returns ErrLate, since the verdict was already given.
//
// The guarantee "Complete implies the right digest" (tested with random
// drops, repeats, reordering and late starts, and fuzzed by FuzzChunker)
// needs no assumption under the seq policy. Under the time policy it assumes a source whose
// times do not decrease inside a hole the node could not see; a violation
// the node can see marks the chunk Invalid.
//
// # Memory
//
// Only the open chunk is held: at most MaxMessages frame headers and
// MaxBytes payload bytes (defaults 65,536 and 64 MiB). Add keeps a
// reference to each frame's payload; callers must not modify it afterwards.
// A closed Complete chunk hands its frames to the caller.
package chunk
