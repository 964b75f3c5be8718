package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/statehash"
	"github.com/datadragon/datadragon/app/store"
)

// SnapshotConfig says which state sync snapshots the app takes and
// serves. A node restores a snapshot whatever its own settings.
type SnapshotConfig struct {
	// Interval: a snapshot of every height divisible by it; 0 takes none.
	Interval int64
	// Keep is how many of the newest snapshots are kept (below 1: 2).
	Keep int
	// ChunkBytes bounds a chunk (0: DefaultSnapshotChunkBytes; at most
	// MaxSnapshotChunkBytes).
	ChunkBytes int
	// Extra, if set, adds the node's own material to every snapshot and
	// takes it back on restore.
	Extra SnapshotExtra
}

// SnapshotExtra is material outside the app's state that travels with a
// snapshot: the node's receipt archive. Its buckets start with
// ExtraPrefix.
//
// The extra material is not copied into the snapshot's files: it is the
// node's own durable, append-only record, so the app keeps only where
// each of its chunks starts and makes a chunk again from it when a peer
// asks (checking it against the chunk's listed hash) — a snapshot costs
// the disk of the app's state, not another copy of the archive.
type SnapshotExtra interface {
	// ExportSnapshot emits the material a node restored at height needs,
	// in ascending order of bucket then key, from the entry at or after
	// from (nil: from the first). It must emit the same entries for the
	// same height every time. It runs off the consensus goroutine: once
	// after the app's state of height is read, and again for every chunk
	// served. An emit error (ErrStopExport when a chunk is full) ends it
	// and is returned.
	ExportSnapshot(height int64, from *ExtraKey, emit func(bucket string, key, value []byte) error) error
	// BeginImport starts taking in a snapshot of height, discarding
	// anything an earlier, refused one left.
	BeginImport(height int64) error
	// ImportEntry takes one entry (its slices are only valid during the
	// call). An error refuses the snapshot.
	ImportEntry(bucket string, key, value []byte) error
	// FinishImport runs once the app's state is restored and verified
	// (the app answers at height): it verifies everything imported
	// against it, and makes it durable. An error refuses the snapshot.
	FinishImport(height int64) error
}

// ExtraKey names an entry of the extra material.
type ExtraKey struct {
	Bucket string
	Key    []byte
}

// ErrStopExport is what emit returns once a chunk is full.
var ErrStopExport = errors.New("snapshot chunk full")

// snapshotDir holds one directory per snapshot, named by its height.
const snapshotDir = "snapshots"

const (
	metadataFile = "metadata"
	chunkPrefix  = "chunk-"
	// extraFile lists where the extra material's chunks start:
	// u32 chunk size limit ‖ u32 first extra chunk ‖ per extra chunk
	// u8 len ‖ bucket ‖ u32 len ‖ key.
	extraFile = "extra"
)

func (a *App) snapshotRoot() string { return filepath.Join(a.cfg.Dir, snapshotDir) }

func (a *App) snapshotPath(h int64) string {
	return filepath.Join(a.snapshotRoot(), fmt.Sprintf("%020d", h))
}

func (sc SnapshotConfig) chunkBytes() int {
	switch {
	case sc.ChunkBytes <= 0:
		return DefaultSnapshotChunkBytes
	case sc.ChunkBytes > MaxSnapshotChunkBytes:
		return MaxSnapshotChunkBytes
	case sc.ChunkBytes < 1024:
		return 1024
	}
	return sc.ChunkBytes
}

func (sc SnapshotConfig) keep() int { return max(sc.Keep, 1) }

// maybeSnapshot starts a snapshot of height h when it is due. It returns
// once the snapshot's read transaction is open — the state of h is then
// fixed for it — and the rest runs beside consensus. One snapshot is
// written at a time; a due one is skipped while another is written.
func (a *App) maybeSnapshot(h int64) {
	sc := a.cfg.Snapshots
	if sc.Interval <= 0 || h%sc.Interval != 0 {
		return
	}
	if !a.snapBusy.CompareAndSwap(false, true) {
		a.log.Warn("a state sync snapshot is still being written; skipping this one", "height", h)
		return
	}
	a.snapAt.Store(h)
	opened := make(chan struct{})
	once := sync.OnceFunc(func() { close(opened) })
	a.snapWG.Add(1)
	go func() {
		defer a.snapWG.Done()
		defer a.snapBusy.Store(false)
		defer a.snapAt.Store(0)
		defer once()
		start := time.Now()
		meta, err := a.writeSnapshot(h, once)
		if err != nil {
			a.log.Error("state sync snapshot not taken", "height", h, "err", err)
			return
		}
		a.log.Info("state sync snapshot taken", "height", h, "chunks", len(meta.Chunks), "bytes", meta.Total, "took", time.Since(start))
		a.pruneSnapshots()
	}()
	<-opened
}

