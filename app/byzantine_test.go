package app

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"

	"github.com/datadragon/datadragon/app/wire"
)

// busyNet returns a network a few heights in, whose last extended commit
// carries non-empty extensions from every validator.
func busyNet(t *testing.T) *testNet {
	n := newNet(t, netOpts{})
	for h := 0; h < 4; h++ {
		n.observe("sensors", uint64(h))
		n.observe("ticks", uint64(h))
		n.step()
	}
	for i, v := range n.lastExt.Votes {
		if len(v.VoteExtension) == 0 {
			t.Fatalf("vote %d has no extension", i)
		}
	}
	return n
}

func decodeCommit(t *testing.T, tx []byte) *wire.CommitTx {
	t.Helper()
	ct, err := wire.UnmarshalCommitTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func encodeCommit(t *testing.T, ct *wire.CommitTx) []byte {
	t.Helper()
	b, err := ct.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func accepts(t *testing.T, a *App, h int64, txs [][]byte, lc abci.CommitInfo) bool {
	t.Helper()
	r, err := a.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: h, Txs: txs, ProposedLastCommit: lc})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status == abci.PROCESS_PROPOSAL_STATUS_ACCEPT
}

// makeExtension builds validator val's extension for height h with the
// given attestations, signed by signerVal's Ziggy stand-in.
func (n *testNet) makeExtension(val, signerVal int, h int64, atts ...wire.Attestation) []byte {
	ext := &wire.Extension{Height: h, Attestations: atts}
	sig, _ := n.vals[signerVal].signer.Sign(wire.SignBytes(testChainID, h, n.vals[val].priv.PubKey().Address(), ext.Root()))
	ext.Signature = sig
	b, err := ext.Marshal()
	if err != nil {
		n.t.Fatal(err)
	}
	return b
}

