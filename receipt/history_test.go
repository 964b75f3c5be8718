package receipt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	cmtversion "github.com/cometbft/cometbft/api/cometbft/version/v1"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// simVal is a validator of a simulated chain.
type simVal struct {
	name  string
	priv  ed25519.PrivKey
	ziggy *ziggy.PrivateKey
	power int64
}

func newSimVal(t testing.TB, name string, power int64) *simVal {
	seed := sha256.Sum256([]byte(name))
	z, err := ziggy.NewKeyFromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	return &simVal{name: name, priv: ed25519.GenPrivKeyFromSecret(seed[:]), ziggy: z, power: power}
}

// simChain makes the history a chain with these rules would make: each
// change approved by every validator of the set before it, its header
// committed by that set.
type simChain struct {
	t       testing.TB
	chainID string
	reg     []*simVal // registry order
	powers  []int64
	from    int64
	genesis *cmttypes.GenesisDoc
	history []receipt.Change
	nonces  map[int]uint64
}

func newSimChain(t testing.TB, n int) *simChain {
	s := &simChain{t: t, chainID: "datadragon-history", from: 1, nonces: map[int]uint64{}}
	gs := app.GenesisState{Threshold: app.Threshold{Numerator: 1, Denominator: 2}, DisputeWindow: 30}
	for i := range n {
		v := newSimVal(t, fmt.Sprintf("v%d", i), 10)
		s.reg = append(s.reg, v)
		s.powers = append(s.powers, 10)
		gs.Validators = append(gs.Validators, app.GenesisValidator{Name: v.name, PubKey: app.PubKey{Type: "ed25519", Value: v.priv.PubKey().Bytes()},
			ZiggyPubKey: v.ziggy.Public().Bytes(), Power: 10})
	}
	st, err := json.Marshal(gs)
	if err != nil {
		t.Fatal(err)
	}
	s.genesis = &cmttypes.GenesisDoc{ChainID: s.chainID, InitialHeight: 1, AppState: st, GenesisTime: time.Unix(1_700_000_000, 0)}
	return s
}

func (s *simChain) cometSet(powers []int64) *cmttypes.ValidatorSet {
	var cv []*cmttypes.Validator
	for i, p := range powers {
		if p > 0 {
			cv = append(cv, cmttypes.NewValidator(s.reg[i].priv.PubKey(), p))
		}
	}
	return cmttypes.NewValidatorSet(cv)
}

func hash32(tag string, h int64) []byte {
	b := sha256.Sum256(fmt.Appendf(nil, "%s/%d", tag, h))
	return b[:]
}

// header returns a signed header of height h naming prev and next, and
// its commit by prev.
func (s *simChain) header(h int64, prev, next []int64) (*cmttypes.Header, *cmttypes.Commit) {
	ps := s.cometSet(prev)
	hd := &cmttypes.Header{Version: cmtversion.Consensus{Block: 11, App: 1}, ChainID: s.chainID, Height: h,
		Time:           time.Unix(1_700_000_000+h, 0),
		LastBlockID:    cmttypes.BlockID{Hash: hash32("last", h), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash32("lastparts", h)}},
		LastCommitHash: hash32("lc", h), DataHash: hash32("data", h), ValidatorsHash: ps.Hash(), NextValidatorsHash: s.cometSet(next).Hash(),
		ConsensusHash: hash32("cons", h), AppHash: hash32("app", h), LastResultsHash: hash32("res", h), EvidenceHash: hash32("ev", h),
		ProposerAddress: ps.Validators[0].Address}
	bid := cmttypes.BlockID{Hash: hd.Hash(), PartSetHeader: cmttypes.PartSetHeader{Total: 1, Hash: hash32("parts", h)}}
	c := &cmttypes.Commit{Height: h, BlockID: bid}
	for _, v := range ps.Validators {
		c.Signatures = append(c.Signatures, cmttypes.CommitSig{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: v.Address, Timestamp: hd.Time})
	}
	for idx, v := range ps.Validators {
		for _, sv := range s.reg {
			if bytes.Equal(sv.priv.PubKey().Address(), v.Address) {
				sig, err := sv.priv.Sign(c.VoteSignBytes(s.chainID, int32(idx)))
				if err != nil {
					s.t.Fatal(err)
				}
				c.Signatures[idx].Signature = sig
			}
		}
	}
	return hd, c
}

