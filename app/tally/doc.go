// Package tally is the 51 % vote: the pure, deterministic rule that turns
// validators' attestations into accepted or disputed chunks, weighted-median
// timestamps and per-validator outcomes. It has no storage, no clock and no
// crypto; the app feeds it attestations whose signatures it has checked,
// block by block, and persists what it returns.
//
// It is a package of its own so the rule can be tested exhaustively without
// a chain, a store or signatures.
//
// # The rule
//
// Each chunk (stream, index) goes through three phases:
//
//  1. Pending, from the block that counts its first attestation (height
//     f). Every validator has at most one entry. The claim of an
//     attestation is its digest and verdict (the observation time is not
//     part of it).
//
//  2. Decided. At the end of each block, after all the block's attestations
//     are applied, a pending chunk whose one claim is held by validators
//     with more than Num/Den of the TOTAL voting power (counted or not) is
//     accepted. Gap attestations and equivocators support no claim. With
//     the threshold at least 1/2 two claims can never both pass.
//
//     The dispute clock starts at the end of the first block (s) at which
//     the validators that attested the chunk, with any claim, hold more
//     than 1/3 of the total power: under CometBFT's assumption that
//     faulty validators hold less than a third, at least one honest
//     validator has then seen the chunk. A chunk still pending at the end
//     of block s+W−1 is disputed: it had W blocks. A chunk that never gets
//     there within W blocks of its first attestation (f+W−1) is dropped —
//     forgotten without a record — so a Byzantine minority attesting
//     chunks that do not exist yet cannot start their clocks early and
//     have them disputed before honest validators observe them. (When
//     everyone observes a chunk at about the same time, s = f.)
//
//  3. Settling, for W blocks after the decision, so validators whose
//     attestations arrive a block or two late are not called absent. At the
//     end of block decided+W the chunk is settled: every validator's
//     outcome is final and counted once in its counters; attestations that
//     arrive later are ignored.
//
// Per validator and chunk:
//
//   - a second attestation with the same claim is a duplicate and ignored
//     (validators re-send until their attestation is counted);
//   - a gap may be replaced by a real claim (the validator caught up by
//     replay); a gap after a real claim is ignored;
//   - two different real claims are an equivocation: the entry is voided
//     (it supports nothing from then on, even if the chunk is still
//     pending), the outcome is "equivocated" and the validator is counted
//     faulty and equivocating;
//   - outcomes: agreed (the accepted claim), faulty (another claim), gap,
//     equivocated, attested (the chunk was disputed, so there is nothing to
//     agree with), absent (nothing counted by settlement).
//
// Attestations counted after the decision are "late": they get an
// outcome the same way, are kept with the chunk (not in the record, whose
// encoding is fixed at the decision), and count as late in the counters.
//
// # The timestamp
//
// A record's time is the lower power-weighted median of the observation
// times of the validators holding the accepted claim: sort their times
// ascending, and take the first time at which the running sum of power
// reaches at least half of their total power. When the powers split
// exactly in half between two times, the lower one is taken; equal times
// are interchangeable. A validator with less than half of the majority's
// power cannot move it past an honest time.
package tally
