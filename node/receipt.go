package node

import (
	"bytes"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// Receipt builds the receipt of an accepted record (package receipt) from
// the app's state and, for what lives in CometBFT's blocks, the node's
// receipt archive, falling back to the block store for heights not
// archived yet. It wraps app.ErrNotFound when the record is unknown, not
// accepted, or its next block has no commit yet.
func (n *Node) Receipt(stream string, index uint64) (*receipt.Receipt, error) {
	if n.snapExtra != nil && n.snapExtra.importing.Load() {
		return nil, fmt.Errorf("this node is restoring a state sync snapshot and has not verified its receipt archive yet; ask again shortly: %w", app.ErrNotFound)
	}
	return receipt.Build(receiptSource{n: n, archive: n.archive, blocks: true}, stream, index)
}

// receiptSource reads the archive (when archive is set) first and the
// block store (when blocks is set) after it.
type receiptSource struct {
	n       *Node
	archive *archive
	blocks  bool
}

func (s receiptSource) ChainID() string { return s.n.app.ChainID() }

func (s receiptSource) Validators() ([]app.ValidatorInfo, error) { return s.n.app.Validators() }

func (s receiptSource) RecordBytes(stream string, index uint64) ([]byte, error) {
	return s.n.app.RecordBytes(stream, index)
}

func (s receiptSource) Block(height int64) (*app.BlockInfo, error) { return s.n.app.Block(height) }

// pruned says why a height is missing from both the archive and the
// block store.
func (s receiptSource) pruned(height int64) error {
	if s.blocks {
		if base := s.n.cmt.BlockStore().Base(); height < base {
			return fmt.Errorf("block %d was pruned from this node's block store (it keeps %d and later) and is not in its receipt archive %s; ask another validator for this receipt: %w",
				height, base, s.n.archivePath(), app.ErrNotFound)
		}
	}
	return fmt.Errorf("block %d is not stored: %w", height, app.ErrNotFound)
}

func (s receiptSource) Header(height int64) (*cmttypes.Header, *cmttypes.Commit, error) {
	if s.archive != nil {
		h, c, ok, err := s.archive.Header(height)
		if err != nil || ok {
			return h, c, err
		}
	}
	if !s.blocks {
		return nil, nil, s.pruned(height)
	}
	bs := s.n.cmt.BlockStore()
	meta := bs.LoadBlockMeta(height)
	if meta == nil {
		return nil, nil, s.pruned(height)
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

func (s receiptSource) Extension(height int64, vote int, validator []byte) ([]byte, error) {
	if s.archive != nil {
		ext, ok, err := s.archive.Extension(height, validator)
		if err != nil || ok {
			return ext, err
		}
	}
	if !s.blocks {
		return nil, s.pruned(height)
	}
	b, _ := s.n.cmt.BlockStore().LoadBlock(height)
	if b == nil {
		return nil, s.pruned(height)
	}
	for _, tx := range b.Txs {
		if !wire.IsCommitTx(tx) {
			continue
		}
		ct, err := wire.UnmarshalCommitTx(tx)
		if err != nil {
			return nil, err
		}
		if vote < 0 || vote >= len(ct.Votes) {
			return nil, fmt.Errorf("vote %d out of range", vote)
		}
		if !bytes.Equal(ct.Votes[vote].Address, validator) {
			return nil, fmt.Errorf("vote %d of block %d is %X's, not %X's", vote, height, ct.Votes[vote].Address, validator)
		}
		return ct.Votes[vote].Extension, nil
	}
	return nil, fmt.Errorf("block %d carries no injected commit", height)
}

func (s receiptSource) ProducerSignature(k wire.ChunkKey) []byte { return s.n.app.ProducerSignature(k) }

// Summarized reads a summarized extension from the archive
// (receipt.SummarySource).
func (s receiptSource) Summarized(height int64, validator []byte) (*wire.Extension, *wire.SummaryTx, int, []merkle.Hash, bool, error) {
	if s.archive == nil {
		return nil, nil, 0, nil, false, nil
	}
	p, ok, err := s.archive.Summarized(height, validator)
	if err != nil || !ok {
		return nil, nil, 0, nil, false, err
	}
	return p.Extension, p.Summary, p.Leaf, p.Leaves, true, nil
}
