package app

import (
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/datadragon/datadragon/app/wire"
)

// approval is validator val's signed approval of p with the given nonce.
func (n *testNet) approval(val int, p wire.Proposal, nonce uint64) []byte {
	return n.approvalFor(testChainID, val, p, nonce)
}

func (n *testNet) approvalFor(chainID string, val int, p wire.Proposal, nonce uint64) []byte {
	n.t.Helper()
	sig, err := n.vals[val].signer.Sign(wire.GovSignBytes(chainID, p.ID(chainID), uint16(val), nonce))
	if err != nil {
		n.t.Fatal(err)
	}
	tx, err := (&wire.GovernTx{Proposal: p, Approver: uint16(val), Nonce: nonce, Signature: sig}).Marshal()
	if err != nil {
		n.t.Fatal(err)
	}
	return tx
}

// join starts a node from nothing: genesis, then every block so far.
func (n *testNet) join(name string) *testVal {
	n.t.Helper()
	req := n.initChainRequest()
	v := &testVal{name: name, att: newAttestor(), dir: n.t.TempDir()}
	seed := sha256.Sum256([]byte(v.name))
	v.priv = ed25519.GenPrivKeyFromSecret(seed[:])
	v.signer = n.scheme.NewSigner(v.name)
	v.app = n.openApp(v)
	if _, err := v.app.InitChain(ctx, req); err != nil {
		n.t.Fatal(err)
	}
	for i, b := range n.blocks {
		resp, err := v.app.FinalizeBlock(ctx, b)
		if err != nil {
			n.t.Fatal(err)
		}
		if string(resp.AppHash) != string(n.hashes[i]) {
			n.t.Fatalf("%s replaying height %d: another app hash", name, b.Height)
		}
		if _, err := v.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
			n.t.Fatal(err)
		}
	}
	n.vals = append(n.vals, v)
	return v
}

// code returns the result code of the i-th mempool transaction of height h.
func (n *testNet) code(h int64, i int) uint32 {
	n.t.Helper()
	rs := n.results[h]
	if i+1 >= len(rs) {
		n.t.Fatalf("height %d has %d transactions", h, len(rs))
	}
	return rs[i+1].Code // after the injected commit
}

func (n *testNet) stepTxs(txs ...[]byte) int64 {
	n.mempool = txs
	n.step()
	return n.height
}

func (n *testNet) checkTx(val int, tx []byte) uint32 {
	n.t.Helper()
	r, err := n.vals[val].app.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx})
	if err != nil {
		n.t.Fatal(err)
	}
	return r.Code
}

func powerOf(vs []ValidatorInfo, i int) int64 { return vs[i].Power }

