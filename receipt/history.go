package receipt

import (
	"bytes"
	"errors"
	"fmt"

	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
)

// A receipt of a record decided after the validator set changed carries
// the set's history from the genesis: one Change per change, oldest
// first. Verify replays it from the genesis set alone:
//
//   - the change is one governance proposal (add, remove, change power)
//     applied to the previous set, under the chain's rules: one change
//     in flight, less than a third of the power moved;
//   - validators holding more than 2/3 of the previous set's power
//     approved it, each with a Ziggy signature over the chain id, the
//     proposal's id, its validator index and nonce (wire.GovSignBytes);
//     each validator counts once;
//   - the CometBFT header of height From−1 names the previous set in its
//     validators_hash and the new one in its next_validators_hash, and
//     more than 2/3 of the previous set's power signed its commit.
//
// The new set's Ziggy keys are those the approvals signed; its CometBFT
// keys and powers those the previous set committed to. The record is then
// checked against the set in force at its height, and the header after it
// against the set in force there.

// Change is one validator-set change in a receipt's history.
type Change struct {
	From        int64            `json:"from"`    // first height the new set is in force
	Decided     int64            `json:"decided"` // the block that ran it (From − 2)
	Action      string           `json:"action"`  // add, remove or power
	PubKey      PubKey           `json:"pub_key"` // the validator's CometBFT key
	ZiggyPubKey HexBytes         `json:"ziggy_pub_key,omitempty"`
	Power       int64            `json:"power"`
	PrevPower   int64            `json:"prev_power"` // the validator's power before (0 for a new one)
	Name        string           `json:"name,omitempty"`
	Seq         uint64           `json:"seq"`
	Approvals   []Approval       `json:"approvals"`
	Header      *cmttypes.Header `json:"header"` // height From − 1
	Commit      *cmttypes.Commit `json:"commit"` // for Header
}

// Approval is one validator's signed approval of a change.
type Approval struct {
	Validator int      `json:"validator"` // index in the registry (genesis order, then additions)
	Nonce     uint64   `json:"nonce"`
	Signature HexBytes `json:"signature"` // Ziggy, over wire.GovSignBytes
}

// MaxHistory bounds the changes one receipt may carry.
const MaxHistory = 1 << 16

var actions = map[string]wire.GovAction{"add": wire.GovAdd, "remove": wire.GovRemove, "power": wire.GovPower}

// Proposal is the change as the chain's governance transactions name it.
func (c *Change) Proposal() (wire.Proposal, error) {
	a, ok := actions[c.Action]
	if !ok {
		return wire.Proposal{}, fmt.Errorf("action %q (want add, remove or power)", c.Action)
	}
	p := wire.Proposal{Action: a, KeyType: c.PubKey.Type, CometKey: c.PubKey.Value, ZiggyKey: c.ZiggyPubKey,
		Power: c.Power, Moniker: c.Name, Seq: c.Seq}
	if a == wire.GovRemove {
		p.Power = 0
	}
	return p, p.Validate()
}

// setEpoch is one validator set of a replayed history: the registry
// (every validator ever added, by index) with each one's power.
type setEpoch struct {
	from int64
	vals []genesisValidator
}

func (e *setEpoch) total() int64 {
	var t int64
	for _, v := range e.vals {
		t += v.Power
	}
	return t
}

// cometSet is the CometBFT validator set of the epoch's members.
func (e *setEpoch) cometSet() (*cmttypes.ValidatorSet, error) {
	var cv []*cmttypes.Validator
	for i, v := range e.vals {
		if v.Power == 0 {
			continue
		}
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(v.PubKey.Type, v.PubKey.Value)
		if err != nil {
			return nil, fmt.Errorf("validator %d: %v", i, err)
		}
		cv = append(cv, cmttypes.NewValidator(pk, v.Power))
	}
	return cmttypes.NewValidatorSet(cv), nil
}

// History is a verified validator-set history.
type History struct {
	epochs []setEpoch
}

// At returns the registry with the powers in force at height h.
func (h *History) At(height int64) []genesisValidator {
	e := h.epochs[0]
	for _, x := range h.epochs {
		if x.from <= height {
			e = x
		}
	}
	return e.vals
}

func (h *History) epochAt(height int64) *setEpoch {
	e := &h.epochs[0]
	for i := range h.epochs {
		if h.epochs[i].from <= height {
			e = &h.epochs[i]
		}
	}
	return e
}