func TestProcessProposalRejectsTamperedCommits(t *testing.T) {
	n := busyNet(t)
	h, txs := n.propose()
	lc := commitInfo(n.lastExt)
	judge := n.vals[1].app
	if !accepts(t, judge, h, txs, lc) {
		t.Fatal("honest proposal rejected")
	}
	// An older extension of validator 0, with its CometBFT signature for
	// that older height, from the block that carried it.
	old := decodeCommit(t, n.blocks[len(n.blocks)-2].Txs[0])

	type variant struct {
		name string
		mod  func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte // returns txs; nil: encode ct
	}
	variants := []variant{
		{"extension byte flipped", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[2].Extension[len(ct.Votes[2].Extension)/2] ^= 1
			return nil
		}},
		{"extension dropped, signature kept", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[1].Extension = nil
			return nil
		}},
		{"vote turned absent (commit says it voted)", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[1].Flag, ct.Votes[1].Extension, ct.Votes[1].ExtensionSignature = wire.FlagAbsent, nil, nil
			return nil
		}},
		{"vote removed", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes = ct.Votes[:3]
			return nil
		}},
		{"vote removed from both", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Votes = ct.Votes[:3]
			lc.Votes = lc.Votes[:3]
			return nil
		}},
		{"extension signature missing", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].ExtensionSignature = nil
			return nil
		}},
		{"extension signature from another validator", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].ExtensionSignature = ct.Votes[1].ExtensionSignature
			return nil
		}},
		{"extensions swapped between validators", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].Extension, ct.Votes[1].Extension = ct.Votes[1].Extension, ct.Votes[0].Extension
			ct.Votes[0].ExtensionSignature, ct.Votes[1].ExtensionSignature = ct.Votes[1].ExtensionSignature, ct.Votes[0].ExtensionSignature
			return nil
		}},
		{"power inflated in both", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Votes[0].Power = 1000
			lc.Votes[0].Validator.Power = 1000
			return nil
		}},
		{"power differs from the last commit", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].Power = 11
			return nil
		}},
		{"round changed", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Round = 1
			return nil
		}},
		{"round changed in both (signatures are per round)", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Round, lc.Round = 1, 1
			return nil
		}},
		{"height changed", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Height--
			return nil
		}},
		{"votes reordered", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0], ct.Votes[1] = ct.Votes[1], ct.Votes[0]
			return nil
		}},
		{"a validator twice", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Votes[1] = ct.Votes[0]
			lc.Votes[1] = lc.Votes[0]
			return nil
		}},
		{"unknown validator", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Votes[3].Address = bytes.Repeat([]byte{9}, 20)
			lc.Votes[3].Validator.Address = ct.Votes[3].Address
			return nil
		}},
		{"nil vote with an extension", func(ct *wire.CommitTx, lc *abci.CommitInfo) [][]byte {
			ct.Votes[2].Flag = wire.FlagNil
			lc.Votes[2].BlockIdFlag = cmtproto.BlockIDFlagNil
			return nil
		}},
		{"old extension with its old signature", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].Extension, ct.Votes[0].ExtensionSignature = old.Votes[0].Extension, old.Votes[0].ExtensionSignature
			return nil
		}},
		{"old extension re-signed by its validator's CometBFT key", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			ct.Votes[0].Extension = old.Votes[0].Extension
			ct.Votes[0].ExtensionSignature = n.signExt(0, ct.Height, ct.Round, old.Votes[0].Extension)
			return nil
		}},
		{"forged Ziggy signature, valid CometBFT signature", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			forged := n.makeExtension(2, 3, ct.Height, wire.Attestation{Stream: "ticks", Index: 7, Digest: wire.Digest{1}, TimeMs: 1})
			ct.Votes[2].Extension = forged
			ct.Votes[2].ExtensionSignature = n.signExt(2, ct.Height, ct.Round, forged)
			return nil
		}},
		{"unknown stream, validly signed", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			e := n.makeExtension(2, 2, ct.Height, wire.Attestation{Stream: "elsewhere", Index: 7, TimeMs: 1})
			ct.Votes[2].Extension = e
			ct.Votes[2].ExtensionSignature = n.signExt(2, ct.Height, ct.Round, e)
			return nil
		}},
		{"no transaction", func(*wire.CommitTx, *abci.CommitInfo) [][]byte { return [][]byte{} }},
		{"extra transaction", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			return [][]byte{encodeCommit(t, ct), []byte("hello")}
		}},
		{"garbage transaction", func(*wire.CommitTx, *abci.CommitInfo) [][]byte { return [][]byte{[]byte("hello")} }},
		{"truncated commit", func(ct *wire.CommitTx, _ *abci.CommitInfo) [][]byte {
			b := encodeCommit(t, ct)
			return [][]byte{b[:len(b)-1]}
		}},
	}
	for _, v := range variants {
		ct := decodeCommit(t, txs[0])
		lcv := abci.CommitInfo{Round: lc.Round, Votes: append([]abci.VoteInfo(nil), lc.Votes...)}
		out := v.mod(ct, &lcv)
		if out == nil {
			out = [][]byte{encodeCommit(t, ct)}
		}
		if accepts(t, judge, h, out, lcv) {
			t.Errorf("%s: accepted", v.name)
		}
		if testing.Verbose() {
			t.Logf("%s: %v", v.name, judge.checkProposal(judge.chain.Load(), h, out, &lcv))
		}
	}
	// Rejections leave nothing behind: the honest proposal still passes.
	if !accepts(t, judge, h, txs, lc) {
		t.Fatal("honest proposal rejected after the tampered ones")
	}
	// A block with no commit due (the first one) must carry no transaction.
	if accepts(t, judge, 1, txs, abci.CommitInfo{}) {
		t.Fatal("transactions in the first block accepted")
	}
}