// chunkWriter cuts entries into chunk files. Once virtual is set it
// writes no more files: it hashes each chunk and remembers its first
// entry (firsts), from which LoadSnapshotChunk makes it again.
type chunkWriter struct {
	dir     string
	limit   int
	buf     []byte
	meta    snapshotMeta
	virtual bool
	first   ExtraKey // of the chunk in buf
	firsts  []ExtraKey
	start   int // the first virtual chunk
}

func (w *chunkWriter) add(e snapshotEntry) error {
	n := entrySize(e)
	if chunkHeader+n > MaxSnapshotChunkBytes {
		return fmt.Errorf("a value of %d bytes (bucket %s) does not fit a snapshot chunk", n, e.Bucket)
	}
	if len(w.buf) > chunkHeader && len(w.buf)+n > w.limit {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if len(w.buf) == 0 {
		w.buf = chunkStart(uint32(len(w.meta.Chunks)))
		w.first = ExtraKey{Bucket: e.Bucket, Key: bytes.Clone(e.Key)}
	}
	w.buf = appendEntry(w.buf, e)
	return nil
}

func chunkStart(idx uint32) []byte {
	return []byte{1, byte(idx >> 24), byte(idx >> 16), byte(idx >> 8), byte(idx)}
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if len(w.meta.Chunks) >= MaxSnapshotChunks {
		return fmt.Errorf("the state needs more than %d chunks: raise the chunk size", MaxSnapshotChunks)
	}
	if w.virtual {
		w.firsts = append(w.firsts, w.first)
	} else {
		name := filepath.Join(w.dir, chunkPrefix+strconv.Itoa(len(w.meta.Chunks)))
		if err := writeSynced(name, w.buf); err != nil {
			return err
		}
	}
	w.meta.Chunks = append(w.meta.Chunks, sha256.Sum256(w.buf))
	w.meta.Total += uint64(len(w.buf))
	w.buf = w.buf[:0]
	return nil
}

func writeSynced(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeSnapshot writes the snapshot of height h into a temporary
// directory and renames it into place. opened is called once the read
// transaction is open. The state digest is recomputed from what is
// written and must be the one block h committed to: a snapshot of a
// state that drifted from its chain is not served.
func (a *App) writeSnapshot(h int64, opened func()) (*snapshotMeta, error) {
	root := a.snapshotRoot()
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(root, ".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	w := &chunkWriter{dir: tmp, limit: a.cfg.Snapshots.chunkBytes(), meta: snapshotMeta{Height: h}}
	buckets := a.store.Buckets()
	slices.Sort(buckets)
	var werr error
	err = a.store.View(func(tx store.Tx) error {
		opened()
		if hb := tx.Get([]byte(bucketMeta), keyHeight); !bytes.Equal(hb, u64(uint64(h))) {
			return fmt.Errorf("the state moved past height %d before it was read", h)
		}
		w.meta.AppHash = tx.Get([]byte(bucketMeta), keyAppHash)
		bi, err := unmarshalBlockInfo(tx.Get([]byte(bucketBlocks), u64(uint64(h))))
		if err != nil {
			return err
		}
		d := &statehash.Digest{}
		for _, name := range buckets {
			tx.Scan([]byte(name), nil, nil, func(k, v []byte) bool {
				if hashedEntry(name, k) {
					d.Add(statehash.Element(name, k, v))
				} else if name == bucketMeta {
					return true // derived: the restorer writes them
				}
				if werr = w.add(snapshotEntry{Bucket: name, Key: k, Value: v}); werr != nil {
					return false
				}
				return true
			})
			if werr != nil {
				return werr
			}
		}
		if d.Sum() != bi.ChangesetHash {
			// Every value passed its checksum, so this is a write that
			// bypassed the digest, not damage: no node could restore
			// this snapshot, and it is not served.
			return fmt.Errorf("the stored values digest to %X, block %d committed to %X: a write bypassed the state digest; this node's snapshots are not served (report it)", d.Sum(), h, bi.ChangesetHash)
		}
		return nil
	})
	opened()
	if err != nil {
		return nil, err
	}
	if x := a.cfg.Snapshots.Extra; x != nil {
		// The extra material starts a chunk of its own, so its chunks
		// can be made again from it alone.
		if err := w.flush(); err != nil {
			return nil, err
		}
		w.virtual, w.start = true, len(w.meta.Chunks)
		var lastB string
		var lastK []byte
		err := x.ExportSnapshot(h, nil, func(bucket string, key, value []byte) error {
			if len(bucket) < 2 || len(bucket) > 255 || bucket[:1] != ExtraPrefix || len(key) == 0 || len(key) > maxEntryKey {
				return fmt.Errorf("snapshot extra: bad entry %q/%x", bucket, key)
			}
			if lastK != nil && !entryLess(lastB, lastK, bucket, key) {
				return fmt.Errorf("snapshot extra: entry %q/%x out of order", bucket, key)
			}
			lastB, lastK = bucket, bytes.Clone(key)
			return w.add(snapshotEntry{Bucket: bucket, Key: key, Value: value})
		})
		if err != nil {
			return nil, err
		}
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	if w.virtual {
		if err := writeSynced(filepath.Join(tmp, extraFile), marshalExtraIndex(w.limit, w.start, w.firsts)); err != nil {
			return nil, err
		}
	}
	if err := writeSynced(filepath.Join(tmp, metadataFile), w.meta.marshal()); err != nil {
		return nil, err
	}
	final := a.snapshotPath(h)
	os.RemoveAll(final)
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	if d, err := os.Open(root); err == nil {
		d.Sync()
		d.Close()
	}
	return &w.meta, nil
}

// SnapshotHeights are the heights of the snapshots this app keeps or is
// writing, in no order: the extra material must be able to give its
// entries as of each of them for as long as the snapshot is served, so
// what may change them later (the receipt archive's compaction) waits
// while a snapshot that holds them is left.
func (a *App) SnapshotHeights() []int64 {
	hs := a.snapshotHeights()
	if h := a.snapAt.Load(); h > 0 {
		hs = append(hs, h)
	}
	return hs
}

// snapshotHeights lists the stored snapshots' heights, newest first.
func (a *App) snapshotHeights() []int64 {
	ents, err := os.ReadDir(a.snapshotRoot())
	if err != nil {
		return nil
	}
	var hs []int64
	for _, e := range ents {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil && e.IsDir() && h > 0 {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	return hs
}

// pruneSnapshots removes all but the newest Keep snapshots (and what an
// interrupted write left).
func (a *App) pruneSnapshots() {
	// Only one snapshot is written at a time, and this runs after it: a
	// temporary directory now is what a stopped write left.
	if ents, err := os.ReadDir(a.snapshotRoot()); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				os.RemoveAll(filepath.Join(a.snapshotRoot(), e.Name()))
			}
		}
	}
	for i, h := range a.snapshotHeights() {
		if i >= a.cfg.Snapshots.keep() {
			if err := os.RemoveAll(a.snapshotPath(h)); err != nil {
				a.log.Warn("removing an old state sync snapshot", "height", h, "err", err)
			}
		}
	}
}

// readBounded reads a whole file of at most max bytes.
func readBounded(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

func (a *App) loadSnapshotMeta(h int64) (*snapshotMeta, error) {
	b, err := readBounded(filepath.Join(a.snapshotPath(h), metadataFile), 16+MaxSnapshotChunks*32+128)
	if err != nil {
		return nil, err
	}
	m, err := decodeSnapshotMeta(b)
	if err != nil {
		return nil, err
	}
	if m.Height != h {
		return nil, fmt.Errorf("the snapshot in %s says height %d", a.snapshotPath(h), m.Height)
	}
	return m, nil
}

// ListSnapshots offers the stored snapshots to CometBFT's state sync.
func (a *App) ListSnapshots(context.Context, *abci.ListSnapshotsRequest) (*abci.ListSnapshotsResponse, error) {
	resp := &abci.ListSnapshotsResponse{}
	for _, h := range a.snapshotHeights() {
		m, err := a.loadSnapshotMeta(h)
		if err != nil {
			a.log.Warn("a stored state sync snapshot is unreadable; not offered", "height", h, "err", err)
			continue
		}
		resp.Snapshots = append(resp.Snapshots, &abci.Snapshot{Height: uint64(h), Format: SnapshotFormat,
			Chunks: uint32(len(m.Chunks)), Hash: m.hash(), Metadata: m.marshal()})
	}
	return resp, nil
}

// LoadSnapshotChunk serves one chunk of a stored snapshot; an unknown one
// is answered empty (CometBFT then asks another peer).
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.LoadSnapshotChunkRequest) (*abci.LoadSnapshotChunkResponse, error) {
	resp := &abci.LoadSnapshotChunkResponse{}
	if req.Format != SnapshotFormat || req.Height == 0 || req.Height > 1<<62 || req.Chunk >= MaxSnapshotChunks {
		return resp, nil
	}
	h := int64(req.Height)
	b, err := readBounded(filepath.Join(a.snapshotPath(h), chunkPrefix+strconv.Itoa(int(req.Chunk))), MaxSnapshotChunkBytes)
	if errors.Is(err, os.ErrNotExist) {
		b, err = a.extraChunk(h, req.Chunk)
	}
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			a.log.Warn("a state sync snapshot chunk cannot be served", "height", req.Height, "chunk", req.Chunk, "err", err)
		}
		return resp, nil
	}
	resp.Chunk = b
	return resp, nil
}

// extraChunk makes chunk i of the snapshot of h again from the extra
// material, as writeSnapshot cut it, and serves it only if it hashes to
// the chunk's listed hash.
func (a *App) extraChunk(h int64, i uint32) ([]byte, error) {
	x := a.cfg.Snapshots.Extra
	if x == nil {
		return nil, os.ErrNotExist
	}
	raw, err := readBounded(filepath.Join(a.snapshotPath(h), extraFile), 8+MaxSnapshotChunks*(1+255+4+maxEntryKey))
	if err != nil {
		return nil, err
	}
	limit, start, firsts, err := unmarshalExtraIndex(raw)
	if err != nil {
		return nil, err
	}
	if int(i) < start || int(i) >= start+len(firsts) {
		return nil, os.ErrNotExist
	}
	m, err := a.loadSnapshotMeta(h)
	if err != nil {
		return nil, err
	}
	if start+len(firsts) != len(m.Chunks) {
		return nil, fmt.Errorf("the extra index lists %d chunks from %d, the metadata %d in all", len(firsts), start, len(m.Chunks))
	}
	buf := chunkStart(i)
	first := firsts[int(i)-start]
	err = x.ExportSnapshot(h, &first, func(bucket string, key, value []byte) error {
		e := snapshotEntry{Bucket: bucket, Key: key, Value: value}
		if len(buf) > chunkHeader && len(buf)+entrySize(e) > limit {
			return ErrStopExport
		}
		buf = appendEntry(buf, e)
		return nil
	})
	if err != nil && !errors.Is(err, ErrStopExport) {
		return nil, err
	}
	if sha256.Sum256(buf) != m.Chunks[i] {
		return nil, fmt.Errorf("the node's material no longer makes chunk %d as the snapshot listed it", i)
	}
	return buf, nil
}

func marshalExtraIndex(limit, start int, firsts []ExtraKey) []byte {
	w := codec.Writer{}
	w.U32(uint32(limit))
	w.U32(uint32(start))
	for _, f := range firsts {
		w.Bytes8([]byte(f.Bucket))
		w.Bytes32(f.Key)
	}
	return w.B
}

// unmarshalExtraIndex reads the extra index (from the node's own disk,
// checked like anything read).
func unmarshalExtraIndex(b []byte) (limit, start int, firsts []ExtraKey, err error) {
	r := codec.NewReader(b)
	limit, start = int(r.U32()), int(r.U32())
	for r.Err() == nil && r.Remaining() > 0 && len(firsts) < MaxSnapshotChunks {
		bk := r.Bytes8(255, "bucket")
		k := r.Bytes32(maxEntryKey, "key")
		firsts = append(firsts, ExtraKey{Bucket: string(bk), Key: k})
	}
	if err := r.Done(); err != nil {
		return 0, 0, nil, fmt.Errorf("snapshot extra index: %w", err)
	}
	if limit < chunkHeader || limit > MaxSnapshotChunkBytes || start > MaxSnapshotChunks {
		return 0, 0, nil, fmt.Errorf("snapshot extra index: limit %d, start %d", limit, start)
	}
	return limit, start, firsts, nil
}
