package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/datadragon/datadragon/app/fakesig"
	"github.com/datadragon/datadragon/app/wire"
)

var ctx = context.Background()

const testChainID = "datadragon-test"

// fakeAttestor plays the node's ingest: each test decides what it attests.
type fakeAttestor struct {
	mu       sync.Mutex
	pending  map[wire.ChunkKey]wire.Attestation
	history  map[wire.ChunkKey]wire.Attestation
	notices  []CommitNotice
	included map[wire.ChunkKey]int
	offered  int
}

func newAttestor() *fakeAttestor {
	return &fakeAttestor{pending: map[wire.ChunkKey]wire.Attestation{}, history: map[wire.ChunkKey]wire.Attestation{}, included: map[wire.ChunkKey]int{}}
}

func (f *fakeAttestor) add(a wire.Attestation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending[a.Key()] = a
	f.history[a.Key()] = a
}

func (f *fakeAttestor) Attestations(int64) []wire.Attestation {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]wire.Attestation, 0, len(f.pending))
	for _, a := range f.pending {
		out = append(out, a)
	}
	f.offered += len(out)
	return out
}

func (f *fakeAttestor) Committed(n CommitNotice) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, n)
	for _, a := range n.Included {
		f.included[a.Key()]++
		if p, ok := f.pending[a.Key()]; ok && p.SameClaim(&a) {
			delete(f.pending, a.Key())
		}
	}
	for _, d := range n.Decided {
		delete(f.pending, d.Key)
	}
	for _, k := range n.Stale {
		delete(f.pending, k)
	}
	for _, k := range n.Dropped {
		if a, ok := f.history[k]; ok {
			f.pending[k] = a
		}
	}
}

type testVal struct {
	name   string
	priv   ed25519.PrivKey
	signer *fakesig.Signer
	att    *fakeAttestor
	app    *App
	dir    string
	power  int64
}

// testNet drives N apps through the ABCI++ calls CometBFT would make,
// height by height, with every validator online unless told otherwise.
type testNet struct {
	t       *testing.T
	scheme  *fakesig.Scheme
	vals    []*testVal
	genesis []byte
	height  int64 // last committed
	lastExt abci.ExtendedCommitInfo
	offline map[int]bool
	// blocks remembers each height's FinalizeBlock request, for replays.
	blocks []*abci.FinalizeBlockRequest
	hashes [][]byte
	// retained is validator 0's CommitResponse.RetainHeight at each height.
	retained []int64
	// tamper, if set, may change a validator's extension before it is
	// signed by CometBFT (a Byzantine app).
	tamper func(val int, height int64, ext []byte) []byte
	// mempool is handed to the next proposal, then emptied; results holds
	// each height's transaction results (validator 0's).
	mempool [][]byte
	results map[int64][]*abci.ExecTxResult
	// sets are CometBFT's validator sets as the apps' ValidatorUpdates
	// make them: powers by index into vals, from a height on.
	sets []netSet
}

type netSet struct {
	from   int64
	powers []int64
}

// powerAt is val's power in CometBFT's set at height h.
func (n *testNet) powerAt(val int, h int64) int64 {
	if len(n.sets) == 0 {
		return n.vals[val].power
	}
	s := n.sets[0]
	for _, x := range n.sets {
		if x.from <= h {
			s = x
		}
	}
	if val < len(s.powers) {
		return s.powers[val]
	}
	return 0
}

// applyUpdates makes CometBFT's next set from a block's updates.
func (n *testNet) applyUpdates(h int64, ups []abci.ValidatorUpdate) {
	if len(ups) == 0 {
		return
	}
	if len(n.sets) == 0 {
		s := netSet{from: 1}
		for _, v := range n.vals {
			s.powers = append(s.powers, v.power)
		}
		n.sets = append(n.sets, s)
	}
	last := n.sets[len(n.sets)-1]
	s := netSet{from: h + 2, powers: slices.Clone(last.powers)}
	for _, u := range ups {
		found := false
		for i, v := range n.vals {
			if bytes.Equal(v.priv.PubKey().Bytes(), u.PubKeyBytes) {
				for len(s.powers) <= i {
					s.powers = append(s.powers, 0)
				}
				s.powers[i], found = u.Power, true
			}
		}
		if !found {
			n.t.Fatalf("height %d: an update for a key no test validator has", h)
		}
	}
	n.sets = append(n.sets, s)
}

type netOpts struct {
	powers  []int64
	window  int64
	streams []string
	extra   []Stream // further genesis streams, as given
	num     uint64
	den     uint64
}

func streamsJSON(ids []string) []Stream {
	var out []Stream
	for i, id := range ids {
		out = append(out, Stream{ID: id, Source: fmt.Sprintf("ws://127.0.0.1:%d/stream", 7000+i), Chunk: ChunkPolicy{Messages: 100}})
	}
	return out
}

