package node

import (
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// Receipt builds the receipt of an accepted record (package receipt) from
// the app's state and CometBFT's block store. It wraps app.ErrNotFound
// when the record is unknown, not accepted, or its next block has no
// commit yet.
func (n *Node) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	return receipt.Build(receiptSource{n}, stream, index)
}

type receiptSource struct{ n *Node }

func (s receiptSource) ChainID() string { return s.n.app.ChainID() }

func (s receiptSource) Validators() ([]app.ValidatorInfo, error) { return s.n.app.Validators() }

func (s receiptSource) RecordBytes(stream string, index uint64) ([]byte, error) {
	return s.n.app.RecordBytes(stream, index)
}

func (s receiptSource) Block(height int64) (*app.BlockInfo, error) { return s.n.app.Block(height) }

func (s receiptSource) Header(height int64) (*cmttypes.Header, *cmttypes.Commit, error) {
	bs := s.n.cmt.BlockStore()
	meta := bs.LoadBlockMeta(height)
	if meta == nil {
		return nil, nil, fmt.Errorf("block %d is not stored: %w", height, app.ErrNotFound)
	}
	c := bs.LoadBlockCommit(height)
	if c == nil {
		c = bs.LoadSeenCommit(height)
	}
	if c == nil || c.Height != height {
		return nil, nil, fmt.Errorf("no commit for block %d yet: %w", height, app.ErrNotFound)
	}
	h := meta.Header
	return &h, c, nil
}

func (s receiptSource) CommitTx(height int64) (*wire.CommitTx, error) {
	b, _ := s.n.cmt.BlockStore().LoadBlock(height)
	if b == nil {
		return nil, fmt.Errorf("block %d is not stored: %w", height, app.ErrNotFound)
	}
	for _, tx := range b.Txs {
		if wire.IsCommitTx(tx) {
			return wire.UnmarshalCommitTx(tx)
		}
	}
	return nil, fmt.Errorf("block %d carries no injected commit", height)
}

func (s receiptSource) ProducerSignature(k wire.ChunkKey) []byte { return s.n.app.ProducerSignature(k) }
