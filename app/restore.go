package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/statehash"
	"github.com/datadragon/datadragon/app/store"
)

// Restoring a snapshot (CometBFT state sync). Everything a peer sends is
// hostile: the metadata and every chunk are bounded and decoded without
// trust, a chunk must hash to the hash its metadata lists (else it is
// fetched again from another peer and its sender refused), entries must
// come in strictly ascending order of bucket then key (no value can be
// given twice), name a bucket of the app (or of the node's extra
// material), and not the keys the restorer derives itself. Once the last
// chunk is in, the restored state must prove itself against the app hash
// CometBFT's light client verified for the snapshot's height:
//
//   - the state digest of every restored value must be the changeset hash
//     of the snapshot height's block, and that block's app hash must
//     follow from its parts and be the trusted one;
//   - every earlier block's app hash must follow from its parts, chained
//     back to the genesis app hash of the restored genesis, and every
//     block's record root from the restored records (as Scrub checks).
//
// Any failure wipes what was restored and refuses the snapshot; CometBFT
// then tries another one.

// restoreState is a snapshot being restored.
type restoreState struct {
	meta    *snapshotMeta
	next    uint32
	buckets map[string]bool
	lastB   string
	lastK   []byte
	digest  statehash.Digest
	values  int
}

var errSnapshotRefused = errors.New("snapshot refused")

// OfferSnapshot accepts a snapshot whose metadata is well formed, agrees
// with what CometBFT was offered, and names the app hash CometBFT's light
// client verified for its height. It only restores into an empty state.
func (a *App) OfferSnapshot(_ context.Context, req *abci.OfferSnapshotRequest) (*abci.OfferSnapshotResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	resp := func(r abci.OfferSnapshotResult) (*abci.OfferSnapshotResponse, error) {
		return &abci.OfferSnapshotResponse{Result: r}, nil
	}
	if a.restore == nil && (a.chain.Load() != nil || a.last.Load().height > 0) {
		a.log.Error("state sync offered a snapshot, but this node already has a state; refusing to overwrite it", "height", a.last.Load().height)
		return resp(abci.OFFER_SNAPSHOT_RESULT_ABORT)
	}
	s := req.Snapshot
	if s == nil {
		return resp(abci.OFFER_SNAPSHOT_RESULT_REJECT)
	}
	if s.Format != SnapshotFormat {
		return resp(abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT)
	}
	m, err := decodeSnapshotMeta(s.Metadata)
	refuse := func(why string, args ...any) (*abci.OfferSnapshotResponse, error) {
		a.log.Warn("state sync snapshot refused", "height", s.Height, "why", fmt.Sprintf(why, args...))
		return resp(abci.OFFER_SNAPSHOT_RESULT_REJECT)
	}
	switch {
	case err != nil:
		return refuse("%v", err)
	case uint64(m.Height) != s.Height || uint32(len(m.Chunks)) != s.Chunks:
		return refuse("its metadata says height %d in %d chunks, the offer height %d in %d", m.Height, len(m.Chunks), s.Height, s.Chunks)
	case !bytes.Equal(m.hash(), s.Hash):
		return refuse("its hash is not the hash of its metadata")
	case !bytes.Equal(m.AppHash, req.AppHash):
		return refuse("its app hash %X is not the verified app hash %X of height %d", m.AppHash, req.AppHash, m.Height)
	}
	if err := a.resetRestore(); err != nil {
		a.log.Error("state sync: clearing the state file", "err", err)
		return resp(abci.OFFER_SNAPSHOT_RESULT_ABORT)
	}
	mark := a.store.NewBatch()
	mark.Put([]byte(bucketMeta), keyRestoring, u64(uint64(m.Height)))
	if err := mark.Commit(); err != nil {
		a.log.Error("state sync: marking the state file", "err", err)
		return resp(abci.OFFER_SNAPSHOT_RESULT_ABORT)
	}
	if x := a.cfg.Snapshots.Extra; x != nil {
		if err := x.BeginImport(m.Height); err != nil {
			a.log.Error("state sync: starting the import of the node's material", "err", err)
			return resp(abci.OFFER_SNAPSHOT_RESULT_ABORT)
		}
	}
	r := &restoreState{meta: m, buckets: map[string]bool{}}
	for _, b := range a.store.Buckets() {
		r.buckets[b] = true
	}
	a.restore = r
	a.log.Info("state sync: restoring a snapshot", "height", m.Height, "chunks", len(m.Chunks), "bytes", m.Total, "app_hash", fmt.Sprintf("%X", m.AppHash))
	return resp(abci.OFFER_SNAPSHOT_RESULT_ACCEPT)
}

