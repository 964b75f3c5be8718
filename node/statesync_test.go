package node

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// A 4-validator network that prunes its blocks (none of them holds block
// 1 any more) and takes a snapshot every 10 heights: a new node, which is
// no validator, joins it by state sync from a snapshot — its block store
// starts after the snapshot's height, not at 1 — reaches the head with
// the validators' app hashes, and serves the records and the receipts,
// verified offline, of records decided before its snapshot, and of
// records decided after it joined.
func TestNewNodeJoinsFromASnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network and a follower")
	}
	const per, rate = 20, 400.0
	const base = 25100 // below the ephemeral port range, which outgoing connections draw from
	_, url := startSource(t, rate)
	// Peers keep six snapshot intervals of blocks: a node that joins from
	// a snapshot needs the blocks after it at a peer, and a loaded machine
	// may take a minute to find, fetch and restore one (snapshotWarning
	// asks for two intervals; a test's heights are fast). Epochs of 8
	// heights, summarized a few heights after they end, so that most
	// epochs hold no snapshot and are compacted at once while those that
	// do wait until it is removed — three snapshots, 90 heights, are kept:
	// a snapshot's chunks must come out the same when they are made again
	// after summaries decided since.
	keep, interval, epoch := int64(200), int64(30), int64(8)
	net := startStreamsWith(t, 4, base, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5,
		func(i int, c *Config) {
			c.RetainBlocks, c.SnapshotInterval, c.SnapshotKeep, c.SummaryInterval = &keep, &interval, 3, &epoch
			if i < 2 {
				c.RPCListen = fmt.Sprintf("127.0.0.1:%d", base+1+10*i)
			}
		})
	v := net.nodes[0]

	// The first records' blocks are pruned on every validator.
	var first []*app.RecordView
	net.waitFor("five accepted records", func() bool {
		recs, _, err := v.App().Records("sensors", 0, 5)
		if err != nil || len(recs) < 5 {
			return false
		}
		for _, r := range recs {
			if r.Status != "accepted" {
				return false
			}
		}
		first = recs
		return true
	})
	net.waitForIn("every validator to prune the first records' blocks", 3*time.Minute, func() bool {
		for _, nd := range net.nodes {
			if nd.cmt.BlockStore().Base() <= first[4].Height+1 {
				return false
			}
		}
		return true
	})

	// Every validator's snapshot of one height is the same, so a joining
	// node fetches its chunks from any of them.
	net.waitFor("a snapshot every validator lists", func() bool {
		var hashes map[uint64]map[string]int
		hashes = map[uint64]map[string]int{}
		for _, nd := range net.nodes {
			ls, err := nd.App().ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{})
			if err != nil {
				return false
			}
			for _, s := range ls.Snapshots {
				if hashes[s.Height] == nil {
					hashes[s.Height] = map[string]int{}
				}
				hashes[s.Height][string(s.Hash)]++
			}
		}
		for h, hs := range hashes {
			if len(hs) > 1 {
				t.Fatalf("the validators' snapshots of height %d have %d different hashes", h, len(hs))
			}
			for _, c := range hs {
				if c == len(net.nodes) {
					return true
				}
			}
		}
		return false
	})

	// A snapshot's files hold the app's state; the receipt archive's
	// chunks, most of its bytes, are made again from receipts.db — as of
	// the snapshot's height, though summaries were decided since (each
	// chunk served is checked against its listed hash). Validator 0 has
	// compacted epochs after its oldest snapshot (an epoch waits only if
	// it straddles a kept snapshot) and holds a summary decided after its
	// newest snapshot, waiting: the snapshot's chunks are made again now,
	// after it.
	var ls *abci.ListSnapshotsResponse
	var stripped, strippedAbove, due, dueAfter int
	var looked string
	t.Cleanup(func() {
		if t.Failed() && looked != "" {
			t.Logf("validator 0's archive when last looked at: %s", looked)
		}
	})
	net.waitForIn("validator 0 to compact epochs after its oldest snapshot and to hold a summary decided after its newest", 3*time.Minute, func() bool {
		var err error
		ls, err = v.App().ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{})
		if err != nil || len(ls.Snapshots) == 0 {
			return false
		}
		oldest := int64(ls.Snapshots[len(ls.Snapshots)-1].Height)
		ls.Snapshots = ls.Snapshots[:1] // the newest
		stripped, strippedAbove, due, dueAfter = 0, 0, 0, 0
		if err := v.archive.view(func(tx *boltTx) error {
			if err := tx.Bucket(bucketExtensions).ForEach(func(k, _ []byte) error {
				val, err := v.archive.get(tx, bucketExtensions, k)
				if len(val) > 0 && val[0] == strippedMark {
					stripped++
					if int64(binary.BigEndian.Uint64(k)) > oldest {
						strippedAbove++
					}
				}
				return err
			}); err != nil {
				return err
			}
			return tx.Bucket(bucketSummariesDue).ForEach(func(k, _ []byte) error {
				due++
				if len(k) == 12 && binary.BigEndian.Uint64(k) > ls.Snapshots[0].Height {
					dueAfter++
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		looked = fmt.Sprintf("snapshots %d to %d; %d extensions compacted, %d of them after the oldest snapshot; %d summaries due, %d of them decided after the newest snapshot", oldest, ls.Snapshots[0].Height, stripped, strippedAbove, due, dueAfter)
		return strippedAbove > 0 && dueAfter > 0
	})
	t.Logf("validator 0: %d extensions compacted (%d of them after its oldest snapshot), %d summaries due, %d of them decided after its snapshot of %d", stripped, strippedAbove, due, dueAfter, ls.Snapshots[0].Height)
	// The archive's chunks are served but have no file: a chunk with a
	// file holds the app's state.
	var total, made int64
	dir := filepath.Join(v.home, "data", "app", "snapshots", fmt.Sprintf("%020d", ls.Snapshots[0].Height))
	for i := uint32(0); i < ls.Snapshots[0].Chunks; i++ {
		c, _ := v.App().LoadSnapshotChunk(context.Background(), &abci.LoadSnapshotChunkRequest{Height: ls.Snapshots[0].Height, Format: ls.Snapshots[0].Format, Chunk: i})
		if len(c.Chunk) == 0 {
			t.Fatalf("chunk %d of the snapshot of %d is not served", i, ls.Snapshots[0].Height)
		}
		total += int64(len(c.Chunk))
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("chunk-%d", i))); errors.Is(err, fs.ErrNotExist) {
			made += int64(len(c.Chunk))
		} else if err != nil {
			t.Fatal(err)
		}
	}
	var onDisk int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				onDisk += fi.Size()
			}
		}
		return nil
	})
	if made == 0 || onDisk > total-made+64<<10 {
		t.Fatalf("the snapshot of %d serves %d bytes, %d of them made again from the receipt archive, and keeps %d on disk: the archive was copied", ls.Snapshots[0].Height, total, made, onDisk)
	}
	t.Logf("the snapshot of height %d: %d bytes served, %d of them made again from the receipt archive; %d on disk", ls.Snapshots[0].Height, total, made, onDisk)

	// The follower trusts a recent header, read from validator 0.
	th := v.Height() - 2
	meta := v.cmt.BlockStore().LoadBlockMeta(th)
	if meta == nil {
		t.Fatalf("validator 0 has no block %d", th)
	}
	var peers []string
	for _, m := range net.members {
		peers = append(peers, m.NodeID+"@"+m.P2PAddr)
	}
	home := filepath.Join(t.TempDir(), "follower")
	genesis := v.cfg.comet(v.home).GenesisFile()
	if _, err := InitFollower(FollowerOptions{Home: home, Genesis: genesis, Moniker: "follower",
		P2PListen: fmt.Sprintf("127.0.0.1:%d", base+40), Peers: peers,
		StateSync: &StateSyncConfig{
			RPCServers:    []string{fmt.Sprintf("127.0.0.1:%d", base+1), fmt.Sprintf("127.0.0.1:%d", base+11)},
			TrustHeight:   th,
			TrustHash:     hex.EncodeToString(meta.BlockID.Hash),
			DiscoveryTime: Duration(5 * time.Second),
		}}); err != nil {
		t.Fatal(err)
	}
	// The follower's logs are shown if the test fails: they say how far
	// state sync got (snapshots found, offered, restored, blocks after).
	logs, clogs := &lockedBuffer{}, &cometSyncLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the follower's log:\n%s\nits CometBFT state and block sync log:\n%s", logs, clogs.String())
		}
	})
	f, err := Open(home, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), CometLogLevel: "info", CometLogOutput: clogs})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Error(err)
		}
	})

	// The head when it started, and 20 blocks more: past any snapshot it
	// may restore, so it must have synced blocks after it.
	target := v.Height() + interval
	net.waitForIn("the follower to reach the head by state sync", 3*time.Minute, func() bool {
		st, err := f.App().Status()
		return err == nil && st.Height >= target && f.Height() >= target
	})
	fbase := f.cmt.BlockStore().Base()
	snapHeight := fbase - 1
	if fbase <= first[4].Height+1 {
		t.Fatalf("the follower's block store starts at %d: it replayed the chain instead of joining from a snapshot after height %d", fbase, first[4].Height)
	}
	// The same chain: the app hash of a height both have.
	hx := target
	fb, err := f.App().Block(hx)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := v.App().Block(hx)
	if err != nil {
		t.Fatal(err)
	}
	if fb.AppHash.String() != vb.AppHash.String() {
		t.Fatalf("height %d: the follower's app hash %s, validator 0's %s", hx, fb.AppHash, vb.AppHash)
	}

	gdoc, err := cmttypes.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(index uint64) {
		t.Helper()
		r, err := f.Receipt("sensors", index)
		if err != nil {
			t.Fatalf("the follower's receipt of sensors/%d: %v", index, err)
		}
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(parsed, gdoc, chunkMessages(t, index, per, rate)); err != nil {
			t.Fatalf("the follower's receipt of sensors/%d does not verify offline: %v", index, err)
		}
	}
	for _, want := range first {
		got, err := f.App().Record("sensors", want.Index)
		if err != nil || got.Digest != want.Digest || got.Height != want.Height {
			t.Fatalf("the follower's record sensors/%d: %+v %v; validator 0's: %+v", want.Index, got, err, want)
		}
		if want.Height >= snapHeight {
			t.Fatalf("record sensors/%d was decided at %d, after the snapshot of %d", want.Index, want.Height, snapHeight)
		}
		verify(want.Index)
	}
	// The header after the snapshot, which no snapshot can carry, is
	// archived by the follower once the block after it is stored.
	net.waitFor("the follower to archive the header after its snapshot", func() bool {
		_, _, ok, err := f.archive.Header(snapHeight + 1)
		return err == nil && ok
	})
	// The records decided in the last heights of the snapshot: their
	// receipts need the headers the snapshot took from the block store
	// (its own height's, with the commit the validator had seen) and the
	// one of the block after it, which the follower archived itself.
	edge := 0
	for from := uint64(0); ; {
		recs, next, err := f.App().Records("sensors", from, app.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Status == "accepted" && r.Height >= snapHeight-2 && r.Height <= snapHeight {
				verify(r.Index)
				edge++
			}
		}
		if next == nil {
			break
		}
		from = *next
	}
	if edge == 0 {
		t.Fatalf("no record was decided in heights %d–%d", snapHeight-2, snapHeight)
	}
	// A record decided after the follower joined.
	var late uint64
	net.waitForIn("a record decided after the join, with its receipt", time.Minute, func() bool {
		ss, err := f.App().Streams()
		if err != nil || len(ss) == 0 || ss[0].LastIndex == nil {
			return false
		}
		r, err := f.App().Record("sensors", *ss[0].LastIndex)
		if err != nil || r.Height <= fbase {
			return false
		}
		late = r.Index
		_, err = f.Receipt("sensors", late)
		return err == nil
	})
	verify(late)

	// Restarted, the follower resumes from its own state (no second state
	// sync), follows the chain and still serves the old receipts.
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	if f, err = Open(home, Options{}); err != nil {
		t.Fatalf("reopening the follower: %v", err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	again := v.Height() + 10
	net.waitForIn("the restarted follower to follow the chain", 3*time.Minute, func() bool {
		st, err := f.App().Status()
		return err == nil && st.Height >= again
	})
	if b := f.cmt.BlockStore().Base(); b != fbase {
		t.Fatalf("the restarted follower's block store starts at %d, before the restart at %d", b, fbase)
	}
	verify(first[0].Index)

	// A validator wiped — all of data/ but its sign state, so it never
	// signs a height twice — joins again by state sync: it converges to
	// the others' app hash and serves the same receipts, byte for byte.
	net.stop(3)
	home3 := net.members[3].Home
	pvs := filepath.Join(home3, "data", "priv_validator_state.json")
	signState, err := os.ReadFile(pvs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(home3, "data")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home3, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pvs, signState, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg3, err := LoadConfig(home3)
	if err != nil {
		t.Fatal(err)
	}
	th = v.Height() - 2
	meta = v.cmt.BlockStore().LoadBlockMeta(th)
	cfg3.StateSync = &StateSyncConfig{
		RPCServers:    []string{fmt.Sprintf("127.0.0.1:%d", base+1), fmt.Sprintf("127.0.0.1:%d", base+11)},
		TrustHeight:   th,
		TrustHash:     hex.EncodeToString(meta.BlockID.Hash),
		DiscoveryTime: Duration(5 * time.Second),
	}
	if err := cfg3.Save(home3); err != nil {
		t.Fatal(err)
	}
	net.start(3)
	w := net.nodes[3]
	again = v.Height() + 10
	net.waitForIn("the wiped validator to join again by state sync", 3*time.Minute, func() bool {
		st, err := w.App().Status()
		return err == nil && st.Height >= again && w.Height() >= again
	})
	if b := w.cmt.BlockStore().Base(); b <= first[4].Height+1 {
		t.Fatalf("the wiped validator's block store starts at %d: it did not join from a snapshot", b)
	}
	wb, err := w.App().Block(again)
	if err != nil {
		t.Fatal(err)
	}
	// Validator 0 may be a block behind the one that just reached again.
	net.waitFor("validator 0 to reach the compared height", func() bool {
		st, err := v.App().Status()
		return err == nil && st.Height >= again
	})
	if vb, err := v.App().Block(again); err != nil || wb.AppHash.String() != vb.AppHash.String() {
		t.Fatalf("height %d: the rejoined validator's app hash %s, validator 0's %v (%v)", again, wb.AppHash, vb, err)
	}
	for _, rec := range first {
		rw, err := w.Receipt("sensors", rec.Index)
		if err != nil {
			t.Fatalf("the rejoined validator's receipt of sensors/%d: %v", rec.Index, err)
		}
		rv, err := v.Receipt("sensors", rec.Index)
		if err != nil {
			t.Fatal(err)
		}
		bw, _ := rw.Marshal()
		bv, _ := rv.Marshal()
		if !bytes.Equal(bw, bv) {
			t.Fatalf("the rejoined validator's receipt of sensors/%d differs from validator 0's", rec.Index)
		}
	}
	t.Logf("the follower joined from the snapshot of height %d (records 0–4 decided at %d–%d, %d records at its last three heights); head %d", snapHeight, first[0].Height, first[4].Height, edge, f.Height())
}

// An archive a restore was filling when the node stopped holds
// unverified material: the next start empties it; one whose import
// finished is kept.
func TestUnfinishedArchiveImportIsDiscarded(t *testing.T) {
	home, ar := newTestArchive(t)
	var err error
	x := &snapshotExtra{node: func() *Node { return nil }, ar: ar}
	if err := x.BeginImport(10); err != nil {
		t.Fatal(err)
	}
	if err := x.ImportEntry(snapExtensions, extKey(3, []byte("validator-address-20b")), []byte("extension")); err != nil {
		t.Fatal(err)
	}
	if err := x.flush(); err != nil {
		t.Fatal(err)
	}
	ar.Close()
	if ar, err = openArchive(home); err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	if _, ok, _ := ar.Extension(3, []byte("validator-address-20b")); !ok {
		t.Fatal("the test's import did not reach the file")
	}
	found, err := ar.discardUnfinishedImport()
	if err != nil || !found {
		t.Fatalf("an unfinished import: found %v, %v", found, err)
	}
	if _, ok, _ := ar.Extension(3, []byte("validator-address-20b")); ok {
		t.Fatal("unverified imported material was kept")
	}
	if found, err := ar.discardUnfinishedImport(); err != nil || found {
		t.Fatalf("a clean archive: found %v, %v", found, err)
	}
	if err := x.ImportEntry(snapHeaders, u64key(11), nil); err == nil {
		t.Fatal("a header above the snapshot's height was taken")
	}
}

// cometSyncLog keeps, of CometBFT's log, the lines that say how state
// sync and block sync went and every error: what a failed join test shows.
type cometSyncLog struct{ lockedBuffer }

func (c *cometSyncLog) Write(p []byte) (int, error) {
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if bytes.Contains(line, []byte("module=statesync")) || bytes.Contains(line, []byte("module=blocksync")) || bytes.HasPrefix(line, []byte("E[")) {
			c.lockedBuffer.Write(line)
		}
	}
	return len(p), nil
}
