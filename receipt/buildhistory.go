//go:build !js

package receipt

import (
	"bytes"
	"fmt"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// HistorySource is a Source whose chain may have changed its validator
// set: Build then gives the receipt the set's history to the record.
type HistorySource interface {
	// SetHistory returns the genesis validators and every set change.
	SetHistory() ([]app.GenesisValidator, []app.SetChange, error)
}

// history returns the changes a receipt of a record decided at height
// needs (those in force by height+1, whose header the receipt carries)
// and the validators in force at height, in registry order.
func history(src Source, height int64) ([]Change, []Validator, bool, error) {
	hs, ok := src.(HistorySource)
	if !ok {
		return nil, nil, false, nil
	}
	gen, changes, err := hs.SetHistory()
	if err != nil {
		return nil, nil, false, err
	}
	var genVals []Validator
	for _, v := range gen {
		genVals = append(genVals, Validator{Name: v.Name, Address: v.Address, PubKey: v.PubKey, ZiggyPubKey: v.ZiggyPubKey, Power: v.Power})
	}
	var out []Change
	powers := powersOf(genVals)
	for _, sc := range changes {
		if sc.From > height+1 {
			break
		}
		hdr, commit, err := src.Header(sc.From - 1)
		if err != nil {
			return nil, nil, false, fmt.Errorf("the header naming the validator set in force from height %d: %w", sc.From, err)
		}
		p := sc.Proposal
		c := Change{From: sc.From, Decided: sc.Decided, Action: p.Action.String(), PubKey: app.PubKey{Type: p.KeyType, Value: bytes.Clone(p.CometKey)},
			ZiggyPubKey: app.HexBytes(bytes.Clone(p.ZiggyKey)), Power: p.Power, Name: p.Moniker, PrevPower: prevPower(ValidatorsAt(genVals, out, sc.From-1), &p), Seq: p.Seq, Header: hdr, Commit: commit}
		// Only the approvals of the set that ran it count (an approver
		// removed meanwhile approved, but counts nothing).
		for _, a := range sc.Approvals {
			if int(a.Validator) < len(powers) && powers[a.Validator] > 0 {
				c.Approvals = append(c.Approvals, Approval{Validator: int(a.Validator), Nonce: a.Nonce, Signature: app.HexBytes(a.Signature)})
			}
		}
		out = append(out, c)
		powers = powersOf(ValidatorsAt(genVals, out, sc.From))
	}
	// Without a change by then, the genesis set (not today's registry).
	return out, ValidatorsAt(genVals, out, height), true, nil
}

func powersOf(vals []Validator) []int64 {
	out := make([]int64, len(vals))
	for i, v := range vals {
		out[i] = v.Power
	}
	return out
}

// prevPower is the power the proposal's validator has in vals (0 if none).
func prevPower(vals []Validator, p *wire.Proposal) int64 {
	for _, v := range vals {
		if v.PubKey.Type == p.KeyType && bytes.Equal(v.PubKey.Value, p.CometKey) {
			return v.Power
		}
	}
	return 0
}