// Changes is the number of changes replayed.
func (h *History) Changes() int { return len(h.epochs) - 1 }

// ReplayHistory checks a validator-set history against the genesis (its
// chain id and app_state) and returns the sets it leads to. The error is
// a *LinkError "history" naming the change that fails.
func ReplayHistory(genesis *cmttypes.GenesisDoc, changes []Change, cache *Cache) (*History, error) {
	if genesis == nil {
		return nil, broken("genesis", "no genesis")
	}
	gs, err := trustedGenesis(genesis.AppState)
	if err != nil {
		return nil, broken("genesis", "app_state: %v", err)
	}
	return replay(genesis.ChainID, max(genesis.InitialHeight, 1), gs, changes, cache)
}

func replay(chainID string, initial int64, gs *genesisSet, changes []Change, cache *Cache) (*History, error) {
	if len(changes) > MaxHistory {
		return nil, broken("history", "%d changes, the limit is %d", len(changes), MaxHistory)
	}
	vals := make([]genesisValidator, len(gs.Validators))
	for i, v := range gs.Validators {
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(v.PubKey.Type, v.PubKey.Value)
		if err != nil {
			return nil, broken("genesis", "validator %d: %v", i, err)
		}
		v.Address = HexBytes(pk.Address())
		vals[i] = v
	}
	h := &History{epochs: []setEpoch{{from: initial, vals: vals}}}
	for i := range changes {
		next, err := applyChange(chainID, &h.epochs[len(h.epochs)-1], &changes[i], cache)
		if err != nil {
			return nil, &LinkError{Link: "history", Err: fmt.Errorf("change %d (from height %d): %w", i, changes[i].From, err)}
		}
		h.epochs = append(h.epochs, *next)
	}
	return h, nil
}

