package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	gogotypes "github.com/cosmos/gogoproto/types"

	"github.com/datadragon/datadragon/app/fakesig"
	"github.com/datadragon/datadragon/app/wire"
)

// benchState is an app at height 1 whose state holds n record-sized
// values (600 bytes) besides the chain's own, folded into the state
// digest as blocks fold theirs.
func benchState(b *testing.B, n int) (*App, *fakesig.Scheme, []byte) {
	b.Helper()
	scheme := fakesig.New()
	priv := ed25519.GenPrivKeyFromSecret([]byte("bench"))
	signer := scheme.NewSigner("v0")
	g := GenesisState{Threshold: Threshold{2, 3}, DisputeWindow: 3, Streams: streamsJSON([]string{"sensors"}),
		Validators: []GenesisValidator{{Name: "v0", PubKey: PubKey{Type: "ed25519", Value: priv.PubKey().Bytes()}, ZiggyPubKey: signer.PublicKey(), Power: 10}}}
	gb, _ := json.Marshal(g)
	a, err := New(Config{Dir: b.TempDir(), Scheme: scheme})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	if _, err := a.InitChain(ctx, &abci.InitChainRequest{ChainId: testChainID, InitialHeight: 1, AppStateBytes: gb,
		ConsensusParams: &cmtproto.ConsensusParams{Block: &cmtproto.BlockParams{MaxBytes: 4 << 20},
			Feature: &cmtproto.FeatureParams{VoteExtensionsEnableHeight: &gogotypes.Int64Value{Value: 1}}}}); err != nil {
		b.Fatal(err)
	}
	val := make([]byte, 600)
	for from := 0; from < n; from += 10000 {
		batch := a.store.NewBatch()
		for i := from; i < min(n, from+10000); i++ {
			copy(val, fmt.Sprintf("%08d", i))
			batch.Put([]byte(bucketRecords), wire.ChunkKey{Stream: "sensors", Index: uint64(i)}.Bytes(), val)
		}
		d, err := digestAfter(batch)
		if err != nil {
			b.Fatal(err)
		}
		batch.Put([]byte(bucketMeta), keyStateDigest, d.Marshal())
		if err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	fr, err := a.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 1, Time: time.Unix(1_700_000_000, 0)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Commit(ctx, &abci.CommitRequest{}); err != nil {
		b.Fatal(err)
	}
	return a, scheme, fr.AppHash
}

// BenchmarkSnapshot writes a snapshot of a state of 100,000 values
// (about 64 MB) and restores it into a new app, with every check of
// restore.go: bytes/op is that of the state; the ns/value metrics are the
// cost per stored value of each side.
func BenchmarkSnapshot(b *testing.B) {
	const n = 100_000
	src, scheme, appHash := benchState(b, n)
	src.cfg.Snapshots = SnapshotConfig{Interval: 1, Keep: 1}
	var write, restore time.Duration
	var total uint64
	for b.Loop() {
		t0 := time.Now()
		m, err := src.writeSnapshot(1, func() {})
		if err != nil {
			b.Fatal(err)
		}
		write += time.Since(t0)
		total = m.Total
		ls, _ := src.ListSnapshots(ctx, &abci.ListSnapshotsRequest{})
		s := ls.Snapshots[0]
		dst, err := New(Config{Dir: b.TempDir(), Scheme: scheme})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		or, _ := dst.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: appHash})
		if or.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
			b.Fatal(or.Result)
		}
		for i := uint32(0); i < s.Chunks; i++ {
			c, _ := src.LoadSnapshotChunk(ctx, &abci.LoadSnapshotChunkRequest{Height: 1, Format: SnapshotFormat, Chunk: i})
			r, _ := dst.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: i, Chunk: c.Chunk})
			if r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
				b.Fatal(r.Result)
			}
		}
		restore += time.Since(t1)
		dst.Close()
	}
	b.ReportMetric(float64(total)/1e6, "MB")
	b.ReportMetric(float64(write.Nanoseconds())/float64(b.N)/n, "write-ns/value")
	b.ReportMetric(float64(restore.Nanoseconds())/float64(b.N)/n, "restore-ns/value")
}

// BenchmarkFoldBlockWrites is what the state digest adds to a block: the
// committed values its writes replace are read, and each write folds two
// expansions (the old value out, the new one in). 40 writes of 600 bytes
// is a busy block at the demo load.
func BenchmarkFoldBlockWrites(b *testing.B) {
	a, _, _ := benchState(b, 1000)
	val := make([]byte, 600)
	for b.Loop() {
		batch := a.store.NewBatch()
		for i := range 40 {
			batch.Put([]byte(bucketRecords), wire.ChunkKey{Stream: "sensors", Index: uint64(i * 7)}.Bytes(), val)
		}
		if _, err := digestAfter(batch); err != nil {
			b.Fatal(err)
		}
	}
}
