package node

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	sm "github.com/cometbft/cometbft/state"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// receiptFrom builds a receipt from the archive alone or the block store
// alone, and marshals it.
func receiptFrom(t *testing.T, n *Node, fromArchive bool, stream string, index uint64) ([]byte, error) {
	t.Helper()
	src := receiptSource{n: n, blocks: true}
	if fromArchive {
		src = receiptSource{n: n, archive: n.archive}
	}
	r, err := receipt.Build(src, stream, index)
	if err != nil {
		return nil, err
	}
	return r.Marshal()
}

// appRetainHeight is the retain height CometBFT stored for the app.
func appRetainHeight(t *testing.T, home string) int64 {
	t.Helper()
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	db, err := cmtcfg.DefaultDBProvider(&cmtcfg.DBContext{ID: "state", Config: cfg.comet(home)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := sm.NewStore(db, sm.StoreOptions{}).GetApplicationRetainHeight()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A 4-validator network whose validators 1 and 2 keep 10 blocks: the blocks of the first
// records are pruned, CometBFT's block store base moves up, the pruned
// heights' extended commits go too, and the receipts of the oldest and the
// newest records still build — the same bytes as built from the block
// store before pruning — and verify offline. A validator stopped and
// restarted after pruning starts, follows the chain and still serves the
// oldest receipt; at every stop nothing is pruned that the durable
// archive does not hold.
func TestPrunedBlocksKeepEveryReceipt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	const per, rate = 20, 400.0
	_, url := startSource(t, rate)
	// Validators 1 and 2 keep the least window; 0 and 3 a minute's worth,
	// from which a validator stopped for a few seconds catches up (no
	// node can catch up from peers that all pruned past its height).
	keep, wide := int64(minRetainBlocks), int64(400)
	net := startStreamsWith(t, 4, 28700, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5,
		func(i int, c *Config) {
			c.RetainBlocks = &wide
			if i == 1 || i == 2 {
				c.RetainBlocks = &keep
			}
		})
	nd := net.nodes[1]

	// The first accepted records, built from the block store while it
	// holds their blocks, and from the archive once it has them.
	type built struct {
		index   uint64
		decided int64
		raw     []byte
	}
	var first []built
	net.waitFor("five accepted records with receipts from the block store", func() bool {
		recs, _, err := nd.App().Records("sensors", 0, 10)
		if err != nil {
			return false
		}
		first = first[:0]
		for _, rv := range recs {
			if rv.Status != "accepted" || len(first) == 5 {
				continue
			}
			// Once block h+2 is stored the commit for h+1 is the
			// canonical one (block h+2's last commit) that the archive
			// copies; before, the block store answers its seen commit.
			if nd.cmt.BlockStore().Height() < rv.Height+2 {
				return false
			}
			raw, err := receiptFrom(t, nd, false, rv.Stream, rv.Index)
			if err != nil {
				return false
			}
			first = append(first, built{rv.Index, rv.Height, raw})
		}
		return len(first) == 5
	})
	oldest := first[0]
	net.waitFor("the archive to hold the first records", func() bool {
		a, err := nd.archive.archived()
		return err == nil && a >= first[4].decided+1
	})
	for _, b := range first {
		raw, err := receiptFrom(t, nd, true, "sensors", b.index)
		if err != nil {
			t.Fatalf("receipt of sensors/%d from the archive alone: %v", b.index, err)
		}
		if !bytes.Equal(raw, b.raw) {
			t.Fatalf("receipt of sensors/%d: the archive gives other bytes than the block store: %s", b.index, firstDiff(raw, b.raw))
		}
	}

	// Pruning: the base passes the oldest record's attestations, deciding
	// block and next block.
	net.waitFor("the block store to be pruned past the oldest record", func() bool {
		return nd.cmt.BlockStore().Base() > oldest.decided+2
	})
	bs := nd.cmt.BlockStore()
	if blk, _ := bs.LoadBlock(oldest.decided); blk != nil {
		t.Fatalf("block %d is still stored below the base %d", oldest.decided, bs.Base())
	}
	if _, err := receiptFrom(t, nd, false, "sensors", oldest.index); err == nil {
		t.Fatal("the block store alone still builds the oldest receipt: nothing was pruned")
	}
	net.waitFor("the pruned heights' extended commits to be deleted", func() bool { return nd.ecFloor.Load() > oldest.decided+1 })
	for h := int64(1); h < nd.ecFloor.Load(); h++ {
		if v, err := nd.blockDB.Get(fmt.Appendf(nil, "EC:%d", h)); err != nil || v != nil {
			t.Fatalf("the extended commit of pruned height %d is still stored (%d bytes, %v)", h, len(v), err)
		}
	}
	if v, _ := nd.blockDB.Get(fmt.Appendf(nil, "EC:%d", bs.Height())); v == nil {
		t.Fatalf("the extended commit of the last height %d is gone", bs.Height())
	}

	cfg, err := LoadConfig(net.members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	gdoc, err := cmttypes.GenesisDocFromFile(cfg.comet(net.members[0].Home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	verify := func(n *Node, index uint64, want []byte) {
		t.Helper()
		r, err := n.Receipt("sensors", index)
		if err != nil {
			t.Fatalf("receipt of sensors/%d after pruning: %v", index, err)
		}
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if want != nil && !bytes.Equal(raw, want) {
			t.Fatalf("receipt of sensors/%d changed after pruning", index)
		}
		parsed, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(parsed, gdoc, chunkMessages(t, index, per, rate)); err != nil {
			t.Fatalf("receipt of sensors/%d after pruning does not verify offline: %v", index, err)
		}
	}
	verify(nd, oldest.index, oldest.raw)
	var newest uint64
	net.waitFor("the newest record's receipt", func() bool {
		ss, err := nd.App().Streams()
		if err != nil || len(ss) == 0 || ss[0].LastIndex == nil {
			return false
		}
		newest = *ss[0].LastIndex
		_, err = nd.Receipt("sensors", newest)
		return err == nil
	})
	verify(nd, newest, nil)

	// A validator stopped after pruning: CometBFT's retain height never
	// passed the durable archive.
	net.waitFor("validator 2 to prune", func() bool { return net.nodes[2].cmt.BlockStore().Base() > oldest.decided+2 })
	net.stop(2)
	home := net.members[2].Home
	ar, err := openArchive(home)
	if err != nil {
		t.Fatal(err)
	}
	archived, err := ar.archived()
	ar.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rh := appRetainHeight(t, home); rh < 2 || rh > archived+1 {
		t.Fatalf("CometBFT's retain height %d on a stopped validator, archive at %d: it must lie in (1, %d]", rh, archived, archived+1)
	}
	// The WAL pruner reads CometBFT's own WAL: it finds the marker of the
	// last height in the stopped validator's files (were it blind to the
	// format, it would keep everything, and the WAL would grow to 1 GiB).
	stoppedCfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	files, err := walFiles(stoppedCfg.comet(home).Consensus.WalFile())
	if err != nil || len(files) == 0 {
		t.Fatalf("the consensus WAL's files: %v, %v", files, err)
	}
	if ok, err := walHasEndHeight(files[0].path); !ok || err != nil {
		t.Fatalf("no end-of-height marker found in %s (%d bytes): %v", files[0].path, files[0].size, err)
	}
	// A pruned WAL is one the validator restarts from (below). If
	// CometBFT has not rotated the head since its last marker but one, the
	// head is cut after its first marker into the next rotated file and
	// the rest, as a rotation would leave it. The pruner, asked to keep
	// nothing it need not, must then delete every rotated file: the head
	// holds the last marker, all a restart replays from.
	head := files[0].path
	var markers []int64
	if err := walRecords(head, func(end int64, endHeight bool) bool {
		if endHeight {
			markers = append(markers, end)
		}
		return true
	}); err != nil || len(markers) == 0 {
		t.Fatalf("%d end-of-height markers in %s: %v", len(markers), head, err)
	}
	if len(markers) >= 2 {
		next := 0
		if len(files) > 1 {
			next = files[1].index + 1
		}
		whole, err := os.ReadFile(head)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(fmt.Sprintf("%s.%03d", head, next), whole[:markers[0]], 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(head, whole[markers[0]:], 0o600); err != nil {
			t.Fatal(err)
		}
		if files, err = walFiles(head); err != nil {
			t.Fatal(err)
		}
	}
	var rotated []string
	for _, f := range files[1:] {
		rotated = append(rotated, filepath.Base(f.path))
	}
	if removed, _, err := pruneWAL(head, 0); err != nil || len(removed) == 0 || !slices.Equal(removed, rotated) {
		t.Fatalf("pruning the WAL removed %v, %v; want every rotated file, %v", removed, err, rotated)
	}
	// ... restarts once the others are well past it (validator 1 has
	// pruned the heights it missed, 0 and 3 serve them), follows the
	// chain and serves the oldest receipt.
	stoppedAt := net.nodes[0].Height()
	net.waitFor("the others to move on", func() bool { return net.nodes[0].Height() > stoppedAt+2*keep })
	restarted := time.Now()
	net.start(2)
	target := net.nodes[0].Height() + 5
	// Up to three minutes, not one: CometBFT v1.0.1 may accept a peer's
	// reconnection while it stops, and in one process (no exit closes
	// the socket) that connection stays open on the peers' side until
	// their pong timeout, refusing the restarted node as a duplicate ID
	// for up to about 105 s. A node in its own process never sees this.
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if st, err := net.nodes[2].App().Status(); err == nil && st.Height >= target {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted validator did not follow the chain to height %d in 3 minutes", target)
		}
	}
	t.Logf("the restarted validator followed the chain in %v", time.Since(restarted).Round(time.Millisecond))
	if base := net.nodes[2].cmt.BlockStore().Base(); base <= oldest.decided {
		t.Fatalf("the restarted validator's base is %d, at or below the pruned block %d", base, oldest.decided)
	}
	verify(net.nodes[2], oldest.index, oldest.raw)
	for i, n := range net.nodes {
		if i == 0 || i == 3 {
			continue // not pruned yet: a 400-block window
		}
		a, err := n.archive.archived()
		if err != nil {
			t.Fatal(err)
		}
		if base := n.cmt.BlockStore().Base(); base > a+1 {
			t.Fatalf("validator %d pruned to %d with its archive at %d", i, base, a)
		}
	}
}

// firstDiff shows where two receipts first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return fmt.Sprintf("at byte %d of %d/%d:\n%s\n---\n%s", i, len(a), len(b), a[from:min(len(a), i+100)], b[from:min(len(b), i+100)])
}
