// Package gateway is a node's push mode (DESIGN §5): producers push
// files or live messages to any node, which acknowledges each message only
// once it is durable, cuts the messages into chunks and submits every
// chunk to the chain as a transaction carrying its bytes, so that every
// validator hashes them itself.
//
// Each pushed stream has a directory with a write-ahead log of its
// messages (package gateway/wal), a log of session batches (which bytes
// of which upload or WebSocket session each append holds — written before
// the append, so an acknowledged session offset is exactly what is
// durable), the log's random origin (16 bytes that name it on chain) and
// its chunk size. Chunk boundaries are a pure function of the logs: a
// chunk closes at the stream's message count, before the transaction data
// limit, when the session changes, and after a message marked End (the end
// of an upload, a producer's flush, or an idle chunk). After a crash the
// gateway rebuilds the same chunks, asks the chain which it already holds
// (by origin and first seq, which also makes resubmission idempotent) and
// submits the rest.
//
// Recovery reaches a consistent state from whatever prefix of its writes a
// crash left, and logs every repair: the logs' torn tails are cut (package
// wal), a torn last batch record is cut, and a last batch whose messages
// reached the log only in part — its append was interrupted, so it was
// never acknowledged — is shrunk to the messages the log holds (the
// producer resumes after them). The sessions file is rewritten only once
// every file of the stream has been read and found consistent. Damage no
// crash leaves (a flipped bit in an acknowledged record, a missing batch)
// is never repaired silently: the stream refuses to open, naming the file
// and byte and what to do, its files stay as they were, and the rest of
// the gateway and the node run (Gateway.StreamErrors lists it; pushes to
// it are answered 503).
//
// # Releasing what is done
//
// A chunk is done with once the chain decided it — accepted, disputed,
// or refused in a block (a refusal by the mempool's admission check is
// not final, and the chunk stays) — and, unless refused, its bytes are
// durable in the object store (file and directory entry synced). The
// log's prefix of done chunks is released: their records (first seq,
// messages, offsets, session, state, index, digest, times; 115 bytes
// each, checksummed) are appended to the stream's released file and
// fsynced BEFORE any segment file is deleted, and then the segment files
// wholly below the prefix's end are deleted (segments are
// Config.LogSegmentBytes, 8 MiB by default, so a steady push keeps a few
// MiB of log). The released file is the log's release marker: recovery
// starts the chunker at the end of its last record (always a chunk
// boundary), checks that the log still holds every message from there on
// and that the message there starts at the recorded stream offset, takes
// a batch that began in the released prefix up from the last released
// chunk's session offset, and neither resubmits, nor stores, nor
// re-indexes a released chunk; the upload status keeps listing released
// chunks (status and index, "released": true) from their records. A crash
// before the records are durable leaves a torn tail, which recovery cuts
// and reports (no segment was deleted for it, so those chunks are rebuilt
// from the log and found on chain); a crash after them, or between
// deletions, leaves segments already released, which recovery deletes. A
// whole record failing its checksum, or records that do not follow each
// other from seq 0, are damage: the stream is refused like any other. The
// sessions file is not released (49 bytes a batch).
//
// # Object retention
//
// Stored chunk bytes are kept forever unless the node's operator sets a
// policy for the stream (Config.Retention; node.json gateway_retention):
// a maximum age and/or a maximum total size. Keeping everything is the
// default because the gateway cannot know whether anyone else holds the
// bytes; a receipt verifies without them, but checking the data against
// it needs a copy. A background pass per stream, at most every
// Config.RetentionEvery and at most Config.RetentionBatch objects a pass,
// releases the oldest objects of released chunks (in the order they were
// decided) while they are older than the age or the stream's objects
// exceed the size. A pass first writes and syncs a tombstone per object
// (an empty file beside it whose modification time is the release date),
// then deletes the objects, then moves a checksummed cursor in the
// stream's retained file past them; a crash anywhere makes the next pass
// do the same again and find it done. GET /v1/data/{digest} answers 410
// Gone with the date for a released object, and 404 for a digest this
// node never stored; a released object is never stored again.
//
// A WebSocket push carries one message per binary frame. A frame over the
// message limit (1 MiB) is refused with close code 1009 at its first byte
// past the limit, and changes nothing. A connection on which no frame begins within
// Config.WSIdleTimeout, or whose begun frame is not whole within
// Config.WSFrameTimeout, is closed with code 1008; connections are capped
// per client address (429 past the cap) and per node (503), and a
// connection is read no further while 8 MiB of its frames wait for the
// log, so a producer faster than the disk is slowed, not buffered. The metrics
// datadragon_gateway_push_ws_{open,refused_total,closed_total} count them.
//
// Producer-signed chunks (streams with registered producers) are chunked
// and signed by the producer; the gateway logs each signed transaction
// durably and submits it.
package gateway
