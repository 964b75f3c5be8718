// Package wal is the gateway's write-ahead log: a durable, append-only log of
// the messages one producer pushes into one stream.
//
// # Why
//
// In push mode a producer hands its data to a node, the gateway, and forgets
// it once the gateway acknowledges. From then on the gateway is the only
// holder of those bytes until they have been chunked, digested and attested,
// so an acknowledgement must mean "on disk": a crash after it, even SIGKILL or
// a power cut, must not lose the message. Log.Append returns only once its
// messages are fsynced, and recovery in Open brings back exactly what was
// acknowledged (plus, possibly, messages whose Append never returned). Readers
// (the chunker) see only durable messages, and Release lets them drop what is
// attested.
//
// Messages get consecutive seqs 0, 1, 2, … and a stream offset, the total
// length of the messages before them. A producer closes a chunk (flushes,
// ends an uploaded file) either with its last message (Append with end set)
// or afterwards with MarkEnd; Read reports the closing message with End set.
//
// Concurrent Appends are group-committed: an Append encodes its records into
// memory and waits; one waiter at a time writes everything pending and
// fsyncs, and the callers that arrived meanwhile share the next fsync. Many
// producers sending small messages thus cost far fewer fsyncs than messages.
//
// # On disk
//
// A log is a directory holding a LOCK file (flocked while a Log has it open)
// and segment files named after the seq of their first message, in decimal,
// zero-padded to 20 digits: 00000000000000000000.wal,
// 00000000000000001234.wal, … All integers are little-endian and every
// checksum is CRC-32C (Castagnoli).
//
// A segment starts with a 36-byte header:
//
//	off  size  field
//	  0     8  magic "DDWALSEG"
//	  8     4  format version, 1
//	 12     4  reserved, 0
//	 16     8  seq of the segment's first message (equal to the file name)
//	 24     8  stream offset of that message
//	 32     4  CRC-32C of bytes 0..31
//
// Records follow back to back, each a 24-byte header, the data, and a
// checksum:
//
//	off  size  field
//	  0     1  kind: 1 data (a message), 2 end marker
//	  1     1  flags: bit 0 on a data record = the message closes a chunk; others 0
//	  2     2  reserved, 0
//	  4     4  data length n (0 for an end marker; at most MaxMessageBytes)
//	  8     8  seq: the message's; for an end marker, the message it closes the chunk after
//	 16     8  stream offset: the message's; for an end marker, the stream length after it
//	 24     n  data
//	 24+n   4  CRC-32C of bytes 0..24+n-1
//
// An end marker (written by MarkEnd) always follows the message it marks (in
// the same segment or at the start of the next), with no message between
// them. Data records carry consecutive seqs and offsets within a segment and
// across segments: each segment's header continues where the previous
// segment ends.
//
// A segment is full when the next record would take it past SegmentBytes; the
// log then fsyncs it, creates the next one, writes and fsyncs that header and
// fsyncs the directory before writing any record there. So every segment but
// the last is complete on disk, and damage in one of them is reported by Open
// as corruption, with the file, the byte and what to do; so is a damaged
// header of the last segment once records follow it, and a record that is
// intact but out of sequence.
//
// The last segment may end in a torn write: the prefix of records a crash
// interrupted before their fsync, so never acknowledged. A killed process
// leaves a prefix of what it wrote (the file ends inside a record); a power
// cut may also leave the sectors the write had not reached as zeros. Open
// cuts such a tail off, as etcd's WAL repairs its last segment, and
// Repairs reports what it cut and why, for the caller to log. What no
// interrupted write leaves is not cut, because it may be an acknowledged
// message: a whole record failing its checksum (a flipped bit), a header no
// write produces, a record whose length field lost one bit (found by trying
// each single-bit change). Open refuses such a log with the file, the byte
// and what to do, as for any other corruption. A last segment whose header
// itself is torn is a creation that never completed, and is removed (also
// reported by Repairs).
//
// Open reads every segment and keeps a 16-byte index entry per message
// (stream offset, position in its file, length and End flag). Release
// deletes whole segment files, oldest first, never the active one. The log
// itself keeps no record of a release: after a reopen it serves from the
// first message of its oldest segment on (First), so a caller that must
// know exactly what it released (the gateway does) records it durably
// before calling Release, and calls Release again after a reopen to
// delete what a crash left of it.
package wal
