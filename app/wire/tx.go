package wire

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// TxMagic starts every mempool transaction: "DDtx" and the format version
// 1, then a kind byte. The injected commit has its own magic.
var TxMagic = []byte{'D', 'D', 't', 'x', 1}

// TxKind says what a mempool transaction does.
type TxKind uint8

// The transaction kinds.
const (
	KindChunk    TxKind = 1 // a pushed chunk (ChunkTx)
	KindRegister TxKind = 2 // a stream registration by its owner (RegisterTx)
	KindExpert   TxKind = 3 // an expert's endorsement or dispute of a record (ExpertTx)
)

// Limits of the transactions. A pushed chunk carries its bytes in the
// transaction, so MaxChunkDataBytes is the largest chunk a push stream can
// have; the gateway closes chunks before it.
const (
	MaxChunkDataBytes = 1 << 20         // bytes of messages in one public chunk
	MaxChunkMessages  = 4096            // messages in one pushed chunk
	MaxTxBytes        = 1<<20 + 256<<10 // any transaction, with signatures and headers
	MaxSpecBytes      = 64 << 10        // a registration's JSON stream spec
	MaxNoteBytes      = 1024            // an expert's note
	MaxPublicKeyBytes = 64              // a producer's, owner's or expert's public key
	OriginSize        = 16              // a gateway log's random identity
)

// ChunkTx is a pushed chunk. Exactly one of two forms:
//
//   - public: Messages holds the chunk's messages (seqs FirstSeq,
//     FirstSeq+1, …); every validator hashes them itself and evaluates the
//     stream's rules on them.
//   - private: Digest and Lengths only; the data stays with the producer,
//     and a producer signature is required.
//
// Index is chosen by the producer on streams that require producer
// signatures (it is inside the signed digest); on other push streams the
// chain assigns the stream's next index and Index must be zero. Origin and
// FirstSeq name the chunk in its gateway's log, so a resent chunk is
// recognised and answered with its first index instead of being counted
// twice.
type ChunkTx struct {
	Stream    string
	Origin    [OriginSize]byte
	Index     uint64
	FirstSeq  uint64
	Offset    uint64 // byte offset of the chunk's first message in the stream
	Private   bool
	Messages  [][]byte // public form
	Digest    Digest   // private form: the producer's digest
	Lengths   []uint32 // private form: each message's length
	Producer  []byte   // producer public key, or empty
	Signature []byte   // producer signature over ProducerSignBytes, or empty
}

// ProducerSignDomain separates producers' chunk signatures.
const ProducerSignDomain = "datadragon/producer/v1"

// ProducerSignBytes is what a producer signs for a chunk:
//
//	SHA-256("datadragon/producer/v1" ‖ u8 len ‖ chain id ‖ u8 len ‖ stream ‖
//	        u64 index ‖ u64 offset ‖ digest)
//
// The digest already binds the stream, index, seqs and bytes; the chain id
// keeps a signature from being replayed on another network, and the offset
// is the chunk's place in the producer's file.
func ProducerSignBytes(chainID, stream string, index, offset uint64, d Digest) []byte {
	w := codec.Writer{}
	w.Raw([]byte(ProducerSignDomain))
	w.Bytes8([]byte(chainID))
	w.Bytes8([]byte(stream))
	w.U64(index)
	w.U64(offset)
	w.Raw(d[:])
	s := sha256.Sum256(w.B)
	return s[:]
}

// DataBytes returns the number of data bytes the chunk stands for.
func (c *ChunkTx) DataBytes() uint64 {
	var n uint64
	if c.Private {
		for _, l := range c.Lengths {
			n += uint64(l)
		}
		return n
	}
	for _, m := range c.Messages {
		n += uint64(len(m))
	}
	return n
}

// Count returns the number of messages.
func (c *ChunkTx) Count() int {
	if c.Private {
		return len(c.Lengths)
	}
	return len(c.Messages)
}

