package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/url"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// KindFetchChunk is a gateway-chunked pushed chunk that names its bytes
// instead of carrying them (FetchChunkTx).
const KindFetchChunk TxKind = 4

// Limits of a fetched chunk. Its bytes travel beside consensus, from the
// gateway or any node holding them, so the chunk may be far larger than a
// transaction. 16 MiB keeps a 1 GiB file at 64 records, while one chunk
// still fits comfortably in a validator's memory while it hashes it and
// takes well under a second to fetch on a LAN; the whole chunk is the unit
// a receipt proves, so larger would make every receipt check read more.
const (
	MaxFetchedChunkBytes = 16 << 20
	MaxFetchSourceLen    = 256 // the fetch location's URL
)

// ContentID names a fetched chunk's bytes before the chain has given the
// chunk an index (the chunk digest binds the index, so it cannot be known
// when the transaction is made):
//
//	SHA-256("datadragon/pushed/v1" ‖ u8 len ‖ stream ‖ origin[16] ‖
//	        u64 first seq ‖ for each message: u32 len ‖ data)
//
// Every validator recomputes it from the bytes it fetched and attests
// them only if it matches.
type ContentID [32]byte

func (c ContentID) String() string { return hex.EncodeToString(c[:]) }

// ParseContentID reads the 64 hex digits String writes.
func ParseContentID(s string) (ContentID, error) {
	var c ContentID
	if len(s) != 64 {
		return c, errors.New("a content id is 64 hex digits")
	}
	if _, err := hex.Decode(c[:], []byte(s)); err != nil {
		return c, fmt.Errorf("content id: %w", err)
	}
	return c, nil
}

// ContentHasher computes a ContentID message by message.
type ContentHasher struct{ h hash.Hash }

// NewContentHasher starts the ContentID of a chunk.
func NewContentHasher(stream string, origin [OriginSize]byte, firstSeq uint64) *ContentHasher {
	h := sha256.New()
	h.Write([]byte("datadragon/pushed/v1"))
	h.Write([]byte{byte(len(stream))})
	h.Write([]byte(stream))
	h.Write(origin[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], firstSeq)
	h.Write(b[:])
	return &ContentHasher{h: h}
}

// Add hashes the next message.
func (c *ContentHasher) Add(m []byte) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(len(m)))
	c.h.Write(b[:])
	c.h.Write(m)
}

// Sum returns the ContentID.
func (c *ContentHasher) Sum() ContentID {
	var id ContentID
	c.h.Sum(id[:0])
	return id
}

// FetchChunkTx is a pushed chunk of a stream without producers whose
// bytes are fetched by every validator rather than carried: the gateway
// submits what consensus needs — the stream, its log's origin and first
// seq (idempotency), the message lengths, the ContentID of the bytes and
// where they can be fetched. The chain assigns the index; each validator
// fetches the bytes, checks them against Lengths and Content, hashes the
// chunk digest itself, runs the stream's rules and attests — or attests a
// gap if it could not get matching bytes within its fetch window.
type FetchChunkTx struct {
	Stream   string
	Origin   [OriginSize]byte
	FirstSeq uint64
	Offset   uint64
	Lengths  []uint32
	Content  ContentID
	Source   string // base URL of a node API serving GET /v1/push/bytes/{content}
}

// DataBytes returns the sum of the message lengths.
func (c *FetchChunkTx) DataBytes() uint64 {
	var n uint64
	for _, l := range c.Lengths {
		n += uint64(l)
	}
	return n
}

// Validate checks form and limits.
func (c *FetchChunkTx) Validate() error {
	if err := ValidateStreamID(c.Stream); err != nil {
		return err
	}
	var zero [OriginSize]byte
	switch n := len(c.Lengths); {
	case n == 0:
		return errors.New("chunk has no messages")
	case n > MaxChunkMessages:
		return fmt.Errorf("chunk has %d messages, the limit is %d", n, MaxChunkMessages)
	case c.Origin == zero:
		return errors.New("a gateway-chunked push needs its gateway log's origin")
	case c.FirstSeq > 1<<62 || c.Offset > 1<<62:
		return errors.New("chunk seq or offset out of range")
	case c.DataBytes() > MaxFetchedChunkBytes:
		return fmt.Errorf("chunk of %d bytes, the limit for a fetched chunk is %d", c.DataBytes(), MaxFetchedChunkBytes)
	case c.Content == ContentID{}:
		return errors.New("a fetched chunk needs the content id of its bytes")
	case len(c.Source) == 0 || len(c.Source) > MaxFetchSourceLen:
		return fmt.Errorf("fetch source of %d bytes, want 1 to %d", len(c.Source), MaxFetchSourceLen)
	}
	u, err := url.Parse(c.Source)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("fetch source %q is not an http(s) base URL", c.Source)
	}
	return nil
}

// Marshal returns the canonical encoding:
//
//	magic ‖ u8 kind (4) ‖ u8 len ‖ stream ‖ origin[16] ‖ u64 first seq ‖
//	u64 offset ‖ u16 n ‖ n × u32 len ‖ content[32] ‖ u16 len ‖ source
func (c *FetchChunkTx) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{B: make([]byte, 0, 96+4*len(c.Lengths)+len(c.Source))}
	w.Raw(TxMagic)
	w.U8(uint8(KindFetchChunk))
	w.Bytes8([]byte(c.Stream))
	w.Raw(c.Origin[:])
	w.U64(c.FirstSeq)
	w.U64(c.Offset)
	w.U16(uint16(len(c.Lengths)))
	for _, l := range c.Lengths {
		w.U32(l)
	}
	w.Raw(c.Content[:])
	w.Bytes16([]byte(c.Source))
	return w.B, nil
}

func readFetchChunk(r *codec.Reader) *FetchChunkTx {
	c := &FetchChunkTx{}
	c.Stream = string(r.Bytes8(MaxStreamIDLen, "stream id"))
	r.Fixed(c.Origin[:])
	c.FirstSeq = r.U64()
	c.Offset = r.U64()
	n := int(r.U16())
	if n > MaxChunkMessages {
		r.Failf("chunk has %d messages, the limit is %d", n, MaxChunkMessages)
	}
	if r.Err() == nil && n*4 > r.Remaining() {
		r.Fail(codec.ErrShort)
	}
	if r.Err() == nil {
		c.Lengths = make([]uint32, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		c.Lengths = append(c.Lengths, r.U32())
	}
	r.Fixed(c.Content[:])
	c.Source = string(r.Bytes16(MaxFetchSourceLen, "fetch source"))
	return c
}
