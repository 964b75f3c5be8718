package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
)

// TestNetworkAcceptsEveryChunk drives four validators through 26 heights;
// every chunk of two streams is observed by all and must be accepted with
// its digest, the power-weighted median time, and four agreeing
// attestations; every app computes the same app hash at every height.
func TestNetworkAcceptsEveryChunk(t *testing.T) {
	n := newNet(t, netOpts{})
	const chunks = 20
	for h := 1; h <= chunks+6; h++ {
		if h <= chunks {
			n.observe("sensors", uint64(h-1))
			n.observe("ticks", uint64(h-1))
		}
		n.step()
	}
	for _, s := range []string{"sensors", "ticks"} {
		for i := uint64(0); i < chunks; i++ {
			r := n.record(0, s, i)
			if r.Status != "accepted" || r.Digest != hexDigest(digestOf(s, i)) {
				t.Fatalf("%s/%d: %s %s", s, i, r.Status, r.Digest)
			}
			// Observation times are base + 1000·i + 3·v: the lower
			// weighted median of four equal powers is validator 1's.
			if want := int64(1_700_000_000_000 + int64(i)*1000 + 3); r.TimestampMs != want {
				t.Fatalf("%s/%d: timestamp %d, want %d", s, i, r.TimestampMs, want)
			}
			if r.Height != int64(i)+2 || r.FirstHeight != int64(i)+2 || !r.Settled || r.Power != 40 || r.TotalPower != 40 {
				t.Fatalf("%s/%d: %+v", s, i, r)
			}
			if len(r.Attestations) != 4 {
				t.Fatalf("%s/%d: %d attestations", s, i, len(r.Attestations))
			}
			for _, a := range r.Attestations {
				if a.Outcome != "agreed" || !a.SignatureOK || a.Late || a.Verdict != "ok" {
					t.Fatalf("%s/%d: %+v", s, i, a)
				}
			}
		}
	}
	for v := range n.vals {
		for _, c := range n.counters(v) {
			if c.Agreed != 2*chunks || c.Attested != 2*chunks || c.Faulty+c.Absent+c.Gaps+c.Late != 0 {
				t.Fatalf("validator %d seen by %d: %+v", c.Index, v, c)
			}
		}
		// Each attestation was delivered in exactly one extension.
		for _, k := range sortedKeys(n.vals[v].att.included) {
			if c := n.vals[v].att.included[k]; c != 1 {
				t.Fatalf("validator %d: %s included %d times", v, k, c)
			}
		}
		if len(n.vals[v].att.included) != 2*chunks || len(n.vals[v].att.pending) != 0 {
			t.Fatalf("validator %d: %d included, %d pending", v, len(n.vals[v].att.included), len(n.vals[v].att.pending))
		}
	}
	// Pagination.
	page, next, err := n.vals[2].app.Records("ticks", 5, 10)
	if err != nil || len(page) != 10 || page[0].Index != 5 || next == nil || *next != 15 {
		t.Fatalf("page: %d records, next %v, %v", len(page), next, err)
	}
	page, next, _ = n.vals[2].app.Records("ticks", 15, 10)
	if len(page) != 5 || next != nil {
		t.Fatalf("last page: %d, next %v", len(page), next)
	}
	if _, _, err := n.vals[2].app.Records("nope", 0, 10); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	// Streams.
	ss, _ := n.vals[1].app.Streams()
	if len(ss) != 2 || ss[0].Accepted != chunks || ss[0].LastIndex == nil || *ss[0].LastIndex != chunks-1 {
		t.Fatalf("streams %+v", ss)
	}
	// The block record root is the root over the block's records, and the
	// app hash chains from the previous one.
	for h := int64(2); h <= chunks+1; h++ {
		bi, err := n.vals[0].app.Block(h)
		if err != nil {
			t.Fatal(err)
		}
		if len(bi.Accepted) != 2 {
			t.Fatalf("block %d accepted %v", h, bi.Accepted)
		}
		var leaves []merkle.Hash
		for _, s := range []string{"sensors", "ticks"} {
			raw, err := n.vals[0].app.RecordBytes(s, uint64(h-2))
			if err != nil {
				t.Fatal(err)
			}
			leaves = append(leaves, merkle.LeafHash(raw))
		}
		root := merkle.Root(leaves)
		if !bytes.Equal(bi.RecordRoot, root[:]) {
			t.Fatalf("block %d: record root", h)
		}
		var rr, cs [32]byte
		copy(rr[:], bi.RecordRoot)
		copy(cs[:], bi.ChangesetHash)
		if !bytes.Equal(AppHash(bi.PrevAppHash, h, rr, cs), bi.AppHash) || !bytes.Equal(bi.AppHash, n.hashes[h-1]) {
			t.Fatalf("block %d: app hash does not chain", h)
		}
	}
	st, _ := n.vals[3].app.Status()
	if st.Height != chunks+6 || !bytes.Equal(st.AppHash, n.hashes[len(n.hashes)-1]) {
		t.Fatalf("status %+v", st)
	}
}

