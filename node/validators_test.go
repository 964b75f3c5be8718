package node

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// approveAll has each of vals approve p on node 0 with its next nonce.
func (net *testNet) approveAll(homes map[int]string, nonces map[int]uint64, p wire.Proposal, vals ...int) {
	net.t.Helper()
	for _, v := range vals {
		nonces[v]++
		tx, err := SignGovernance(homes[v], "dd-test", v, nonces[v], p)
		if err != nil {
			net.t.Fatal(err)
		}
		code, lg, err := net.nodes[0].SubmitTx(tx)
		if err != nil || code != app.CodeOK {
			net.t.Fatalf("approval by validator %d: code %d %s %v", v, code, lg, err)
		}
	}
}

// lastRecord is the newest accepted record of node 0 whose total power
// is total, and whether validator addr agreed in it.
func (net *testNet) lastRecord(total int64, addr []byte) (*app.RecordView, bool) {
	ss, err := net.nodes[0].App().Streams()
	if err != nil || len(ss) == 0 || ss[0].LastIndex == nil {
		return nil, false
	}
	last := int64(*ss[0].LastIndex)
	for i := last; i >= 0 && i > last-5; i-- {
		r, err := net.nodes[0].App().Record("sensors", uint64(i))
		if err != nil || r.Status != "accepted" || r.TotalPower != total {
			continue
		}
		if addr == nil {
			return r, true
		}
		for _, a := range r.Attestations {
			if bytes.Equal(a.Validator, addr) && a.Outcome == "agreed" {
				return r, true
			}
		}
	}
	return nil, false
}