// TestVerifyVoteExtension: what VerifyVoteExtension accepts and rejects.
func TestVerifyVoteExtension(t *testing.T) {
	n := newNet(t, netOpts{})
	app := n.vals[0].app
	addr := func(v int) []byte { return n.vals[v].priv.PubKey().Address() }
	good := wire.Attestation{Stream: "sensors", Index: 3, Digest: wire.Digest{3}, TimeMs: 9}
	verify := func(val int, h int64, ext []byte) bool {
		r, err := app.VerifyVoteExtension(ctx, &abci.VerifyVoteExtensionRequest{Height: h, ValidatorAddress: addr(val), VoteExtension: ext})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status == abci.VERIFY_VOTE_EXTENSION_STATUS_ACCEPT
	}
	if !verify(1, 5, n.makeExtension(1, 1, 5, good)) {
		t.Fatal("valid extension rejected")
	}
	if !verify(1, 5, nil) {
		t.Fatal("empty extension rejected")
	}
	// Oversized: over MaxExtensionBytes, and a signature over its limit.
	huge := n.makeExtension(1, 1, 5, good)
	huge = append(huge, make([]byte, wire.MaxExtensionBytes)...)
	bigSig := &wire.Extension{Height: 5, Attestations: []wire.Attestation{good}, Signature: make([]byte, wire.MaxSignatureBytes+1)}
	rawBigSig := append([]byte{wire.ExtensionVersion, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1}, good.Marshal()...)
	rawBigSig = append(rawBigSig, 0, 0, byte(len(bigSig.Signature)>>8), byte(len(bigSig.Signature)))
	rawBigSig = append(rawBigSig, bigSig.Signature...)
	var many []byte
	{
		many = append(many, wire.ExtensionVersion, 0, 0, 0, 0, 0, 0, 0, 5, byte((wire.MaxAttestations+1)>>8), byte((wire.MaxAttestations+1)&0xff))
		for i := 0; i <= wire.MaxAttestations; i++ {
			a := good
			a.Index = uint64(i)
			many = a.AppendBinary(many)
		}
		many = append(many, 0, 0, 0, 32)
		many = append(many, make([]byte, 32)...)
	}
	unsorted := &wire.Extension{Height: 5, Attestations: []wire.Attestation{good, {Stream: "sensors", Index: 1, TimeMs: 1}}}
	unsortedRaw := append([]byte{wire.ExtensionVersion, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2}, unsorted.Attestations[0].Marshal()...)
	unsortedRaw = append(unsortedRaw, unsorted.Attestations[1].Marshal()...)
	unsortedRaw = append(unsortedRaw, 0, 0, 0, 32)
	unsortedRaw = append(unsortedRaw, make([]byte, 32)...)

	rejected := map[string]struct {
		val int
		h   int64
		ext []byte
	}{
		"forged: signed with another validator's key": {1, 5, n.makeExtension(1, 2, 5, good)},
		"signed for another validator":                {1, 5, n.makeExtension(2, 2, 5, good)},
		"wrong height":                                {1, 6, n.makeExtension(1, 1, 5, good)},
		"signed for another height": {1, 6, func() []byte {
			e, _ := wire.UnmarshalExtension(n.makeExtension(1, 1, 5, good))
			e.Height = 6
			b, _ := e.Marshal()
			return b
		}()},
		"unknown stream":           {1, 5, n.makeExtension(1, 1, 5, wire.Attestation{Stream: "x", TimeMs: 1})},
		"oversized":                {1, 5, huge},
		"signature over the limit": {1, 5, rawBigSig},
		"too many attestations":    {1, 5, many},
		"unsorted attestations":    {1, 5, unsortedRaw},
		"garbage":                  {1, 5, []byte("not an extension")},
		"version 2":                {1, 5, append([]byte{2}, n.makeExtension(1, 1, 5, good)[1:]...)},
	}
	for name, c := range rejected {
		if verify(c.val, c.h, c.ext) {
			t.Errorf("%s: accepted", name)
		}
	}
	r, _ := app.VerifyVoteExtension(ctx, &abci.VerifyVoteExtensionRequest{Height: 5, ValidatorAddress: bytes.Repeat([]byte{7}, 20), VoteExtension: n.makeExtension(1, 1, 5, good)})
	if r.Status != abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT {
		t.Error("unknown validator accepted")
	}
	// Tampering after signing.
	e := n.makeExtension(1, 1, 5, good)
	e[20] ^= 1
	if verify(1, 5, e) {
		t.Error("tampered attestation accepted")
	}
}

