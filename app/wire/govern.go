package wire

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// KindGovern is a validator's signed approval of a change to the
// validator set (GovernTx). The first approval of a proposal proposes it.
const KindGovern TxKind = 5

// The actions a governance proposal can take.
type GovAction uint8

const (
	GovAdd    GovAction = 1 // add a validator (or bring a removed one back)
	GovRemove GovAction = 2 // remove a validator: its power becomes 0
	GovPower  GovAction = 3 // change a validator's power
)

func (a GovAction) String() string {
	switch a {
	case GovAdd:
		return "add"
	case GovRemove:
		return "remove"
	case GovPower:
		return "power"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Limits of governance transactions.
const (
	MaxMonikerLen    = 64
	MaxCometKeyBytes = 64 // a CometBFT public key (ed25519: 32, secp256k1: 33)
	MaxKeyTypeLen    = 32
)

// Proposal is a change to the validator set. The target is named by its
// CometBFT key; an addition also carries the new validator's Ziggy key,
// power and moniker. Seq lets the same change be proposed again after an
// earlier one ran (a proposal's identity is its hash, and one that ran
// never runs twice).
type Proposal struct {
	Action   GovAction
	KeyType  string // CometBFT key type ("ed25519")
	CometKey []byte // the target's CometBFT public key
	ZiggyKey []byte // GovAdd: the new validator's Ziggy public key
	Power    int64  // GovAdd, GovPower: the new power
	Moniker  string // GovAdd: the validator's name
	Seq      uint64
}

// GovernTx is one validator's approval of a proposal: the approver's
// validator index, its next governance nonce, and its Ziggy signature of
// GovSignBytes.
type GovernTx struct {
	Proposal  Proposal
	Approver  uint16
	Nonce     uint64
	Signature []byte
}

// GovSignDomain separates governance signatures.
const GovSignDomain = "datadragon/govern/v1"

// Validate checks the proposal's form and limits.
func (p *Proposal) Validate() error {
	switch {
	case p.Action != GovAdd && p.Action != GovRemove && p.Action != GovPower:
		return fmt.Errorf("unknown governance action %d (want add, remove or power)", uint8(p.Action))
	case p.KeyType == "" || len(p.KeyType) > MaxKeyTypeLen:
		return fmt.Errorf("CometBFT key type of %d bytes, want 1 to %d", len(p.KeyType), MaxKeyTypeLen)
	case len(p.CometKey) == 0 || len(p.CometKey) > MaxCometKeyBytes:
		return fmt.Errorf("CometBFT key of %d bytes, want 1 to %d", len(p.CometKey), MaxCometKeyBytes)
	case len(p.Moniker) > MaxMonikerLen || !utf8.ValidString(p.Moniker):
		return fmt.Errorf("moniker must be UTF-8 of at most %d bytes", MaxMonikerLen)
	case p.Power < 0 || p.Power > 1<<50:
		return fmt.Errorf("power %d out of range", p.Power)
	}
	switch p.Action {
	case GovAdd:
		if len(p.ZiggyKey) == 0 || len(p.ZiggyKey) > MaxPublicKeyBytes {
			return fmt.Errorf("an addition needs the validator's Ziggy key (1 to %d bytes); it has %d", MaxPublicKeyBytes, len(p.ZiggyKey))
		}
		if p.Power < 1 {
			return errors.New("an addition needs a power of at least 1")
		}
	case GovRemove:
		if len(p.ZiggyKey) != 0 || p.Power != 0 || p.Moniker != "" {
			return errors.New("a removal names only the validator's CometBFT key")
		}
	case GovPower:
		if len(p.ZiggyKey) != 0 || p.Moniker != "" {
			return errors.New("a power change names only the validator's CometBFT key and the new power")
		}
		if p.Power < 1 {
			return errors.New("a power change needs a power of at least 1; remove the validator instead")
		}
	}
	return nil
}

func (p *Proposal) write(w *codec.Writer) {
	w.U8(uint8(p.Action))
	w.Bytes8([]byte(p.KeyType))
	w.Bytes8(p.CometKey)
	w.Bytes8(p.ZiggyKey)
	w.I64(p.Power)
	w.Bytes8([]byte(p.Moniker))
	w.U64(p.Seq)
}

func readProposal(r *codec.Reader) Proposal {
	var p Proposal
	p.Action = GovAction(r.U8())
	p.KeyType = string(r.Bytes8(MaxKeyTypeLen, "key type"))
	p.CometKey = r.Bytes8(MaxCometKeyBytes, "CometBFT key")
	p.ZiggyKey = r.Bytes8(MaxPublicKeyBytes, "Ziggy key")
	p.Power = r.I64()
	p.Moniker = string(r.Bytes8(MaxMonikerLen, "moniker"))
	p.Seq = r.U64()
	return p
}

// ID is the proposal's identity, bound to the chain:
//
//	SHA-256("datadragon/govern/v1/proposal" ‖ u8 len ‖ chain id ‖ proposal encoding)
func (p *Proposal) ID(chainID string) [32]byte {
	w := codec.Writer{}
	w.Raw([]byte(GovSignDomain + "/proposal"))
	w.Bytes8([]byte(chainID))
	p.write(&w)
	return sha256.Sum256(w.B)
}

// GovSignBytes is what an approver signs with its Ziggy key:
//
//	SHA-256("datadragon/govern/v1" ‖ u8 len ‖ chain id ‖ proposal id ‖
//	        u16 approver ‖ u64 nonce)
//
// The chain id keeps an approval from being replayed on another chain,
// the nonce (the approver's next, strictly increasing) from being
// replayed on this one.
func GovSignBytes(chainID string, id [32]byte, approver uint16, nonce uint64) []byte {
	w := codec.Writer{}
	w.Raw([]byte(GovSignDomain))
	w.Bytes8([]byte(chainID))
	w.Raw(id[:])
	w.U16(approver)
	w.U64(nonce)
	s := sha256.Sum256(w.B)
	return s[:]
}

// Validate checks form and limits.
func (g *GovernTx) Validate() error {
	if err := g.Proposal.Validate(); err != nil {
		return err
	}
	if g.Nonce == 0 {
		return errors.New("governance nonces start at 1")
	}
	if len(g.Signature) == 0 || len(g.Signature) > MaxSignatureBytes {
		return fmt.Errorf("approval signature of %d bytes, want 1 to %d", len(g.Signature), MaxSignatureBytes)
	}
	return nil
}

// Marshal: magic ‖ u8 kind (5) ‖ proposal ‖ u16 approver ‖ u64 nonce ‖
// u16 len ‖ signature, the proposal as u8 action ‖ u8 len ‖ key type ‖
// u8 len ‖ CometBFT key ‖ u8 len ‖ Ziggy key ‖ i64 power ‖ u8 len ‖
// moniker ‖ u64 seq.
func (g *GovernTx) Marshal() ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{}
	w.Raw(TxMagic)
	w.U8(uint8(KindGovern))
	g.Proposal.write(&w)
	w.U16(g.Approver)
	w.U64(g.Nonce)
	w.Bytes16(g.Signature)
	return w.B, nil
}

func readGovern(r *codec.Reader) *GovernTx {
	g := &GovernTx{Proposal: readProposal(r)}
	g.Approver = r.U16()
	g.Nonce = r.U64()
	g.Signature = r.Bytes16(MaxSignatureBytes, "approval signature")
	return g
}