// resetRestore drops a restore in progress and everything it wrote.
func (a *App) resetRestore() error {
	a.restore = nil
	a.chain.Store(nil)
	a.last.Store(&committed{})
	return a.store.Reset()
}

// ApplySnapshotChunk checks and writes one chunk; after the last it
// verifies the whole state (finishRestore).
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.ApplySnapshotChunkRequest) (*abci.ApplySnapshotChunkResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.restore
	res := func(x abci.ApplySnapshotChunkResult) (*abci.ApplySnapshotChunkResponse, error) {
		return &abci.ApplySnapshotChunkResponse{Result: x}, nil
	}
	if r == nil {
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT)
	}
	if req.Index < r.next {
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT) // written already
	}
	if req.Index != r.next {
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT)
	}
	if len(req.Chunk) > MaxSnapshotChunkBytes || sha256.Sum256(req.Chunk) != r.meta.Chunks[req.Index] {
		// Another peer may serve the right bytes: fetch it again, and
		// take nothing more from this one.
		a.log.Warn("state sync: a snapshot chunk does not hash to its listed hash; fetching it from another peer", "height", r.meta.Height, "chunk", req.Index, "sender", req.Sender)
		out := &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			out.RejectSenders = []string{req.Sender}
		}
		return out, nil
	}
	if err := a.restoreChunk(r, req.Index, req.Chunk); err != nil {
		a.log.Error("state sync: snapshot refused", "height", r.meta.Height, "chunk", req.Index, "err", err)
		if !errors.Is(err, errSnapshotRefused) {
			return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT)
		}
		if err := a.resetRestore(); err != nil {
			a.log.Error("state sync: clearing the state file", "err", err)
			return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT)
		}
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT)
	}
	r.next++
	if int(r.next) < len(r.meta.Chunks) {
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT)
	}
	if err := a.finishRestore(r); err != nil {
		a.log.Error("state sync: the restored state does not prove itself; snapshot refused", "height", r.meta.Height, "err", err)
		if err := a.resetRestore(); err != nil {
			a.log.Error("state sync: clearing the state file", "err", err)
			return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ABORT)
		}
		return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT)
	}
	a.restore = nil
	return res(abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT)
}

// refused wraps errSnapshotRefused: the snapshot is bad, not the disk.
func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSnapshotRefused, fmt.Sprintf(format, args...))
}

// restoreChunk decodes a chunk (whose hash matched), checks its entries and
// writes them in one transaction.
func (a *App) restoreChunk(r *restoreState, index uint32, chunk []byte) error {
	idx, entries, err := decodeSnapshotChunk(chunk)
	if err != nil {
		return refused("%v", err)
	}
	if idx != index {
		return refused("chunk %d says it is chunk %d", index, idx)
	}
	x := a.cfg.Snapshots.Extra
	b := a.store.NewBatch()
	for _, e := range entries {
		if r.lastK != nil && !entryLess(r.lastB, r.lastK, e.Bucket, e.Key) {
			return refused("entry %q/%x is out of order", e.Bucket, e.Key)
		}
		r.lastB, r.lastK = e.Bucket, append(r.lastK[:0], e.Key...)
		switch {
		case len(e.Bucket) > 1 && e.Bucket[:1] == ExtraPrefix:
			if x == nil {
				return refused("it carries the node material %q this node does not take", e.Bucket)
			}
			if err := x.ImportEntry(e.Bucket, e.Key, e.Value); err != nil {
				return refused("%v", err)
			}
			continue
		case !r.buckets[e.Bucket]:
			return refused("entry in the unknown bucket %q", e.Bucket)
		case e.Bucket == bucketMeta && !hashedEntry(e.Bucket, e.Key):
			return refused("it sets the derived value meta/%s", e.Key)
		case e.Bucket == bucketBlocks && len(e.Key) != 8:
			return refused("a block key of %d bytes", len(e.Key))
		}
		if hashedEntry(e.Bucket, e.Key) {
			r.digest.Add(statehash.Element(e.Bucket, e.Key, e.Value))
		}
		b.Put([]byte(e.Bucket), e.Key, e.Value)
		r.values++
	}
	return b.Commit()
}

