// Package api is a DataDragon node's HTTP interface: JSON over HTTP under
// /v1, a WebSocket feed of records per stream, an open verification
// service for Ziggy signatures and Rescue-chain proofs, /healthz and
// /metrics.
//
// # Why it exists
//
// The app (package app) decides what the chain means but speaks only
// ABCI; people and programs need to read records, see every validator's
// attestation and verdict (the seed's "Validation Results" and the 51 %
// analysis), follow streams live and check proofs without running Go.
// This package is that surface, and only that: it reads committed state
// through the small Reader interface (which *app.App satisfies, and tests
// fake), never writes, and owns its JSON types, so that a change inside
// the app cannot silently rename a field the outside world relies on.
//
// # Routes
//
//	GET  /v1                              the routes, as JSON
//	GET  /v1/status                       chain id, height, app hash, threshold, dispute window, this node
//	GET  /v1/validators                   {"validators":[…]} with power, attested, agreed, faulty, absent, … counts
//	GET  /v1/streams                      {"streams":[{"id":…,"mode":…,"source":…,"chunk":…,"accepted":…,"disputed":…,"last_index":…}]} and the spec's other fields when set
//	GET  /v1/streams/{id}                 one stream
//	GET  /v1/streams/{id}/records         {"stream":…,"records":[…],"next":N|null}; ?from=INDEX (default 0) &limit=1..1000 (default 100); a raw stream's by position (from=POSITION)
//	GET  /v1/streams/{id}/feed            WebSocket: one JSON text message per record decided from now on
//	GET  /v1/records/{stream}/{index}     one chunk's record (pending ones too)
//	GET  /v1/receipts/{stream}/{index}    an accepted record's receipt, checked offline by 'datadragon verify' (404 until the next block is committed)
//	POST /v1/receipts/verify              verify a receipt against this node's genesis: multipart "receipt" (≤ 16 MiB) and optional "data" (≤ 80 MiB),
//	                                      or the receipt JSON as the body; {"valid":true,"stream","index","digest","checked":[…]} or {"valid":false,"link","error"}
//	POST /v1/push/{stream}?upload=ID&offset=N&end=0|1&piece=BYTES
//	                                      push mode: upload bytes from offset N; answered once durable: {"upload","acked","ended","first_seq","next_seq"}
//	GET  /v1/push/{stream}/uploads/{id}   an upload's acknowledged bytes (same answer)
//	GET  /v1/push/{stream}/chunks         ?upload=ID: the upload's chunks with status (open, logged, submitted, on_chain, accepted, disputed, rejected) and index
//	GET  /v1/push/{stream}/ws             ?session=ID: WebSocket push, one message per binary frame; {"type":"flush"|"end"} text frames; hello and ack replies
//	POST /v1/push/{stream}/chunk          a producer-signed chunk transaction (public or private)
//	GET  /v1/push/{stream}                this gateway's log of the stream: bytes, chunks by status, sessions
//	GET  /v1/data/{digest}                the bytes of a chunk pushed through this node, by the chunk digest its record and receipt carry
//	POST /v1/tx                           a signed stream registration or expert judgement (binary transaction)
//	GET  /v1/blocks/{height}              what a committed block decided; {height} may be "latest"
//	POST /v1/zk/verify                    verify a Ziggy signature or a Rescue-chain proof, DataDragon's or ("format":"ethstark") ethSTARK's: {"valid":…,"reason":…}
//	GET  /healthz                         ok, chain height and a cached STARK self-check (200 or 503)
//	GET  /metrics                         Prometheus text format, series prefixed datadragon_
//	GET  /, /explorer/…                   the web explorer (package api/explorer): one embedded page, hash-routed
//
// The /v1/push/… routes, /v1/data/{digest} and /v1/tx are served by the
// handler in Config.Push (the node's gateway); without one they answer 501.
//
// A record is
//
//	{"stream", "index" (from 0), "status" (pending, accepted, disputed),
//	 "digest" (hex, "" unless accepted), "verdict", "timestamp" (RFC 3339,
//	 the power-weighted median of the majority's observation times; null
//	 unless accepted), "timestamp_ms", "height" (the deciding block),
//	 "first_height", "power", "total_power", "settled", "leaf_hash",
//	 "attestations": [{"validator" (address hex), "name", "power",
//	   "digest", "time", "verdict", "signature_ok", "outcome" (agreed,
//	   faulty, gap, equivocated, attested, absent, none), "late",
//	   "included_height", "vote", "leaf"}],
//	 "push" (pushed chunks: {"first_seq", "messages", "offset", "bytes",
//	   "lengths", "private", "origin", "producer", "tx_height", "digest",
//	   "verdict"}), "experts" ([{"expert", "dispute", "note", "digest",
//	   "height", "signature"}])}
//
// Errors are JSON {"error": "what went wrong and what to do next"} with
// 400 (bad input), 404 (unknown stream, record, block or route), 405
// (wrong method; Allow lists the right ones), 413 (body over
// Config.MaxBodyBytes, 1 MiB by default), 426 (the feed without a
// WebSocket upgrade), 503 (chain not initialised yet, verification slots
// or feed subscriptions full; Retry-After says when to retry). Unknown
// query parameters are ignored. Every input is bounded (path values,
// query values, body, public key, signature, proof) and handlers do not
// panic on any input (fuzzed: FuzzRoutes, FuzzVerify); a panic would
// still be answered 500 and logged.
//
// # Verification service
//
// POST /v1/zk/verify is open to anyone (the seed's "ZIGGY API"), so it is
// bounded rather than authenticated: the body by MaxBodyBytes, and the
// CPU by a semaphore of MaxVerifications slots (GOMAXPROCS by default); a
// request that finds every slot busy is answered 503 at once instead of
// queueing. A Ziggy signature is verified at no less than 128
// conjectured bits and a chain proof at no less than 100; min_bits can
// only raise the floor. An invalid signature or proof is 200 with
// "valid": false and the reason; 400 is for requests that cannot be
// read.
//
// # Feed
//
// The node creates a Feed, passes Feed.Publish as the app's OnCommit
// hook (node.Options.OnCommit) and gives the feed to New. Publish runs on
// the consensus goroutine and never waits: each decided record (accepted
// or disputed; the status says which) is encoded once and put on the
// bounded queue of every subscriber of its stream. A subscriber whose
// queue is full is dropped with close code 4001 and a reason naming the
// lowest index it missed; one whose connection stalls for the write
// timeout (10 s) is disconnected; Feed.Close ends every subscription with
// 1001. Idle subscriptions are pinged every 30 s. A client
// that must not miss records connects first, then pages GET
// /v1/streams/{id}/records from the last index it has, and ignores
// duplicates by index.
//
// # Health and metrics
//
// /healthz proves a Rescue chain of 3 hashes with fast options, checks
// the statement against Rescue computed directly, verifies the proof
// after an encode/decode round trip and checks that a wrong output is
// rejected; the result is cached for Config.HealthTTL (30 s), so the
// endpoint cannot be used to burn CPU. Once the app has found its state
// file damaged (app.ErrCorrupt) /healthz answers 503 with chain.damaged
// and the app's message, which names the file and says what to do, and
// every route reading state answers 503 with the same message. /metrics serves the registry given
// in Config.Registry — one per node, since devnet runs several nodes in
// one process, never the global one: the height, records accepted and
// disputed per stream, attestations, agreements, faults, absences,
// equivocations, gaps and late attestations per validator (read from the
// app at scrape time), feed subscribers and drops, HTTP requests by
// route and code with their latency, and verification latency by kind
// and result.
//
// # Serving
//
// Server(addr, handler) returns an http.Server with header, read, write
// and idle timeouts; the feed lifts them on its own connections.
package api
