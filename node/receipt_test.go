package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/receipttest"
)

// chunkMessages regenerates chunk index's messages as receipt data.
func chunkMessages(t *testing.T, index, per uint64, rate float64) []byte {
	t.Helper()
	g := gen.NewSensor(7)
	clock, err := gen.NewClock(gen.DefaultEpoch, rate)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []receipt.Message
	for seq := index * per; seq < (index+1)*per; seq++ {
		f, err := gen.Frame(g, clock, seq)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, receipt.Message{Seq: f.Seq, Data: f.Payload})
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReceiptVerifiesOfflineAndTamperingIsNamed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	const per, rate = 20, 400.0
	net := startNet(t, 4, 27700, per, rate, nil)
	var r *receipt.Receipt
	net.waitFor("a receipt", func() bool {
		recs, _, err := net.nodes[1].App().Records("sensors", 0, 10)
		if err != nil {
			return false
		}
		for _, rv := range recs {
			if rv.Status != "accepted" {
				continue
			}
			if r, err = net.nodes[1].Receipt(rv.Stream, rv.Index); err == nil {
				return true
			}
		}
		return false
	})
	cfg, err := LoadConfig(net.members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	genFile := cfg.comet(net.members[0].Home).GenesisFile()
	gdoc, err := cmttypes.GenesisDocFromFile(genFile)
	if err != nil {
		t.Fatal(err)
	}
	data := chunkMessages(t, r.Index, per, rate)
	for i := range net.nodes {
		net.stop(i)
	}
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DD_WRITE_RECEIPT_FIXTURE"); dir != "" {
		g, _ := os.ReadFile(genFile)
		os.WriteFile(filepath.Join(dir, "receipt.json"), raw, 0o644)
		os.WriteFile(filepath.Join(dir, "genesis.json"), g, 0o644)
		os.WriteFile(filepath.Join(dir, "data.json"), data, 0o644)
	}
	parsed, err := receipt.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := receipt.Verify(parsed, gdoc, data); err != nil {
		t.Fatalf("offline verification of a fresh receipt: %v", err)
	}
	t.Logf("receipt of %s/%d: %d bytes, %d attestations, verified with data in %v", r.Stream, r.Index, len(raw), len(r.Attestations), time.Since(start))
	if len(r.Attestations) < 3 {
		t.Fatalf("%d attestations, want a majority of 4 equal validators", len(r.Attestations))
	}
	receipttest.CheckTampering(t, raw, gdoc, data)
}