// Validate checks the chunk's form and limits (not the signature or the
// chain's state).
func (c *ChunkTx) Validate() error {
	if err := ValidateStreamID(c.Stream); err != nil {
		return err
	}
	n := c.Count()
	if n == 0 {
		return errors.New("chunk has no messages")
	}
	if n > MaxChunkMessages {
		return fmt.Errorf("chunk has %d messages, the limit is %d", n, MaxChunkMessages)
	}
	if c.FirstSeq > 1<<62 || c.Offset > 1<<62 || c.Index > 1<<62 {
		return errors.New("chunk seq, offset or index out of range")
	}
	if c.Private {
		if len(c.Messages) != 0 {
			return errors.New("a private chunk carries no messages")
		}
		if c.Digest.IsZero() {
			return errors.New("a private chunk needs its digest")
		}
		if len(c.Signature) == 0 {
			return errors.New("a private chunk needs the producer's signature")
		}
		// The same bound as public chunks: records and verifiers read
		// these lengths, so they must describe a chunk of sane size.
		if c.DataBytes() > MaxChunkDataBytes {
			return fmt.Errorf("private chunk of %d bytes, the limit for a chunk is %d", c.DataBytes(), MaxChunkDataBytes)
		}
	} else {
		if len(c.Lengths) != 0 || !c.Digest.IsZero() {
			return errors.New("a public chunk carries messages, not a digest or lengths")
		}
		if c.DataBytes() > MaxChunkDataBytes {
			return fmt.Errorf("chunk of %d bytes, the limit for data in a transaction is %d", c.DataBytes(), MaxChunkDataBytes)
		}
	}
	if (len(c.Producer) == 0) != (len(c.Signature) == 0) {
		return errors.New("producer key and signature go together")
	}
	if len(c.Producer) > MaxPublicKeyBytes {
		return fmt.Errorf("producer key of %d bytes, the limit is %d", len(c.Producer), MaxPublicKeyBytes)
	}
	if len(c.Signature) > MaxSignatureBytes {
		return fmt.Errorf("producer signature of %d bytes, the limit is %d", len(c.Signature), MaxSignatureBytes)
	}
	return nil
}

// Marshal returns the canonical encoding:
//
//	magic ‖ u8 kind (1) ‖ u8 len ‖ stream ‖ origin[16] ‖ u64 index ‖
//	u64 first seq ‖ u64 offset ‖ u8 private ‖ u16 n ‖
//	public:  n × (u32 len ‖ bytes)
//	private: digest[32] ‖ n × u32 len
//	‖ u8 len ‖ producer ‖ u16 len ‖ signature
func (c *ChunkTx) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	size := 128 + 4*c.Count() + len(c.Signature)
	if !c.Private {
		size += int(c.DataBytes()) // bounded by Validate
	}
	w := codec.Writer{B: make([]byte, 0, size)}
	w.Raw(TxMagic)
	w.U8(uint8(KindChunk))
	w.Bytes8([]byte(c.Stream))
	w.Raw(c.Origin[:])
	w.U64(c.Index)
	w.U64(c.FirstSeq)
	w.U64(c.Offset)
	w.Bool(c.Private)
	w.U16(uint16(c.Count()))
	if c.Private {
		w.Raw(c.Digest[:])
		for _, l := range c.Lengths {
			w.U32(l)
		}
	} else {
		for _, m := range c.Messages {
			w.Bytes32(m)
		}
	}
	w.Bytes8(c.Producer)
	w.Bytes16(c.Signature)
	return w.B, nil
}

// RegisterTx registers a stream, or replaces the registration of a stream
// it registered before: Spec is the stream's JSON (app.Stream), Owner the
// owner's public key, Nonce larger than the previous registration's.
type RegisterTx struct {
	Spec      []byte
	Owner     []byte
	Nonce     uint64
	Signature []byte
}

// RegisterSignDomain separates owners' registration signatures.
const RegisterSignDomain = "datadragon/register/v1"

// RegisterSignBytes is what an owner signs:
//
//	SHA-256("datadragon/register/v1" ‖ u8 len ‖ chain id ‖ u8 len ‖ owner ‖
//	        u64 nonce ‖ u32 len ‖ spec)
func RegisterSignBytes(chainID string, owner []byte, nonce uint64, spec []byte) []byte {
	w := codec.Writer{}
	w.Raw([]byte(RegisterSignDomain))
	w.Bytes8([]byte(chainID))
	w.Bytes8(owner)
	w.U64(nonce)
	w.Bytes32(spec)
	s := sha256.Sum256(w.B)
	return s[:]
}

