package app

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// Governance: the validator set changes by the validators' own approvals.
//
// A wire.GovernTx is one validator's Ziggy-signed approval of a proposal
// (add a validator, remove one, change one's power); the first approval
// proposes it. A proposal runs in the block where validators holding
// more than 2/3 of the power of the set in force at that block have
// approved it. Running it writes a new epoch — the powers of every
// validator ever registered, from height F+2 on, F being the block —
// and FinalizeBlock returns the change to CometBFT as ValidatorUpdates,
// which CometBFT applies from F+2 as well, so the app's set and
// CometBFT's agree at every height.
//
// Limits, checked when a proposal is made and again when it runs:
//
//   - At most one change is in flight: none runs while the last one is
//     not yet in force (heights F+1 … F+2), and at most one per block.
//     Proposals that pass meanwhile wait and run, in id order, in the
//     first free block whose set still approves them.
//   - One change moves less than 1/3 of the current total power (|Δ|·3
//     < total). CometBFT itself only bounds the total; the bound is ours,
//     from the light client's trust level: when consecutive sets differ
//     by less than 1/3, any > 2/3 of the new set holds > 1/3 of the old
//     set's power, so a commit of the new set is signed by at least one
//     validator the old set's honest majority vouched for. A receipt's
//     history (package receipt) relies on each change being approved by
//     > 2/3 of the previous set; the bound keeps a captured minority of
//     new keys from ever outvoting the rest. Larger changes are made in
//     steps.
//
// There is no separate governance key set: the validators govern.
//
// State (bucket govern, in the state digest and so in the app hash):
//
//	"v" ‖ u16 index → JSON GenesisValidator   validators added after genesis
//	"e" ‖ u64 from  → epoch                   the set in force from that height
//	"p" ‖ id        → proposal state          approvals, status, heights
//	"n" ‖ u16 index → u64 last nonce          each approver's nonces
//	"q" ‖ id        → empty                   passed, waiting for a free block
const bucketGovern = "govern"

// Result codes of governance transactions.
const (
	CodeGovNotValidator uint32 = 20 // the approver is not in the set in force
	CodeGovBadProposal  uint32 = 21 // the proposal does not fit the set (unknown target, bound, duplicate key)
	CodeGovDone         uint32 = 22 // the proposal already ran
)

// epoch is one validator set: powers by registry index (0: not in the set).
type epoch struct {
	From     int64    // first height the set is in force
	Powers   []int64  // by registry index
	Proposal [32]byte // the proposal that made it (zero for genesis)
	Decided  int64    // the block that ran it (0 for genesis)
	params   *tally.Params
}

func (e *epoch) marshal() []byte {
	w := codec.Writer{}
	w.U8(1)
	w.I64(e.From)
	w.Raw(e.Proposal[:])
	w.I64(e.Decided)
	w.U16(uint16(len(e.Powers)))
	for _, p := range e.Powers {
		w.I64(p)
	}
	return w.B
}

