// Package ingest is how data enters DataDragon: the "ingest" box of the
// design. It turns a data source's WebSocket stream into closed, digested,
// timestamped chunks, and knows nothing of consensus.
//
// The box is a few small packages, each with one job, wired together by
// Follow in this package:
//
//	frame    the wire format between a source and its observers
//	gen      deterministic content for demo sources, and the stream clock
//	source   a WebSocket data source with a bounded replay buffer
//	observe  the observing client: in-order delivery, resume, gaps
//	chunk    the deterministic chunker (seq or source-time policies)
//	digest   the canonical chunk digest, defined once
//
// Data flows one way: source ─ws─▶ observe ─frames, gaps─▶ chunk ─▶ chunks
// with digests ─▶ the node, which attests them. Subpackages never import
// this package.
package ingest
