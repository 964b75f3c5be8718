// Package statehash digests a whole key-value state so that the digest
// can be kept up to date one write at a time.
//
// It exists for state sync: a node that restores the app's state from a
// snapshot served by strangers must be able to check the whole state
// against the app hash of a header its light client verified. A digest
// of the writes of each block (what the app hash chained before) cannot
// show that; a digest of the whole state recomputed at every block would
// cost a full scan per block. This one costs two small hashes per write.
//
// # Construction
//
// The digest is a lattice hash (LtHash, Bellare and Micciancio 1997, with
// the parameters Lewi, Kim, Maykov and Weis analysed in 2019): each
// element is expanded by SHAKE-128 to 1024 lanes of 16 bits, and the
// digest of a set is the lane-wise sum, modulo 2¹⁶, of its elements'
// expansions. Adding an element adds its expansion, removing one
// subtracts it, so the digest of a state does not depend on the order in
// which it was built, and a state rebuilt from a snapshot in any order
// has the digest the chain maintained block by block. Finding two
// different sets with one digest is as hard as a short-vector problem in
// a lattice of dimension 1024 (about 200 bits of security, per the 2019
// analysis). Sum compresses the 2048 bytes to 32 with SHA-256 for the app
// hash; the full lanes are kept beside the state to be updated.
package statehash
