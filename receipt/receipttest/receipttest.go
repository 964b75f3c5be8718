// Package receipttest tampers with receipts field by field and checks
// that receipt.Verify names the broken link; the node's network test and
// the receipt package's fixture test share it.
package receipttest

import (
	"encoding/json"
	"slices"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"

	. "github.com/datadragon/datadragon/receipt"
)

// Tampering is one change to a valid receipt, its data or its genesis and
// the links Verify may name for it.
type Tampering struct {
	Name  string
	Links []string
	Edit  func(r *Receipt, g *cmttypes.GenesisDoc, data *[]byte)
}

func flip(b []byte) { b[len(b)/2] ^= 1 }

// Tamperings lists the changes CheckTampering tries.
var Tamperings = []Tampering{
	{"version", []string{"version"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Version++ }},
	{"chain_id", []string{"chain_id"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.ChainID += "x" }},
	{"validators.power", []string{"validators"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Validators[0].Power++ }},
	{"validators.ziggy_pub_key", []string{"validators"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Validators[1].ZiggyPubKey) }},
	{"validators.pub_key", []string{"validators"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Validators[2].PubKey.Value) }},
	{"validators.dropped", []string{"validators"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Validators = r.Validators[1:] }},
	{"stream", []string{"record"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Stream += "x" }},
	{"index", []string{"record"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Index++ }},
	{"record.byte", []string{"record", "record_proof"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Record) }},
	{"record.digest", []string{"record_proof"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) {
		r.Record[1+1+len(r.Stream)+8+1] ^= 1 // first digest byte
	}},
	{"record.truncated", []string{"record"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Record = r.Record[:len(r.Record)-1] }},
	{"record_proof.leaf", []string{"record_proof"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.RecordProof.Leaf++ }},
	{"record_proof.leaves_out_of_range", []string{"record_proof"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.RecordProof.Leaves = r.RecordProof.Leaf }},
	{"block.height", []string{"record"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Block.Height++ }},
	{"block.record_root", []string{"record_proof"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Block.RecordRoot) }},
	{"block.prev_app_hash", []string{"block"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Block.PrevAppHash) }},
	{"block.changeset_hash", []string{"block"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Block.ChangesetHash) }},
	{"block.app_hash", []string{"block"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Block.AppHash) }},
	{"header.app_hash", []string{"header"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Header.AppHash) }},
	{"header.validators_hash", []string{"header"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Header.ValidatorsHash) }},
	{"header.height", []string{"header"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Header.Height++ }},
	{"header.chain_id", []string{"header"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Header.ChainID += "x" }},
	{"header.time", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Header.Time = r.Header.Time.Add(1) }},
	{"header.data_hash", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Header.DataHash) }},
	{"header.missing", []string{"header"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Header = nil }},
	{"commit.signature", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) {
		for i := range r.Commit.Signatures {
			if len(r.Commit.Signatures[i].Signature) > 0 {
				flip(r.Commit.Signatures[i].Signature)
				return
			}
		}
	}},
	{"commit.round", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Commit.Round++ }},
	{"commit.too_few", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) {
		for i := 0; i < 2; i++ {
			r.Commit.Signatures[i] = cmttypes.NewCommitSigAbsent()
		}
	}},
	{"commit.missing", []string{"commit"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Commit = nil }},
	{"attestations.signature", []string{"attestations"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Attestations[0].Signature) }},
	{"attestations.root", []string{"attestations"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { flip(r.Attestations[0].Root) }},
	{"attestations.extension_height", []string{"attestations"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Attestations[0].ExtensionHeight++ }},
	{"attestations.validator", []string{"attestations"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) {
		r.Attestations[0].Validator = r.Attestations[1].Validator
	}},
	{"attestations.too_few", []string{"attestations"}, func(r *Receipt, _ *cmttypes.GenesisDoc, _ *[]byte) { r.Attestations = r.Attestations[:2] }},
	{"data.byte", []string{"data"}, func(_ *Receipt, _ *cmttypes.GenesisDoc, d *[]byte) {
		var msgs []Message
		json.Unmarshal(*d, &msgs)
		flip(msgs[len(msgs)-1].Data)
		*d, _ = json.Marshal(msgs)
	}},
	{"data.message_dropped", []string{"data"}, func(_ *Receipt, _ *cmttypes.GenesisDoc, d *[]byte) {
		var msgs []Message
		json.Unmarshal(*d, &msgs)
		*d, _ = json.Marshal(msgs[1:])
	}},
	{"data.not_json", []string{"data"}, func(_ *Receipt, _ *cmttypes.GenesisDoc, d *[]byte) { *d = []byte("raw bytes") }},
	{"genesis.chain_id", []string{"chain_id"}, func(_ *Receipt, g *cmttypes.GenesisDoc, _ *[]byte) { g.ChainID = "other-chain" }},
	{"genesis.validator", []string{"validators"}, func(_ *Receipt, g *cmttypes.GenesisDoc, _ *[]byte) {
		var st map[string]any
		json.Unmarshal(g.AppState, &st)
		vs := st["validators"].([]any)
		v := vs[0].(map[string]any)
		v["power"] = v["power"].(float64) + 1
		g.AppState, _ = json.Marshal(st)
	}},
	{"genesis.app_state", []string{"genesis"}, func(_ *Receipt, g *cmttypes.GenesisDoc, _ *[]byte) { g.AppState = []byte(`{}`) }},
}

// CheckTampering verifies that the valid receipt raw (JSON) passes and
// that every Tampering fails naming one of its links. It is used by the
// node's network test and by this package's fixture test.
func CheckTampering(t testing.TB, raw []byte, genesis *cmttypes.GenesisDoc, data []byte) {
	t.Helper()
	for _, tc := range Tamperings {
		r, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		g := *genesis
		g.AppState = slices.Clone(genesis.AppState)
		d := slices.Clone(data)
		tc.Edit(r, &g, &d)
		// Round-trip through JSON, as a receipt file would.
		b, err := r.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		if r, err = Parse(b); err != nil {
			t.Errorf("%s: tampered receipt does not parse: %v", tc.Name, err)
			continue
		}
		err = Verify(r, &g, d)
		if err == nil {
			t.Errorf("%s: tampered receipt verified", tc.Name)
			continue
		}
		if link := BrokenLink(err); !slices.Contains(tc.Links, link) {
			t.Errorf("%s: verify named link %q (%v), want one of %v", tc.Name, link, err, tc.Links)
		}
	}
}