// TestFaultyValidatorFlagged: validator 3 attests a wrong digest for every
// even chunk. Every chunk is still accepted with the true digest, and
// validator 3 is flagged faulty for exactly those chunks.
func TestFaultyValidatorFlagged(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}})
	const chunks = 10
	for h := 1; h <= chunks+6; h++ {
		if h <= chunks {
			i := uint64(h - 1)
			n.observe("s", i, 0, 1, 2)
			a := wire.Attestation{Stream: "s", Index: i, Digest: digestOf("s", i), TimeMs: 5, Verdict: wire.OK}
			if i%2 == 0 {
				a.Digest[0] ^= 0xff
			}
			n.vals[3].att.add(a)
		}
		n.step()
	}
	for i := uint64(0); i < chunks; i++ {
		r := n.record(1, "s", i)
		if r.Status != "accepted" || r.Digest != hexDigest(digestOf("s", i)) {
			t.Fatalf("chunk %d: %s %s", i, r.Status, r.Digest)
		}
		want := "agreed"
		if i%2 == 0 {
			want = "faulty"
			if r.Power != 30 {
				t.Fatalf("chunk %d: power %d", i, r.Power)
			}
		}
		if got := r.Attestations[3].Outcome; got != want {
			t.Fatalf("chunk %d: validator 3 %s, want %s", i, got, want)
		}
	}
	c := n.counters(0)
	if c[3].Faulty != chunks/2 || c[3].Agreed != chunks/2 || c[0].Faulty != 0 || c[0].Agreed != chunks {
		t.Fatalf("counters %+v / %+v", c[3], c[0])
	}
}

// TestOfflineValidatorAbsentAndCatchUp: validator 3 is down; the other
// three (3/4 > 1/2) still accept every chunk, and validator 3 is counted
// absent. It then catches up by replaying the decided blocks (as block
// sync would, without ProcessProposal), reaches the same app hash, and
// takes part again.
func TestOfflineValidatorAbsentAndCatchUp(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}})
	n.step()
	n.offline[3] = true
	downFrom := n.height + 1
	for h := 0; h < 12; h++ {
		if h < 6 {
			n.observe("s", uint64(h), 0, 1, 2)
		}
		n.step()
	}
	for i := uint64(0); i < 6; i++ {
		r := n.record(0, "s", i)
		if r.Status != "accepted" || r.Power != 30 || len(r.Attestations) != 4 || r.Attestations[3].Outcome != "absent" {
			t.Fatalf("chunk %d: %+v", i, r)
		}
	}
	if c := n.counters(0)[3]; c.Absent != 6 || c.Attested != 0 {
		t.Fatalf("absent validator counters %+v", c)
	}
	// Catch up from the blocks it missed.
	v3 := n.vals[3]
	for _, req := range n.blocks[downFrom-1:] {
		resp, err := v3.app.FinalizeBlock(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.AppHash, n.hashes[req.Height-1]) {
			t.Fatalf("replayed height %d: another app hash", req.Height)
		}
		if _, err := v3.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	n.offline[3] = false
	for h := 0; h < 6; h++ {
		if h < 2 {
			n.observe("s", uint64(100+h))
		}
		n.step()
	}
	if r := n.record(3, "s", 100); r.Status != "accepted" || r.Power != 40 {
		t.Fatalf("after catching up: %+v", r)
	}
}

