package ddr

import (
	"bytes"
	"testing"
	"time"

	cmtversion "github.com/cometbft/cometbft/api/cometbft/version/v1"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
)

func seedChange() *receipt.Change {
	hs := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	h := &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: "dd-test", Height: 9, Time: time.Unix(1_700_000_000, 0).UTC(),
		LastBlockID:    cmttypes.BlockID{Hash: hs(1), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hs(2)}},
		LastCommitHash: hs(3), DataHash: hs(4), ValidatorsHash: hs(5), NextValidatorsHash: hs(6), ConsensusHash: hs(7),
		AppHash: hs(8), LastResultsHash: hs(9), EvidenceHash: hs(10), ProposerAddress: bytes.Repeat([]byte{11}, 20)}
	c := &cmttypes.Commit{Height: 9, BlockID: cmttypes.BlockID{Hash: hs(12), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hs(13)}}, Signatures: []cmttypes.CommitSig{{BlockIDFlag: cmttypes.BlockIDFlagCommit,
		ValidatorAddress: bytes.Repeat([]byte{1}, 20), Timestamp: time.Unix(1_700_000_001, 0).UTC(), Signature: bytes.Repeat([]byte{2}, 64)}}}
	return &receipt.Change{From: 10, Decided: 8, Action: "add", PubKey: receipt.PubKey{Type: "ed25519", Value: bytes.Repeat([]byte{3}, 32)},
		ZiggyPubKey: bytes.Repeat([]byte{4}, 32), Power: 10, Name: "node4", Seq: 1,
		Approvals: []receipt.Approval{{Validator: 0, Nonce: 1, Signature: []byte{5, 6}}, {Validator: 2, Nonce: 3, Signature: []byte{7}}},
		Header:    h, Commit: c}
}

func TestChangeRoundTrip(t *testing.T) {
	b, err := encodeChange(seedChange())
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeChange(b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := encodeChange(c)
	if !bytes.Equal(again, b) || c.Name != "node4" || len(c.Approvals) != 2 || c.Approvals[1].Nonce != 3 || c.Header.Height != 9 {
		t.Fatalf("round trip: %+v", c)
	}
	for i := range b {
		if _, err := decodeChange(b[:i]); err == nil {
			t.Fatalf("a change cut at byte %d decodes", i)
		}
	}
	if _, err := decodeChange(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("a change with a trailing byte decodes")
	}
}

// FuzzDecodeChange: a stored validator-set change never panics the
// decoder, and what decodes is canonical.
func FuzzDecodeChange(f *testing.F) {
	b, err := encodeChange(seedChange())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChange(b)
		if err != nil {
			return
		}
		again, err := encodeChange(c)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("a change decodes but does not encode back: %v", err)
		}
	})
}
