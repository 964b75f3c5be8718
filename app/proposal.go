package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
)

// PrepareProposal makes the block's first transaction, the extended
// commit of the previous height (req.LocalLastCommit) encoded as a
// wire.CommitTx, and fills the rest of the block with the mempool's
// DataDragon transactions in their order.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	c, err := a.mustChain()
	if err != nil {
		return nil, err
	}
	if !c.extensionsExpected(req.Height) {
		return &abci.PrepareProposalResponse{Txs: mempoolTxs(req.Txs, req.MaxTxBytes)}, nil
	}
	ct := &wire.CommitTx{Height: req.Height - 1, Round: req.LocalLastCommit.Round}
	for _, v := range req.LocalLastCommit.Votes {
		ct.Votes = append(ct.Votes, wire.CommitVote{
			Address: v.Validator.Address, Power: v.Validator.Power, Flag: wire.BlockIDFlag(v.BlockIdFlag),
			Extension: v.VoteExtension, ExtensionSignature: v.ExtensionSignature,
		})
	}
	tx, err := ct.Marshal()
	if err != nil {
		// Only a CometBFT bug could get here; proposing an empty block
		// would be rejected too, so say why.
		return nil, fmt.Errorf("app: encoding the injected commit: %w", err)
	}
	if req.MaxTxBytes > 0 && int64(len(tx)) > req.MaxTxBytes {
		a.log.Error("the injected commit exceeds the block's byte limit; CometBFT will refuse the proposal",
			"height", req.Height, "bytes", len(tx), "max", req.MaxTxBytes)
	}
	room := req.MaxTxBytes - int64(len(tx))
	if req.MaxTxBytes <= 0 {
		room = -1
	}
	return &abci.PrepareProposalResponse{Txs: append([][]byte{tx}, mempoolTxs(req.Txs, room)...)}, nil
}

// mempoolTxs keeps the DataDragon transactions of txs, in order, within
// room bytes (room < 0: no limit).
func mempoolTxs(txs [][]byte, room int64) [][]byte {
	var out [][]byte
	var used int64
	for _, t := range txs {
		if !isBlockTx(t) {
			continue
		}
		if room >= 0 && used+int64(len(t)) > room {
			continue
		}
		used += int64(len(t))
		out = append(out, t)
	}
	return out
}

// ProcessProposal accepts a block only if its transactions are exactly
// what PrepareProposal of an honest proposer makes: nothing where no
// commit is due, else one injected commit that matches the block's last
// commit vote for vote and whose every extension is signed by its
// validator's CometBFT key and carries a valid Ziggy signature.
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	accept := &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}
	reject := &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}
	c, err := a.mustChain()
	if err != nil {
		return nil, err
	}
	if err := a.checkProposal(c, req.Height, req.Txs, &req.ProposedLastCommit); err != nil {
		a.log.Warn("proposal rejected", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress), "err", err)
		return reject, nil
	}
	return accept, nil
}

func (a *App) checkProposal(c *chain, height int64, txs [][]byte, lc *abci.CommitInfo) error {
	rest := txs
	if c.extensionsExpected(height) {
		if len(txs) == 0 {
			return errors.New("no transactions; the block must start with the injected commit")
		}
		rest = txs[1:]
	}
	// Mempool transactions: their effects depend on the block's state and
	// FinalizeBlock judges them; here only their framing, so that no
	// second injected commit or foreign data rides along.
	for i, t := range rest {
		if !isBlockTx(t) {
			return fmt.Errorf("transaction %d is not a DataDragon transaction of at most %d bytes", len(txs)-len(rest)+i, wire.MaxTxBytes)
		}
		if wire.IsSummaryTx(t) {
			if _, err := a.checkSummaryTx(c, t); err != nil {
				return fmt.Errorf("transaction %d: %w", len(txs)-len(rest)+i, err)
			}
		}
	}
	if !c.extensionsExpected(height) {
		return nil
	}
	ct, err := wire.UnmarshalCommitTx(txs[0])
	if err != nil {
		return err
	}
	return a.verifyCommit(c, height, ct, lc)
}

// verifyCommit checks an injected commit against the block's last commit
// and the validator set, and every extension in it.
func (a *App) verifyCommit(c *chain, height int64, ct *wire.CommitTx, lc *abci.CommitInfo) error {
	if ct.Height != height-1 {
		return fmt.Errorf("injected commit is for height %d, want %d", ct.Height, height-1)
	}
	if ct.Round != lc.Round {
		return fmt.Errorf("injected commit is for round %d, the block's last commit for round %d", ct.Round, lc.Round)
	}
	if len(ct.Votes) != len(lc.Votes) {
		return fmt.Errorf("injected commit has %d votes, the block's last commit %d", len(ct.Votes), len(lc.Votes))
	}
	// The commit of height−1 is signed by the set in force at height−1.
	set := c.epochAt(height - 1)
	active := 0
	for _, pw := range set.Powers {
		if pw > 0 {
			active++
		}
	}
	if len(ct.Votes) != active {
		return fmt.Errorf("injected commit has %d votes for %d validators", len(ct.Votes), active)
	}
	seen := make([]bool, len(c.addrs))
	for i, v := range ct.Votes {
		l := lc.Votes[i]
		if !bytes.Equal(v.Address, l.Validator.Address) || v.Power != l.Validator.Power || int32(v.Flag) != int32(l.BlockIdFlag) {
			return fmt.Errorf("vote %d differs from the block's last commit (validator, power or flag)", i)
		}
		val, ok := c.byAddr[string(v.Address)]
		if !ok {
			return fmt.Errorf("vote %d: validator %X is not in the validator set", i, v.Address)
		}
		if seen[val] {
			return fmt.Errorf("vote %d: validator %X appears twice", i, v.Address)
		}
		seen[val] = true
		if v.Power != set.Powers[val] || v.Power == 0 {
			return fmt.Errorf("vote %d: validator %X with power %d, the validator set in force at height %d says %d", i, v.Address, v.Power, height-1, set.Powers[val])
		}
		if v.Flag != wire.FlagCommit {
			if len(v.Extension) != 0 || len(v.ExtensionSignature) != 0 {
				return fmt.Errorf("vote %d: an absent or nil vote carries extension data", i)
			}
			continue
		}
		if err := verifyExtensionSignature(c, val, ct.Height, ct.Round, v.Extension, v.ExtensionSignature); err != nil {
			return fmt.Errorf("vote %d (validator %X): %w", i, v.Address, err)
		}
		if len(v.Extension) == 0 {
			continue
		}
		if _, err := a.checkExtension(c, val, ct.Height, v.Extension); err != nil {
			return fmt.Errorf("vote %d (validator %X): extension: %w", i, v.Address, err)
		}
	}
	return nil
}

// ErrExtensionSignature is wrapped when CometBFT's signature over a vote
// extension does not verify.
var ErrExtensionSignature = errors.New("CometBFT vote-extension signature invalid")

// verifyExtensionSignature checks the validator's CometBFT signature over
// the extension, with CometBFT's own sign bytes for the chain, height and
// round.
func verifyExtensionSignature(c *chain, val int, height int64, round int32, ext, sig []byte) error {
	if len(sig) == 0 {
		return fmt.Errorf("%w: missing", ErrExtensionSignature)
	}
	signBytes := cmttypes.VoteExtensionSignBytes(c.ChainID, &cmtproto.Vote{Height: height, Round: round, Extension: ext})
	if !c.pubs[val].VerifySignature(signBytes, sig) {
		return ErrExtensionSignature
	}
	return nil
}