// applyChange checks one change against the set before it and returns
// the set after it.
func applyChange(chainID string, prev *setEpoch, c *Change, cache *Cache) (*setEpoch, error) {
	p, err := c.Proposal()
	if err != nil {
		return nil, err
	}
	if c.Decided != c.From-2 {
		return nil, fmt.Errorf("decided at %d, in force from %d: a change is in force two heights after the block that ran it", c.Decided, c.From)
	}
	if c.Decided < prev.from {
		return nil, fmt.Errorf("decided at %d, before the previous change was in force (height %d): one change is in flight at a time", c.Decided, prev.from)
	}
	vals := make([]genesisValidator, len(prev.vals), len(prev.vals)+1)
	copy(vals, prev.vals)
	total := prev.total()
	pk, err := cryptoenc.PubKeyFromTypeAndBytes(p.KeyType, p.CometKey)
	if err != nil || pk.Type() != p.KeyType {
		return nil, fmt.Errorf("the validator's CometBFT key (%s): not a key of that type", p.KeyType)
	}
	t := -1
	for i, v := range vals {
		if bytes.Equal(v.Address, pk.Address()) && bytes.Equal(v.PubKey.Value, p.CometKey) {
			t = i
		}
	}
	if t >= 0 && vals[t].Power != c.PrevPower || t < 0 && c.PrevPower != 0 {
		return nil, fmt.Errorf("prev_power %d is not the validator's power before the change", c.PrevPower)
	}
	var delta int64
	switch p.Action {
	case wire.GovAdd:
		for i, v := range vals {
			if bytes.Equal(v.ZiggyPubKey, p.ZiggyKey) && i != t {
				return nil, fmt.Errorf("the new validator's Ziggy key is validator %d's", i)
			}
		}
		if t >= 0 {
			if vals[t].Power > 0 || !bytes.Equal(vals[t].ZiggyPubKey, p.ZiggyKey) {
				return nil, fmt.Errorf("validator %d is in the set already, or returns with another Ziggy key", t)
			}
			vals[t].Power = p.Power
		} else {
			vals = append(vals, genesisValidator{Name: p.Moniker, Address: HexBytes(pk.Address()),
				PubKey: PubKey{Type: p.KeyType, Value: bytes.Clone(p.CometKey)}, ZiggyPubKey: HexBytes(bytes.Clone(p.ZiggyKey)), Power: p.Power})
		}
		delta = p.Power
	default:
		if t < 0 || vals[t].Power == 0 {
			return nil, errors.New("the validator it names is not in the set")
		}
		delta = vals[t].Power - p.Power
		if delta < 0 {
			delta = -delta
		}
		if delta == 0 {
			return nil, errors.New("it changes nothing")
		}
		vals[t].Power = p.Power
	}
	if 3*delta >= total {
		return nil, fmt.Errorf("it moves power %d of %d: the chain runs no change of a third or more", delta, total)
	}

	// More than 2/3 of the previous set approved it, each once.
	id := p.ID(chainID)
	seen := map[int]bool{}
	var approved int64
	for j, a := range c.Approvals {
		if a.Validator < 0 || a.Validator >= len(prev.vals) || prev.vals[a.Validator].Power == 0 {
			return nil, fmt.Errorf("approval %d: validator %d is not in the previous set", j, a.Validator)
		}
		if seen[a.Validator] {
			return nil, fmt.Errorf("approval %d: validator %d approves twice (a replayed approval counts once)", j, a.Validator)
		}
		seen[a.Validator] = true
		v := prev.vals[a.Validator]
		msg := wire.GovSignBytes(chainID, id, uint16(a.Validator), a.Nonce)
		if err := cache.check(func() error { return (ziggysig.Scheme{}).Verify(v.ZiggyPubKey, msg, a.Signature) },
			[]byte("govern"), v.ZiggyPubKey, msg, a.Signature); err != nil {
			return nil, fmt.Errorf("approval %d: the Ziggy signature of %s does not verify: forged or altered (%v)", j, whoG(v), err)
		}
		approved += v.Power
	}
	if 3*approved <= 2*total {
		return nil, fmt.Errorf("approvals hold %d of %d power, not more than 2/3", approved, total)
	}

	// The previous set committed to the new one.
	next := &setEpoch{from: c.From, vals: vals}
	prevSet, err := prev.cometSet()
	if err != nil {
		return nil, err
	}
	newSet, err := next.cometSet()
	if err != nil {
		return nil, err
	}
	hd, cm := c.Header, c.Commit
	switch {
	case hd == nil || cm == nil:
		return nil, errors.New("no header or commit")
	case hd.ChainID != chainID:
		return nil, fmt.Errorf("header of chain %q", hd.ChainID)
	case hd.Height != c.From-1:
		return nil, fmt.Errorf("header of height %d, want %d (the height before the new set is in force)", hd.Height, c.From-1)
	case !bytes.Equal(hd.ValidatorsHash, prevSet.Hash()):
		return nil, fmt.Errorf("the header's validators_hash %X is not the previous set's %X", []byte(hd.ValidatorsHash), prevSet.Hash())
	case !bytes.Equal(hd.NextValidatorsHash, newSet.Hash()):
		return nil, fmt.Errorf("the header's next_validators_hash %X is not the new set's %X: the header was altered, or the change is not the one the chain made", []byte(hd.NextValidatorsHash), newSet.Hash())
	case cm.Height != hd.Height:
		return nil, fmt.Errorf("commit of height %d for a header of height %d", cm.Height, hd.Height)
	case !bytes.Equal(cm.BlockID.Hash, hd.Hash()):
		return nil, fmt.Errorf("the commit signs block %X, the header hashes to %X: the header was altered", []byte(cm.BlockID.Hash), []byte(hd.Hash()))
	}
	if err := hd.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	cc, cb := cache, commitBytes(cm)
	if cb == nil {
		cc = nil
	}
	if err := cc.check(func() error { return prevSet.VerifyCommit(chainID, cm.BlockID, hd.Height, cm) },
		[]byte("commit"), []byte(chainID), prevSet.Hash(), cb); err != nil {
		return nil, fmt.Errorf("commit by the previous set: %v", err)
	}
	return next, nil
}

func whoG(v genesisValidator) string {
	if v.Name != "" {
		return fmt.Sprintf("validator %s (%s)", v.Name, v.Address)
	}
	return fmt.Sprintf("validator %s", v.Address)
}

