package node

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/store"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/receipt"
)

// blockBase is the base of a stopped node's block store.
func blockBase(t *testing.T, home string) (base, height int64) {
	t.Helper()
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	db, err := cmtcfg.DefaultDBProvider(&cmtcfg.DBContext{ID: "blockstore", Config: cfg.comet(home)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bs := store.NewBlockStore(db)
	return bs.Base(), bs.Height()
}

// A pruning validator SIGKILLed at random moments, four times: after
// every kill CometBFT's retain height and its block store's base lie at or
// below the first height the durable archive lacks, so no kill, wherever
// it lands between archiving and pruning, loses what a receipt needs. The
// node restarts from every kill, and in the end the receipt of every
// accepted record — those whose blocks were pruned first — builds and
// verifies offline with its data.
func TestPruningNodeKilledLosesNoReceipt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills node processes")
	}
	const per, rate = 20, 400.0
	_, url := startSource(t, rate)
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-prune-kill", Host: "127.0.0.1", BasePort: 28800,
		Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	home := members[0].Home
	cfg, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	keep := int64(minRetainBlocks)
	cfg.RetainBlocks = &keep
	if err := cfg.Save(home); err != nil {
		t.Fatal(err)
	}

	var lastBase int64
	for kill := 1; kill <= 4; kill++ {
		child := exec.Command(os.Args[0], "-test.run=^TestGatewayCrashChild$", "-test.v")
		child.Env = append(os.Environ(), "DD_CRASH_HOME="+home)
		out := &lockedBuffer{}
		child.Stdout, child.Stderr = out, out
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		// Long enough to archive and prune (every 5 s), at a moment
		// unrelated to either.
		time.Sleep(6*time.Second + time.Duration(rand.Int64N(int64(3*time.Second))))
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()

		ar, err := openArchive(home)
		if err != nil {
			t.Fatalf("kill %d: %v\nthe node's output:\n%s", kill, err, out.String())
		}
		archived, err := ar.archived()
		ar.Close()
		if err != nil {
			t.Fatal(err)
		}
		rh := appRetainHeight(t, home)
		base, height := blockBase(t, home)
		t.Logf("kill %d: blocks %d..%d, CometBFT's retain height %d, archived to %d", kill, base, height, rh, archived)
		if rh > archived+1 || base > archived+1 {
			t.Fatalf("kill %d: CometBFT may prune to %d and has pruned to %d, but the archive holds only up to %d", kill, rh, base, archived)
		}
		lastBase = base
	}
	if lastBase <= 1 {
		t.Fatal("nothing was pruned in four runs of at least 6 s")
	}

	// The node after the last kill: every accepted record's receipt.
	n, err := Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	start := n.Height()
	for deadline := time.Now().Add(30 * time.Second); n.Height() < start+3; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the node did not produce blocks after the last kill")
		}
	}
	gdoc, err := cmttypes.GenesisDocFromFile(cfg.comet(home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := n.App().Records("sensors", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checked, pruned := 0, 0
	for _, rv := range recs {
		if rv.Status != "accepted" || rv.Height+2 > n.Height() {
			continue
		}
		r, err := n.Receipt(rv.Stream, rv.Index)
		if err != nil {
			t.Fatalf("receipt of sensors/%d (decided at %d, blocks kept from %d): %v", rv.Index, rv.Height, n.cmt.BlockStore().Base(), err)
		}
		raw, _ := r.Marshal()
		parsed, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(parsed, gdoc, chunkMessages(t, rv.Index, per, rate)); err != nil {
			t.Fatalf("receipt of sensors/%d does not verify: %v", rv.Index, err)
		}
		checked++
		if rv.Height < n.cmt.BlockStore().Base() {
			pruned++
		}
	}
	t.Logf("%d receipts verified, %d of them of records whose deciding block was pruned", checked, pruned)
	if pruned == 0 {
		t.Fatal("no receipt of a pruned block was checked")
	}
}
