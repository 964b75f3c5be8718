// Package app is DataDragon's consensus application: the deterministic
// ABCI++ state machine CometBFT runs on every validator. It turns the
// validators' attestations of stream chunks into records — accepted when
// one digest holds more than half of the total voting power, disputed
// when none does in time — keeps per-validator fault counts, and commits to
// all of it in the app hash. It has no network and no clock but block time;
// ingest, signatures and storage come in through small interfaces
// (Attestor, Signer, Scheme) and a directory.
//
// # One height
//
//   - ExtendVote (height h): the app asks the Attestor for this validator's
//     pending attestations, drops those already counted, in flight in the
//     previous height's extension, decided-and-settled, invalid or for
//     unknown streams, keeps at most 256, and signs their Merkle root with
//     the Signer (Ziggy). Failures give an empty extension, never an error.
//   - VerifyVoteExtension: empty is fine; otherwise the extension must
//     decode within the limits, be for h, name registered streams only and
//     carry a valid signature by the validator's registered Ziggy key.
//   - PrepareProposal (h+1): the proposer's first transaction is the
//     extended commit of h (wire.CommitTx), copied from LocalLastCommit;
//     the mempool's DataDragon transactions follow, within the block limit.
//   - ProcessProposal (h+1): the first transaction is that commit; its votes equal
//     the block's last commit (address, power, flag, order, round); the
//     voters are the genesis validator set with their powers; each commit
//     vote's extension is signed by the validator's CometBFT key over
//     CometBFT's vote-extension sign bytes (chain id, h, round) and passes
//     the VerifyVoteExtension checks. A proposer cannot drop, alter, swap or
//     replay an extension without failing a signature; it can only leave a
//     validator out of both commits, which CometBFT allows.
//   - FinalizeBlock (h+1): the attestations of the injected commit go into
//     the tally (package tally): chunks are accepted, their timestamps
//     taken as the power-weighted median of the majority's observation
//     times, disputed, dropped or settled. Records of the chunks decided
//     in the block are written; the record root is the Merkle root of the
//     accepted ones; the app hash chains everything (below). One event of
//     type "datadragon.record" per decided record (attributes stream,
//     index, status, digest, verdict, timestamp_ms, power, total_power).
//     Nothing is written yet.
//   - Commit: the block's writes go to bbolt in one transaction; then the
//     Attestor hears what was included, decided, dropped and stale, and
//     OnCommit what was recorded. The retain height Commit returns is
//     Config.RetainHeight's answer: the node's local pruning decision,
//     no part of the state or the app hash.
//
// # App hash
//
//	genesis: SHA-256("datadragon/genesis/v1" ‖ u8 len ‖ chain id ‖ u32 len ‖ canonical genesis JSON)
//	block h: SHA-256("datadragon/apphash/v1" ‖ app hash of h−1 ‖ u64 h ‖ record root ‖ changeset hash)
//
// The changeset hash (store.Batch.Hash) digests every state write of the
// block, sorted, so two apps agree on the app hash only if they agree on
// the whole state. A receipt proves a record with its Merkle path to the
// record root plus the previous app hash and the changeset hash of its
// block (Block returns them); the result is in the header of h+1.
//
// # State (bbolt, Config.Dir/app.db)
//
// Buckets: records (chunk → wire.Record), chunks (chunk → tally.Chunk, the
// live tally with every validator's entry, kept after settlement),
// deadlines (height ‖ chunk), counters (validator → tally.Counters),
// streams (per-stream counts), blocks (per-height info: times, record
// root, changeset hash, app hashes, decided chunks) and meta (genesis,
// chain parameters, last height and app hash), and the push buckets
// (push.go). Commit is atomic; Info returns the last committed height and
// app hash so that CometBFT's handshake replays only what is missing
// after a restart.
//
// # A damaged state file
//
// Every stored value carries a CRC-32C of its bucket, key and value,
// verified on every read, and bbolt's page reads are guarded (package
// store), so a flipped bit or a damaged page is never served as state and
// no bbolt panic reaches a caller. New runs Scrub before anything is
// served, attested or replayed: every value's checksum, bbolt's page
// check, then the chain the state holds — each block's app hash
// recomputed from its parts and chained from the genesis, each record
// root recomputed from the records as stored, and the stored height and
// app hash those of the last block (CometBFT's handshake then compares
// that app hash with its own state). The node scrubs again periodically.
// A record view, served from the tally, must agree with the committed
// record on the decision (status, height, digest, verdict, time, power).
// Once damage is found, every read method, ExtendVote (which attests
// nothing) and FinalizeBlock fail with an error matching ErrCorrupt that
// names the file and ends with CorruptAdvice. The checksums are local:
// the changeset hash, and so the app hash, covers the values only. A
// file written before the checksums (store format 1) is refused, left as
// it is, with an error saying so and FormatAdvice: moved aside, it is
// rebuilt from the chain like a damaged one.
//
// # Genesis
//
// The "app_state" of CometBFT's genesis is a GenesisState (JSON, unknown
// fields rejected): validators (CometBFT key ↔ Ziggy key, power), the
// acceptance threshold (default 1/2, strictly more is needed), the dispute
// window W (default 30 blocks) and the streams (id, ws:// source, chunk
// policy, opaque rules). InitChain also requires vote extensions to be on
// (consensus_params.feature.vote_extensions_enable_height ≥ 1, normally
// the initial height), CometBFT's validators to equal the app state's (or
// none, and the app supplies them), and blocks big enough for every
// validator's largest extension. The validator set changes by governance
// (govern.go): approved changes go to CometBFT as ValidatorUpdates.
//
// # Transactions
//
// After the injected commit, a block carries mempool transactions
// (wire.TxMagic): pushed chunks (wire.ChunkTx), stream registrations
// signed by their owner (wire.RegisterTx) and experts' endorsements or
// disputes (wire.ExpertTx). CheckTx admits them after the same checks
// FinalizeBlock makes against its block's state, in block order, with a
// result code per transaction (Code* in push.go): a public chunk is hashed
// here by every validator and its stream's rules evaluated, the chain
// gives it its index (or checks the producer's), and the attestor attests
// the result at the next height like any observed chunk. ProcessProposal
// checks only their framing: their effect depends on the block's state.
package app
