package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/merkle"
)

// An epoch summary is one Ziggy signature by a validator over the Merkle
// root of the extension roots it signed over a span of heights (its
// epoch). It says exactly what the per-height extension signatures say —
// "this validator signed attestation root R at extension height x" — for
// every extension of the span at once, so that a node's receipt archive
// may keep one ~20 KB signature per validator and epoch instead of one per
// height. It rides on chain as a mempool transaction of its own magic
// (not a DDtx kind: it changes no state and no tally), so every node's
// archive sees the same summaries at the same heights.

// SummaryMagic starts a summary transaction: "DDsm" and format version 1.
var SummaryMagic = []byte{'D', 'D', 's', 'm', 1}

// SummaryDomain starts the message a summary's Ziggy signature covers;
// SummaryLeafDomain starts each leaf. Both differ from ExtensionDomain, so
// no signature or hash of one kind is ever taken for the other.
const (
	SummaryDomain     = "datadragon/summary/v1"
	SummaryLeafDomain = "datadragon/summary-leaf/v1"
)

// MaxSummarySpan bounds the heights one summary covers (and so its
// leaves, one per non-empty extension at most).
const MaxSummarySpan = 1 << 16

// MaxSummaryTxBytes bounds an encoded summary transaction.
const MaxSummaryTxBytes = 64 + 255 + MaxSignatureBytes

// SummaryTx is a validator's epoch summary: its extensions at extension
// heights First…Last (inclusive) that made it into blocks, Leaves of them,
// under Root, signed with the validator's Ziggy key over
// SummarySignBytes.
type SummaryTx struct {
	Validator []byte // CometBFT address
	First     int64
	Last      int64
	Leaves    uint32
	Root      merkle.Hash
	Signature []byte
}

// Validate checks what needs no key: heights, span, counts, lengths.
func (s *SummaryTx) Validate() error {
	if len(s.Validator) == 0 || len(s.Validator) > 255 {
		return fmt.Errorf("summary: validator address of %d bytes", len(s.Validator))
	}
	if s.First < 1 || s.Last < s.First || s.Last > 1<<62 {
		return fmt.Errorf("summary: heights %d…%d are not a span of heights ≥ 1", s.First, s.Last)
	}
	if s.Last-s.First+1 > MaxSummarySpan {
		return fmt.Errorf("summary: span of %d heights, the limit is %d", s.Last-s.First+1, MaxSummarySpan)
	}
	if s.Leaves == 0 || int64(s.Leaves) > s.Last-s.First+1 {
		return fmt.Errorf("summary: %d leaves for %d heights (one at most per height, at least one)", s.Leaves, s.Last-s.First+1)
	}
	if len(s.Signature) == 0 || len(s.Signature) > MaxSignatureBytes {
		return fmt.Errorf("summary: signature of %d bytes (1…%d)", len(s.Signature), MaxSignatureBytes)
	}
	return nil
}

// Marshal validates s and encodes it:
//
//	"DDsm" 1 ‖ u8 len ‖ address ‖ u64 first ‖ u64 last ‖ u32 leaves ‖
//	root ‖ u32 len ‖ signature
func (s *SummaryTx) Marshal() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{B: make([]byte, 0, 64+len(s.Validator)+len(s.Signature))}
	w.Raw(SummaryMagic)
	w.Bytes8(s.Validator)
	w.U64(uint64(s.First))
	w.U64(uint64(s.Last))
	w.U32(s.Leaves)
	w.Raw(s.Root[:])
	w.Bytes32(s.Signature)
	return w.B, nil
}

// IsSummaryTx reports whether b starts with SummaryMagic.
func IsSummaryTx(b []byte) bool { return bytes.HasPrefix(b, SummaryMagic) }

