// Package node runs one DataDragon validator: CometBFT consensus with the
// DataDragon app in the same process, one ingest follower per registered
// stream, the attestor between them, and the HTTP API.
//
// It exists so that everything with I/O lives in one place and the app
// stays a deterministic state machine: the node owns the network
// (CometBFT's P2P, the WebSocket observers, the HTTP server), the clocks
// (observation times) and the files of a home:
//
//	HOME/node.json               the node's settings (Config)
//	HOME/ziggy.key, ziggy.pub    its Ziggy key pair (attestation signatures)
//	HOME/config/                 CometBFT keys and the genesis
//	HOME/data/                   CometBFT's stores, the app's state (data/app),
//	                             the receipt archive (data/receipts.db), and
//	                             the validator's last-signed state, kept
//	                             across restarts so it never double-signs
//
// CometBFT's known sharp edges are handled here: its Prometheus metrics
// are off (several nodes share a process in devnet; each node's API has its
// own registry), its databases are wrapped so a reactor reading after
// shutdown finds nothing instead of crashing the process (guardedDB), the
// transaction indexer is off (it would hold its database across an
// in-process restart), and Stop goes in the order that loses nothing: API,
// observers, consensus, then the app's store.
//
// # A damaged state file
//
// The app verifies data/app/app.db when the node opens (Open fails with
// the app's error naming the file), on every read, and in a background
// scrub every scrub_interval of node.json (default DefaultScrubInterval).
// Once it finds damage the API answers 503 with the app's message and
// /healthz is unhealthy, and the validator stops attesting and voting
// (CometBFT logs a consensus failure). The state is a function of the
// chain: with the file moved aside, the next start replays every block
// of the node's block store into a new one; with a backup of the node's
// own file put back, the blocks after it
// (TestDamagedStateIsDetectedRefusedAndRebuilt). That needs the blocks:
// a node that prunes (below) can replay only from its oldest kept block,
// so its state is rebuilt from a backup of app.db no older than that, or
// from a copy of another validator's app.db taken while that node was
// stopped (the state, and so the file's checksums, are the same on every
// validator); a node with retain_blocks 0 keeps every block.
//
// # Pruning and the receipt archive
//
// A receipt needs three things that live in CometBFT's blocks: the header
// of the block after the deciding one, its commit, and the vote extension
// that carried each majority attestation (a Ziggy signature of about
// 19.5 KB each). At every commit the node first copies them, for the
// heights up to two below the tip (the commit for h+1 is canonical once
// block h+2 holds it as its last commit), into data/receipts.db: every
// non-empty extension of the height's injected commit, once per height
// and validator however many records it covers, and a header with its
// commit only for heights after one that accepted records. Extensions
// are copied when their block is archived, not when their chunks are
// decided: a chunk may be decided long after it was first attested (the
// dispute window, extended by late confirmations), and copying at the
// block keeps the rule simple — everything a receipt needs from a height
// is archived once the height is — so the retain height never depends on
// which chunks are still open. At the demo load almost every attestation
// ends up in a receipt, so this keeps little that none needs. The copy is one bbolt transaction, synced before the
// commit returns. Only then does the app's Commit answer the retain
// height, min(first height not archived, tip − retain_blocks), and
// CometBFT's pruner deletes the blocks and states below it every
// pruneInterval. So a node stopped or killed between the two has
// archived everything below what it may prune, and resumes archiving
// where the file says. CometBFT v1.0.1's pruner leaves each height's
// extended commit (the extensions again) behind; the node deletes those
// below the block store's base itself. The archive is the node's own
// file, outside the app's state, so the app hash and the determinism of
// the state machine are untouched, and receipt.Build reads it first and
// the block store after it, with byte-identical results
// (TestPrunedBlocksKeepEveryReceipt; TestPruningNodeKilledLosesNoReceipt
// SIGKILLs a pruning node and checks the order after every kill).
//
// A pruned node still replays its own blocks at a restart (the kept
// window is far above the two CometBFT may replay) and serves block sync
// from its base up: a peer further behind than retain_blocks must catch
// up from a node that keeps more (retain_blocks 0); state sync is not
// offered. CometBFT keeps headers and commits (not block bodies) within
// the evidence age whatever the retain height: a new network's genesis
// sets it to 1,000 blocks and 5 minutes (home.go), not CometBFT's 100,000
// blocks and 48 h, which kept about a gigabyte a node at the demo's rate. The consensus WAL (data/cs.wal) is not a block store:
// CometBFT rotates it at 10 MiB and keeps 1 GiB of files, and v1.0.1
// gives an in-process node no way to lower that (the consensus state
// opens it with the defaults). A restart replays only what follows the
// last end-of-height marker, so the node deletes the rotated files older
// than the newest one holding a marker, keeping the newest 16 MiB
// whatever they hold (walprune.go).
package node
