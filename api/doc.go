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
//	GET  /v1/streams                      {"streams":[{"id":…,"source":…,"chunk":…,"accepted":…,"disputed":…,"last_index":…}]}
//	GET  /v1/streams/{id}                 one stream
//	GET  /v1/streams/{id}/records         {"stream":…,"records":[…],"next":N|null}; ?from=INDEX (default 0) &limit=1..1000 (default 100)
//	GET  /v1/streams/{id}/feed            WebSocket: one JSON text message per record decided from now on
//	GET  /v1/records/{stream}/{index}     one chunk's record (pending ones too)
//	GET  /v1/blocks/{height}              what a committed block decided; {height} may be "latest"
//	POST /v1/zk/verify                    verify a Ziggy signature or a Rescue-chain proof: {"valid":…,"reason":…}
//	GET  /healthz                         ok, chain height and a cached STARK self-check (200 or 503)
//	GET  /metrics                         Prometheus text format, series prefixed datadragon_
//	GET  /, /explorer/…                   the web explorer (package api/explorer): one embedded page, hash-routed
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
//	   "included_height", "vote", "leaf"}]}
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
// endpoint cannot be used to burn CPU. /metrics serves the registry given
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
