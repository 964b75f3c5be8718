//go:build !js

package receipt

import (
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
)

// Source is what Build reads from a node: the app's committed state, and
// what CometBFT's blocks hold (the node reads those from its receipt
// archive, or from the block store for heights not archived yet; either
// gives the same bytes).
type Source interface {
	ChainID() string
	Validators() ([]app.ValidatorInfo, error)
	RecordBytes(stream string, index uint64) ([]byte, error)
	Block(height int64) (*app.BlockInfo, error)
	// Header returns the header of a committed height and a commit for it
	// (the canonical one or the node's seen commit).
	Header(height int64) (*cmttypes.Header, *cmttypes.Commit, error)
	// Extension returns the vote extension of validator's vote, the
	// vote-th of the injected commit carried by the block at height.
	Extension(height int64, vote int, validator []byte) ([]byte, error)
	// ProducerSignature returns a pushed chunk's producer signature (nil
	// if it was unsigned).
	ProducerSignature(k wire.ChunkKey) []byte
}

// ErrNotReady is wrapped when the record is decided but the next block's
// header and commit are not available yet.
var ErrNotReady = fmt.Errorf("receipt not ready yet: %w", app.ErrNotFound)

// Build assembles the receipt of an accepted record.
func Build(src Source, stream string, index uint64) (*Receipt, error) {
	raw, err := src.RecordBytes(stream, index)
	if err != nil {
		return nil, err
	}
	rec, err := wire.UnmarshalRecord(raw)
	if err != nil {
		return nil, err
	}
	if rec.Status != wire.StatusAccepted {
		return nil, fmt.Errorf("record %s/%d is %s; only accepted records have receipts: %w", stream, index, rec.Status, app.ErrNotFound)
	}
	r := &Receipt{Version: Version, ChainID: src.ChainID(), Stream: stream, Index: index, Record: raw}
	if rec.Push != nil && len(rec.Push.Producer) > 0 {
		r.ProducerSignature = src.ProducerSignature(rec.Key())
	}

	bi, err := src.Block(rec.DecidedHeight)
	if err != nil {
		return nil, err
	}
	r.Block = Block{Height: bi.Height, PrevAppHash: bi.PrevAppHash, RecordRoot: bi.RecordRoot,
		ChangesetHash: bi.ChangesetHash, AppHash: bi.AppHash}
	key := wire.ChunkKey{Stream: stream, Index: index}.String()
	leaves := make([]merkle.Hash, len(bi.Accepted))
	pos := -1
	for i, k := range bi.Accepted {
		if k == key {
			pos = i
			leaves[i] = merkle.LeafHash(raw)
			continue
		}
		ck, err := parseKey(k)
		if err != nil {
			return nil, err
		}
		b, err := src.RecordBytes(ck.Stream, ck.Index)
		if err != nil {
			return nil, err
		}
		leaves[i] = merkle.LeafHash(b)
	}
	if pos < 0 {
		return nil, fmt.Errorf("record %s is not among block %d's accepted records", key, bi.Height)
	}
	r.RecordProof = Proof{Leaf: pos, Leaves: len(leaves), Path: hexPath(merkle.Proof(leaves, pos))}

	hdr, commit, err := src.Header(bi.Height + 1)
	if err != nil {
		return nil, fmt.Errorf("header %d: %w (%w)", bi.Height+1, err, ErrNotReady)
	}
	r.Header, r.Commit = hdr, commit

	hist, atH, changed, err := history(src, bi.Height)
	if err != nil {
		return nil, err
	}
	if changed {
		r.History, r.Validators = hist, atH
	} else {
		vals, err := src.Validators()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			r.Validators = append(r.Validators, Validator{Name: v.Name, Address: v.Address, PubKey: v.PubKey,
				ZiggyPubKey: v.ZiggyPubKey, Power: v.Power})
		}
	}

	for _, ra := range rec.Attestations {
		if ra.Outcome != wire.OutcomeAgreed {
			continue
		}
		if sa, ok, err := summarizedAttestation(src, &ra); err != nil {
			return nil, fmt.Errorf("block %d vote %d: %w", ra.Height, ra.Vote, err)
		} else if ok {
			r.Attestations = append(r.Attestations, *sa)
			r.Version = VersionSummaries
			continue
		}
		raw, err := src.Extension(ra.Height, int(ra.Vote), ra.Validator)
		if err != nil {
			return nil, fmt.Errorf("block %d vote %d: %w", ra.Height, ra.Vote, err)
		}
		ext, err := wire.UnmarshalExtension(raw)
		if err != nil || ext == nil || int(ra.Leaf) >= len(ext.Attestations) {
			return nil, fmt.Errorf("block %d vote %d: no extension with attestation %d (%v)", ra.Height, ra.Vote, ra.Leaf, err)
		}
		r.Attestations = append(r.Attestations, Attestation{
			Validator:       ra.Validator,
			ExtensionHeight: ext.Height,
			Proof:           Proof{Leaf: int(ra.Leaf), Leaves: len(ext.Attestations), Path: hexPath(ext.Proof(int(ra.Leaf)))},
			Root:            rootBytes(ext.Root()),
			Signature:       ext.Signature,
		})
	}
	return r, nil
}

func rootBytes(h merkle.Hash) app.HexBytes { return app.HexBytes(h[:]) }

func hexPath(p []merkle.Hash) []app.HexBytes {
	out := make([]app.HexBytes, len(p))
	for i := range p {
		out[i] = rootBytes(p[i])
	}
	return out
}

func parseKey(s string) (wire.ChunkKey, error) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			var idx uint64
			if _, err := fmt.Sscan(s[i+1:], &idx); err != nil {
				return wire.ChunkKey{}, fmt.Errorf("chunk key %q: %w", s, err)
			}
			return wire.ChunkKey{Stream: s[:i], Index: idx}, nil
		}
	}
	return wire.ChunkKey{}, fmt.Errorf("chunk key %q has no '/'", s)
}
