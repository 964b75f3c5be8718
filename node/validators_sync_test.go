package node

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// TestSetChangeSurvivesPruningAndStateSync: after a power change, every
// validator prunes the blocks around it; a receipt of a later record
// still carries the change (its header from the receipt archive) and
// verifies offline; a node joining by state sync from a snapshot taken
// after the change checks the archived headers against the set of their
// heights, reaches the head and serves the same verifiable receipt.
func TestSetChangeSurvivesPruningAndStateSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network and a follower")
	}
	const per, rate = 20, 400.0
	const base = 41900
	_, url := startSource(t, rate)
	// Peers keep fifteen snapshot intervals of blocks: a node that joins
	// from a snapshot needs the blocks after it at a peer, and a loaded
	// machine may take a minute to find, fetch and restore one
	// (snapshotWarning asks for two intervals; a test's heights are fast).
	keep, interval := int64(150), int64(10)
	net := startStreamsWith(t, 4, base, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5,
		func(i int, c *Config) {
			c.RetainBlocks, c.SnapshotInterval, c.SnapshotKeep = &keep, &interval, 2
			if i < 2 {
				c.RPCListen = fmt.Sprintf("127.0.0.1:%d", base+1+10*i)
			}
		})
	v := net.nodes[0]
	homes := map[int]string{}
	for i, m := range net.members {
		homes[i] = m.Home
	}
	net.waitFor("records under the genesis set", func() bool { _, ok := net.lastRecord(40, nil); return ok })
	pw := wire.Proposal{Action: wire.GovPower, KeyType: "ed25519", CometKey: net.members[3].CometPub.Bytes(), Power: 12}
	net.approveAll(homes, map[int]uint64{}, pw, 0, 1, 2)
	var from int64
	net.waitForIn("the change in force", time.Minute, func() bool {
		_, ch, err := v.App().SetHistory()
		if err != nil || len(ch) != 1 {
			return false
		}
		from = ch[0].From
		return v.Height() > from
	})
	net.waitForIn("the change's blocks pruned everywhere, and a snapshot after it", 3*time.Minute, func() bool {
		for _, nd := range net.nodes {
			if nd.cmt.BlockStore().Base() <= from {
				return false
			}
		}
		return v.Height() > from+2*interval
	})
	var after *app.RecordView
	net.waitFor("a record after the change", func() bool { r, ok := net.lastRecord(42, nil); after = r; return ok })
	gen, err := cmttypes.GenesisDocFromFile(v.cfg.comet(v.home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	var rc *receipt.Receipt
	net.waitFor("its receipt", func() bool { rc, err = v.Receipt(after.Stream, after.Index); return err == nil })
	if len(rc.History) != 1 {
		t.Fatalf("the receipt carries %d changes", len(rc.History))
	}
	if err := receipt.Verify(rc, gen, nil); err != nil {
		t.Fatalf("a receipt whose change's blocks are pruned: %v", err)
	}

	// A node joins by state sync.
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
	if _, err := InitFollower(FollowerOptions{Home: home, Genesis: v.cfg.comet(v.home).GenesisFile(), Moniker: "follower",
		P2PListen: fmt.Sprintf("127.0.0.1:%d", base+40), Peers: peers,
		StateSync: &StateSyncConfig{
			RPCServers:    []string{fmt.Sprintf("127.0.0.1:%d", base+1), fmt.Sprintf("127.0.0.1:%d", base+11)},
			TrustHeight:   th,
			TrustHash:     hex.EncodeToString(meta.BlockID.Hash),
			DiscoveryTime: Duration(5 * time.Second),
		}}); err != nil {
		t.Fatal(err)
	}
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
	target := v.Height() + 3
	net.waitForIn("the follower to reach the head by state sync", 3*time.Minute, func() bool {
		st, err := f.App().Status()
		return err == nil && st.Height >= target && f.Height() >= target
	})
	if fb := f.cmt.BlockStore().Base(); fb <= from {
		t.Fatalf("the follower's block store starts at %d, before the change in force from %d: it did not join from a later snapshot", fb, from)
	}
	var fr *receipt.Receipt
	net.waitFor("the follower's receipt", func() bool { fr, err = f.Receipt(after.Stream, after.Index); return err == nil })
	if len(fr.History) != 1 {
		t.Fatalf("the follower's receipt carries %d changes", len(fr.History))
	}
	if err := receipt.Verify(fr, gen, nil); err != nil {
		t.Fatalf("the follower's receipt: %v", err)
	}
}
