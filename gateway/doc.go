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
