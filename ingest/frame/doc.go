// Package frame is the DataDragon wire format between a data source and
// the nodes that observe it: what one binary WebSocket message holds, how it
// is encoded, and how it is decoded without trusting a single length.
//
// Observing validators only agree on a chunk digest if they agree, byte for
// byte, on the frames they saw; this package is the one place that says what
// a frame is. It knows nothing of WebSockets, chunks or consensus.
//
// # Messages
//
// Every message starts with a version byte (Version, currently 1) and a kind
// byte. All integers are big-endian. Four kinds exist:
//
//	data   (kind 1): version u8 | kind u8 | seq u64 | time i64 | len u32 | payload (len bytes)
//	gap    (kind 2): version u8 | kind u8 | from u64 | to u64
//	end    (kind 3): version u8 | kind u8 | next u64
//	behind (kind 4): version u8 | kind u8 | next u64
//
// A data message is one frame of the stream: seq counts frames from 0 for
// each source, time is the source timestamp in Unix nanoseconds (the source
// decides what it means; DataDragon's own sources derive it from the seq, see
// package gen), and the payload is at most MaxPayload bytes (1 MiB). The
// length field must equal the bytes that follow, so a message has exactly one
// encoding and a whole message is at most MaxMessageSize bytes.
//
// A gap message tells a subscriber that frames from..to (inclusive) will
// never be sent to it, because the source no longer holds them; an observer
// reports them as missing instead of silently skipping them. from <= to.
//
// An end message says the stream is finished: it had exactly next frames
// (seqs 0..next-1) and no more will come.
//
// A behind message says the source has not produced the subscriber's first
// seq yet: its next frame is next. The source sends it once, first, to a
// subscriber asking from a seq beyond its next — typically an observer of a
// source that restarted from an earlier seq — then the frames as they come.
//
// # Subscribing
//
// A subscriber opens a WebSocket to the source (any path the source serves,
// DataDragon's own source serves "/" and "/stream") and names the first seq
// it wants in the query string, FromParam:
//
//	ws://127.0.0.1:9001/stream?from=1200
//
// The source then sends, in seq order, every frame with seq >= from that it
// still buffers, then live frames as they are produced. If from is older
// than the oldest buffered frame, the first message is a gap message
// covering from..oldest-1. Without ?from the subscriber starts with the next
// live frame. Subscribers send nothing but WebSocket control frames.
//
// A source that drops a subscriber closes the WebSocket with a status code
// and a reason: CloseTooSlow when the subscriber fell behind the replay
// buffer, 1001 (going away) when the source shuts down, 1000 after an end
// message. The subscriber may reconnect with ?from=<last seq + 1>.
//
// # Bounds
//
// Decode checks every length against the message size before using it and
// never panics, whatever the input (FuzzDecodeFrame). The payload it returns
// aliases the input buffer: it does not copy.
package frame