func unmarshalEpoch(b []byte) (*epoch, error) {
	r := codec.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != 1 {
		return nil, fmt.Errorf("epoch version %d", v)
	}
	e := &epoch{From: r.I64()}
	r.Fixed(e.Proposal[:])
	e.Decided = r.I64()
	n := int(r.U16())
	if n > wire.MaxVotes || n*8 > r.Remaining() {
		r.Failf("epoch of %d validators", n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		e.Powers = append(e.Powers, r.I64())
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("epoch: %w", err)
	}
	return e, nil
}

// govProposal is a proposal's state.
type govProposal struct {
	Proposal  wire.Proposal
	Proposed  int64         // height of the first approval
	Ran       int64         // height it ran (0: not yet)
	Approvals []GovApproval // in order of approval
}

// GovApproval is one validator's approval as a block carried it: what a
// receipt's history shows to prove the change.
type GovApproval struct {
	Validator uint16
	Nonce     uint64
	Signature []byte
}

func (g *govProposal) approved(v uint16) bool {
	for _, a := range g.Approvals {
		if a.Validator == v {
			return true
		}
	}
	return false
}

func (g *govProposal) marshal() []byte {
	w := codec.Writer{}
	tx := wire.GovernTx{Proposal: g.Proposal, Nonce: 1, Signature: []byte{0}}
	enc, _ := tx.Marshal()
	w.Bytes16(enc)
	w.I64(g.Proposed)
	w.I64(g.Ran)
	w.U16(uint16(len(g.Approvals)))
	for _, a := range g.Approvals {
		w.U16(a.Validator)
		w.U64(a.Nonce)
		w.Bytes16(a.Signature)
	}
	return w.B
}

func unmarshalGovProposal(b []byte) (*govProposal, error) {
	r := codec.NewReader(b)
	enc := r.Bytes16(wire.MaxTxBytes, "proposal")
	g := &govProposal{Proposed: r.I64(), Ran: r.I64()}
	n := int(r.U16())
	if n > wire.MaxVotes || n*12 > r.Remaining() {
		r.Failf("%d approvers", n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		g.Approvals = append(g.Approvals, GovApproval{Validator: r.U16(), Nonce: r.U64(), Signature: r.Bytes16(wire.MaxSignatureBytes, "approval signature")})
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("proposal state: %w", err)
	}
	tx, err := wire.UnmarshalTx(enc)
	if err != nil || tx.Govern == nil {
		return nil, fmt.Errorf("proposal state: %v", err)
	}
	g.Proposal = tx.Govern.Proposal
	return g, nil
}

func govKey(prefix byte, rest []byte) []byte { return append([]byte{prefix}, rest...) }

// epochAt returns the set in force at height h.
func (c *chain) epochAt(h int64) *epoch {
	for i := len(c.epochs) - 1; i > 0; i-- {
		if c.epochs[i].From <= h {
			return c.epochs[i]
		}
	}
	return c.epochs[0]
}

// paramsAt returns the tally parameters of the set in force at h.
func (c *chain) paramsAt(h int64) *tally.Params { return c.epochAt(h).params }

func (c *chain) latest() *epoch { return c.epochs[len(c.epochs)-1] }

// newParams builds an epoch's tally parameters: removed and not-yet-added
// validators hold 0.
func newParams(g *GenesisState, powers []int64) (*tally.Params, error) {
	return tally.NewParams(powers, g.Threshold.Numerator, g.Threshold.Denominator, g.DisputeWindow)
}

// loadGovernance extends a chain built from the genesis with the
// validators and sets the state holds.
func (a *App) loadGovernance(c *chain) error {
	gen := c.genesis
	c.genesis = &GenesisState{Threshold: gen.Threshold, DisputeWindow: gen.DisputeWindow,
		Validators: slices.Clone(gen.Validators), Streams: gen.Streams}
	e0 := &epoch{From: c.InitialHeight, params: c.params, Powers: slices.Clone(c.params.Powers)}
	c.epochs = []*epoch{e0}
	var vals [][]byte
	var eps [][]byte
	err := a.store.View(func(tx store.Tx) error {
		b := []byte(bucketGovern)
		tx.Scan(b, []byte{'v'}, []byte{'w'}, func(_, v []byte) bool { vals = append(vals, bytes.Clone(v)); return true })
		tx.Scan(b, []byte{'e'}, []byte{'f'}, func(_, v []byte) bool { eps = append(eps, bytes.Clone(v)); return true })
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range vals {
		var gv GenesisValidator
		if err := json.Unmarshal(v, &gv); err != nil {
			return fmt.Errorf("governance: validator: %w", err)
		}
		if err := c.register(gv); err != nil {
			return fmt.Errorf("governance: %w", err)
		}
	}
	for _, raw := range eps {
		e, err := unmarshalEpoch(raw)
		if err != nil {
			return fmt.Errorf("governance: %w", err)
		}
		if err := c.addEpoch(e); err != nil {
			return fmt.Errorf("governance: %w", err)
		}
	}
	return nil
}

// register appends a validator to the registry.
func (c *chain) register(gv GenesisValidator) error {
	pk, err := gv.PubKey.key()
	if err != nil {
		return err
	}
	i := len(c.genesis.Validators)
	gv.Address = HexBytes(pk.Address())
	gv.Power = 0
	c.genesis.Validators = append(c.genesis.Validators, gv)
	c.pubs = append(c.pubs, pk)
	c.addrs = append(c.addrs, []byte(pk.Address()))
	c.byAddr[string(pk.Address())] = i
	c.byZiggy[string(gv.ZiggyPubKey)] = i
	return nil
}

// addEpoch appends a set, shown as the registry's current powers.
func (c *chain) addEpoch(e *epoch) error {
	if len(e.Powers) > len(c.genesis.Validators) || e.From <= c.latest().From {
		return fmt.Errorf("epoch from %d with %d validators does not follow the registry", e.From, len(e.Powers))
	}
	powers := make([]int64, len(c.genesis.Validators))
	copy(powers, e.Powers)
	p, err := newParams(c.genesis, powers)
	if err != nil {
		return fmt.Errorf("epoch from %d: %w", e.From, err)
	}
	e.Powers, e.params = powers, p
	c.epochs = append(c.epochs, e)
	for i := range c.genesis.Validators {
		c.genesis.Validators[i].Power = powers[i]
	}
	c.params = p
	return nil
}

// clone copies what governance changes, so a block's change stays out
// of the chain readers see until Commit.
func (c *chain) clone() *chain {
	d := *c
	g := *c.genesis
	g.Validators = slices.Clone(c.genesis.Validators)
	d.genesis = &g
	d.pubs = slices.Clone(c.pubs)
	d.addrs = slices.Clone(c.addrs)
	d.byAddr = make(map[string]int, len(c.byAddr))
	for k, v := range c.byAddr {
		d.byAddr[k] = v
	}
	d.byZiggy = make(map[string]int, len(c.byZiggy))
	for k, v := range c.byZiggy {
		d.byZiggy[k] = v
	}
	d.epochs = slices.Clone(c.epochs)
	return &d
}

// govBusy reports whether a change is still on its way into force at h.
func (c *chain) govBusy(h int64) bool { return c.latest().From > h }

// target finds the registry index of the proposal's CometBFT key, or −1.
func (c *chain) target(p *wire.Proposal) int {
	pk := PubKey{Type: p.KeyType, Value: p.CometKey}
	k, err := pk.key()
	if err != nil {
		return -1
	}
	if i, ok := c.byAddr[string(k.Address())]; ok && bytes.Equal(c.pubs[i].Bytes(), p.CometKey) {
		return i
	}
	return -1
}

// fits checks a proposal against the newest set: the target exists (or,
// for an addition, is new or removed with the same Ziggy key), keys are
// not another validator's, the block can carry one more extension, and
// the change moves less than a third of the power. It returns the new
// powers.
func (a *App) fits(c *chain, p *wire.Proposal) ([]int64, *txError) {
	cur := c.latest()
	powers := make([]int64, len(c.genesis.Validators), len(c.genesis.Validators)+1)
	copy(powers, cur.Powers)
	var total int64
	for _, pw := range powers {
		total += pw
	}
	if keyTypeAliases[p.KeyType] != p.KeyType {
		return nil, txErr(CodeGovBadProposal, "key type %q: write it as %q or %q", p.KeyType, "ed25519", "secp256k1")
	}
	t := c.target(p)
	var delta int64
	switch p.Action {
	case wire.GovAdd:
		pk := PubKey{Type: p.KeyType, Value: p.CometKey}
		if _, err := pk.key(); err != nil {
			return nil, txErr(CodeGovBadProposal, "the new validator's CometBFT key: %v", err)
		}
		if err := a.cfg.Scheme.CheckPublicKey(p.ZiggyKey); err != nil {
			return nil, txErr(CodeGovBadProposal, "the new validator's Ziggy key: %v", err)
		}
		if z, ok := c.byZiggy[string(p.ZiggyKey)]; ok && z != t {
			return nil, txErr(CodeGovBadProposal, "Ziggy key %x belongs to validator %d; every validator needs its own", p.ZiggyKey, z)
		}
		if t >= 0 {
			if powers[t] > 0 {
				return nil, txErr(CodeGovBadProposal, "validator %X is already in the set; propose a power change instead", c.addrs[t])
			}
			if !bytes.Equal(c.genesis.Validators[t].ZiggyPubKey, p.ZiggyKey) {
				return nil, txErr(CodeGovBadProposal, "validator %X was registered with another Ziggy key; a returning validator keeps its key", c.addrs[t])
			}
			powers[t] = p.Power
		} else {
			if len(powers) >= wire.MaxVotes {
				return nil, txErr(CodeGovBadProposal, "the registry holds %d validators, the limit", len(powers))
			}
			powers = append(powers, p.Power)
		}
		delta = p.Power
		active := 0
		for _, pw := range powers {
			if pw > 0 {
				active++
			}
		}
		if need := int64(active)*int64(wire.MaxExtensionBytes+wire.MaxAddressLen+wire.MaxExtensionSignatureLen+32) + 1024; need > c.MaxBlockBytes {
			return nil, txErr(CodeGovBadProposal, "%d validators may inject up to %d bytes of vote extensions per block, more than the block limit of %d bytes", active, need, c.MaxBlockBytes)
		}
	case wire.GovRemove, wire.GovPower:
		if t < 0 || powers[t] == 0 {
			return nil, txErr(CodeGovBadProposal, "%s key %x is not in the validator set", p.KeyType, p.CometKey)
		}
		delta = powers[t] - p.Power
		if delta < 0 {
			delta = -delta
		}
		if delta == 0 {
			return nil, txErr(CodeGovBadProposal, "validator %X already has power %d", c.addrs[t], p.Power)
		}
		powers[t] = p.Power
	}
	if 3*delta >= total {
		return nil, txErr(CodeGovBadProposal, "the change moves power %d of %d; one change must move less than a third of the total power: make it in steps", delta, total)
	}
	if total+delta > maxTotalPower {
		return nil, txErr(CodeGovBadProposal, "the total power would exceed CometBFT's limit")
	}
	return powers, nil
}

// approvedPower sums the power, in the set in force at h, of a proposal's
// approvers. Removed approvers count nothing.
func approvedPower(c *chain, h int64, g *govProposal) (power, total int64) {
	e := c.epochAt(h)
	for _, a := range g.Approvals {
		if int(a.Validator) < len(e.Powers) {
			power += e.Powers[a.Validator]
		}
	}
	return power, e.params.Total
}

// twoThirds reports power > 2/3 of total.
func twoThirds(power, total int64) bool { return 3*power > 2*total }

// govBlock is governance's part of one FinalizeBlock.
type govBlock struct {
	chain   *chain // the chain with the block's change, once it runs
	updates []abci.ValidatorUpdate
}

// applyGovern checks one approval against the state read through get
// and, if put is not nil, records it and runs the proposal if it passes.
// blk is nil in CheckTx.
func (a *App) applyGovern(c *chain, get getter, put func(string, []byte, []byte), height int64, t *wire.GovernTx, blk *govBlock) *txError {
	if blk != nil && blk.chain != nil {
		c = blk.chain
	}
	h := height
	if put == nil {
		h = a.last.Load().height + 1
	}
	e := c.epochAt(h)
	ap := int(t.Approver)
	if ap >= len(e.Powers) || e.Powers[ap] == 0 {
		return txErr(CodeGovNotValidator, "approver %d is not in the validator set in force at height %d", ap, h)
	}
	nk := govKey('n', u16(t.Approver))
	var last uint64
	if v, err := get(bucketGovern, nk); err != nil {
		return txErr(CodeMalformed, "%v", err)
	} else if len(v) == 8 {
		last = binary.BigEndian.Uint64(v)
	}
	if t.Nonce != last+1 {
		return txErr(CodeStaleNonce, "approver %d's next governance nonce is %d, the approval carries %d (replayed, or sent out of order)", ap, last+1, t.Nonce)
	}
	id := t.Proposal.ID(c.ChainID)
	msg := wire.GovSignBytes(c.ChainID, id, t.Approver, t.Nonce)
	if err := a.cfg.Scheme.Verify(c.genesis.Validators[ap].ZiggyPubKey, msg, t.Signature); err != nil {
		return txErr(CodeBadSignature, "approval by validator %d: signature: %v", ap, err)
	}
	pk := govKey('p', id[:])
	g := &govProposal{Proposal: t.Proposal, Proposed: h}
	if v, err := get(bucketGovern, pk); err != nil {
		return txErr(CodeMalformed, "%v", err)
	} else if v != nil {
		if g, err = unmarshalGovProposal(v); err != nil {
			return txErr(CodeMalformed, "%v", err)
		}
	}
	if g.Ran > 0 {
		return txErr(CodeGovDone, "proposal %x ran at height %d; to make the change again, propose it with another seq", id[:8], g.Ran)
	}
	if g.approved(t.Approver) {
		return txErr(CodeDuplicate, "validator %d already approved proposal %x", ap, id[:8])
	}
	if _, terr := a.fits(c, &t.Proposal); terr != nil {
		return terr
	}
	if put == nil {
		return nil
	}
	g.Approvals = append(g.Approvals, GovApproval{Validator: t.Approver, Nonce: t.Nonce, Signature: bytes.Clone(t.Signature)})
	put(bucketGovern, nk, u64(t.Nonce))
	put(bucketGovern, pk, g.marshal())
	if pw, total := approvedPower(c, h, g); twoThirds(pw, total) {
		if blk.chain != nil || c.govBusy(h) {
			put(bucketGovern, govKey('q', id[:]), []byte{})
			return nil
		}
		return a.runProposal(c, get, put, h, id, g, blk)
	}
	return nil
}

// runProposal makes a passed proposal the set in force from h+2.
func (a *App) runProposal(c *chain, get getter, put func(string, []byte, []byte), h int64, id [32]byte, g *govProposal, blk *govBlock) *txError {
	powers, terr := a.fits(c, &g.Proposal)
	if terr != nil {
		return terr
	}
	nc := c.clone()
	p := &g.Proposal
	if len(powers) > len(nc.genesis.Validators) {
		gv := GenesisValidator{Name: p.Moniker, PubKey: PubKey{Type: p.KeyType, Value: bytes.Clone(p.CometKey)}, ZiggyPubKey: HexBytes(bytes.Clone(p.ZiggyKey))}
		if err := nc.register(gv); err != nil {
			return txErr(CodeGovBadProposal, "%v", err)
		}
		raw, _ := json.Marshal(nc.genesis.Validators[len(nc.genesis.Validators)-1])
		put(bucketGovern, govKey('v', u16(uint16(len(powers)-1))), raw)
	}
	e := &epoch{From: h + 2, Powers: powers, Proposal: id, Decided: h}
	if err := nc.addEpoch(e); err != nil {
		return txErr(CodeGovBadProposal, "%v", err)
	}
	put(bucketGovern, govKey('e', u64(uint64(e.From))), e.marshal())
	g.Ran = h
	put(bucketGovern, govKey('p', id[:]), g.marshal())
	t := nc.target(p)
	blk.chain = nc
	blk.updates = append(blk.updates, abci.ValidatorUpdate{Power: powers[t], PubKeyType: nc.genesis.Validators[t].PubKey.Type, PubKeyBytes: bytes.Clone(p.CometKey)})
	a.log.Info("validator set change", "action", p.Action.String(), "validator", fmt.Sprintf("%X", nc.addrs[t]), "power", powers[t], "from_height", e.From, "proposal", hex.EncodeToString(id[:8]))
	return nil
}

// runQueued runs, at the start of block h, the first waiting proposal
// (in id order) that still passes with the set in force at h.
func (a *App) runQueued(c *chain, b *store.Batch, h int64, blk *govBlock) error {
	if c.govBusy(h) {
		return nil
	}
	q, err := b.Range([]byte(bucketGovern), []byte{'q'}, []byte{'r'})
	if err != nil {
		return err
	}
	get := batchGetter(b)
	put := func(bucket string, k, v []byte) { b.Put([]byte(bucket), k, v) }
	for _, kv := range q {
		id := kv.Key[1:]
		v, err := b.Get([]byte(bucketGovern), govKey('p', id))
		if err != nil {
			return err
		}
		var g *govProposal
		if v != nil {
			if g, err = unmarshalGovProposal(v); err != nil {
				return err
			}
		}
		if g == nil || g.Ran > 0 {
			b.Delete([]byte(bucketGovern), kv.Key)
			continue
		}
		if pw, total := approvedPower(c, h, g); !twoThirds(pw, total) {
			continue
		}
		if _, terr := a.fits(c, &g.Proposal); terr != nil {
			continue // it may fit again after another change
		}
		b.Delete([]byte(bucketGovern), kv.Key)
		var pid [32]byte
		copy(pid[:], id)
		if terr := a.runProposal(c, get, put, h, pid, g, blk); terr != nil {
			return fmt.Errorf("running proposal %x: %s", id[:8], terr.msg)
		}
		return nil
	}
	return nil
}

// SetChange is one change of the validator set as the chain made it.
type SetChange struct {
	From      int64 // first height the new set is in force
	Decided   int64 // the block that ran it
	ID        [32]byte
	Proposal  wire.Proposal
	Proposed  int64
	Approvals []GovApproval // every approval the chain counted, in order
}

// SetHistory returns the genesis validators (with their genesis powers)
// and every change of the set since, oldest first.
func (a *App) SetHistory() ([]GenesisValidator, []SetChange, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, nil, ErrNotInitialised
	}
	gen := slices.Clone(c.genesis.Validators[:len(c.epochs[0].Powers)])
	for i := range gen {
		gen[i].Power = c.epochs[0].Powers[i]
	}
	var out []SetChange
	err := a.store.View(func(tx store.Tx) error {
		for _, e := range c.epochs[1:] {
			v := tx.Get([]byte(bucketGovern), govKey('p', e.Proposal[:]))
			if v == nil {
				return fmt.Errorf("governance: the proposal of the set from height %d is missing", e.From)
			}
			g, err := unmarshalGovProposal(v)
			if err != nil {
				return err
			}
			out = append(out, SetChange{From: e.From, Decided: e.Decided, ID: e.Proposal, Proposal: g.Proposal, Proposed: g.Proposed, Approvals: g.Approvals})
		}
		return nil
	})
	return gen, out, err
}

// viewParams is the set a record view shows powers of: the one in force
// at its decision, or the newest while it is pending.
func (c *chain) viewParams(decided int64) *tally.Params {
	if decided > 0 {
		return c.paramsAt(decided)
	}
	return c.params
}

func powerIn(p *tally.Params, v int) int64 {
	if v < len(p.Powers) {
		return p.Powers[v]
	}
	return 0
}

// GovNonce is the last governance nonce validator v used (0: none yet);
// its next approval carries one more.
func (a *App) GovNonce(v int) (uint64, error) {
	if v < 0 || v >= wire.MaxVotes {
		return 0, fmt.Errorf("validator index %d out of range", v)
	}
	var n uint64
	err := a.store.View(func(tx store.Tx) error {
		if b := tx.Get([]byte(bucketGovern), govKey('n', u16(uint16(v)))); len(b) == 8 {
			n = binary.BigEndian.Uint64(b)
		}
		return nil
	})
	return n, err
}

// GovernanceView is what the API shows of governance: every validator
// ever registered with its power now and its last nonce, the set's
// history, and the proposals still open.
type GovernanceView struct {
	Validators []GovValidatorView `json:"validators"`
	History    []GovChangeView    `json:"history"`
	Open       []GovChangeView    `json:"open"`
}

// GovValidatorView is one registered validator.
type GovValidatorView struct {
	Index       int      `json:"index"`
	Name        string   `json:"name,omitempty"`
	Address     HexBytes `json:"address"`
	PubKey      PubKey   `json:"pub_key"`
	ZiggyPubKey HexBytes `json:"ziggy_pub_key"`
	Power       int64    `json:"power"`
	Nonce       uint64   `json:"nonce"` // last governance nonce used; the next approval carries nonce+1
}

// GovChangeView is one proposal, run (with From and Decided) or open.
type GovChangeView struct {
	ID        HexBytes          `json:"id"`
	Action    string            `json:"action"`
	PubKey    PubKey            `json:"pub_key"`
	Address   HexBytes          `json:"address,omitempty"`
	Name      string            `json:"name,omitempty"`
	Moniker   string            `json:"moniker,omitempty"` // as proposed (an addition's)
	ZiggyKey  HexBytes          `json:"ziggy_pub_key,omitempty"`
	Power     int64             `json:"power"`
	Seq       uint64            `json:"seq"`
	Proposed  int64             `json:"proposed"`
	Decided   int64             `json:"decided,omitempty"`
	From      int64             `json:"from,omitempty"`
	Approvals []GovApprovalView `json:"approvals"`
	Approved  int64             `json:"approved_power"` // in the set in force now (open) or that ran it
	Total     int64             `json:"total_power"`
}

// GovApprovalView is one approval.
type GovApprovalView struct {
	Validator int    `json:"validator"`
	Name      string `json:"name,omitempty"`
	Nonce     uint64 `json:"nonce"`
}

// MaxOpenProposals bounds the open proposals Governance lists.
const MaxOpenProposals = 1000

// Governance returns the governance view.
func (a *App) Governance() (*GovernanceView, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, ErrNotInitialised
	}
	out := &GovernanceView{Validators: []GovValidatorView{}, History: []GovChangeView{}, Open: []GovChangeView{}}
	h := a.last.Load().height
	view := func(id []byte, g *govProposal, at int64) GovChangeView {
		p := g.Proposal
		v := GovChangeView{ID: HexBytes(bytes.Clone(id)), Action: p.Action.String(), PubKey: PubKey{Type: p.KeyType, Value: p.CometKey},
			Name: p.Moniker, Moniker: p.Moniker, ZiggyKey: HexBytes(p.ZiggyKey), Power: p.Power, Seq: p.Seq, Proposed: g.Proposed, Approvals: []GovApprovalView{}}
		if t := c.target(&p); t >= 0 {
			v.Address, v.Name = HexBytes(c.addrs[t]), c.genesis.Validators[t].Name
		}
		for _, ap := range g.Approvals {
			av := GovApprovalView{Validator: int(ap.Validator), Nonce: ap.Nonce}
			if int(ap.Validator) < len(c.genesis.Validators) {
				av.Name = c.genesis.Validators[ap.Validator].Name
			}
			v.Approvals = append(v.Approvals, av)
		}
		v.Approved, v.Total = approvedPower(c, at, g)
		return v
	}
	err := a.store.View(func(tx store.Tx) error {
		for i, gv := range c.genesis.Validators {
			vv := GovValidatorView{Index: i, Name: gv.Name, Address: HexBytes(c.addrs[i]), PubKey: gv.PubKey, ZiggyPubKey: gv.ZiggyPubKey, Power: gv.Power}
			if b := tx.Get([]byte(bucketGovern), govKey('n', u16(uint16(i)))); len(b) == 8 {
				vv.Nonce = binary.BigEndian.Uint64(b)
			}
			out.Validators = append(out.Validators, vv)
		}
		for _, e := range c.epochs[1:] {
			b := tx.Get([]byte(bucketGovern), govKey('p', e.Proposal[:]))
			if b == nil {
				continue
			}
			g, err := unmarshalGovProposal(b)
			if err != nil {
				return err
			}
			v := view(e.Proposal[:], g, e.Decided)
			v.Decided, v.From = e.Decided, e.From
			out.History = append(out.History, v)
		}
		var err error
		tx.Scan([]byte(bucketGovern), []byte{'p'}, []byte{'q'}, func(k, b []byte) bool {
			g, e := unmarshalGovProposal(b)
			if e != nil {
				err = e
				return false
			}
			if g.Ran == 0 {
				out.Open = append(out.Open, view(k[1:], g, h+1))
			}
			return len(out.Open) < MaxOpenProposals
		})
		return err
	})
	return out, err
}

// SetChangedAt reports whether block h ran a validator-set change: the
// header of h+1 then names the new set (next_validators_hash), and
// receipts of later records carry it, so the node archives it.
func (a *App) SetChangedAt(h int64) bool {
	c := a.chain.Load()
	if c == nil {
		return false
	}
	for _, e := range c.epochs[1:] {
		if e.Decided == h {
			return true
		}
	}
	return false
}

// CometValidatorsAt returns the CometBFT validator set in force at h:
// what the header of h names and what signs its commit.
func (a *App) CometValidatorsAt(h int64) (*cmttypes.ValidatorSet, error) {
	c, err := a.mustChain()
	if err != nil {
		return nil, err
	}
	e := c.epochAt(h)
	var vs []*cmttypes.Validator
	for i, p := range e.Powers {
		if p > 0 {
			vs = append(vs, cmttypes.NewValidator(c.pubs[i], p))
		}
	}
	return cmttypes.NewValidatorSet(vs), nil
}
