package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	cmttypes "github.com/cometbft/cometbft/types"

	. "github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/fakesig"
	"github.com/datadragon/datadragon/app/wire"
)

// attestor hands out what it was given until it is counted or decided.
type attestor struct {
	mu      sync.Mutex
	pending map[wire.ChunkKey]wire.Attestation
}

func (a *attestor) add(at wire.Attestation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pending[at.Key()] = at
}

func (a *attestor) Attestations(int64) []wire.Attestation {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []wire.Attestation
	for _, at := range a.pending {
		out = append(out, at)
	}
	return out
}

func (a *attestor) Committed(n CommitNotice) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range n.Included {
		delete(a.pending, at.Key())
	}
	for _, d := range n.Decided {
		delete(a.pending, d.Key)
	}
}

func digestOf(i uint64) wire.Digest { return sha256.Sum256(fmt.Appendf(nil, "s/%d", i)) }

// TestRealCometBFT runs the app under a real in-process CometBFT node (one
// validator, vote extensions from height 1): chunks are attested through
// real vote extensions and accepted; then node and app are stopped and
// restarted over the same directories, CometBFT's handshake resumes from
// the app's Info, and the chain goes on.
func TestRealCometBFT(t *testing.T) {
	dir := t.TempDir()
	c := cfg.TestConfig().SetRoot(dir)
	cfg.EnsureRoot(dir)
	c.RPC.ListenAddress = ""
	c.DBBackend = "goleveldb"
	// CometBFT v1.0.1's node does not release the transaction indexer's
	// database on Stop, so an in-process restart could not reopen it.
	c.TxIndex.Indexer = "null"
	c.P2P.ListenAddress = "tcp://127.0.0.1:0"
	c.Consensus.TimeoutCommit = 100 * time.Millisecond
	pv, err := privval.LoadOrGenFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), func() (crypto.PrivKey, error) { return ed25519.GenPrivKey(), nil })
	if err != nil {
		t.Fatal(err)
	}
	nk, _ := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	scheme := fakesig.New()
	signer := scheme.NewSigner("v0")
	pub, _ := pv.GetPubKey()
	gs := GenesisState{DisputeWindow: 5, Streams: []Stream{{ID: "s", Source: "ws://127.0.0.1:1/s", Chunk: ChunkPolicy{Messages: 10}}},
		Validators: []GenesisValidator{{Name: "v0", PubKey: PubKey{Type: "ed25519", Value: pub.Bytes()}, ZiggyPubKey: signer.PublicKey(), Power: 10}}}
	state, _ := json.Marshal(gs)
	cp := cmttypes.DefaultConsensusParams()
	cp.Feature.VoteExtensionsEnableHeight = 1
	gd := &cmttypes.GenesisDoc{ChainID: "smoke", GenesisTime: time.Now(), ConsensusParams: cp, AppState: state,
		Validators: []cmttypes.GenesisValidator{{Address: pub.Address(), PubKey: pub, Power: 10}}}
	if err := gd.SaveAs(c.GenesisFile()); err != nil {
		t.Fatal(err)
	}
	att := &attestor{pending: map[wire.ChunkKey]wire.Attestation{}}
	for i := 0; i < 5; i++ {
		att.add(wire.Attestation{Stream: "s", Index: uint64(i), Digest: digestOf(uint64(i)), TimeMs: 1000, Verdict: wire.OK})
	}
	a, err := New(Config{Dir: dir + "/app", Scheme: scheme, Signer: signer, Attestor: att})
	if err != nil {
		t.Fatal(err)
	}
	logger := cmtlog.NewNopLogger()
	if os.Getenv("SMOKE_LOG") != "" {
		logger = cmtlog.NewTMLogger(cmtlog.NewSyncWriter(os.Stderr))
	}
	nd, err := node.NewNode(context.Background(), c, pv, nk, proxy.NewLocalClientCreator(a), node.DefaultGenesisDocProviderFunc(c), cfg.DefaultDBProvider, node.DefaultMetricsProvider(c.Instrumentation), logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, _ := a.Status()
		if st.Height >= 12 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	nd.Stop()
	nd.Wait()
	st, _ := a.Status()
	t.Logf("height %d", st.Height)
	for i := uint64(0); i < 5; i++ {
		r, err := a.Record("s", i)
		if err != nil || r.Status != "accepted" {
			t.Fatalf("chunk %d: %v %+v", i, err, r)
		}
	}
	vs, _ := a.Validators()
	t.Logf("%+v", vs[0])
	// Restart: a new app over the same directory, a new node over the same home.
	h0 := st.Height
	a.Close()
	a2, err := New(Config{Dir: dir + "/app", Scheme: scheme, Signer: signer, Attestor: att})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	att.add(wire.Attestation{Stream: "s", Index: 77, Digest: digestOf(77), TimeMs: 1000, Verdict: wire.OK})
	nd, err = node.NewNode(context.Background(), c, pv, nk, proxy.NewLocalClientCreator(a2), node.DefaultGenesisDocProviderFunc(c), cfg.DefaultDBProvider, node.DefaultMetricsProvider(c.Instrumentation), logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(deadline.Add(10 * time.Second)) {
		st, _ := a2.Status()
		if st.Height >= h0+6 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	nd.Stop()
	nd.Wait()
	st, _ = a2.Status()
	t.Logf("after restart: height %d (was %d)", st.Height, h0)
	if r, err := a2.Record("s", 77); err != nil || r.Status != "accepted" {
		t.Fatalf("after restart: %v %+v", err, r)
	}
}