func newNet(t *testing.T, o netOpts) *testNet {
	t.Helper()
	if o.powers == nil {
		o.powers = []int64{10, 10, 10, 10}
	}
	if o.window == 0 {
		o.window = 3
	}
	if o.streams == nil {
		o.streams = []string{"sensors", "ticks"}
	}
	n := &testNet{t: t, scheme: fakesig.New(), offline: map[int]bool{}}
	g := GenesisState{Threshold: Threshold{o.num, o.den}, DisputeWindow: o.window, Streams: append(streamsJSON(o.streams), o.extra...)}
	for i, p := range o.powers {
		v := &testVal{name: fmt.Sprintf("node%d", i), power: p, att: newAttestor(), dir: t.TempDir()}
		seed := sha256.Sum256([]byte(v.name))
		v.priv = ed25519.GenPrivKeyFromSecret(seed[:])
		v.signer = n.scheme.NewSigner(v.name)
		g.Validators = append(g.Validators, GenesisValidator{Name: v.name,
			PubKey: PubKey{Type: "ed25519", Value: v.priv.PubKey().Bytes()}, ZiggyPubKey: v.signer.PublicKey(), Power: p})
		n.vals = append(n.vals, v)
	}
	var err error
	if n.genesis, err = json.Marshal(g); err != nil {
		t.Fatal(err)
	}
	for _, v := range n.vals {
		v.app = n.openApp(v)
		if _, err := v.app.InitChain(ctx, n.initChainRequest()); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, v := range n.vals {
			if v.app != nil {
				// Whatever a test did, the state it leaves passes the scrub.
				if _, err := v.app.Scrub(ctx); err != nil {
					t.Errorf("%s: scrub at the end of the test: %v", v.name, err)
				}
				v.app.Close()
			}
		}
	})
	return n
}

func (n *testNet) openApp(v *testVal) *App {
	a, err := New(Config{Dir: v.dir, Scheme: n.scheme, Signer: v.signer, Attestor: v.att})
	if err != nil {
		n.t.Fatal(err)
	}
	return a
}

func (n *testNet) initChainRequest() *abci.InitChainRequest {
	req := &abci.InitChainRequest{ChainId: testChainID, InitialHeight: 1, AppStateBytes: n.genesis,
		Time: time.Unix(1_700_000_000, 0),
		ConsensusParams: &cmtproto.ConsensusParams{
			Block:   &cmtproto.BlockParams{MaxBytes: 4 << 20},
			Feature: &cmtproto.FeatureParams{VoteExtensionsEnableHeight: &gogotypes.Int64Value{Value: 1}},
		}}
	for _, v := range n.vals {
		req.Validators = append(req.Validators, abci.ValidatorUpdate{Power: v.power, PubKeyType: "ed25519", PubKeyBytes: v.priv.PubKey().Bytes()})
	}
	return req
}

func commitInfo(e abci.ExtendedCommitInfo) abci.CommitInfo {
	ci := abci.CommitInfo{Round: e.Round}
	for _, v := range e.Votes {
		ci.Votes = append(ci.Votes, abci.VoteInfo{Validator: v.Validator, BlockIdFlag: v.BlockIdFlag})
	}
	return ci
}

func (n *testNet) blockTime(h int64) time.Time { return time.Unix(1_700_000_000+h, 0) }

// propose returns the proposer's transactions for the next height.
func (n *testNet) propose() (int64, [][]byte) {
	h := n.height + 1
	var p *testVal
	for i := range n.vals {
		if j := (int(h) + i) % len(n.vals); !n.offline[j] {
			p = n.vals[j]
			break
		}
	}
	resp, err := p.app.PrepareProposal(ctx, &abci.PrepareProposalRequest{Height: h, Time: n.blockTime(h),
		LocalLastCommit: n.lastExt, Txs: n.mempool, MaxTxBytes: 4 << 20, ProposerAddress: p.priv.PubKey().Address()})
	if err != nil {
		n.t.Fatal(err)
	}
	return h, resp.Txs
}

// process runs ProcessProposal on every online app and reports whether
// all accepted.
func (n *testNet) process(h int64, txs [][]byte, lc abci.CommitInfo) bool {
	all := true
	for i, v := range n.vals {
		if n.offline[i] {
			continue
		}
		resp, err := v.app.ProcessProposal(ctx, &abci.ProcessProposalRequest{Height: h, Txs: txs, ProposedLastCommit: lc, Time: n.blockTime(h)})
		if err != nil {
			n.t.Fatal(err)
		}
		if resp.Status != abci.PROCESS_PROPOSAL_STATUS_ACCEPT {
			all = false
		}
	}
	return all
}