func TestGovernanceGrowShrinkAndPower(t *testing.T) {
	n := newNet(t, netOpts{window: 30})
	n.step()
	n.step()
	nv := n.join("node4")
	add := wire.Proposal{Action: wire.GovAdd, KeyType: "ed25519", CometKey: nv.priv.PubKey().Bytes(),
		ZiggyKey: nv.signer.PublicKey(), Power: 10, Moniker: "node4"}

	// Short of 2/3: 20 of 40 approve. Nothing changes.
	first := n.approval(0, add, 1)
	h := n.stepTxs(first, n.approval(1, add, 1))
	if n.code(h, 0) != CodeOK || n.code(h, 1) != CodeOK {
		t.Fatalf("approvals refused: %v", n.results[h])
	}
	if len(n.sets) != 0 {
		t.Fatal("a change ran with half the power approving")
	}
	// A replayed approval is refused, in the mempool and in a block.
	if c := n.checkTx(2, first); c != CodeStaleNonce {
		t.Fatalf("CheckTx of a replayed approval: code %d", c)
	}
	// Signed for another chain, or by another key, it does not verify.
	other := n.approvalFor("other-chain", 2, add, 1)
	forged := n.approval(3, add, 1)
	g, _ := wire.UnmarshalTx(forged)
	g.Govern.Approver = 2
	forgedTx, _ := g.Govern.Marshal()
	// The new node is no validator yet: its approval counts nothing.
	h = n.stepTxs(first, other, forgedTx, n.approval(4, add, 1))
	for i, want := range []uint32{CodeStaleNonce, CodeBadSignature, CodeBadSignature, CodeGovNotValidator} {
		if got := n.code(h, i); got != want {
			t.Errorf("height %d tx %d: code %d, want %d (%s)", h, i, got, want, n.results[h][i+1].Log)
		}
	}
	if len(n.sets) != 0 {
		t.Fatal("forged approvals ran a change")
	}
	// A change of a third or more of the power is refused.
	big := add
	big.Power = 14
	if c := n.checkTx(0, n.approval(0, big, 2)); c != CodeGovBadProposal {
		t.Fatalf("an addition of 14 to 40: code %d", c)
	}

	// The third approval passes: 30 of 40 > 2/3.
	h = n.stepTxs(n.approval(2, add, 1))
	if n.code(h, 0) != CodeOK {
		t.Fatal(n.results[h][1].Log)
	}
	if len(n.sets) != 2 || n.sets[1].from != h+2 || n.sets[1].powers[4] != 10 {
		t.Fatalf("height %d: ValidatorUpdates make sets %+v, want node4 with 10 from %d", h, n.sets, h+2)
	}
	// It ran once: a late approval is refused.
	lateH := n.stepTxs(n.approval(3, add, 1))
	if c := n.code(lateH, 0); c != CodeGovDone {
		t.Fatalf("approval after the change ran: code %d", c)
	}
	for n.height < h+2 {
		n.step()
	}
	// A restarted node reads the sets back from its state.
	n.vals[3].app.Close()
	n.vals[3].app = n.openApp(n.vals[3])

	// node4 attests: with node0 and node1 it holds 30 of 50.
	n.observe("sensors", 1, 0, 1, 4)
	for range 4 {
		n.step()
	}
	r := n.record(0, "sensors", 1)
	if r.Status != "accepted" || r.Power != 30 || r.TotalPower != 50 {
		t.Fatalf("sensors/1 with node4: %s power %d of %d", r.Status, r.Power, r.TotalPower)
	}

	// node0 and node1 attest sensors/2 (20 of 50, pending); then node1 is removed.
	n.observe("sensors", 2, 0, 1)
	n.step()
	n.step()
	if r := n.record(0, "sensors", 2); r.Status != "pending" {
		t.Fatalf("sensors/2 is %s", r.Status)
	}
	before := n.counters(0)[1]
	rm := wire.Proposal{Action: wire.GovRemove, KeyType: "ed25519", CometKey: n.vals[1].priv.PubKey().Bytes()}
	h = n.stepTxs(n.approval(0, rm, 2), n.approval(2, rm, 2), n.approval(3, rm, 1))
	if len(n.sets) != 2 {
		t.Fatal("30 of 50 ran a removal")
	}
	h = n.stepTxs(n.approval(4, rm, 1))
	if len(n.sets) != 3 || n.sets[2].powers[1] != 0 || n.sets[2].from != h+2 {
		t.Fatalf("removal: sets %+v", n.sets)
	}
	for n.height < h+2 {
		n.step()
	}
	// A proposal whose injected commit still counts node1's vote is
	// refused: the commit of each height is the set in force there.
	h2, txs := n.propose()
	stale := n.lastExt
	stale.Votes = append(stale.Votes, abci.ExtendedVoteInfo{Validator: abci.Validator{Address: n.vals[1].priv.PubKey().Address(), Power: 10}})
	forgedTxs := append([][]byte{}, txs...)
	if ct, err := wire.UnmarshalCommitTx(txs[0]); err == nil {
		ct.Votes = append(ct.Votes, wire.CommitVote{Address: n.vals[1].priv.PubKey().Address(), Power: 10, Flag: wire.BlockIDFlag(1)})
		forgedTxs[0], _ = ct.Marshal()
	}
	if n.process(h2, forgedTxs, commitInfo(stale)) {
		t.Fatal("a commit counting the removed validator was accepted")
	}
	// node3 joins node0 on sensors/2: 20 of 40 is not more than half;
	// node1's attestation, made before it left, counts nothing.
	n.observe("sensors", 2, 3)
	n.step()
	n.step()
	if r := n.record(0, "sensors", 2); r.Status != "pending" {
		t.Fatalf("sensors/2 with a removed validator's attestation: %s, power %d of %d", r.Status, r.Power, r.TotalPower)
	}
	n.observe("sensors", 2, 2)
	n.step()
	n.step()
	if r := n.record(0, "sensors", 2); r.Status != "accepted" || r.Power != 30 || r.TotalPower != 40 {
		t.Fatalf("sensors/2: %s power %d of %d", r.Status, r.Power, r.TotalPower)
	}
	if st, err := n.vals[0].app.Status(); err != nil || st.Validators != 4 || st.TotalPower != 40 {
		t.Fatalf("status after the removal: %+v %v, want 4 validators holding 40", st, err)
	}
	vs := n.counters(0)
	if len(vs) != 5 || powerOf(vs, 1) != 0 || vs[1].Name != "node1" || vs[1].Attested != before.Attested {
		t.Fatalf("validators after the removal: %+v", vs)
	}
	// The removed validator can approve nothing.
	pw := wire.Proposal{Action: wire.GovPower, KeyType: "ed25519", CometKey: n.vals[2].priv.PubKey().Bytes(), Power: 15}
	if c := n.checkTx(0, n.approval(1, pw, 2)); c != CodeGovNotValidator {
		t.Fatalf("a removed validator's approval: code %d", c)
	}
	// node2's power becomes 15: 30 of 40 approve.
	h = n.stepTxs(n.approval(0, pw, 3), n.approval(3, pw, 2), n.approval(4, pw, 2))
	if len(n.sets) != 4 || n.sets[3].powers[2] != 15 {
		t.Fatalf("power change: sets %+v", n.sets)
	}
	for n.height < h+2 {
		n.step()
	}
	n.observe("sensors", 3, 0, 2, 3)
	for range 3 {
		n.step()
	}
	if r := n.record(0, "sensors", 3); r.Status != "accepted" || r.Power != 35 || r.TotalPower != 45 {
		t.Fatalf("sensors/3: %s power %d of %d", r.Status, r.Power, r.TotalPower)
	}
	if got := powerOf(n.counters(4), 2); got != 15 {
		t.Fatalf("node4 says node2 has power %d", got)
	}
}

