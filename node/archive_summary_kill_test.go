package node

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// checkCompactedWhole fails if a kept summary left any extension of its
// span signed: a compaction is all of an epoch or nothing.
func checkCompactedWhole(t *testing.T, ar *archive) int {
	t.Helper()
	n := 0
	err := ar.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSummaries).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			v, err := ar.get(tx, bucketSummaries, k)
			if err != nil {
				return err
			}
			cnt := int(binary.BigEndian.Uint32(v))
			s, err := wire.UnmarshalSummaryTx(v[4+32*cnt:])
			if err != nil {
				return err
			}
			n++
			for b := s.First + 1; b <= s.Last+1; b++ {
				ev, err := ar.get(tx, bucketExtensions, extKey(b, s.Validator))
				if err != nil {
					return err
				}
				if ev != nil && ev[0] != strippedMark {
					t.Errorf("the summary of heights %d…%d is kept but the extension in block %d is still signed", s.First, s.Last, b)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A validator with 8-height epochs SIGKILLed at random moments, four
// times: after every kill each kept summary has replaced every extension
// signature of its epoch and every stripped extension has its summary
// (the compaction is one transaction with the archiving of its block);
// after the last, every accepted record's receipt builds and verifies
// offline, some of them through summaries.
func TestSummarizingNodeKilledLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills node processes")
	}
	const per, rate = 20, 400.0
	_, url := startSource(t, rate)
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 1, ChainID: "dd-summary-kill", Host: "127.0.0.1", BasePort: 31700,
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
	keep, interval := int64(minRetainBlocks), int64(8)
	cfg.RetainBlocks, cfg.SummaryInterval, cfg.SnapshotInterval = &keep, &interval, &noSnapshots
	if err := cfg.Save(home); err != nil {
		t.Fatal(err)
	}
	summaries := 0
	for kill := 1; kill <= 4; kill++ {
		child := exec.Command(os.Args[0], "-test.run=^TestGatewayCrashChild$", "-test.v")
		child.Env = append(os.Environ(), "DD_CRASH_HOME="+home)
		out := &lockedBuffer{}
		child.Stdout, child.Stderr = out, out
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4*time.Second + time.Duration(rand.Int64N(int64(3*time.Second))))
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
		ar, err := openArchive(home)
		if err != nil {
			t.Fatalf("kill %d: %v\nthe node's output:\n%s", kill, err, out.String())
		}
		archiveCounts(t, ar)
		summaries = checkCompactedWhole(t, ar)
		ar.Close()
		t.Logf("kill %d: %d summaries kept", kill, summaries)
	}
	if summaries == 0 {
		t.Fatal("no summary was kept in four runs of at least 4 s")
	}

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
	checked, viaSummary := 0, 0
	for _, rv := range recs {
		if rv.Status != "accepted" || rv.Height+2 > n.Height() {
			continue
		}
		r, err := n.Receipt(rv.Stream, rv.Index)
		if err != nil {
			t.Fatalf("receipt of sensors/%d (decided at %d): %v", rv.Index, rv.Height, err)
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
		if r.Version == receipt.VersionSummaries {
			viaSummary++
		}
	}
	t.Logf("%d receipts verified, %d of them through summaries", checked, viaSummary)
	if viaSummary == 0 {
		t.Fatal("no receipt was proven through a summary")
	}
}