// step runs one height: propose, process, extend and verify votes,
// finalize and commit on every online app. It checks that all online apps
// agree on the app hash and returns it.
func (n *testNet) step() []byte {
	n.t.Helper()
	h, txs := n.propose()
	n.mempool = nil
	lc := commitInfo(n.lastExt)
	if !n.process(h, txs, lc) {
		n.t.Fatalf("height %d: an honest proposal was rejected", h)
	}
	// Precommits with extensions.
	next := abci.ExtendedCommitInfo{Round: 0}
	exts := make([][]byte, len(n.vals))
	for i, v := range n.vals {
		if n.offline[i] || n.powerAt(i, h) == 0 {
			continue
		}
		resp, err := v.app.ExtendVote(ctx, &abci.ExtendVoteRequest{Height: h, Time: n.blockTime(h), Txs: txs})
		if err != nil {
			n.t.Fatal(err)
		}
		exts[i] = resp.VoteExtension
		if n.tamper != nil {
			exts[i] = n.tamper(i, h, exts[i])
		}
	}
	for i, v := range n.vals {
		if n.powerAt(i, h) == 0 {
			continue // not in CometBFT's set at h: no vote
		}
		vote := abci.ExtendedVoteInfo{Validator: abci.Validator{Address: v.priv.PubKey().Address(), Power: n.powerAt(i, h)},
			BlockIdFlag: cmtproto.BlockIDFlagAbsent}
		if !n.offline[i] {
			for j, w := range n.vals {
				if j == i || n.offline[j] || n.powerAt(j, h) == 0 {
					continue
				}
				r, err := w.app.VerifyVoteExtension(ctx, &abci.VerifyVoteExtensionRequest{Height: h, ValidatorAddress: v.priv.PubKey().Address(), VoteExtension: exts[i]})
				if err != nil {
					n.t.Fatal(err)
				}
				if r.Status != abci.VERIFY_VOTE_EXTENSION_STATUS_ACCEPT {
					n.t.Fatalf("height %d: %s rejected %s's extension", h, w.name, v.name)
				}
			}
			vote.BlockIdFlag = cmtproto.BlockIDFlagCommit
			vote.VoteExtension = exts[i]
			vote.ExtensionSignature = n.signExt(i, h, 0, exts[i])
		}
		next.Votes = append(next.Votes, vote)
	}
	req := &abci.FinalizeBlockRequest{Height: h, Txs: txs, DecidedLastCommit: lc, Time: n.blockTime(h)}
	hash := n.finalize(req)
	n.lastExt = next
	return hash
}

func (n *testNet) signExt(val int, h int64, round int32, ext []byte) []byte {
	sb := cmttypes.VoteExtensionSignBytes(testChainID, &cmtproto.Vote{Height: h, Round: round, Extension: ext})
	sig, err := n.vals[val].priv.Sign(sb)
	if err != nil {
		n.t.Fatal(err)
	}
	return sig
}

func (n *testNet) finalize(req *abci.FinalizeBlockRequest) []byte {
	n.t.Helper()
	var hash []byte
	for i, v := range n.vals {
		if n.offline[i] {
			continue
		}
		resp, err := v.app.FinalizeBlock(ctx, req)
		if err != nil {
			n.t.Fatalf("%s: %v", v.name, err)
		}
		if len(resp.TxResults) != len(req.Txs) {
			n.t.Fatal("tx results")
		}
		if hash == nil {
			hash = resp.AppHash
		} else if !bytes.Equal(hash, resp.AppHash) {
			n.t.Fatalf("height %d: %s computed another app hash", req.Height, v.name)
		}
		cr, err := v.app.Commit(ctx, &abci.CommitRequest{})
		if err != nil {
			n.t.Fatal(err)
		}
		if i == 0 {
			n.retained = append(n.retained, cr.RetainHeight)
			if n.results == nil {
				n.results = map[int64][]*abci.ExecTxResult{}
			}
			n.results[req.Height] = resp.TxResults
			n.applyUpdates(req.Height, resp.ValidatorUpdates)
		}
	}
	n.height = req.Height
	n.blocks = append(n.blocks, req)
	n.hashes = append(n.hashes, hash)
	return hash
}

// digestOf is the "true" digest of a chunk in these tests.
func digestOf(stream string, i uint64) wire.Digest {
	return sha256.Sum256(fmt.Appendf(nil, "%s/%d", stream, i))
}

// observe makes every validator in vals attest chunk (stream, i) with its
// true digest; timeBase spreads observation times.
func (n *testNet) observe(stream string, i uint64, vals ...int) {
	if len(vals) == 0 {
		for v := range n.vals {
			vals = append(vals, v)
		}
	}
	for _, v := range vals {
		n.vals[v].att.add(wire.Attestation{Stream: stream, Index: i, Digest: digestOf(stream, i),
			TimeMs: 1_700_000_000_000 + int64(i)*1000 + int64(v)*3, Verdict: wire.OK})
	}
}

func (n *testNet) record(val int, stream string, i uint64) *RecordView {
	n.t.Helper()
	r, err := n.vals[val].app.Record(stream, i)
	if err != nil {
		n.t.Fatalf("record %s/%d: %v", stream, i, err)
	}
	return r
}

func (n *testNet) counters(val int) []ValidatorInfo {
	n.t.Helper()
	vs, err := n.vals[val].app.Validators()
	if err != nil {
		n.t.Fatal(err)
	}
	return vs
}

func hexDigest(d wire.Digest) string { return d.String() }

func sortedKeys(m map[wire.ChunkKey]int) []wire.ChunkKey {
	ks := make([]wire.ChunkKey, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, wire.ChunkKey.Compare)
	return ks
}
