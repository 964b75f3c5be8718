package node

import (
	"github.com/datadragon/datadragon/app"
)

// SetHistory gives receipts the validator set's history (receipt.HistorySource):
// the genesis validators and every change the chain made since.
func (s receiptSource) SetHistory() ([]app.GenesisValidator, []app.SetChange, error) {
	return s.n.app.SetHistory()
}