// add, remove and setPower make one change each, approved by approvers
// (nil: every member of the set).
func (s *simChain) add(v *simVal, approvers []int) {
	c := receipt.Change{Action: "add", PubKey: keyOf(v), ZiggyPubKey: v.ziggy.Public().Bytes(), Power: v.power, Name: v.name}
	next := slices.Clone(s.powers)
	i := slices.Index(s.reg, v)
	if i < 0 {
		s.reg = append(s.reg, v)
		next = append(next, v.power)
	} else {
		next[i] = v.power
	}
	s.commit(c, next, approvers)
}

func (s *simChain) remove(i int, approvers []int) {
	next := slices.Clone(s.powers)
	next[i] = 0
	s.commit(receipt.Change{Action: "remove", PubKey: keyOf(s.reg[i])}, next, approvers)
}

func (s *simChain) setPower(i int, p int64, approvers []int) {
	next := slices.Clone(s.powers)
	next[i] = p
	s.commit(receipt.Change{Action: "power", PubKey: keyOf(s.reg[i]), Power: p}, next, approvers)
}

func (s *simChain) commit(c receipt.Change, next []int64, approvers []int) {
	s.t.Helper()
	for i, v := range s.reg {
		if i < len(s.powers) && bytes.Equal(v.priv.PubKey().Bytes(), c.PubKey.Value) {
			c.PrevPower = s.powers[i]
		}
	}
	c.Decided = max(s.from, 3) + 5
	c.From = c.Decided + 2
	p, err := c.Proposal()
	if err != nil {
		s.t.Fatal(err)
	}
	if approvers == nil {
		for i, pw := range s.powers {
			if pw > 0 {
				approvers = append(approvers, i)
			}
		}
	}
	id := p.ID(s.chainID)
	for _, a := range approvers {
		s.nonces[a]++
		sig, err := ziggy.Sign(s.reg[a].ziggy, wire.GovSignBytes(s.chainID, id, uint16(a), s.nonces[a]))
		if err != nil {
			s.t.Fatal(err)
		}
		c.Approvals = append(c.Approvals, receipt.Approval{Validator: a, Nonce: s.nonces[a], Signature: sig})
	}
	c.Header, c.Commit = s.header(c.From-1, s.powers, next)
	s.history = append(s.history, c)
	s.powers, s.from = next, c.From
}

func keyOf(v *simVal) receipt.PubKey {
	return receipt.PubKey{Type: "ed25519", Value: v.priv.PubKey().Bytes()}
}