// TestRestartResumes closes one app mid-chain, reopens it from its
// directory, and checks that Info, the records and the following app
// hashes are unchanged.
func TestRestartResumes(t *testing.T) {
	n := newNet(t, netOpts{window: 20})
	n.observe("ticks", 99, 0, 1) // stays pending
	for h := 0; h < 6; h++ {
		n.observe("sensors", uint64(h))
		n.step()
	}
	v := n.vals[1]
	before, _ := v.app.Info(ctx, &abci.InfoRequest{})
	rec := n.record(1, "sensors", 2)
	pending := n.record(1, "ticks", 99)
	if pending.Status != "pending" {
		t.Fatal(pending.Status)
	}
	if err := v.app.Close(); err != nil {
		t.Fatal(err)
	}
	v.app = n.openApp(v)
	after, _ := v.app.Info(ctx, &abci.InfoRequest{})
	if after.LastBlockHeight != before.LastBlockHeight || after.LastBlockHeight != 6 ||
		!bytes.Equal(after.LastBlockAppHash, before.LastBlockAppHash) || !bytes.Equal(after.LastBlockAppHash, n.hashes[5]) {
		t.Fatalf("Info after restart: %+v, before %+v", after, before)
	}
	if r := n.record(1, "sensors", 2); r.Digest != rec.Digest || r.TimestampMs != rec.TimestampMs || len(r.Attestations) != len(rec.Attestations) {
		t.Fatal("record changed across a restart")
	}
	if r := n.record(1, "ticks", 99); r.Status != pending.Status || len(r.Attestations) != 2 {
		t.Fatal("pending chunk changed across a restart")
	}
	// The chain goes on; step checks every app agrees.
	n.observe("ticks", 99, 2)
	for h := 0; h < 5; h++ {
		n.observe("ticks", uint64(h))
		n.step()
	}
	if r := n.record(1, "ticks", 99); r.Status != "accepted" {
		t.Fatal("pending chunk not completed after the restart")
	}
	if r := n.record(1, "ticks", 1); r.Status != "accepted" {
		t.Fatal(r.Status)
	}
}

// TestDeterministicReplay feeds the recorded blocks to two fresh apps, one
// without any signer or attestor, and requires the same app hash at every
// height.
func TestDeterministicReplay(t *testing.T) {
	n := newNet(t, netOpts{})
	n.vals[2].att.add(wire.Attestation{Stream: "ticks", Index: 50, Verdict: wire.Gap, TimeMs: 1})
	for h := 0; h < 10; h++ {
		n.observe("sensors", uint64(h), h%4, (h+1)%4, (h+2)%4)
		n.step()
	}
	for _, cfg := range []Config{
		{Dir: t.TempDir(), Scheme: n.scheme},
		{Dir: t.TempDir(), Scheme: n.scheme, Signer: n.vals[0].signer, Attestor: newAttestor()},
	} {
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ic, err := a.InitChain(ctx, n.initChainRequest())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ic.AppHash, n.vals[0].app.chain.Load().genesisAppHash) {
			t.Fatal("genesis app hash differs")
		}
		for i, req := range n.blocks {
			resp, err := a.FinalizeBlock(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(resp.AppHash, n.hashes[i]) {
				t.Fatalf("height %d: replay gives another app hash", req.Height)
			}
			a.Commit(ctx, &abci.CommitRequest{})
		}
		a.Close()
	}
}

// TestEquivocationThroughTheChain: validator 3 attests one digest, then
// (while the chunk is pending) another. Its vote is voided, it is counted
// faulty and equivocating, and the chunk is decided by the others.
func TestEquivocationThroughTheChain(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}, window: 20})
	bad := wire.Attestation{Stream: "s", Index: 0, Digest: wire.Digest{0xee}, TimeMs: 1, Verdict: wire.OK}
	n.vals[3].att.add(bad)
	n.step()
	n.step() // counted at height 2: 1 of 4, pending
	if r := n.record(0, "s", 0); r.Status != "pending" || len(r.Attestations) != 1 {
		t.Fatalf("%+v", r)
	}
	n.observe("s", 0, 3) // switches to the true digest
	n.step()
	n.step()
	if r := n.record(0, "s", 0); r.Attestations[0].Outcome != "equivocated" {
		t.Fatalf("%+v", r.Attestations[0])
	}
	n.observe("s", 0, 0, 1)
	n.step()
	n.step()
	if r := n.record(0, "s", 0); r.Status != "pending" {
		t.Fatal("accepted with 2 honest + an equivocator")
	}
	n.observe("s", 0, 2)
	for i := 0; i < 24; i++ { // decided, then settled W = 20 blocks later
		n.step()
	}
	r := n.record(0, "s", 0)
	if r.Status != "accepted" || r.Power != 30 || r.Digest != hexDigest(digestOf("s", 0)) {
		t.Fatalf("%+v", r)
	}
	c := n.counters(0)[3]
	if c.Faulty != 1 || c.Equivocations != 1 || c.Agreed != 0 {
		t.Fatalf("%+v", c)
	}
}

