package node

import (
	"fmt"
	"path/filepath"
	"time"

	sm "github.com/cometbft/cometbft/state"
)

// pruneInterval is how often CometBFT's pruner deletes the blocks below
// the retain height the app last answered.
const pruneInterval = 5 * time.Second

// archiveStepMax bounds the heights archived at one commit, so a node that
// starts archiving a long chain (pruning newly turned on, or a restart
// that replayed many blocks) catches up without holding up consensus.
const archiveStepMax = 64

// extCommitStepMax bounds the extended commits deleted at one commit.
const extCommitStepMax = 2000

func (n *Node) archivePath() string { return filepath.Join(n.home, "data", ArchiveFile) }

// retain answers the app's Commit of height h with the retain height:
// first the heights up to h−2 are archived (durably, see archive.step),
// then the answer is the lower of the first height not archived and
// h − retain_blocks. Nothing is pruned that the archive does not hold, so
// a node stopped or killed at any point between the two loses nothing a
// receipt needs: the next start archives from where the file says.
// 0 keeps everything (retain_blocks 0, or an error, logged).
func (n *Node) retain(h int64) int64 {
	keep := n.cfg.retainBlocks()
	if keep == 0 {
		return 0
	}
	bs := n.cmt.BlockStore()
	if err := n.archive.archiveDue(bs, h); err != nil {
		if msg := err.Error(); msg != n.retainErr {
			n.retainErr = msg
			n.log.Error("the receipt archive cannot copy the header a state sync left due; CometBFT keeps every block from here on", "err", err)
		}
		return 0
	}
	archived, err := n.archive.step(bs, n.app, h, archiveStepMax)
	if err != nil {
		if msg := err.Error(); msg != n.retainErr {
			n.retainErr = msg
			n.log.Error("the receipt archive cannot advance; CometBFT keeps every block from here on", "err", err)
		}
		return 0
	}
	if err := n.archive.applyDueSummaries(); err != nil {
		if msg := err.Error(); msg != n.retainErr {
			n.retainErr = msg
			n.log.Error("the receipt archive cannot apply the epoch summaries no snapshot needs any more; CometBFT keeps every block from here on", "err", err)
		}
		return 0
	}
	n.retainErr = ""
	n.summ.step(archived)
	n.pruneExtCommits(bs.Base())
	r := min(archived+1, h-keep)
	// CometBFT refuses (and logs as an error, at every block) a retain
	// height below the one it holds — after retain_blocks was raised, say:
	// answer nothing until the window passes it.
	if r < 2 || r <= n.lastRetain {
		return 0
	}
	n.lastRetain = r
	return r
}

// pruneExtCommits deletes CometBFT's extended commits below the block
// store's base. CometBFT v1.0.1 stores one per height (every validator's
// vote extension again, about 80 KB a height at the demo load) and its
// pruner deletes the blocks, seen commits and headers but never those.
// Nothing reads one below the base: consensus reads the last height's,
// block sync serves heights from the base up.
func (n *Node) pruneExtCommits(base int64) {
	floor := n.ecFloor.Load()
	if n.blockDB == nil || base <= floor+1 {
		return
	}
	from := max(floor, 1)
	to := min(base, from+extCommitStepMax)
	for h := from; h < to; h++ {
		if err := n.blockDB.Delete(fmt.Appendf(nil, "EC:%d", h)); err != nil {
			n.log.Warn("deleting a pruned height's extended commit", "height", h, "err", err)
			return
		}
	}
	if err := n.archive.setMeta(keyExtCommits, to); err != nil {
		n.log.Warn("recording the pruned extended commits", "err", err)
		return
	}
	n.ecFloor.Store(to)
}

// startArchive starts a new (empty) archive at the block store's base: a
// node whose blocks were pruned before the file was made (it was moved
// aside, damaged) archives what it still has, and says which receipts it
// can no longer build. An archive that exists but lags below the base is
// left to fail in step, saying so: that is not this node's doing.
func (n *Node) startArchive() error {
	if n.stateDB != nil {
		if rh, err := sm.NewStore(n.stateDB, sm.StoreOptions{}).GetApplicationRetainHeight(); err == nil {
			n.lastRetain = rh
		}
	}
	a, err := n.archive.archived()
	if err != nil {
		return err
	}
	base := n.cmt.BlockStore().Base()
	if a != 0 || base <= 1 {
		return nil
	}
	n.log.Warn("a new receipt archive on a pruned block store: this node cannot build the receipts of records decided below its oldest block; other validators can",
		"oldest_block", base, "archive", n.archivePath())
	return n.archive.setMeta(keyArchived, base-1)
}