// finishRestore proves the restored state against the trusted app hash
// (see the top of this file), then loads it.
func (a *App) finishRestore(r *restoreState) error {
	h := r.meta.Height
	var chainB, genB, biB []byte
	if err := a.store.View(func(tx store.Tx) error {
		chainB, genB = tx.Get([]byte(bucketMeta), keyChain), tx.Get([]byte(bucketMeta), keyGenesis)
		biB = tx.Get([]byte(bucketBlocks), u64(uint64(h)))
		return nil
	}); err != nil {
		return err
	}
	if chainB == nil || genB == nil || biB == nil {
		return refused("it lacks the chain parameters, the genesis or block %d", h)
	}
	var cm chainMeta
	if err := json.Unmarshal(chainB, &cm); err != nil {
		return refused("chain parameters: %v", err)
	}
	g, err := ParseGenesisState(genB)
	if err != nil {
		return refused("%v", err)
	}
	c, err := a.buildChain(cm, g)
	if err != nil {
		return refused("%v", err)
	}
	if cm.InitialHeight < 1 || cm.InitialHeight > h {
		return refused("initial height %d, snapshot height %d", cm.InitialHeight, h)
	}
	bi, err := unmarshalBlockInfo(biB)
	if err != nil {
		return refused("block %d: %v", h, err)
	}
	if sum := r.digest.Sum(); sum != bi.ChangesetHash {
		return refused("the restored values digest to %X, block %d's changeset hash is %X", sum, h, bi.ChangesetHash)
	}
	if !bytes.Equal(bi.AppHash, r.meta.AppHash) {
		return refused("block %d's app hash %X is not the verified %X", h, bi.AppHash, r.meta.AppHash)
	}
	var rep ScrubReport
	bad := func(bh int64, format string, args ...any) error {
		return refused("block %d: %s", bh, fmt.Sprintf(format, args...))
	}
	if err := a.walkChain(context.Background(), c, h, &rep, bad); err != nil {
		return err
	}
	b := a.store.NewBatch()
	b.Put([]byte(bucketMeta), keyHeight, u64(uint64(h)))
	b.Put([]byte(bucketMeta), keyAppHash, bi.AppHash)
	b.Put([]byte(bucketMeta), keyStateDigest, r.digest.Marshal())
	if x := a.cfg.Snapshots.Extra; x == nil {
		b.Delete([]byte(bucketMeta), keyRestoring)
	}
	if err := b.Commit(); err != nil {
		return err
	}
	a.chain.Store(c)
	a.last.Store(&committed{height: h, appHash: bytes.Clone(bi.AppHash)})
	if x := a.cfg.Snapshots.Extra; x != nil {
		if err := x.FinishImport(h); err != nil {
			return refused("the node's material: %v", err)
		}
		// Only now is the restore whole: a stop before this leaves the
		// mark, and the next start discards the state.
		done := a.store.NewBatch()
		done.Delete([]byte(bucketMeta), keyRestoring)
		if err := done.Commit(); err != nil {
			return err
		}
	}
	a.log.Info("state sync: snapshot restored and verified", "height", h, "values", r.values, "blocks", rep.Blocks, "records", rep.Records)
	return nil
}

// CheckArchivedExtension verifies an extension a node imports with a
// snapshot, filed as the one validator address's vote carried in block
// height's injected commit: it must be well formed, name streams the
// state knows, and be signed by that validator's Ziggy key for the vote
// height, height − 1.
func (a *App) CheckArchivedExtension(height int64, address, ext []byte) error {
	c, err := a.mustChain()
	if err != nil {
		return err
	}
	val, ok := c.byAddr[string(address)]
	if !ok {
		return fmt.Errorf("%X is not a validator", address)
	}
	_, err = a.checkExtension(c, val, height-1, ext)
	return err
}

// discardUnfinishedRestore empties a state file that a snapshot restore
// left unfinished (the node stopped mid-restore): it is neither the
// chain's state nor verified. CometBFT, whose own state is written only
// after a restore, then runs state sync again.
func (a *App) discardUnfinishedRestore() error {
	var mark []byte
	if err := a.store.View(func(tx store.Tx) error { mark = tx.Get([]byte(bucketMeta), keyRestoring); return nil }); err != nil {
		return err
	}
	if mark == nil {
		return nil
	}
	a.log.Warn("the state file holds a state sync restore that never finished; discarding it (state sync starts again)", "file", a.store.Path())
	return a.store.Reset()
}
