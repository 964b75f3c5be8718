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
//	                             and the validator's last-signed state, kept
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
// (TestDamagedStateIsDetectedRefusedAndRebuilt). CometBFT never prunes
// the block store here (the app sets no retain height), so every block
// is there to replay.
package node