// copyHistory deep-copies through JSON, so a test may tamper freely.
func copyHistory(t testing.TB, h []receipt.Change) []receipt.Change {
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out []receipt.Change
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHistoryReplay: 4 → 5 validators, a removal and a power change
// replay from the genesis; every forgery names the change it breaks.
func TestHistoryReplay(t *testing.T) {
	s := newSimChain(t, 4)
	s.add(newSimVal(t, "v4", 10), []int{0, 1, 2}) // 30 of 40
	s.remove(1, []int{0, 2, 3, 4})                // 40 of 50
	s.setPower(2, 15, []int{0, 3, 4})             // 30 of 40
	h, err := receipt.ReplayHistory(s.genesis, s.history, receipt.NewCache())
	if err != nil {
		t.Fatal(err)
	}
	if h.Changes() != 3 {
		t.Fatalf("%d changes replayed", h.Changes())
	}
	for _, c := range []struct {
		height int64
		powers []int64
	}{{1, []int64{10, 10, 10, 10}}, {s.history[0].From - 1, []int64{10, 10, 10, 10}}, {s.history[0].From, []int64{10, 10, 10, 10, 10}},
		{s.history[1].From, []int64{10, 0, 10, 10, 10}}, {s.history[2].From + 100, []int64{10, 0, 15, 10, 10}}} {
		var got []int64
		for _, v := range h.At(c.height) {
			got = append(got, v.Power)
		}
		if !slices.Equal(got, c.powers) {
			t.Errorf("height %d: powers %v, want %v", c.height, got, c.powers)
		}
	}
	// ValidatorsAt, which expands a file receipt's records, agrees.
	var gen []receipt.Validator
	for _, v := range s.reg[:4] {
		gen = append(gen, receipt.Validator{Name: v.name, Address: receipt.HexBytes(v.priv.PubKey().Address()), PubKey: keyOf(v), ZiggyPubKey: v.ziggy.Public().Bytes(), Power: 10})
	}
	if got := receipt.ValidatorsAt(gen, s.history, s.history[2].From); len(got) != 5 || got[1].Power != 0 || got[2].Power != 15 || got[4].Name != "v4" {
		t.Fatalf("ValidatorsAt: %+v", got)
	}

	forge := []struct {
		name   string
		change int
		f      func(h []receipt.Change)
	}{
		{"approvals short of 2/3", 1, func(h []receipt.Change) { h[1].Approvals = h[1].Approvals[:3] }},
		{"a replayed approval", 1, func(h []receipt.Change) { h[1].Approvals[3] = h[1].Approvals[0] }},
		{"an approval by a validator outside the set", 2, func(h []receipt.Change) { h[2].Approvals[0].Validator = 1 }},
		{"an approval's signature", 0, func(h []receipt.Change) { h[0].Approvals[0].Signature[40] ^= 1 }},
		{"an approval's nonce", 0, func(h []receipt.Change) { h[0].Approvals[1].Nonce++ }},
		{"the power of the change", 2, func(h []receipt.Change) { h[2].Power = 14 }},
		{"the added validator's Ziggy key", 0, func(h []receipt.Change) { h[0].ZiggyPubKey[3] ^= 1 }},
		{"a tampered header (next validators)", 1, func(h []receipt.Change) { h[1].Header.NextValidatorsHash = h[0].Header.NextValidatorsHash }},
		{"a tampered header (app hash)", 1, func(h []receipt.Change) { h[1].Header.AppHash = hash32("other", 1) }},
		{"a commit signature", 2, func(h []receipt.Change) { h[2].Commit.Signatures[0].Signature[5] ^= 1 }},
		{"a commit short of 2/3", 2, func(h []receipt.Change) {
			for i := 1; i < len(h[2].Commit.Signatures); i++ {
				h[2].Commit.Signatures[i] = cmttypes.NewCommitSigAbsent()
			}
		}},
		{"the power before the change", 2, func(h []receipt.Change) { h[2].PrevPower = 11 }},
		{"a dropped change", 1, func(h []receipt.Change) { copy(h[1:], h[2:]); h[2] = h[1] }},
		{"two changes in flight", 2, func(h []receipt.Change) { h[2].Decided, h[2].From = h[1].From-1, h[1].From+1 }},
		{"a change the chain's bound refuses", 2, func(h []receipt.Change) { h[2].Power = 40 }},
	}
	for _, f := range forge {
		t.Run(f.name, func(t *testing.T) {
			h := copyHistory(t, s.history)
			f.f(h)
			_, err := receipt.ReplayHistory(s.genesis, h, nil)
			if err == nil {
				t.Fatal("the forged history replays")
			}
			if receipt.BrokenLink(err) != "history" || !bytes.Contains([]byte(err.Error()), fmt.Appendf(nil, "change %d ", f.change)) {
				t.Fatalf("err %v, want change %d of the history", err, f.change)
			}
		})
	}
	// Another genesis (other keys) does not accept the history.
	if _, err := receipt.ReplayHistory(newSimChainWith(t, "x").genesis, s.history, nil); err == nil {
		t.Fatal("the history replays from another genesis")
	}
}

// newSimChainWith makes a chain of four validators named prefix0…3.
func newSimChainWith(t testing.TB, prefix string) *simChain {
	s := newSimChain(t, 0)
	gs := app.GenesisState{Threshold: app.Threshold{Numerator: 1, Denominator: 2}, DisputeWindow: 30}
	for i := range 4 {
		v := newSimVal(t, fmt.Sprintf("%s%d", prefix, i), 10)
		s.reg = append(s.reg, v)
		s.powers = append(s.powers, 10)
		gs.Validators = append(gs.Validators, app.GenesisValidator{Name: v.name, PubKey: keyOfApp(v), ZiggyPubKey: v.ziggy.Public().Bytes(), Power: 10})
	}
	st, _ := json.Marshal(gs)
	s.genesis.AppState = st
	return s
}

func keyOfApp(v *simVal) app.PubKey {
	return app.PubKey{Type: "ed25519", Value: v.priv.PubKey().Bytes()}
}

// BenchmarkHistoryReplay measures what a receipt's history costs as the
// set changes N times (4 validators; each change a power change approved
// by the 3 of them that pass 2/3): its size as JSON (the receipt's and
// the file receipt's form) and the time to replay it from the genesis,
// each signature checked once.
func BenchmarkHistoryReplay(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("changes=%d", n), func(b *testing.B) {
			s := newSimChain(b, 4)
			for i := range n {
				v := i % 4
				p := int64(11)
				if s.powers[v] == 11 {
					p = 10
				}
				s.setPower(v, p, []int{(v + 1) % 4, (v + 2) % 4, (v + 3) % 4})
			}
			raw, err := json.Marshal(s.history)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := receipt.ReplayHistory(s.genesis, s.history, receipt.NewCache()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "history-bytes")
			if n > 0 {
				b.ReportMetric(float64(len(raw))/float64(n), "bytes/change")
			}
		})
	}
}
