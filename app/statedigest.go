package app

import (
	"bytes"
	"fmt"

	"github.com/datadragon/datadragon/app/statehash"
	"github.com/datadragon/datadragon/app/store"
)

// The state digest (package statehash) covers every stored value that is
// state: every bucket but blocks (per-block information, which the app
// hashes chain instead), and in meta everything but the keys that
// describe the digest's own position (the last height, its app hash, the
// digest). Each block folds its writes into the digest, and its Sum is
// the block's changeset hash — so the app hash of height h commits to the
// whole state after h, and a state restored from a snapshot is checked
// against the app hash of one light-client-verified header.
var keyStateDigest = []byte("state_digest")

// keyRestoring marks a state being restored from a snapshot: set when one
// is accepted, deleted with the restore's last write. A file that still
// has it was left by a restore that never finished, and New discards it.
var keyRestoring = []byte("restoring")

// stateBuckets are the buckets the store declares. Every bucket the app
// writes must be here: a snapshot carries, and a restore accepts, only
// these, and the snapshot writer checks their digest against the block's
// changeset hash (a bucket left out marks the state corrupt).
var stateBuckets = []string{bucketMeta, bucketBlocks, bucketChunks, bucketRecords, bucketDeadlines, bucketCounters, bucketStreams,
	bucketRegistry, bucketPushed, bucketPushSigs, bucketOrigins, bucketPushNext, bucketExperts, bucketPushPending, bucketPushFetch,
	bucketRawLinks, bucketRawNext, bucketRawPos, bucketGovern}

// hashedEntry reports whether a stored value is in the state digest.
func hashedEntry(bucket string, key []byte) bool {
	switch bucket {
	case bucketBlocks:
		return false
	case bucketMeta:
		return !bytes.Equal(key, keyHeight) && !bytes.Equal(key, keyAppHash) && !bytes.Equal(key, keyStateDigest) && !bytes.Equal(key, keyRestoring)
	}
	return true
}

// foldChanges updates d with a batch's writes.
func foldChanges(d *statehash.Digest, changes []store.Change) {
	for _, c := range changes {
		if !hashedEntry(c.Bucket, c.Key) {
			continue
		}
		if c.Old != nil {
			d.Remove(statehash.Element(c.Bucket, c.Key, c.Old))
		}
		if c.New != nil {
			d.Add(statehash.Element(c.Bucket, c.Key, c.New))
		}
	}
}

// digestAfter returns the state digest once b is committed: the stored
// digest with b's writes folded in.
func digestAfter(b *store.Batch) (*statehash.Digest, error) {
	raw, err := b.Get([]byte(bucketMeta), keyStateDigest)
	if err != nil {
		return nil, err
	}
	d := &statehash.Digest{}
	if raw != nil {
		if d, err = statehash.Unmarshal(raw); err != nil {
			return nil, fmt.Errorf("the stored state digest: %w", err)
		}
	}
	ch, err := b.Changes()
	if err != nil {
		return nil, err
	}
	foldChanges(d, ch)
	return d, nil
}

// stateDigestOf recomputes the state digest from every value tx sees.
func stateDigestOf(tx store.Tx, buckets []string) (*statehash.Digest, int, error) {
	d := &statehash.Digest{}
	n := 0
	for _, name := range buckets {
		tx.Scan([]byte(name), nil, nil, func(k, v []byte) bool {
			if hashedEntry(name, k) {
				d.Add(statehash.Element(name, k, v))
				n++
			}
			return true
		})
		if err := tx.Err(); err != nil {
			return nil, 0, err
		}
	}
	return d, n, nil
}
