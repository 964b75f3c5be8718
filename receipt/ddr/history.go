package ddr

import (
	"bytes"
	"errors"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
)

// A file receipt stores the validator set's history once: Validators is
// the registry (the genesis set with its powers, then every validator the
// history adds, at power 0) and History the changes, oldest first, each
// encoded by encodeChange: u8 version 1 ‖ from ‖ decided ‖ action ‖ key
// type ‖ CometBFT key ‖ Ziggy key ‖ power ‖ previous power ‖ name ‖ seq ‖
// approvals (validator ‖ nonce ‖ signature) ‖ header ‖ commit (CometBFT
// protobuf), integers as uvarints, byte strings length-prefixed. Each record's receipt gets the changes
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
		b, err := encodeChange(&longest[i])
		if err != nil {
			return nil, nil, false, fmt.Errorf("validator-set change %d: %w", i, err)
		}
		enc[i] = b
	}
	var reg []receipt.Validator
	for _, r := range receipts {
		for i := range r.History {
			b, err := encodeChange(&r.History[i])
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
		c, err := decodeChange(b)
		if err != nil {
			c = &receipt.Change{Action: "unreadable"}
		}
		out[i] = *c
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

const (
	maxChangeApprovals = 1024 // wire.MaxVotes
	maxChangeBytes     = 8 << 20
)

func encodeChange(c *receipt.Change) ([]byte, error) {
	if c.Header == nil || c.Commit == nil {
		return nil, errors.New("no header or commit")
	}
	if c.From < 0 || c.Decided < 0 || c.Power < 0 || c.PrevPower < 0 {
		return nil, errors.New("negative height or power")
	}
	w := &writer{}
	w.b = append(w.b, 1)
	w.uvarint(uint64(c.From))
	w.uvarint(uint64(c.Decided))
	w.str(c.Action)
	w.str(c.PubKey.Type)
	w.bytes(c.PubKey.Value)
	w.bytes(c.ZiggyPubKey)
	w.uvarint(uint64(c.Power))
	w.uvarint(uint64(c.PrevPower))
	w.str(c.Name)
	w.uvarint(c.Seq)
	w.int(len(c.Approvals))
	for _, a := range c.Approvals {
		if a.Validator < 0 {
			return nil, errors.New("negative approver")
		}
		w.int(a.Validator)
		w.uvarint(a.Nonce)
		w.bytes(a.Signature)
	}
	hb, err := c.Header.ToProto().Marshal()
	if err != nil {
		return nil, err
	}
	cb, err := c.Commit.ToProto().Marshal()
	if err != nil {
		return nil, err
	}
	w.bytes(hb)
	w.bytes(cb)
	return w.b, nil
}

// decodeChange reads one stored change; it never panics and bounds
// every length before it allocates.
func decodeChange(b []byte) (*receipt.Change, error) {
	if len(b) > maxChangeBytes {
		return nil, fmt.Errorf("a validator-set change of %d bytes", len(b))
	}
	if len(b) == 0 || b[0] != 1 {
		return nil, errors.New("a validator-set change of an unknown version")
	}
	r := &reader{b: b[1:], at: "validator-set change"}
	c := &receipt.Change{From: int64(r.uvarint(maxPower)), Decided: int64(r.uvarint(maxPower))}
	c.Action = r.str(maxString)
	c.PubKey.Type = r.str(maxString)
	c.PubKey.Value = r.bytes(maxKey)
	c.ZiggyPubKey = receipt.HexBytes(r.bytes(maxKey))
	c.Power = int64(r.uvarint(maxPower))
	c.PrevPower = int64(r.uvarint(maxPower))
	c.Name = r.str(maxString)
	c.Seq = r.uvarint(1<<64 - 1)
	n := r.count(maxChangeApprovals, 3)
	for i := 0; i < n && r.err == nil; i++ {
		a := receipt.Approval{Validator: int(r.uvarint(maxChangeApprovals)), Nonce: r.uvarint(1<<64 - 1)}
		a.Signature = receipt.HexBytes(r.bytes(maxSignatureBytes))
		c.Approvals = append(c.Approvals, a)
	}
	hb := r.bytes(maxHeaderBytes)
	cb := r.bytes(maxCommitBytes)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%d bytes after a validator-set change", len(r.b))
	}
	var ph cmtproto.Header
	if err := ph.Unmarshal(hb); err != nil {
		return nil, fmt.Errorf("the header does not decode: %v", err)
	}
	h, err := cmttypes.HeaderFromProto(&ph)
	if err != nil {
		return nil, err
	}
	var pc cmtproto.Commit
	if err := pc.Unmarshal(cb); err != nil {
		return nil, fmt.Errorf("the commit does not decode: %v", err)
	}
	cm, err := cmttypes.CommitFromProto(&pc)
	if err != nil {
		return nil, err
	}
	c.Header, c.Commit = &h, cm
	if again, err := encodeChange(c); err != nil || !bytes.Equal(again, b) {
		return nil, errors.New("a validator-set change not in its canonical encoding")
	}
	return c, nil
}
