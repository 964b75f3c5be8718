package clienttest

import (
	"encoding/hex"
	"encoding/json"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
)

// fakeReceipt is a receipt of the fake's record: the shape of a real one
// (a decodable record, a header and commit that pass CometBFT's basic
// checks), so clients can store and re-encode it, but signed by nobody,
// so it never verifies.
func fakeReceipt(chainID, stream string, index uint64, d wire.Digest, v wire.Verdict) any {
	rec := wire.Record{Stream: stream, Index: index, Status: wire.StatusAccepted, Digest: d, Verdict: v,
		TimeMs: 1_700_000_000_000 + int64(index), FirstHeight: 1, DecidedHeight: 1, Power: 1, TotalPower: 1}
	h32 := make([]byte, 32)
	hdr := cmttypes.Header{ChainID: chainID, Height: 2, Time: time.UnixMilli(1_700_000_000_000).UTC(),
		LastBlockID:    cmttypes.BlockID{Hash: h32, PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: h32}},
		ValidatorsHash: h32, NextValidatorsHash: h32, ProposerAddress: make([]byte, 20)}
	hdr.Version.Block = 11
	commit := cmttypes.Commit{Height: 2, BlockID: cmttypes.BlockID{Hash: hdr.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: h32}},
		Signatures: []cmttypes.CommitSig{cmttypes.NewCommitSigAbsent()}}
	hj, _ := json.Marshal(&hdr)
	cj, _ := json.Marshal(&commit)
	z := hex.EncodeToString(h32)
	return map[string]any{"version": 1, "chain_id": chainID, "stream": stream, "index": index,
		"record": hex.EncodeToString(rec.Marshal()), "record_proof": map[string]any{"leaf": 0, "leaves": 1, "path": []string{}},
		"block":  map[string]any{"height": 1, "prev_app_hash": "", "record_root": z, "changeset_hash": z, "app_hash": z},
		"header": json.RawMessage(hj), "commit": json.RawMessage(cj), "validators": []any{}, "attestations": []any{}}
}