// Validate checks limits.
func (r *RegisterTx) Validate() error {
	switch {
	case len(r.Spec) == 0 || len(r.Spec) > MaxSpecBytes:
		return fmt.Errorf("stream spec of %d bytes, want 1 to %d", len(r.Spec), MaxSpecBytes)
	case len(r.Owner) == 0 || len(r.Owner) > MaxPublicKeyBytes:
		return fmt.Errorf("owner key of %d bytes, want 1 to %d", len(r.Owner), MaxPublicKeyBytes)
	case len(r.Signature) == 0 || len(r.Signature) > MaxSignatureBytes:
		return fmt.Errorf("owner signature of %d bytes, want 1 to %d", len(r.Signature), MaxSignatureBytes)
	case r.Nonce == 0 || r.Nonce > 1<<62:
		return errors.New("registration nonce must be between 1 and 2^62")
	}
	return nil
}

// Marshal: magic ‖ u8 kind (2) ‖ u32 len ‖ spec ‖ u8 len ‖ owner ‖
// u64 nonce ‖ u16 len ‖ signature.
func (r *RegisterTx) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{}
	w.Raw(TxMagic)
	w.U8(uint8(KindRegister))
	w.Bytes32(r.Spec)
	w.Bytes8(r.Owner)
	w.U64(r.Nonce)
	w.Bytes16(r.Signature)
	return w.B, nil
}

// ExpertTx is an expert's signed endorsement (or dispute) of a record.
type ExpertTx struct {
	Stream    string
	Index     uint64
	Digest    Digest // the record's digest the expert judged
	Dispute   bool
	Note      string // UTF-8, at most MaxNoteBytes
	Expert    []byte
	Signature []byte
}

// ExpertSignDomain separates experts' signatures.
const ExpertSignDomain = "datadragon/expert/v1"

// ExpertSignBytes is what an expert signs:
//
//	SHA-256("datadragon/expert/v1" ‖ u8 len ‖ chain id ‖ u8 len ‖ stream ‖
//	        u64 index ‖ digest ‖ u8 dispute ‖ u16 len ‖ note)
func ExpertSignBytes(chainID, stream string, index uint64, d Digest, dispute bool, note string) []byte {
	w := codec.Writer{}
	w.Raw([]byte(ExpertSignDomain))
	w.Bytes8([]byte(chainID))
	w.Bytes8([]byte(stream))
	w.U64(index)
	w.Raw(d[:])
	w.Bool(dispute)
	w.Bytes16([]byte(note))
	s := sha256.Sum256(w.B)
	return s[:]
}

// Validate checks form and limits.
func (e *ExpertTx) Validate() error {
	if err := ValidateStreamID(e.Stream); err != nil {
		return err
	}
	switch {
	case e.Index > 1<<62:
		return errors.New("index out of range")
	case e.Digest.IsZero():
		return errors.New("an expert judges a record's digest; it is missing")
	case len(e.Note) > MaxNoteBytes || !utf8.ValidString(e.Note):
		return fmt.Errorf("note must be UTF-8 of at most %d bytes", MaxNoteBytes)
	case len(e.Expert) == 0 || len(e.Expert) > MaxPublicKeyBytes:
		return fmt.Errorf("expert key of %d bytes, want 1 to %d", len(e.Expert), MaxPublicKeyBytes)
	case len(e.Signature) == 0 || len(e.Signature) > MaxSignatureBytes:
		return fmt.Errorf("expert signature of %d bytes, want 1 to %d", len(e.Signature), MaxSignatureBytes)
	}
	return nil
}