// TestDisputeAfterWindow: a 2–2 split is never accepted and is disputed W
// blocks after the first attestation was counted.
func TestDisputeAfterWindow(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}, window: 4})
	n.observe("s", 0, 0, 1)
	for _, v := range []int{2, 3} {
		n.vals[v].att.add(wire.Attestation{Stream: "s", Index: 0, Digest: wire.Digest{9}, TimeMs: 3, Verdict: wire.OK})
	}
	n.step()
	for h := int64(2); h <= 5; h++ {
		n.step()
		r := n.record(0, "s", 0)
		// First counted at 2, W = 4: pending through 4, disputed at the end of 5.
		if want := map[bool]string{true: "disputed", false: "pending"}[h == 5]; r.Status != want {
			t.Fatalf("height %d: %s, want %s", h, r.Status, want)
		}
	}
	for i := 0; i < 4; i++ {
		n.step()
	}
	r := n.record(0, "s", 0)
	if r.Height != 5 || r.Digest != "" || !r.Settled {
		t.Fatalf("%+v", r)
	}
	for _, a := range r.Attestations {
		if a.Outcome != "attested" {
			t.Fatal(a.Outcome)
		}
	}
	bi, _ := n.vals[0].app.Block(5)
	if len(bi.Disputed) != 1 || len(bi.Accepted) != 0 {
		t.Fatalf("%+v", bi)
	}
	if ss, _ := n.vals[0].app.Streams(); ss[0].Disputed != 1 {
		t.Fatal("stream disputed count")
	}
}

// TestLateAttestationIsNotAbsent: validator 3 observes a chunk one block
// after the others; the chunk is already accepted, and its attestation
// counts as late and agreeing, not absent.
func TestLateAttestationIsNotAbsent(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}})
	n.observe("s", 0, 0, 1, 2)
	n.step()
	n.step() // accepted at 2
	n.observe("s", 0, 3)
	for i := 0; i < 5; i++ {
		n.step()
	}
	r := n.record(0, "s", 0)
	if r.Height != 2 || !r.Settled || r.Attestations[3].Outcome != "agreed" || !r.Attestations[3].Late {
		t.Fatalf("%+v", r)
	}
	raw, _ := n.vals[0].app.RecordBytes("s", 0)
	rec, _ := wire.UnmarshalRecord(raw)
	if len(rec.Attestations) != 3 {
		t.Fatal("the late attestation changed the committed record")
	}
	c := n.counters(0)[3]
	if c.Late != 1 || c.Agreed != 1 || c.Absent != 0 {
		t.Fatalf("%+v", c)
	}
}

// TestExtendVoteCapsAndFilters: the attestor offers more than an extension
// may carry, plus junk; the app sends MaxAttestations valid ones and the
// rest at the next height.
func TestExtendVoteCapsAndFilters(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}})
	for i := 0; i < wire.MaxAttestations+44; i++ {
		n.vals[0].att.add(wire.Attestation{Stream: "s", Index: uint64(i), Digest: digestOf("s", uint64(i)), TimeMs: 1, Verdict: wire.OK})
	}
	n.vals[0].att.add(wire.Attestation{Stream: "unregistered", Index: 1, TimeMs: 1})
	n.vals[0].att.add(wire.Attestation{Stream: "s", Index: 100000, TimeMs: 1, Verdict: wire.Verdict{Kind: wire.VerdictViolation}})
	resp, err := n.vals[0].app.ExtendVote(ctx, &abci.ExtendVoteRequest{Height: 1})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := wire.UnmarshalExtension(resp.VoteExtension)
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.Attestations) != wire.MaxAttestations || len(resp.VoteExtension) > wire.MaxExtensionBytes {
		t.Fatalf("%d attestations, %d bytes", len(ext.Attestations), len(resp.VoteExtension))
	}
	for _, a := range ext.Attestations {
		if a.Stream != "s" || a.Index >= 100000 {
			t.Fatalf("junk sent: %+v", a)
		}
	}
	// A node that is not a validator, or has nothing, extends with nothing.
	for _, cfg := range []Config{{Scheme: n.scheme}, {Scheme: n.scheme, Signer: n.scheme.NewSigner("stranger"), Attestor: n.vals[0].att}} {
		cfg.Dir = t.TempDir()
		a, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		a.InitChain(ctx, n.initChainRequest())
		r, _ := a.ExtendVote(ctx, &abci.ExtendVoteRequest{Height: 1})
		if len(r.VoteExtension) != 0 {
			t.Fatal("non-validator extended its vote")
		}
		a.Close()
	}
	// Through the chain, all of them get accepted... by validator 0 alone
	// they stay pending; what matters is that all are delivered.
	for i := 0; i < 4; i++ {
		n.step()
	}
	if got := len(n.vals[0].att.included); got != wire.MaxAttestations+44 {
		t.Fatalf("%d of %d attestations delivered", got, wire.MaxAttestations+44)
	}
}

