// Package merkle is the binary Merkle tree the consensus app uses twice:
// over the attestations of one vote extension (the root is what a
// validator's Ziggy signature covers) and over the records accepted in one
// block (the per-block record root that the app hash commits to).
//
// It exists apart from zk/merkle, which commits to rows of a STARK trace and
// is tuned for that; this one is small, generic and fixed forever, because
// receipts verified years later depend on it.
//
// The tree is the one of RFC 9162 (Certificate Transparency v2), §2.1, with
// SHA-256:
//
//	leaf hash  = SHA-256(0x00 ‖ leaf bytes)
//	inner hash = SHA-256(0x01 ‖ left ‖ right)
//	root of 0 leaves = SHA-256("")
//	root of n > 1 leaves: split at k, the largest power of two below n;
//	  root = inner(root(first k), root(remaining n−k))
//
// The 0x00/0x01 prefixes keep a leaf from passing for an inner node, and the
// power-of-two split never duplicates a node, so two different leaf lists
// cannot share a root (unlike trees that pad odd levels by repeating the
// last node).
package merkle
