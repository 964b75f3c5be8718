package wire

import (
	"bytes"
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// CommitTxMagic starts an injected-commit transaction: "DDxc" and the
// format version 1. Nothing else in a block may start with it.
var CommitTxMagic = []byte{'D', 'D', 'x', 'c', 1}

// BlockIDFlag says how a validator voted in a commit; the values are
// CometBFT's.
type BlockIDFlag uint8

// The flags.
const (
	FlagAbsent BlockIDFlag = 1 // no precommit from this validator in the commit
	FlagCommit BlockIDFlag = 2 // precommit for the block, with a vote extension
	FlagNil    BlockIDFlag = 3 // precommit for nil, no extension
)

// CommitVote is one validator's entry in an injected commit: what
// CometBFT gave the proposer in PrepareProposal's local last commit.
type CommitVote struct {
	Address            []byte
	Power              int64
	Flag               BlockIDFlag
	Extension          []byte // the raw vote extension (Extension's encoding, or empty)
	ExtensionSignature []byte // CometBFT's signature over the extension
}

// CommitTx is the extended commit of the previous height that the proposer
// injects as the first transaction of its block, so that every validator
// tallies the same attestations.
type CommitTx struct {
	Height int64 // the height the votes are for: the block's height − 1
	Round  int32
	Votes  []CommitVote // in validator-set order, one per validator
}

// IsCommitTx reports whether tx starts with CommitTxMagic.
func IsCommitTx(tx []byte) bool { return bytes.HasPrefix(tx, CommitTxMagic) }

const commitVoteMinBytes = 1 + 8 + 1 + 4 + 2

// Marshal returns the canonical encoding:
//
//	magic "DDxc" 0x01 ‖ u64 height ‖ u32 round ‖ u16 n ‖ n × vote
//	vote = u8 len ‖ address ‖ u64 power ‖ u8 flag ‖ u32 len ‖ extension ‖
//	       u16 len ‖ extension signature
func (c *CommitTx) Marshal() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	size := len(CommitTxMagic) + 14
	for _, v := range c.Votes {
		size += commitVoteMinBytes + len(v.Address) + len(v.Extension) + len(v.ExtensionSignature)
	}
	w := codec.Writer{B: make([]byte, 0, size)}
	w.Raw(CommitTxMagic)
	w.U64(uint64(c.Height))
	w.U32(uint32(c.Round))
	w.U16(uint16(len(c.Votes)))
	for _, v := range c.Votes {
		w.Bytes8(v.Address)
		w.U64(uint64(v.Power))
		w.U8(uint8(v.Flag))
		w.Bytes32(v.Extension)
		w.Bytes16(v.ExtensionSignature)
	}
	return w.B, nil
}

func (c *CommitTx) validate() error {
	if c.Height < 0 || c.Height > 1<<62 {
		return fmt.Errorf("commit height %d out of range", c.Height)
	}
	if c.Round < 0 {
		return fmt.Errorf("commit round %d is negative", c.Round)
	}
	if len(c.Votes) > MaxVotes {
		return fmt.Errorf("%d votes, the limit is %d", len(c.Votes), MaxVotes)
	}
	for i, v := range c.Votes {
		if len(v.Address) > MaxAddressLen {
			return fmt.Errorf("vote %d: address of %d bytes, the limit is %d", i, len(v.Address), MaxAddressLen)
		}
		if v.Power < 0 {
			return fmt.Errorf("vote %d: negative power %d", i, v.Power)
		}
		if v.Flag < FlagAbsent || v.Flag > FlagNil {
			return fmt.Errorf("vote %d: unknown block id flag %d", i, v.Flag)
		}
		if len(v.Extension) > MaxExtensionBytes {
			return fmt.Errorf("vote %d: %w: %d bytes, the limit is %d", i, ErrExtensionTooLarge, len(v.Extension), MaxExtensionBytes)
		}
		if len(v.ExtensionSignature) > MaxExtensionSignatureLen {
			return fmt.Errorf("vote %d: extension signature of %d bytes, the limit is %d", i, len(v.ExtensionSignature), MaxExtensionSignatureLen)
		}
	}
	return nil
}

// UnmarshalCommitTx decodes an injected commit. It checks the encoding and
// the limits, not the signatures; it never panics.
func UnmarshalCommitTx(b []byte) (*CommitTx, error) {
	if !IsCommitTx(b) {
		return nil, fmt.Errorf("injected commit: does not start with the magic %q", CommitTxMagic)
	}
	r := codec.NewReader(b[len(CommitTxMagic):])
	c := &CommitTx{}
	c.Height = int64(r.U64())
	c.Round = int32(r.U32())
	n := r.Count(MaxVotes, commitVoteMinBytes, "votes")
	if n > 0 {
		c.Votes = make([]CommitVote, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var v CommitVote
		v.Address = r.Bytes8(MaxAddressLen, "validator address")
		v.Power = int64(r.U64())
		v.Flag = BlockIDFlag(r.U8())
		v.Extension = r.Bytes32(MaxExtensionBytes, "vote extension")
		v.ExtensionSignature = r.Bytes16(MaxExtensionSignatureLen, "extension signature")
		c.Votes = append(c.Votes, v)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("injected commit: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("injected commit: %w", err)
	}
	return c, nil
}
