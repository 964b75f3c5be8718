package ziggysig_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/zk/ziggy"
)

type oneShot struct{ atts []wire.Attestation }

func (o *oneShot) Attestations(int64) []wire.Attestation { return o.atts }
func (o *oneShot) Committed(app.CommitNotice)            {}

// TestAppWithZiggy runs ExtendVote and VerifyVoteExtension with real Ziggy
// signatures: a validator's extension verifies at another validator, and a
// byte flipped in its signature does not.
func TestAppWithZiggy(t *testing.T) {
	ctx := context.Background()
	var g app.GenesisState
	var cmtKeys []ed25519.PrivKey
	var signers []*ziggysig.Signer
	for i := 0; i < 2; i++ {
		zpriv, err := ziggy.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, 32))
		if err != nil {
			t.Fatal(err)
		}
		s := ziggysig.NewSigner(zpriv)
		k := ed25519.GenPrivKeyFromSecret([]byte{byte(i)})
		cmtKeys, signers = append(cmtKeys, k), append(signers, s)
		g.Validators = append(g.Validators, app.GenesisValidator{PubKey: app.PubKey{Type: "ed25519", Value: k.PubKey().Bytes()},
			ZiggyPubKey: s.PublicKey(), Power: 1})
	}
	g.Streams = []app.Stream{{ID: "s", Source: "ws://127.0.0.1:1/s", Chunk: app.ChunkPolicy{Messages: 10}}}
	state, _ := json.Marshal(g)
	req := &abci.InitChainRequest{ChainId: "z", InitialHeight: 1, AppStateBytes: state,
		ConsensusParams: &cmtproto.ConsensusParams{Feature: &cmtproto.FeatureParams{VoteExtensionsEnableHeight: &gogotypes.Int64Value{Value: 1}}}}
	var apps []*app.App
	for i := 0; i < 2; i++ {
		a, err := app.New(app.Config{Dir: t.TempDir(), Scheme: ziggysig.Scheme{}, Signer: signers[i],
			Attestor: &oneShot{atts: []wire.Attestation{{Stream: "s", Index: 4, Digest: wire.Digest{4}, TimeMs: 1}}}})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if _, err := a.InitChain(ctx, req); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, a)
	}
	ev, err := apps[0].ExtendVote(ctx, &abci.ExtendVoteRequest{Height: 1})
	if err != nil || len(ev.VoteExtension) < 10_000 {
		t.Fatalf("extension of %d bytes: %v", len(ev.VoteExtension), err)
	}
	verify := func(ext []byte) abci.VerifyVoteExtensionStatus {
		r, err := apps[1].VerifyVoteExtension(ctx, &abci.VerifyVoteExtensionRequest{Height: 1, ValidatorAddress: cmtKeys[0].PubKey().Address(), VoteExtension: ext})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	if s := verify(ev.VoteExtension); s != abci.VERIFY_VOTE_EXTENSION_STATUS_ACCEPT {
		t.Fatalf("valid Ziggy extension: %v", s)
	}
	bad := bytes.Clone(ev.VoteExtension)
	bad[len(bad)-100] ^= 1
	if s := verify(bad); s != abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT {
		t.Fatalf("tampered Ziggy signature: %v", s)
	}
	// Validator 1's key signing as validator 0 is a forgery.
	ext, _ := wire.UnmarshalExtension(ev.VoteExtension)
	ext.Signature, _ = signers[1].Sign(wire.SignBytes("z", 1, cmtKeys[0].PubKey().Address(), ext.Root()))
	forged, _ := ext.Marshal()
	if s := verify(forged); s != abci.VERIFY_VOTE_EXTENSION_STATUS_REJECT {
		t.Fatalf("forged Ziggy signature: %v", s)
	}
}