// Marshal: magic ‖ u8 kind (3) ‖ u8 len ‖ stream ‖ u64 index ‖ digest ‖
// u8 dispute ‖ u16 len ‖ note ‖ u8 len ‖ expert ‖ u16 len ‖ signature.
func (e *ExpertTx) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{}
	w.Raw(TxMagic)
	w.U8(uint8(KindExpert))
	w.Bytes8([]byte(e.Stream))
	w.U64(e.Index)
	w.Raw(e.Digest[:])
	w.Bool(e.Dispute)
	w.Bytes16([]byte(e.Note))
	w.Bytes8(e.Expert)
	w.Bytes16(e.Signature)
	return w.B, nil
}

// Tx is a decoded mempool transaction: exactly one field is set.
type Tx struct {
	Chunk    *ChunkTx
	Fetch    *FetchChunkTx
	Register *RegisterTx
	Expert   *ExpertTx
	Govern   *GovernTx
}

// IsTx reports whether b starts with TxMagic.
func IsTx(b []byte) bool { return bytes.HasPrefix(b, TxMagic) }

// UnmarshalTx decodes a mempool transaction; it never panics, and checks
// every limit before allocating.
func UnmarshalTx(b []byte) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("transaction of %d bytes, the limit is %d", len(b), MaxTxBytes)
	}
	if !IsTx(b) {
		return nil, errors.New("not a DataDragon transaction (no DDtx magic, or another version)")
	}
	r := codec.NewReader(b[len(TxMagic):])
	kind := TxKind(r.U8())
	var tx Tx
	var check func() error
	switch kind {
	case KindChunk:
		c := &ChunkTx{}
		c.Stream = string(r.Bytes8(MaxStreamIDLen, "stream id"))
		r.Fixed(c.Origin[:])
		c.Index = r.U64()
		c.FirstSeq = r.U64()
		c.Offset = r.U64()
		c.Private = r.Bool()
		n := int(r.U16())
		if n > MaxChunkMessages {
			r.Failf("chunk has %d messages, the limit is %d", n, MaxChunkMessages)
		}
		if c.Private {
			r.Fixed(c.Digest[:])
			if r.Err() == nil && n*4 > r.Remaining() {
				r.Fail(codec.ErrShort)
			}
			for i := 0; i < n && r.Err() == nil; i++ {
				c.Lengths = append(c.Lengths, r.U32())
			}
		} else {
			if r.Err() == nil && n*4 > r.Remaining() {
				r.Fail(codec.ErrShort)
			}
			if r.Err() == nil {
				c.Messages = make([][]byte, 0, n)
			}
			for i := 0; i < n && r.Err() == nil; i++ {
				c.Messages = append(c.Messages, r.Bytes32(MaxChunkDataBytes, "message"))
			}
		}
		c.Producer = r.Bytes8(MaxPublicKeyBytes, "producer key")
		c.Signature = r.Bytes16(MaxSignatureBytes, "producer signature")
		tx.Chunk, check = c, c.Validate
	case KindFetchChunk:
		c := readFetchChunk(r)
		tx.Fetch, check = c, c.Validate
	case KindRegister:
		g := &RegisterTx{}
		g.Spec = r.Bytes32(MaxSpecBytes, "stream spec")
		g.Owner = r.Bytes8(MaxPublicKeyBytes, "owner key")
		g.Nonce = r.U64()
		g.Signature = r.Bytes16(MaxSignatureBytes, "owner signature")
		tx.Register, check = g, g.Validate
	case KindExpert:
		e := &ExpertTx{}
		e.Stream = string(r.Bytes8(MaxStreamIDLen, "stream id"))
		e.Index = r.U64()
		r.Fixed(e.Digest[:])
		e.Dispute = r.Bool()
		e.Note = string(r.Bytes16(MaxNoteBytes, "note"))
		e.Expert = r.Bytes8(MaxPublicKeyBytes, "expert key")
		e.Signature = r.Bytes16(MaxSignatureBytes, "expert signature")
		tx.Expert, check = e, e.Validate
	case KindGovern:
		g := readGovern(r)
		tx.Govern, check = g, g.Validate
	default:
		if r.Err() == nil {
			return nil, fmt.Errorf("unknown transaction kind %d", kind)
		}
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("transaction: %w", err)
	}
	if err := check(); err != nil {
		return nil, fmt.Errorf("transaction: %w", err)
	}
	return &tx, nil
}