func TestCheckTxAndQuery(t *testing.T) {
	n := newNet(t, netOpts{})
	r, _ := n.vals[0].app.CheckTx(ctx, &abci.CheckTxRequest{Tx: []byte("x")})
	if r.Code == 0 {
		t.Fatal("CheckTx accepted a transaction")
	}
	n.observe("sensors", 0)
	for i := 0; i < 3; i++ {
		n.step()
	}
	for path, want := range map[string]string{
		"/status":                         `"chain_id":"datadragon-test"`,
		"/validators":                     `"name":"node0"`,
		"/streams":                        `"id":"sensors"`,
		"/record/sensors/0":               `"status":"accepted"`,
		"/records/sensors?from=0&limit=5": `"records":[{`,
		"/block/2":                        `"accepted":["sensors/0"]`,
	} {
		q, _ := n.vals[0].app.Query(ctx, &abci.QueryRequest{Path: path})
		if q.Code != 0 || !strings.Contains(string(q.Value), want) {
			t.Errorf("%s: code %d log %q value %.200s", path, q.Code, q.Log, q.Value)
		}
	}
	for path, code := range map[string]uint32{"/record/sensors/9": 2, "/nope": 1, "/block/99": 2, "/record/sensors/x": 1} {
		if q, _ := n.vals[0].app.Query(ctx, &abci.QueryRequest{Path: path}); q.Code != code {
			t.Errorf("%s: code %d, want %d", path, q.Code, code)
		}
	}
}

// TestByzantineCannotDisputeFutureChunks: validator 3 attests a chunk
// long before it exists. Alone (1/4 of the power) it cannot start the
// dispute clock; the chunk is dropped after W blocks, and when the honest
// validators observe it much later it is accepted, with validator 3
// (which re-offers its attestation after the drop) flagged faulty.
func TestByzantineCannotDisputeFutureChunks(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}, window: 3})
	n.vals[3].att.add(wire.Attestation{Stream: "s", Index: 50, Digest: wire.Digest{0xbb}, TimeMs: 1, Verdict: wire.OK})
	n.step()
	n.step() // counted at 2, drop deadline 4
	if r := n.record(0, "s", 50); r.Status != "pending" {
		t.Fatal(r.Status)
	}
	for i := 0; i < 3; i++ {
		n.step()
	}
	if _, err := n.vals[0].app.Record("s", 50); !errors.Is(err, ErrNotFound) {
		t.Fatalf("chunk not dropped: %v", err)
	}
	var dropped bool
	for _, no := range n.vals[3].att.notices {
		dropped = dropped || len(no.Dropped) == 1 && no.Dropped[0] == (wire.ChunkKey{Stream: "s", Index: 50})
	}
	if !dropped {
		t.Fatal("attestor not told of the drop")
	}
	for i := 0; i < 10; i++ { // much later
		n.step()
	}
	n.observe("s", 50, 0, 1, 2)
	for i := 0; i < 8; i++ {
		n.step()
	}
	r := n.record(0, "s", 50)
	if r.Status != "accepted" || r.Digest != hexDigest(digestOf("s", 50)) || r.Attestations[3].Outcome != "faulty" {
		t.Fatalf("%+v", r)
	}
}

// TestStaleAttestationsAreReported: an attestation offered after its chunk
// settled is not sent, and the attestor is told to forget it.
func TestStaleAttestationsAreReported(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"s"}, window: 2})
	n.observe("s", 0, 0, 1, 2)
	for i := 0; i < 6; i++ {
		n.step()
	}
	if r := n.record(0, "s", 0); !r.Settled {
		t.Fatal("not settled")
	}
	n.observe("s", 0, 3)
	n.step()
	n.step()
	if len(n.vals[3].att.pending) != 0 || n.vals[3].att.included[wire.ChunkKey{Stream: "s", Index: 0}] != 0 {
		t.Fatal("stale attestation sent or kept")
	}
	if c := n.counters(0)[3]; c.Absent != 1 || c.Late != 0 {
		t.Fatalf("%+v", c)
	}
}