// TestGovernanceOneChangeInFlight: a proposal that passes while another
// change is on its way waits, and runs once the set is in force.
func TestGovernanceOneChangeInFlight(t *testing.T) {
	n := newNet(t, netOpts{powers: []int64{10, 10, 10, 10}, window: 30})
	n.step()
	a := wire.Proposal{Action: wire.GovPower, KeyType: "ed25519", CometKey: n.vals[0].priv.PubKey().Bytes(), Power: 12}
	b := wire.Proposal{Action: wire.GovPower, KeyType: "ed25519", CometKey: n.vals[1].priv.PubKey().Bytes(), Power: 12}
	h := n.stepTxs(n.approval(0, a, 1), n.approval(1, a, 1), n.approval(2, a, 1),
		n.approval(0, b, 2), n.approval(1, b, 2), n.approval(2, b, 2))
	for i := range 6 {
		if n.code(h, i) != CodeOK {
			t.Fatalf("tx %d: %s", i, n.results[h][i+1].Log)
		}
	}
	if len(n.sets) != 2 || n.sets[1].powers[0] != 12 || n.sets[1].powers[1] != 10 {
		t.Fatalf("two changes in one block: %+v", n.sets)
	}
	n.step() // h+1: the first is not in force yet
	if len(n.sets) != 2 {
		t.Fatal("the second change ran while the first was in flight")
	}
	n.step() // h+2: in force; the waiting one runs
	if len(n.sets) != 3 || n.sets[2].from != h+4 || n.sets[2].powers[1] != 12 {
		t.Fatalf("the waiting change: %+v", n.sets)
	}
	for range 3 {
		n.step()
	}
}
