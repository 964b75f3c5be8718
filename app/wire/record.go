package wire

import (
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/merkle"
)

// RecordVersion is the version byte of a record of an observed chunk;
// RecordVersionPush that of a pushed chunk, whose encoding ends with the
// push section (PushInfo). Each record has exactly one encoding.
const (
	RecordVersion     = 1
	RecordVersionPush = 2
)

// Status is where a chunk stands.
type Status uint8

// The statuses. Only decided chunks (accepted or disputed) have a record.
const (
	StatusPending  Status = 0 // attested, not decided yet
	StatusAccepted Status = 1 // one claim held more than the threshold of total power
	StatusDisputed Status = 2 // no claim did within the dispute window
)

// String returns "pending", "accepted" or "disputed".
func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusAccepted:
		return "accepted"
	case StatusDisputed:
		return "disputed"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Outcome is what one validator's part in one chunk came to.
type Outcome uint8

// The outcomes.
const (
	// OutcomeNone: no attestation counted (yet). After the settle window
	// it becomes OutcomeAbsent.
	OutcomeNone Outcome = 0
	// OutcomeAgreed: attested the accepted claim.
	OutcomeAgreed Outcome = 1
	// OutcomeFaulty: attested another digest or verdict than the accepted
	// one; counted in the validator's faulty counter.
	OutcomeFaulty Outcome = 2
	// OutcomeGap: reported missing frames only.
	OutcomeGap Outcome = 3
	// OutcomeEquivocated: attested two different claims for the chunk; its
	// vote counts for nothing and it is counted faulty.
	OutcomeEquivocated Outcome = 4
	// OutcomeAttested: attested a chunk that ended disputed (there is no
	// majority to agree or disagree with).
	OutcomeAttested Outcome = 5
	// OutcomeAbsent: nothing heard by the end of the settle window.
	OutcomeAbsent Outcome = 6
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeNone:
		return "none"
	case OutcomeAgreed:
		return "agreed"
	case OutcomeFaulty:
		return "faulty"
	case OutcomeGap:
		return "gap"
	case OutcomeEquivocated:
		return "equivocated"
	case OutcomeAttested:
		return "attested"
	case OutcomeAbsent:
		return "absent"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// RecordAttestation is one validator's attestation as a record keeps it,
// with where it came from so a receipt can fetch the signed extension: the
// block at Height carries, as its first transaction, the injected commit
// whose vote number Vote holds the extension, whose attestation number
// Leaf this is.
type RecordAttestation struct {
	Validator []byte // CometBFT address
	Power     int64
	Digest    Digest
	TimeMs    int64
	Verdict   Verdict
	Height    int64
	Vote      uint16
	Leaf      uint16
	Outcome   Outcome
}

// Record is the decided result for one chunk. Its encoding is a leaf of
// the record root of the block that decided it (accepted records only).
type Record struct {
	Stream        string
	Index         uint64
	Status        Status
	Digest        Digest  // accepted digest; zero when disputed
	Verdict       Verdict // accepted verdict; zero when disputed
	TimeMs        int64   // power-weighted median of the majority's times; 0 when disputed
	FirstHeight   int64   // block that first counted an attestation for the chunk
	DecidedHeight int64   // block that accepted or disputed it
	Power         int64   // power behind the accepted claim (0 when disputed)
	TotalPower    int64   // total voting power of the validator set
	Attestations  []RecordAttestation
	// Push is set for chunks pushed through a gateway or by a producer:
	// where the chunk lies in the pushed data and who signed it.
	Push *PushInfo
	// Raw is set for chunks of raw streams (record version 3, raw.go).
	Raw *RawInfo
}

// PushInfo is what the chain learnt from a pushed chunk's transaction.
type PushInfo struct {
	Origin   [OriginSize]byte // the gateway log it came from (zero for producer-chunked pushes)
	FirstSeq uint64
	Offset   uint64   // byte offset of the chunk in the pushed stream or file
	Lengths  []uint32 // each message's length: cuts the pushed file back into the chunk's messages
	Private  bool     // only the digest was on chain
	Producer []byte   // producer public key; empty if unsigned
	// SignatureHash is the SHA-256 of the producer's signature (zero if
	// unsigned); a receipt carries the signature itself.
	SignatureHash Digest
	TxHeight      int64 // block that carried the chunk's transaction
}

// Bytes returns the chunk's data length.
func (p *PushInfo) Bytes() uint64 {
	var n uint64
	for _, l := range p.Lengths {
		n += uint64(l)
	}
	return n
}

// Key returns the record's chunk.
func (r *Record) Key() ChunkKey { return ChunkKey{r.Stream, r.Index} }

const recordAttestationMinBytes = 1 + 8 + DigestSize + 8 + 1 + 4 + 8 + 2 + 2 + 1

// Marshal returns the canonical encoding:
//
//	u8 version (1) ‖ u8 len ‖ stream ‖ u64 index ‖ u8 status ‖ digest[32] ‖
//	u8 verdict kind ‖ u32 code ‖ i64 time_ms ‖ u64 first height ‖
//	u64 decided height ‖ u64 power ‖ u64 total power ‖ u16 n ‖ n × (
//	  u8 len ‖ validator address ‖ u64 power ‖ digest[32] ‖ i64 time_ms ‖
//	  u8 verdict kind ‖ u32 code ‖ u64 height ‖ u16 vote ‖ u16 leaf ‖
//	  u8 outcome)
//
// A raw chunk's record (version 3) continues with
//
//	id[32] ‖ close[32] ‖ content[32] ‖ u32 count ‖ u64 position
//
// A pushed chunk's record (version 2) continues with
//
//	origin[16] ‖ u64 first seq ‖ u64 offset ‖ u16 n ‖ n × u32 length ‖
//	u8 private ‖ u8 len ‖ producer ‖ signature hash[32] ‖ u64 tx height
func (r *Record) Marshal() []byte {
	w := codec.Writer{B: make([]byte, 0, 128+len(r.Attestations)*(recordAttestationMinBytes+20))}
	if r.Push != nil {
		w.U8(RecordVersionPush)
	} else if r.Raw != nil {
		w.U8(RecordVersionRaw)
	} else {
		w.U8(RecordVersion)
	}
	w.Bytes8([]byte(r.Stream))
	w.U64(r.Index)
	w.U8(uint8(r.Status))
	w.Raw(r.Digest[:])
	w.U8(uint8(r.Verdict.Kind))
	w.U32(r.Verdict.Code)
	w.I64(r.TimeMs)
	w.I64(r.FirstHeight)
	w.I64(r.DecidedHeight)
	w.I64(r.Power)
	w.I64(r.TotalPower)
	w.U16(uint16(len(r.Attestations)))
	for _, a := range r.Attestations {
		w.Bytes8(a.Validator)
		w.I64(a.Power)
		w.Raw(a.Digest[:])
		w.I64(a.TimeMs)
		w.U8(uint8(a.Verdict.Kind))
		w.U32(a.Verdict.Code)
		w.I64(a.Height)
		w.U16(a.Vote)
		w.U16(a.Leaf)
		w.U8(uint8(a.Outcome))
	}
	if p := r.Push; p != nil {
		w.Raw(p.Origin[:])
		w.U64(p.FirstSeq)
		w.U64(p.Offset)
		w.U16(uint16(len(p.Lengths)))
		for _, l := range p.Lengths {
			w.U32(l)
		}
		w.Bool(p.Private)
		w.Bytes8(p.Producer)
		w.Raw(p.SignatureHash[:])
		w.I64(p.TxHeight)
	}
	if r.Raw != nil && r.Push == nil {
		r.Raw.append(&w)
	}
	return w.B
}

// LeafHash returns the record's leaf hash in a block's record root.
func (r *Record) LeafHash() merkle.Hash { return merkle.LeafHash(r.Marshal()) }

// UnmarshalRecord decodes a record; it never panics.
func UnmarshalRecord(b []byte) (*Record, error) {
	rd := codec.NewReader(b)
	version := rd.U8()
	if rd.Err() == nil && version != RecordVersion && version != RecordVersionPush && version != RecordVersionRaw {
		return nil, fmt.Errorf("record version %d, this node reads versions %d, %d and %d", version, RecordVersion, RecordVersionPush, RecordVersionRaw)
	}
	r := &Record{}
	r.Stream = string(rd.Bytes8(MaxStreamIDLen, "stream id"))
	r.Index = rd.U64()
	r.Status = Status(rd.U8())
	rd.Fixed(r.Digest[:])
	r.Verdict.Kind = VerdictKind(rd.U8())
	r.Verdict.Code = rd.U32()
	r.TimeMs = rd.I64()
	r.FirstHeight = rd.I64()
	r.DecidedHeight = rd.I64()
	r.Power = rd.I64()
	r.TotalPower = rd.I64()
	n := rd.Count(MaxVotes, recordAttestationMinBytes, "record attestations")
	if n > 0 {
		r.Attestations = make([]RecordAttestation, 0, n)
	}
	for i := 0; i < n && rd.Err() == nil; i++ {
		var a RecordAttestation
		a.Validator = rd.Bytes8(MaxAddressLen, "validator address")
		a.Power = rd.I64()
		rd.Fixed(a.Digest[:])
		a.TimeMs = rd.I64()
		a.Verdict.Kind = VerdictKind(rd.U8())
		a.Verdict.Code = rd.U32()
		a.Height = rd.I64()
		a.Vote = rd.U16()
		a.Leaf = rd.U16()
		a.Outcome = Outcome(rd.U8())
		r.Attestations = append(r.Attestations, a)
	}
	if version == RecordVersionPush && rd.Err() == nil {
		p := &PushInfo{}
		rd.Fixed(p.Origin[:])
		p.FirstSeq = rd.U64()
		p.Offset = rd.U64()
		n := rd.Count(MaxChunkMessages, 4, "pushed message lengths")
		for i := 0; i < n && rd.Err() == nil; i++ {
			p.Lengths = append(p.Lengths, rd.U32())
		}
		p.Private = rd.Bool()
		p.Producer = rd.Bytes8(MaxPublicKeyBytes, "producer key")
		rd.Fixed(p.SignatureHash[:])
		p.TxHeight = rd.I64()
		r.Push = p
	}
	if version == RecordVersionRaw && rd.Err() == nil {
		r.Raw = readRawInfo(rd)
	}
	if err := rd.Done(); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if r.Raw != nil {
		if err := r.checkRaw(); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	if r.Status != StatusAccepted && r.Status != StatusDisputed {
		return nil, fmt.Errorf("record: status %d is not accepted (1) or disputed (2)", r.Status)
	}
	if err := ValidateStreamID(r.Stream); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	if r.Status == StatusAccepted {
		if err := r.Verdict.Validate(); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	for i, a := range r.Attestations {
		if err := a.Verdict.Validate(); err != nil {
			return nil, fmt.Errorf("record attestation %d: %w", i, err)
		}
		if a.Outcome > OutcomeAbsent {
			return nil, fmt.Errorf("record attestation %d: unknown outcome %d", i, a.Outcome)
		}
	}
	return r, nil
}

// RecordRoot returns the Merkle root over the leaf hashes of records, in
// the order given (the app orders a block's records by chunk key).
func RecordRoot(records []*Record) merkle.Hash {
	leaves := make([]merkle.Hash, len(records))
	for i, r := range records {
		leaves[i] = r.LeafHash()
	}
	return merkle.Root(leaves)
}