// historySets replays r.History and checks r.Validators against the set
// in force at the record's height; it returns that set (by registry
// index) and the CometBFT set of the header after the record.
func historySets(r *Receipt, chainID string, initial int64, gs *genesisSet, cache *Cache) ([]genesisValidator, *cmttypes.ValidatorSet, error) {
	h, err := replay(chainID, initial, gs, r.History, cache)
	if err != nil {
		return nil, nil, err
	}
	last := h.epochs[len(h.epochs)-1].from
	if last > r.Block.Height+1 {
		return nil, nil, broken("history", "the last change is in force from height %d, after the record's block %d and its header: the history carries changes the record does not need", last, r.Block.Height)
	}
	vals := h.At(r.Block.Height)
	if len(r.Validators) != len(vals) {
		return nil, nil, broken("validators", "%d validators, the history gives %d at height %d", len(r.Validators), len(vals), r.Block.Height)
	}
	for i, g := range vals {
		v := r.Validators[i]
		if !bytes.Equal(v.Address, g.Address) || v.PubKey.Type != g.PubKey.Type || !bytes.Equal(v.PubKey.Value, g.PubKey.Value) ||
			!bytes.Equal(v.ZiggyPubKey, g.ZiggyPubKey) || v.Power != g.Power || (v.Name != "" && v.Name != g.Name) {
			return nil, nil, broken("validators", "validator %d (%s) differs from the set the history gives at height %d", i, v.Address, r.Block.Height)
		}
	}
	vs, err := h.epochAt(r.Block.Height + 1).cometSet()
	if err != nil {
		return nil, nil, broken("history", "%v", err)
	}
	return vals, vs, nil
}

// ValidatorsAt returns, as a receipt lists them, the validators in force
// at height from the genesis and a history, without checking the
// history's signatures (ReplayHistory checks them): what a file receipt
// expands each record's validators from.
func ValidatorsAt(genesis []Validator, changes []Change, height int64) []Validator {
	vals := make([]Validator, len(genesis))
	copy(vals, genesis)
	for _, c := range changes {
		if c.From > height {
			break
		}
		t := -1
		for i, v := range vals {
			if v.PubKey.Type == c.PubKey.Type && bytes.Equal(v.PubKey.Value, c.PubKey.Value) {
				t = i
			}
		}
		switch c.Action {
		case "add":
			if t >= 0 {
				vals[t].Power = c.Power
				continue
			}
			var addr []byte
			if pk, err := cryptoenc.PubKeyFromTypeAndBytes(c.PubKey.Type, c.PubKey.Value); err == nil {
				addr = pk.Address()
			}
			vals = append(vals, Validator{Name: c.Name, Address: HexBytes(addr), PubKey: c.PubKey, ZiggyPubKey: c.ZiggyPubKey, Power: c.Power})
		case "remove":
			if t >= 0 {
				vals[t].Power = 0
			}
		case "power":
			if t >= 0 {
				vals[t].Power = c.Power
			}
		}
	}
	return vals
}

// Registry undoes a receipt's history: from the validators in force at
// height (what the receipt lists) back to the genesis set, followed by
// every validator the history adds, each with its genesis power (0 for
// the added ones). It is the validator list a file receipt stores once,
// whatever the heights of its records.
func Registry(at []Validator, changes []Change, height int64) []Validator {
	vals := make([]Validator, len(at))
	copy(vals, at)
	find := func(c *Change) int {
		for i, v := range vals {
			if v.PubKey.Type == c.PubKey.Type && bytes.Equal(v.PubKey.Value, c.PubKey.Value) {
				return i
			}
		}
		return -1
	}
	for i := len(changes) - 1; i >= 0; i-- {
		c := &changes[i]
		if c.From > height {
			continue
		}
		if t := find(c); t >= 0 {
			vals[t].Power = c.PrevPower
		}
	}
	// Additions in force only after height are not among at.
	for i := range changes {
		c := &changes[i]
		if c.From > height && c.Action == "add" && find(c) < 0 {
			var addr []byte
			if pk, err := cryptoenc.PubKeyFromTypeAndBytes(c.PubKey.Type, c.PubKey.Value); err == nil {
				addr = pk.Address()
			}
			vals = append(vals, Validator{Name: c.Name, Address: HexBytes(addr), PubKey: c.PubKey, ZiggyPubKey: c.ZiggyPubKey})
		}
	}
	return vals
}

// GenesisCount is how many of a Registry's validators are the genesis
// set's: a validator is new where the history first names it in an
// addition (a genesis validator is named by its removal first).
func GenesisCount(registry []Validator, changes []Change) int {
	seen := map[string]bool{}
	added := 0
	for _, c := range changes {
		k := c.PubKey.Type + "/" + string(c.PubKey.Value)
		if !seen[k] && c.Action == "add" {
			added++
		}
		seen[k] = true
	}
	return max(len(registry)-added, 0)
}
