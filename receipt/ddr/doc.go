// Package ddr reads and writes file receipts: one .ddr file per pushed
// file, holding the receipt of every chunk with everything the chunks
// share stored once — the validator set, each deciding block's header and
// commit, and each vote extension's Ziggy signature (one signature covers
// every chunk its validator attested at that height).
//
// A .ddr is binary (Encode), canonical (Decode refuses any encoding other
// than the one Encode writes), length-checked and versioned; View gives
// its JSON form. Receipts turns it back into the per-chunk receipts of
// package receipt, which Verify checks with receipt.VerifyCached, so a
// file receipt proves exactly what its chunks' JSON receipts prove. From
// picks the fewest extension signatures that still give every chunk
// attestations of more than the threshold of power, which is what makes a
// receipt of a 100 MiB file fit in about a megabyte instead of sixteen.
package ddr
