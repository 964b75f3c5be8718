package app

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// The snapshot format (SnapshotFormat 1). A snapshot of height h is the
// whole stored state after h — every bucket, blocks included, sorted by
// bucket name then key — followed by the node's own material
// (SnapshotExtra, buckets starting with ExtraPrefix), cut into chunks of
// at most the configured size. Its metadata names the height, the app
// hash of h and the SHA-256 of every chunk:
//
//	metadata: u8 1 ‖ i64 height ‖ u8 len ‖ app hash ‖ u64 total chunk bytes ‖
//	          u32 n ‖ n × SHA-256(chunk)
//	chunk:    u8 1 ‖ u32 index ‖ entries
//	entry:    u8 len ‖ bucket ‖ u32 len ‖ key ‖ u32 len ‖ value
//
// The snapshot's hash (abci.Snapshot.Hash) is the SHA-256 of the
// metadata, so peers that serve one snapshot serve the same chunks, and a
// chunk that does not hash to its listed hash is refused before it is
// read. Nothing of it is trusted: the restored state is checked against
// the light-client-verified app hash (restore.go).
const SnapshotFormat = 1

const (
	// DefaultSnapshotChunkBytes is the chunk size when none is set.
	DefaultSnapshotChunkBytes = 4 << 20
	// MaxSnapshotChunkBytes bounds a chunk, given or taken (CometBFT's
	// chunk message holds 16 MB).
	MaxSnapshotChunkBytes = 8 << 20
	// MaxSnapshotChunks bounds a snapshot's chunks (and its metadata to
	// about 2 MiB; CometBFT's snapshot message holds 4 MB).
	MaxSnapshotChunks = 1 << 16
	// maxEntryKey is bbolt's limit on a key.
	maxEntryKey = 32768
	// chunkHeader is the bytes before a chunk's entries.
	chunkHeader = 5
)

// ExtraPrefix starts the bucket names of a SnapshotExtra's entries.
const ExtraPrefix = "~"

var errSnapshotVersion = errors.New("snapshot encoding version is not 1")

// snapshotMeta is a snapshot's decoded metadata.
type snapshotMeta struct {
	Height  int64
	AppHash []byte
	Total   uint64
	Chunks  [][32]byte
}

func (m *snapshotMeta) marshal() []byte {
	w := codec.Writer{}
	w.U8(1)
	w.I64(m.Height)
	w.Bytes8(m.AppHash)
	w.U64(m.Total)
	w.U32(uint32(len(m.Chunks)))
	for _, h := range m.Chunks {
		w.Raw(h[:])
	}
	return w.B
}

// hash is the snapshot's hash: SHA-256 of the metadata.
func (m *snapshotMeta) hash() []byte {
	s := sha256.Sum256(m.marshal())
	return s[:]
}

// decodeSnapshotMeta reads metadata from a peer or the disk.
func decodeSnapshotMeta(b []byte) (*snapshotMeta, error) {
	r := codec.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != 1 {
		return nil, errSnapshotVersion
	}
	m := &snapshotMeta{Height: r.I64()}
	m.AppHash = r.Bytes8(64, "app hash")
	m.Total = r.U64()
	n := r.U32()
	if r.Err() == nil {
		switch {
		case n == 0:
			r.Failf("a snapshot of no chunks")
		case n > MaxSnapshotChunks:
			r.Failf("%d chunks, more than the limit of %d", n, MaxSnapshotChunks)
		case int(n) > r.Remaining()/32:
			r.Fail(codec.ErrShort)
		}
	}
	for i := uint32(0); i < n && r.Err() == nil; i++ {
		var h [32]byte
		r.Fixed(h[:])
		m.Chunks = append(m.Chunks, h)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("snapshot metadata: %w", err)
	}
	switch {
	case m.Height < 1:
		return nil, fmt.Errorf("snapshot metadata: height %d", m.Height)
	case len(m.AppHash) != 32:
		return nil, fmt.Errorf("snapshot metadata: a %d-byte app hash", len(m.AppHash))
	case m.Total > uint64(len(m.Chunks))*MaxSnapshotChunkBytes:
		return nil, fmt.Errorf("snapshot metadata: %d bytes in %d chunks", m.Total, len(m.Chunks))
	}
	return m, nil
}

// snapshotEntry is one stored value of a snapshot; its slices alias the
// chunk it was read from.
type snapshotEntry struct {
	Bucket     string
	Key, Value []byte
}

func appendEntry(b []byte, e snapshotEntry) []byte {
	w := codec.Writer{B: b}
	w.Bytes8([]byte(e.Bucket))
	w.Bytes32(e.Key)
	w.Bytes32(e.Value)
	return w.B
}

func entrySize(e snapshotEntry) int { return 1 + len(e.Bucket) + 4 + len(e.Key) + 4 + len(e.Value) }

// decodeSnapshotChunk reads a chunk from a peer: its index and entries.
// It bounds the size and every length and never panics; the entries'
// order and meaning are the restorer's to check.
func decodeSnapshotChunk(b []byte) (uint32, []snapshotEntry, error) {
	if len(b) > MaxSnapshotChunkBytes {
		return 0, nil, fmt.Errorf("snapshot chunk: %d bytes, more than the limit of %d", len(b), MaxSnapshotChunkBytes)
	}
	r := codec.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != 1 {
		return 0, nil, errSnapshotVersion
	}
	idx := r.U32()
	var out []snapshotEntry
	for r.Err() == nil && r.Remaining() > 0 {
		nb := int(r.U8())
		bucket := r.Slice(nb)
		nk := int(r.U32())
		if r.Err() == nil && (nk > maxEntryKey || nk == 0) {
			r.Failf("a key of %d bytes", nk)
		}
		key := r.Slice(nk)
		nv := int(r.U32())
		val := r.Slice(nv)
		if r.Err() == nil {
			if nb == 0 {
				r.Failf("an entry without a bucket")
				break
			}
			out = append(out, snapshotEntry{Bucket: string(bucket), Key: key, Value: val})
		}
	}
	if err := r.Done(); err != nil {
		return 0, nil, fmt.Errorf("snapshot chunk: %w", err)
	}
	return idx, out, nil
}

// entryLess orders entries as a snapshot lists them.
func entryLess(ab string, ak []byte, bb string, bk []byte) bool {
	if ab != bb {
		return ab < bb
	}
	return bytes.Compare(ak, bk) < 0
}
