// Package client pushes data to a DataDragon node's gateway and reads back
// what the chain made of it: chunk records, receipts, streams. It is the
// library behind 'datadragon stream' and 'datadragon expert', and has no
// dependency on the node itself (only on the wire formats, the chunk
// digest and Ziggy keys), so producers can embed it.
//
// # Unsigned uploads (gateway chunking)
//
// PushUpload sends a byte stream as one upload: a random 16-byte id, and
// requests
//
//	POST /v1/push/{stream}?upload=ID&offset=N&end=0|1&piece=BYTES
//
// each carrying the upload's bytes from offset N (a part, 4 MiB by
// default). The gateway cuts the upload into messages of piece bytes at
// absolute offsets k·piece, makes whole pieces durable and answers with
// the number of bytes acknowledged ("acked"); the rest of a part (less
// than a piece) is sent again at the head of the next part. Only bytes not
// yet acknowledged are held in memory (at most a part and a piece), so the
// input may be a pipe. A request that fails on the network or with a 5xx
// answer is retried with backoff from the offset the gateway reports
// (GET /v1/push/{stream}/uploads/ID), and the gateway skips any prefix it
// already holds, so a dropped connection or a restarted node costs at most
// a resent part and never duplicates a byte. Once the last part (end=1) is
// durable, PushUpload polls GET /v1/push/{stream}/chunks?upload=ID until
// every chunk of the upload is accepted, disputed or rejected.
//
// # Producer-signed pushes
//
// On a stream with registered producers, the producer chunks and signs:
// PushSigned cuts the input into messages of Piece bytes and chunks of the
// stream's message count (at most wire.MaxChunkDataBytes of data), numbers
// the chunks from the stream's next index, computes each chunk's digest
// (package ingest/digest; seqs count messages from 0 within the push),
// signs wire.ProducerSignBytes with a Ziggy key and posts the ChunkTx to
// POST /v1/push/{stream}/chunk — public (carrying the messages, which every
// validator hashes and checks against the stream's rules) or private
// (digest and message lengths only). Resending a chunk is idempotent. If
// another producer took an index first, the chunk is signed again for the
// next free index. It then polls GET /v1/records/{stream}/{index} until
// every chunk is decided, and checks that each accepted record carries
// this push's digest.
//
// # Everything else
//
// Stream, Record, Receipt (and WaitReceipt), Status, UploadStatus,
// UploadChunks and SubmitTx (registrations and expert judgements, POST
// /v1/tx) are thin, bounded wrappers of the node's API. Every response
// body is read through a limit; failures are *Error values carrying the
// HTTP status and the node's message.
package client
