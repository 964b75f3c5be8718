package app

import (
	"crypto/sha256"
	"fmt"

	"github.com/datadragon/datadragon/app/wire"
)

// Epoch summaries (wire.SummaryTx) are mempool transactions that change
// nothing in the app's state: they exist so that every node's receipt
// archive sees, at the same height, a validator's one signature standing
// for its extension signatures of an epoch. The app only makes sure that
// what rides on chain is a well-formed summary of a validator in the set,
// signed with its registered Ziggy key — in CheckTx, and in
// ProcessProposal, so a proposer cannot fill blocks with junk under the
// summary magic. Whether the summary's root matches the extensions is for
// each archive to check against what it archived: a summary that does
// not match makes an archive keep the per-height signatures, and is
// otherwise harmless.

// checkSummaryTx decodes a summary transaction and checks its validator
// and signature.
func (a *App) checkSummaryTx(c *chain, raw []byte) (*wire.SummaryTx, error) {
	s, err := wire.UnmarshalSummaryTx(raw)
	if err != nil {
		return nil, err
	}
	val, ok := c.byAddr[string(s.Validator)]
	if !ok {
		return nil, fmt.Errorf("summary of %X, who is not in the validator set", s.Validator)
	}
	k := sha256.Sum256(append([]byte("summary\x00"+c.ChainID+"\x00"), raw...))
	if v, ok := a.cache.get(k); ok {
		return s, v.err
	}
	err = a.cfg.Scheme.Verify(c.genesis.Validators[val].ZiggyPubKey, s.SignBytes(c.ChainID), s.Signature)
	if err != nil {
		err = fmt.Errorf("summary of validator %s for heights %d…%d: signature: %w", c.genesis.Validators[val].Name, s.First, s.Last, err)
	}
	a.cache.put(k, cached{err: err})
	return s, err
}

// checkSummaryTxCode is CheckTx's answer for a summary transaction.
func (a *App) checkSummaryTxCode(c *chain, raw []byte) (uint32, string) {
	if _, err := a.checkSummaryTx(c, raw); err != nil {
		return CodeMalformed, err.Error()
	}
	return CodeOK, ""
}

// isBlockTx reports whether a proposal may carry t after the injected
// commit: a DataDragon transaction or a summary, within the size limits.
func isBlockTx(t []byte) bool {
	if wire.IsSummaryTx(t) {
		return len(t) <= wire.MaxSummaryTxBytes
	}
	return wire.IsTx(t) && len(t) <= wire.MaxTxBytes
}
