// Package merkle implements the SHA-256 Merkle tree used by the zk-STARK
// engine to commit to evaluation tables and to open them at query positions.
// The tree is stored as a flat heap-layout array and openings are compact
// multi-proofs: when several queried leaves share authentication-path nodes,
// each node is sent once and nodes the verifier can recompute are omitted.
//
// Hash layouts (SHA-256, no other framing):
//
//	leaf hash: SHA-256(0x00 || data)          data is the raw leaf bytes
//	node hash: SHA-256(0x01 || left || right) left, right are 32-byte digests
//
// The one-byte prefixes separate the two domains, so a leaf can never be
// reinterpreted as an interior node (second-preimage attacks on the tree).
//
// Layout: for n leaves, nodes[1] is the root, the children of nodes[p] are
// nodes[2p] and nodes[2p+1], and leaf i's hash is nodes[n+i]; nodes[0] is
// unused. A proof for a sorted index set lists the sibling digests the
// verifier cannot compute, level by level from the leaves up and left to
// right within a level.
package merkle