// TestByzantineValidatorForgedSignature: validator 3 extends its vote with
// an extension signed by a key that is not its registered one. Every
// honest validator rejects it in VerifyVoteExtension, and a proposer that
// injects it anyway has its block refused.
func TestByzantineValidatorForgedSignature(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}})
	n.observe("s", 0)
	n.step()
	forged := n.makeExtension(3, 0, 2, wire.Attestation{Stream: "s", Index: 0, Digest: wire.Digest{6}, TimeMs: 1})
	for _, v := range n.vals[:3] {
		r, _ := v.app.VerifyVoteExtension(ctx, &abci.VerifyVoteExtensionRequest{Height: 2, ValidatorAddress: n.vals[3].priv.PubKey().Address(), VoteExtension: forged})
		if r.Status != abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT {
			t.Fatalf("%s accepted a forged extension", v.name)
		}
	}
	// Build height 2 by hand with the forged extension in the commit.
	h, txs := n.propose()
	lc := commitInfo(n.lastExt)
	if !n.process(h, txs, lc) {
		t.Fatal("height 2 proposal rejected")
	}
	var ext abci.ExtendedCommitInfo
	for i, v := range n.vals {
		e, _ := v.app.ExtendVote(ctx, &abci.ExtendVoteRequest{Height: h})
		raw := e.VoteExtension
		if i == 3 {
			raw = forged
		}
		ext.Votes = append(ext.Votes, abci.ExtendedVoteInfo{Validator: abci.Validator{Address: v.priv.PubKey().Address(), Power: v.power},
			BlockIdFlag: cmtproto.BlockIDFlagCommit, VoteExtension: raw, ExtensionSignature: n.signExt(i, h, 0, raw)})
	}
	n.finalize(&abci.FinalizeBlockRequest{Height: h, Txs: txs, DecidedLastCommit: lc, Time: n.blockTime(h)})
	n.lastExt = ext
	h, txs = n.propose()
	if n.process(h, txs, commitInfo(n.lastExt)) {
		t.Fatal("a block injecting a forged extension was accepted")
	}
	if !strings.Contains(string(txs[0][:5]), "DDxc") {
		t.Fatal("no injected commit")
	}
}

// TestVerifyCacheKeepsNoSignatures: a checked extension is cached without
// its Ziggy signature (the cache's entries held ~20 KB each), and a second
// check of the same bytes answers from the cache with the same
// attestations; a forged signature is still refused.
func TestVerifyCacheKeepsNoSignatures(t *testing.T) {
	n := newNet(t, netOpts{})
	a := n.vals[0].app
	c := a.chain.Load()
	good := wire.Attestation{Stream: "sensors", Index: 3, Digest: wire.Digest{3}, TimeMs: 9}
	raw := n.makeExtension(1, 1, 5, good)
	for round := range 2 {
		ext, err := a.checkExtension(c, 1, 5, raw)
		if err != nil {
			t.Fatalf("check %d: %v", round, err)
		}
		if len(ext.Signature) != 0 || len(ext.Attestations) != 1 || ext.Attestations[0] != good {
			t.Fatalf("check %d: %d signature bytes, attestations %+v", round, len(ext.Signature), ext.Attestations)
		}
	}
	a.cache.each(func(k [32]byte, v cached) {
		if v.ext != nil && len(v.ext.Signature) != 0 {
			t.Errorf("cache entry %x keeps a %d-byte signature", k[:4], len(v.ext.Signature))
		}
	})
	if _, err := a.checkExtension(c, 1, 5, n.makeExtension(1, 2, 5, good)); err == nil {
		t.Fatal("an extension signed with another validator's key was accepted")
	}
}

// TestVerifyCacheKeepsTheLatestEntries: however many entries went in, the
// latest verifyCacheSize are still there. A cache emptied when full lost
// the extensions of the height in progress every few dozen heights.
func TestVerifyCacheKeepsTheLatestEntries(t *testing.T) {
	c := newVerifyCache(8)
	key := func(i int) [32]byte { return sha256.Sum256(fmt.Append(nil, i)) }
	for i := range 40 {
		c.put(key(i), cached{err: fmt.Errorf("%d", i)})
		for j := max(0, i-7); j <= i; j++ {
			v, ok := c.get(key(j))
			if !ok || v.err.Error() != fmt.Sprint(j) {
				t.Fatalf("after %d puts, entry %d is %v %v", i+1, j, v, ok)
			}
		}
		n := 0
		c.each(func([32]byte, cached) { n++ })
		if n > 16 {
			t.Fatalf("after %d puts the cache holds %d entries, more than two generations of 8", i+1, n)
		}
	}
}

// TestEachExtensionVerifiedOnce: over hundreds of heights, every app
// checks every extension's signature exactly once (VerifyVoteExtension
// for the others', ProcessProposal for its own), however long the chain.
func TestEachExtensionVerifiedOnce(t *testing.T) {
	n := newNet(t, netOpts{})
	const warm, heights = 5, 300
	for i := range uint64(warm) {
		n.observe("sensors", i)
		n.step()
	}
	before := n.scheme.Verifies()
	for i := range uint64(heights) {
		n.observe("sensors", warm+i)
		n.step()
	}
	got := n.scheme.Verifies() - before
	want := int64(heights * len(n.vals) * len(n.vals))
	if got != want {
		t.Fatalf("%d signature checks over %d heights of %d validators attesting each height, want %d (each app checks each extension once)", got, heights, len(n.vals), want)
	}
}