// UnmarshalSummaryTx decodes and validates a summary transaction. It
// never panics and checks every length before allocating.
func UnmarshalSummaryTx(b []byte) (*SummaryTx, error) {
	if len(b) > MaxSummaryTxBytes {
		return nil, fmt.Errorf("summary transaction of %d bytes, the limit is %d", len(b), MaxSummaryTxBytes)
	}
	if !IsSummaryTx(b) {
		return nil, errors.New("not a summary transaction (no DDsm magic, or another version)")
	}
	r := codec.NewReader(b[len(SummaryMagic):])
	s := &SummaryTx{}
	s.Validator = r.Bytes8(255, "validator address")
	s.First = int64(r.U64() & (1<<63 - 1))
	s.Last = int64(r.U64() & (1<<63 - 1))
	s.Leaves = r.U32()
	r.Fixed(s.Root[:])
	s.Signature = r.Bytes32(MaxSignatureBytes, "signature")
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("summary transaction: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	// Canonical: a height's top bit, masked above, must not have been set.
	again, _ := s.Marshal()
	if !bytes.Equal(again, b) {
		return nil, errors.New("summary transaction: not canonical")
	}
	return s, nil
}

// SignBytes is what the summary's signature covers (SummarySignBytes).
func (s *SummaryTx) SignBytes(chainID string) []byte {
	return SummarySignBytes(chainID, s.Validator, s.First, s.Last, s.Leaves, s.Root)
}

// SummarySignBytes returns the 32-byte message of a summary signature:
//
//	SHA-256("datadragon/summary/v1" ‖ u8 len ‖ chain id ‖ u8 len ‖ address ‖
//	        u64 first ‖ u64 last ‖ u32 leaves ‖ root)
func SummarySignBytes(chainID string, address []byte, first, last int64, leaves uint32, root merkle.Hash) []byte {
	w := codec.Writer{}
	w.Raw([]byte(SummaryDomain))
	w.Bytes8([]byte(chainID))
	w.Bytes8(address)
	w.U64(uint64(first))
	w.U64(uint64(last))
	w.U32(leaves)
	w.Raw(root[:])
	sum := sha256.Sum256(w.B)
	return sum[:]
}

// SummaryLeaf is the Merkle leaf hash of one extension in a summary: the
// leaf data is "datadragon/summary-leaf/v1" ‖ u64 extension height ‖ the
// extension's attestation root (the root its own signature would cover).
func SummaryLeaf(height int64, root merkle.Hash) merkle.Hash {
	b := make([]byte, 0, len(SummaryLeafDomain)+8+32)
	b = append(b, SummaryLeafDomain...)
	b = append(b, byte(height>>56), byte(height>>48), byte(height>>40), byte(height>>32),
		byte(height>>24), byte(height>>16), byte(height>>8), byte(height))
	b = append(b, root[:]...)
	return merkle.LeafHash(b)
}

// UnsignedExtension returns an encoded extension without its signature
// (the signed payload: what an archive keeps once a summary stands for
// the signature).
func UnsignedExtension(raw []byte) ([]byte, error) {
	e, err := UnmarshalExtension(raw)
	if err != nil || e == nil {
		return nil, fmt.Errorf("unsigned extension: %v", err)
	}
	return raw[:len(raw)-4-len(e.Signature)], nil
}

// UnmarshalUnsignedExtension decodes what UnsignedExtension returns; the
// extension it gives has no signature.
func UnmarshalUnsignedExtension(b []byte) (*Extension, error) {
	if len(b) == 0 || len(b) > MaxExtensionBytes-5 {
		return nil, fmt.Errorf("unsigned extension of %d bytes", len(b))
	}
	// The signed form with a one-byte placeholder signature decodes with
	// every check of UnmarshalExtension; the placeholder is then removed.
	full := append(append(make([]byte, 0, len(b)+5), b...), 0, 0, 0, 1, 0)
	e, err := UnmarshalExtension(full)
	if err != nil {
		return nil, err
	}
	e.Signature = nil
	return e, nil
}
