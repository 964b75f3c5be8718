package node

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
	bolt "go.etcd.io/bbolt"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// archiveCounts counts an archive's summaries and its signed and
// stripped extensions by validator address, and checks that every
// stripped extension points to a summary that exists: what a crash in
// the middle of a compaction would break.
func archiveCounts(t *testing.T, ar *archive) (summaries map[string]int, signed, stripped map[string]int) {
	t.Helper()
	summaries, signed, stripped = map[string]int{}, map[string]int{}, map[string]int{}
	err := ar.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSummaries).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			summaries[string(k[:len(k)-8])]++
		}
		c = tx.Bucket(bucketExtensions).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			v, err := ar.get(tx, bucketExtensions, k)
			if err != nil {
				return err
			}
			addr := string(k[8:])
			if v[0] != strippedMark {
				signed[addr]++
				continue
			}
			stripped[addr]++
			first := int64(binary.BigEndian.Uint64(v[1:]))
			if s, err := ar.get(tx, bucketSummaries, summaryKey(k[8:], first)); err != nil || s == nil {
				t.Errorf("the stripped extension %x points to a summary from %d that is not kept (%v)", k, first, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return summaries, signed, stripped
}

// A 4-validator network with 8-height epochs, keeping 10 blocks, where
// validator 3 signs a wrong summary root: the others' summaries replace
// their extension signatures in every archive, validator 3's summaries
// drop nothing and its extensions stay signed; the oldest records, whose
// blocks are pruned and whose extension signatures are gone, still have
// receipts that verify offline (the summarized attestations through
// their summary), and a file receipt of them keeps each summary once. A
// tampered summary signature, root or path is named as the broken link.
func TestSummariesReplaceExtensionSignatures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	const per, rate = 20, 400.0
	_, url := startSource(t, rate)
	keep, interval := int64(minRetainBlocks), int64(8)
	net := startStreamsWith(t, 4, 29200, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5,
		func(i int, c *Config) {
			c.RetainBlocks, c.SummaryInterval, c.SnapshotInterval = &keep, &interval, &noSnapshots
		})
	liar := net.nodes[3]
	liar.summ.mu.Lock()
	liar.summ.tamper = func(s *wire.SummaryTx) { s.Root[0] ^= 1 }
	liar.summ.mu.Unlock()
	liarAddr := string(liar.summ.self)
	nd := net.nodes[1]

	var oldest []*app.RecordView
	net.waitFor("five accepted records", func() bool {
		recs, _, err := nd.App().Records("sensors", 0, 10)
		if err != nil {
			return false
		}
		oldest = oldest[:0]
		for _, rv := range recs {
			if rv.Status == "accepted" && len(oldest) < 5 {
				oldest = append(oldest, rv)
			}
		}
		return len(oldest) == 5
	})
	last := oldest[4].Height
	net.waitFor("the blocks of the oldest records to be pruned", func() bool { return nd.cmt.BlockStore().Base() > last+2 })
	net.waitForIn("summaries past the oldest records' epochs", 2*60e9, func() bool {
		a, err := nd.archive.archived()
		return err == nil && a > last+4*interval
	})

	for i, n := range net.nodes {
		sums, signed, stripped := archiveCounts(t, n.archive)
		t.Logf("validator %d's archive: summaries %v, signed extensions %v, stripped %v", i, lens(sums), lens(signed), lens(stripped))
		if sums[liarAddr] != 0 || stripped[liarAddr] != 0 {
			t.Fatalf("validator %d's archive dropped signatures of the validator that signed wrong summaries (%d summaries, %d stripped)", i, sums[liarAddr], stripped[liarAddr])
		}
		for _, m := range net.nodes[:3] {
			a := string(m.summ.self)
			if sums[a] == 0 || stripped[a] == 0 {
				t.Fatalf("validator %d's archive kept no summary of an honest validator %X (%d summaries, %d stripped)", i, a, sums[a], stripped[a])
			}
		}
	}

	cfg, err := LoadConfig(net.members[0].Home)
	if err != nil {
		t.Fatal(err)
	}
	gdoc, err := cmttypes.GenesisDocFromFile(cfg.comet(net.members[0].Home).GenesisFile())
	if err != nil {
		t.Fatal(err)
	}
	var rs []*receipt.Receipt
	summarized := 0
	var tamperable []byte
	for _, rv := range oldest {
		r, err := nd.Receipt(rv.Stream, rv.Index)
		if err != nil {
			t.Fatalf("receipt of sensors/%d (decided at %d, blocks kept from %d): %v", rv.Index, rv.Height, nd.cmt.BlockStore().Base(), err)
		}
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(parsed, gdoc, chunkMessages(t, rv.Index, per, rate)); err != nil {
			t.Fatalf("receipt of sensors/%d does not verify offline: %v", rv.Index, err)
		}
		for _, a := range r.Attestations {
			switch {
			case a.Summary != nil && string(a.Validator) == liarAddr:
				t.Fatalf("receipt of sensors/%d proves the lying validator's attestation by a summary", rv.Index)
			case a.Summary != nil:
				summarized++
				if len(a.Summary.Proof.Path) > 0 {
					tamperable = raw
				}
			case len(a.Signature) == 0:
				t.Fatalf("receipt of sensors/%d: an attestation with neither signature nor summary", rv.Index)
			}
		}
		rs = append(rs, r)
	}
	if summarized == 0 {
		t.Fatal("no attestation of the oldest records is proven by a summary")
	}
	if tamperable == nil {
		t.Fatal("no summary with a path to tamper with")
	}
	for name, f := range map[string]func(s map[string]any){
		"signature": func(s map[string]any) { s["signature"] = flipHex(s["signature"].(string)) },
		"root":      func(s map[string]any) { s["root"] = flipHex(s["root"].(string)) },
		"path": func(s map[string]any) {
			p := s["proof"].(map[string]any)["path"].([]any)
			p[0] = flipHex(p[0].(string))
		},
		"heights": func(s map[string]any) { s["last_height"] = s["last_height"].(float64) + 1 },
	} {
		var m map[string]any
		if err := json.Unmarshal(tamperable, &m); err != nil {
			t.Fatal(err)
		}
		for _, a := range m["attestations"].([]any) {
			if s, ok := a.(map[string]any)["summary"].(map[string]any); ok && len(s["proof"].(map[string]any)["path"].([]any)) > 0 {
				f(s)
				break
			}
		}
		b, _ := json.Marshal(m)
		r, err := receipt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		err = receipt.Verify(r, gdoc, nil)
		if receipt.BrokenLink(err) != "summary" {
			t.Fatalf("a receipt with a tampered summary %s: %v, want the summary link named", name, err)
		}
	}

	// A file receipt of the five: each summary once, and it verifies.
	gs, err := app.ParseGenesisState(gdoc.AppState)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ddr.From(rs, ddr.Threshold{Numerator: gs.Threshold.Numerator, Denominator: gs.Threshold.Denominator})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ddr.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ddr.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddr.Verify(back, gdoc, nil, 0); err != nil {
		t.Fatalf("the file receipt of the oldest records does not verify: %v", err)
	}
	if len(back.Links) == 0 {
		t.Fatal("the file receipt of records with summarized attestations has no summary")
	}
	for i := range back.Summaries {
		for j := range i {
			if bytes.Equal(back.Summaries[i].Signature, back.Summaries[j].Signature) {
				t.Fatalf("the file receipt keeps summary %d twice (%d and %d)", j, j, i)
			}
		}
	}
	t.Logf("file receipt: %d bytes, %d extensions, %d summaries, %d links", len(enc), len(back.Extensions), len(back.Summaries), len(back.Links))
}

func lens(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func flipHex(s string) string {
	b := []byte(s)
	if b[0] == '0' {
		b[0] = '1'
	} else {
		b[0] = '0'
	}
	return string(b)
}

// noSnapshots is snapshot_interval 0: a node that serves no snapshots
// compacts its archive.
var noSnapshots int64
