package node

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmtversion "github.com/cometbft/cometbft/api/cometbft/version/v1"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// fakeBlocks is a block store of heights 1..tip whose blocks carry an
// injected commit with one extension per validator.
type fakeBlocks struct{ tip int64 }

func fakeExt(h int64, v int) []byte { return fmt.Appendf(nil, "extension of validator %d at %d", v, h) }

func fakeAddr(v int) []byte { return bytes.Repeat([]byte{byte(v + 1)}, 20) }

func (f fakeBlocks) LoadBlock(h int64) (*cmttypes.Block, *cmttypes.BlockMeta) {
	if h < 1 || h > f.tip {
		return nil, nil
	}
	ct := wire.CommitTx{Height: h - 1}
	for v := 0; v < 4; v++ {
		ct.Votes = append(ct.Votes, wire.CommitVote{Address: fakeAddr(v), Power: 10, Flag: wire.FlagCommit, Extension: fakeExt(h, v)})
	}
	raw, err := ct.Marshal()
	if err != nil {
		panic(err)
	}
	return &cmttypes.Block{Header: cmttypes.Header{Height: h}, Data: cmttypes.Data{Txs: cmttypes.Txs{raw}}}, nil
}

func (f fakeBlocks) LoadBlockMeta(h int64) *cmttypes.BlockMeta {
	if h < 1 || h > f.tip {
		return nil
	}
	hash := bytes.Repeat([]byte{byte(h)}, 32)
	return &cmttypes.BlockMeta{Header: cmttypes.Header{
		Version: cmtversion.Consensus{Block: version.BlockProtocol}, ChainID: "dd-test", Height: h, Time: time.Unix(1_700_000_000+h, 0).UTC(),
		LastBlockID:    cmttypes.BlockID{Hash: hash, PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash}},
		LastCommitHash: hash, DataHash: hash, ValidatorsHash: hash, NextValidatorsHash: hash, ConsensusHash: hash,
		AppHash: hash, LastResultsHash: hash, EvidenceHash: hash, ProposerAddress: fakeAddr(0)}}
}

func (f fakeBlocks) LoadBlockCommit(h int64) *cmttypes.Commit {
	if h < 1 || h >= f.tip { // the commit for h is block h+1's last commit
		return nil
	}
	hash := bytes.Repeat([]byte{byte(h)}, 32)
	return &cmttypes.Commit{Height: h, BlockID: cmttypes.BlockID{Hash: hash, PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash}},
		Signatures: []cmttypes.CommitSig{{BlockIDFlag: cmttypes.BlockIDFlagAbsent}}}
}

// fakeInfos says every height accepted a record, and fails at failAt.
type fakeInfos struct{ failAt int64 }

var errInfo = errors.New("the app cannot read this height")

func (f fakeInfos) Block(h int64) (*app.BlockInfo, error) {
	if h == f.failAt {
		return nil, errInfo
	}
	return &app.BlockInfo{Height: h, Accepted: []string{"s/0"}}, nil
}

// The archive advances in whole steps: a step that fails part way leaves
// the archived height and the file as they were (nothing half archived
// is counted), and what a step returns is on disk before it returns
// (reopened, the file says the same). It never archives a height whose
// next block's canonical commit does not exist yet.
func TestArchiveStepIsAtomicAndDurable(t *testing.T) {
	home, ar := newTestArchive(t)
	got, err := ar.step(fakeBlocks{tip: 12}, fakeInfos{}, 12, 5)
	if err != nil || got != 5 {
		t.Fatalf("first step: archived %d, %v; want 5 (at most 5 heights)", got, err)
	}
	got, err = ar.step(fakeBlocks{tip: 12}, fakeInfos{failAt: 8}, 12, 5)
	if !errors.Is(err, errInfo) || got != 5 {
		t.Fatalf("a step failing at height 8: archived %d, %v; want 5 and the error", got, err)
	}
	if _, ok, _ := ar.Extension(6, fakeAddr(0)); ok {
		t.Fatal("height 6 of the failed step was kept")
	}
	got, err = ar.step(fakeBlocks{tip: 12}, fakeInfos{}, 12, 100)
	if err != nil || got != 10 {
		t.Fatalf("step to tip 12: archived %d, %v; want 10 (tip−2: the commit for 11 is in block 12)", got, err)
	}
	ar.Close()

	ar, err = openArchive(home)
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	if a, err := ar.archived(); err != nil || a != 10 {
		t.Fatalf("reopened: archived %d, %v; want 10", a, err)
	}
	for h := int64(1); h <= 10; h++ {
		for v := 0; v < 4; v++ {
			ext, ok, err := ar.Extension(h, fakeAddr(v))
			if err != nil || !ok || !bytes.Equal(ext, fakeExt(h, v)) {
				t.Fatalf("extension of validator %d at %d: %q, %v, %v", v, h, ext, ok, err)
			}
		}
		hdr, c, ok, err := ar.Header(h + 1)
		if err != nil || !ok || hdr.Height != h+1 || c.Height != h+1 {
			t.Fatalf("header %d: %v, %v, %+v", h+1, ok, err, hdr)
		}
	}
	if _, _, ok, _ := ar.Header(12); ok {
		t.Fatal("header 12 archived before block 13 holds its commit")
	}
	// A block the archive still needs, gone from the block store: the
	// step fails, saying so, and archives nothing.
	if _, err := ar.step(fakeBlocks{tip: 10}, fakeInfos{}, 14, 100); !errors.Is(err, errArchiveLost) {
		t.Fatalf("archiving past the block store: %v", err)
	}
}

// A damaged value is an error naming the file, never served.
func TestArchiveDamageIsNamed(t *testing.T) {
	_, ar := newTestArchive(t)
	var err error
	if _, err := ar.step(fakeBlocks{tip: 5}, fakeInfos{}, 5, 10); err != nil {
		t.Fatal(err)
	}
	// Flip a byte of one stored extension in place.
	k := extKey(2, fakeAddr(1))
	if err := ar.db.Update(func(tx *boltTx) error {
		v := append([]byte(nil), tx.Bucket(bucketExtensions).Get(k)...)
		v[len(v)-1] ^= 1
		return tx.Bucket(bucketExtensions).Put(k, v)
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err = ar.Extension(2, fakeAddr(1))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(ar.path)) {
		t.Fatalf("reading a damaged extension: %v", err)
	}
	ar.Close()
}

// newTestArchive opens an archive in a fresh home of its own.
func newTestArchive(t *testing.T) (string, *archive) {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	ar, err := openArchive(home)
	if err != nil {
		t.Fatal(err)
	}
	return home, ar
}
