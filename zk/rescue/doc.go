// Package rescue implements the Rescue hash over p = 2^61 + 20·2^32 + 1
// with the parameters of ethSTARK and Ziggy: a state of 12 elements (rate
// 8, capacity 4), 10 rounds and S-boxes x³ and x^(1/3).
//
// DataDragon needs a hash that is cheap to prove inside a STARK: Ziggy
// public keys are Rescue hashes of a secret, and the hash-chain statement
// (package zk/chain) proves knowledge of a chain of Rescue hashes. Its
// constants and semantics are fixed by testdata/rescue-ethstark.json,
// shared with the seed implementation, and every vector there is a test.
//
// # The permutation
//
// With M the MDS matrix and K0..K20 the round constants, the state s is
// first offset by K0; round r = 1..10 then computes
//
//	m_r = M·s^(1/3) + K(2r−1)   (the "middle" state)
//	s   = M·m_r³    + K(2r)
//
// with powers taken element by element. Because 3 does not divide p−1,
// cubing permutes the field and x^(1/3) = x^((2p−1)/3). A hash of one rate
// block is the permutation of (input ‖ 0⁴), truncated to 4 elements;
// HashPair hashes two 4-element digests, and Chain folds HashPair over a
// list. PermuteRounds also returns the middle states: the chain AIR stores
// them, one per trace row, because both halves of a round are then degree
// 3 when read from the neighbouring rows.
//
// # Constants
//
// constants.go is generated from the vectors file by internal/gen
// (go generate) and a test checks it is current; another test compares the
// Go constants with the JSON. MDSInverse is computed at start-up.
//
// # Speed
//
// The cube roots dominate (12 per half round, ~73 multiplications each):
// they run as twelve interleaved lanes with lazy Montgomery reduction, and
// matrix rows accumulate 128-bit sums with one reduction each (Dot). On
// the development VM a permutation takes about 8.5 µs.
package rescue