// TestValidatorSetGrowsShrinksAndReceiptsVerify: four validators add a
// fifth that joined from nothing as a follower; it attests; one is
// removed and another's power changes; records are accepted throughout,
// and receipts of records made before, between and after the changes
// verify offline against the original genesis with every node stopped.
// The network makes 16-height epoch summaries, and validator 0 compacts
// its archive with them: the added validator's extension signatures are
// compacted too, its summaries checked against the key governance
// registered.
func TestValidatorSetGrowsShrinksAndReceiptsVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 5-validator network")
	}
	base := 41700
	interval := int64(16)
	_, url := startSource(t, 400)
	net := startStreamsWith(t, 4, base, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: 20}}}, 5,
		func(i int, c *Config) {
			c.SummaryInterval = &interval
			if i == 0 {
				c.SnapshotInterval = &noSnapshots
			}
		})
	homes := map[int]string{}
	for i, m := range net.members {
		homes[i] = m.Home
	}
	nonces := map[int]uint64{}
	net.waitFor("records under the genesis set", func() bool { _, ok := net.lastRecord(40, nil); return ok })
	before, _ := net.lastRecord(40, nil)

	// A node joins from nothing: genesis, peers, block sync.
	var peers []string
	for _, m := range net.members {
		peers = append(peers, m.NodeID+"@"+m.P2PAddr)
	}
	home := filepath.Join(t.TempDir(), "node4")
	genesis := net.nodes[0].cfg.comet(net.nodes[0].home).GenesisFile()
	if _, err := InitFollower(FollowerOptions{Home: home, Genesis: genesis, Moniker: "node4",
		P2PListen: fmt.Sprintf("127.0.0.1:%d", base+40), Peers: peers}); err != nil {
		t.Fatal(err)
	}
	fc, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	fc.SummaryInterval = &interval
	if err := fc.Save(home); err != nil {
		t.Fatal(err)
	}
	f, err := Open(home, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(); err != nil {
		t.Fatal(err)
	}
	net.nodes = append(net.nodes, f)
	homes[4] = home
	keys, err := ReadHomeKeys(home)
	if err != nil {
		t.Fatal(err)
	}
	net.waitFor("the new node to catch up", func() bool { return f.Height() >= net.nodes[0].Height()-1 })

	add := wire.Proposal{Action: wire.GovAdd, KeyType: keys.KeyType, CometKey: keys.CometKey, ZiggyKey: keys.ZiggyKey, Power: 10, Moniker: keys.Moniker}
	net.approveAll(homes, nonces, add, 0, 1, 2)
	addr := cmttypes.Address(nil)
	net.waitForIn("the fifth validator to attest", 2*time.Minute, func() bool {
		vs, err := f.App().Validators()
		if err != nil || len(vs) != 5 || vs[4].Power != 10 {
			return false
		}
		addr = cmttypes.Address(vs[4].Address)
		_, ok := net.lastRecord(50, addr)
		return ok
	})
	afterAdd, _ := net.lastRecord(50, addr)
	// The added validator signs summaries, and validator 0's archive
	// keeps one and drops the signatures it stands for.
	net.waitForIn("a summary of the added validator in validator 0's archive", 2*time.Minute, func() bool {
		return archivedSummaries(t, net.nodes[0], addr) > 0
	})

	// A replayed approval is refused on chain.
	replay, err := SignGovernance(homes[0], "dd-test", 0, 1, add)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := net.nodes[0].SubmitTx(replay); code != app.CodeStaleNonce {
		t.Fatalf("a replayed approval: code %d", code)
	}

	// Validator 1 leaves: 40 of 50 approve.
	rm := wire.Proposal{Action: wire.GovRemove, KeyType: "ed25519", CometKey: net.members[1].CometPub.Bytes()}
	net.approveAll(homes, nonces, rm, 0, 2, 3, 4)
	net.waitForIn("records without validator 1", 2*time.Minute, func() bool { _, ok := net.lastRecord(40, addr); return ok })
	afterRemove, _ := net.lastRecord(40, addr)
	// The removed validator may still have attested; it holds nothing.
	var agreed int64
	for _, a := range afterRemove.Attestations {
		if bytes.Equal(a.Validator, net.members[1].CometPub.Address()) && a.Power != 0 {
			t.Fatalf("the removed validator holds power %d in %s/%d", a.Power, afterRemove.Stream, afterRemove.Index)
		}
		if a.Outcome == "agreed" {
			agreed += a.Power
		}
	}
	if agreed != afterRemove.Power || agreed > 40 {
		t.Fatalf("%s/%d: accepted with power %d, its agreeing validators hold %d", afterRemove.Stream, afterRemove.Index, afterRemove.Power, agreed)
	}

	// Validator 2's power becomes 15.
	pw := wire.Proposal{Action: wire.GovPower, KeyType: "ed25519", CometKey: net.members[2].CometPub.Bytes(), Power: 15}
	net.approveAll(homes, nonces, pw, 0, 3, 4)
	net.waitForIn("records under the changed power", 2*time.Minute, func() bool { _, ok := net.lastRecord(45, addr); return ok })
	afterPower, _ := net.lastRecord(45, addr)

	var rs []*receipt.Receipt
	for _, r := range []*app.RecordView{before, afterAdd, afterRemove, afterPower} {
		var rc *receipt.Receipt
		net.waitFor("the receipt of "+r.Stream, func() bool {
			rc, err = net.nodes[0].Receipt(r.Stream, r.Index)
			return err == nil
		})
		rs = append(rs, rc)
	}
	for _, nd := range net.nodes {
		if err := nd.Stop(); err != nil {
			t.Error(err)
		}
	}
	net.nodes = nil

	gen, err := cmttypes.GenesisDocFromFile(genesis)
	if err != nil {
		t.Fatal(err)
	}
	wantChanges := []int{0, 1, 2, 3}
	// The added validator's attestation in the first record it agreed on
	// is proven by its summary, long decided before the receipt was made.
	summarized := false
	for _, a := range rs[1].Attestations {
		if bytes.Equal(a.Validator, addr) && a.Summary != nil && len(a.Signature) == 0 {
			summarized = true
		}
	}
	if !summarized {
		t.Errorf("the added validator's attestation in %s/%d is not proven by a summary", rs[1].Stream, rs[1].Index)
	}
	for i, r := range rs {
		if len(r.History) != wantChanges[i] {
			t.Errorf("receipt %d (%s/%d) carries %d changes, want %d", i, r.Stream, r.Index, len(r.History), wantChanges[i])
		}
		raw, _ := r.Marshal()
		back, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(back, gen, nil); err != nil {
			t.Fatalf("receipt %d (%s/%d, %d changes): %v", i, r.Stream, r.Index, len(r.History), err)
		}
	}
	// A tampered header in the history is refused.
	bad, _ := rs[3].Marshal()
	forged, _ := receipt.Parse(bad)
	forged.History[1].Header.NextValidatorsHash = forged.History[0].Header.NextValidatorsHash
	if err := receipt.Verify(forged, gen, nil); receipt.BrokenLink(err) != "history" {
		t.Fatalf("a tampered history header: %v", err)
	}
	// One file receipt holds them all, the history once.
	file, err := ddr.From(rs, ddr.Threshold{Numerator: 1, Denominator: 2})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ddr.Encode(file)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := ddr.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if len(dec.History) != 3 || len(dec.Validators) != 5 {
		t.Fatalf("the file receipt holds %d changes and %d validators", len(dec.History), len(dec.Validators))
	}
	if _, err := ddr.Verify(dec, gen, nil, 0); err != nil {
		t.Fatalf("the file receipt: %v", err)
	}
	t.Logf("file receipt of 4 records across 3 changes: %d bytes", len(enc))
}

// archivedSummaries counts the summaries of validator addr nd's archive
// keeps.
func archivedSummaries(t *testing.T, nd *Node, addr []byte) int {
	t.Helper()
	n := 0
	err := nd.archive.db.View(func(tx *boltTx) error {
		c := tx.Bucket(bucketSummaries).Cursor()
		for k, _ := c.Seek(addr); k != nil && bytes.HasPrefix(k, addr); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
