package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/store"
)

// ScrubReport says what a scrub checked and how long it took.
type ScrubReport struct {
	store.ScrubStats               // the file: every value's checksum, bbolt's page check
	Blocks           int           // blocks whose app hash and record root were recomputed
	Records          int           // records hashed into those roots
	Took             time.Duration // the whole scrub
}

// scrubBlocks bounds the blocks one read transaction of the chain check
// visits.
const scrubBlocks = 256

// Scrub verifies the state: first the file (store.Scrub: every value
// against its checksum, then bbolt's page structure), then that the
// stored chain agrees with itself, which a checksum cannot show. For every
// committed block it recomputes the app hash from the previous one, the
// height, the record root and the changeset hash, and the record root
// from the records the block accepted as they are stored now; the last
// block's app hash must be the one the app reports to CometBFT, which
// compares it with its own state at every start (the handshake). So a
// record served from this state is the one the chain committed to, and a
// record lost from the file is found.
//
// New runs it before the app serves anything; the node runs it again
// every scrub_interval. It reads in short transactions beside consensus
// and stops when ctx ends. Damage marks the store corrupt and is returned
// as its *store.CorruptError.
func (a *App) Scrub(ctx context.Context) (ScrubReport, error) {
	start := time.Now()
	var rep ScrubReport
	var err error
	rep.ScrubStats, err = a.store.Scrub(ctx)
	if err == nil {
		err = a.checkChain(ctx, &rep)
	}
	rep.Took = time.Since(start)
	return rep, err
}

// checkChain is Scrub's second half.
func (a *App) checkChain(ctx context.Context, rep *ScrubReport) error {
	c := a.chain.Load()
	if c == nil {
		return nil // no InitChain yet: no chain to check
	}
	last := a.last.Load()
	bad := func(h int64, format string, args ...any) error {
		return a.store.MarkCorrupt(fmt.Sprintf("block %d", h), fmt.Sprintf(format, args...))
	}

	// The meta bucket's height and app hash are what Info reports; they
	// must be the last block's.
	var hB, ahB, lastB []byte
	if err := a.store.View(func(tx store.Tx) error {
		hB, ahB = tx.Get([]byte(bucketMeta), keyHeight), tx.Get([]byte(bucketMeta), keyAppHash)
		if len(hB) == 8 {
			lastB = tx.Get([]byte(bucketBlocks), hB)
		}
		return nil
	}); err != nil {
		return err
	}
	if len(hB) != 8 {
		return bad(last.height, "the stored height is %d bytes, not 8", len(hB))
	}
	height := int64(binary.BigEndian.Uint64(hB))
	if height < last.height {
		return bad(last.height, "the stored height %d is below the committed height", height)
	}
	if height == 0 {
		if !bytes.Equal(ahB, c.genesisAppHash) {
			return bad(0, "the stored app hash %X is not the genesis app hash %X", ahB, c.genesisAppHash)
		}
		return nil
	}
	if lastB == nil {
		return bad(height, "the last block's information is missing")
	}
	lastInfo, err := unmarshalBlockInfo(lastB)
	if err != nil {
		return bad(height, "%v", err)
	}
	if !bytes.Equal(lastInfo.AppHash, ahB) {
		return bad(height, "the stored app hash %X is not the last block's %X", ahB, lastInfo.AppHash)
	}

	return a.walkChain(ctx, c, height, rep, bad)
}

// walkChain checks every block from the first to height: its app hash
// from its parts, chained from the genesis app hash, and its record root
// from the stored records. bad reports what is wrong.
func (a *App) walkChain(ctx context.Context, c *chain, height int64, rep *ScrubReport, bad func(h int64, format string, args ...any) error) error {
	prev := c.genesisAppHash
	for from := c.InitialHeight; from <= height; from += scrubBlocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		to := min(from+scrubBlocks-1, height)
		var cerr error
		if err := a.store.View(func(tx store.Tx) error {
			for h := from; h <= to && cerr == nil; h++ {
				raw := tx.Get([]byte(bucketBlocks), u64(uint64(h)))
				if raw == nil {
					if tx.Err() == nil {
						cerr = bad(h, "its information is missing")
					}
					return nil
				}
				bi, err := unmarshalBlockInfo(raw)
				if err != nil {
					cerr = bad(h, "%v", err)
					return nil
				}
				leaves := make([]merkle.Hash, 0, len(bi.Accepted))
				for _, k := range bi.Accepted {
					rb := tx.Get([]byte(bucketRecords), k.Bytes())
					if rb == nil {
						if tx.Err() == nil {
							cerr = bad(h, "the record of %s it accepted is missing", k)
						}
						return nil
					}
					// The stored bytes are the canonical encoding the root
					// was built over.
					leaves = append(leaves, merkle.LeafHash(rb))
				}
				rep.Records += len(leaves)
				switch root := merkle.Root(leaves); {
				case bi.Height != h:
					cerr = bad(h, "its information says height %d", bi.Height)
				case !bytes.Equal(bi.PrevAppHash, prev):
					cerr = bad(h, "its previous app hash %X is not block %d's %X", bi.PrevAppHash, h-1, prev)
				case root != bi.RecordRoot:
					cerr = bad(h, "its stored records hash to the record root %X, the chain committed to %X", root[:], bi.RecordRoot[:])
				case !bytes.Equal(AppHash(prev, h, bi.RecordRoot, bi.ChangesetHash), bi.AppHash):
					cerr = bad(h, "its app hash %X does not follow from its parts", bi.AppHash)
				}
				prev = bi.AppHash
				rep.Blocks++
			}
			return nil
		}); err != nil {
			return err
		}
		if cerr != nil {
			return cerr
		}
	}
	return nil
}
