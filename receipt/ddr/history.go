package ddr

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/datadragon/datadragon/receipt"
)

// A file receipt stores the validator set's history once: Validators is
// the registry (the genesis set with its powers, then every validator the
// history adds, at power 0) and History the changes, each as the JSON of
// a receipt.Change, oldest first. Each record's receipt gets the changes
// in force by the height after its block and the validators in force at
// its block (receipt.ValidatorsAt).

// histories merges the receipts' histories: each must be a prefix of the
// longest. It returns the registry and the longest history's entries.
func histories(receipts []*receipt.Receipt) ([]receipt.Validator, [][]byte, bool, error) {
	var longest []receipt.Change
	any := false
	for _, r := range receipts {
		if len(r.History) > 0 {
			any = true
		}
		if len(r.History) > len(longest) {
			longest = r.History
		}
	}
	if !any {
		return nil, nil, false, nil
	}
	enc := make([][]byte, len(longest))
	for i := range longest {
		b, err := json.Marshal(&longest[i])
		if err != nil {
			return nil, nil, false, err
		}
		enc[i] = b
	}
	var reg []receipt.Validator
	for _, r := range receipts {
		for i := range r.History {
			b, err := json.Marshal(&r.History[i])
			if err != nil || !bytes.Equal(b, enc[i]) {
				return nil, nil, false, fmt.Errorf("receipt of %s/%d has another validator-set history than the others: they are not of one chain", r.Stream, r.Index)
			}
		}
		g := receipt.Registry(r.Validators, longest, r.Block.Height)
		if reg == nil {
			reg = g
		} else if !sameValidators(reg, g) {
			return nil, nil, false, fmt.Errorf("receipt of %s/%d names another validator set than the first; a file receipt holds one chain's", r.Stream, r.Index)
		}
	}
	return reg, enc, true, nil
}

// changes decodes the stored history. An entry that does not decode is
// kept as an empty change, which receipt.Verify refuses.
func (f *File) changes() []receipt.Change {
	out := make([]receipt.Change, len(f.History))
	for i, b := range f.History {
		if json.Unmarshal(b, &out[i]) != nil {
			out[i] = receipt.Change{Action: "unreadable"}
		}
	}
	return out
}

// atHeight gives one record's receipt its history and validators.
func (f *File) atHeight(r *receipt.Receipt, changes []receipt.Change) {
	if len(changes) == 0 {
		return
	}
	var mine []receipt.Change
	for _, c := range changes {
		if c.From <= r.Block.Height+1 {
			mine = append(mine, c)
		}
	}
	gen := receipt.GenesisCount(f.Validators, changes)
	r.History = mine
	r.Validators = receipt.ValidatorsAt(f.Validators[:gen], mine, r.Block.Height)
}
