//go:build !js

package receipt

import (
	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/ingest/digest"
)

// On a node or the command line the receipt types are the app's own, and
// a genesis is read with the app's own checks. The browser verifier
// (GOOS=js, package receipt/wasm) cannot link the app, whose state store
// does not build there; it uses the copies in genesis.go, which the tests
// hold equal to these.

// HexBytes is a byte string written in JSON as lowercase hex.
type HexBytes = app.HexBytes

// PubKey is a CometBFT consensus public key, {"type", "value"}.
type PubKey = app.PubKey

func trustedGenesis(appState []byte) (*genesisSet, error) {
	gs, err := app.ParseGenesisState(appState)
	if err != nil {
		return nil, err
	}
	out := &genesisSet{Threshold: threshold{gs.Threshold.Numerator, gs.Threshold.Denominator}}
	for _, v := range gs.Validators {
		out.Validators = append(out.Validators, genesisValidator{Name: v.Name, Address: v.Address, PubKey: v.PubKey, ZiggyPubKey: v.ZiggyPubKey, Power: v.Power})
	}
	for _, s := range gs.Streams {
		if s.IsRaw() {
			if out.Raw == nil {
				out.Raw = map[string]digest.Normalize{}
			}
			out.Raw[s.ID] = s.Raw.Normalize
		}
	}
	return out, nil
}

func appHash(prev []byte, height int64, recordRoot, changeset [32]byte) []byte {
	return app.AppHash(prev, height, recordRoot, changeset)
}
