package digest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
)

// Domain is the domain-separation prefix of every chunk digest.
const Domain = "datadragon/chunk/v1"

// Bounds of the encoding.
const (
	MaxStreamLen  = 1<<16 - 1 // bytes of stream id a u16 length can carry
	MaxMessageLen = 1<<32 - 1 // bytes of one message a u32 length can carry
)

// Size is the length of a digest in bytes.
const Size = sha256.Size

// Digest is a chunk digest.
type Digest [Size]byte

// Message is one message of a chunk as the digest sees it.
type Message struct {
	Seq  uint64
	Data []byte
}

// ErrInvalid is wrapped by every error of this package.
var ErrInvalid = errors.New("invalid chunk for digest")

// Compute returns the digest of the chunk index of stream holding msgs,
// which must be in strictly increasing seq order.
func Compute(stream string, index uint64, msgs []Message) (Digest, error) {
	h, err := NewHasher(stream, index)
	if err != nil {
		return Digest{}, err
	}
	for _, m := range msgs {
		if err := h.Add(m.Seq, m.Data); err != nil {
			return Digest{}, err
		}
	}
	return h.Sum()
}

// Hasher computes a digest message by message, without holding the
// messages.
type Hasher struct {
	h    hash.Hash
	n    int
	last uint64
	hdr  [12]byte
}

// NewHasher starts the digest of chunk index of stream.
func NewHasher(stream string, index uint64) (*Hasher, error) {
	if len(stream) == 0 || len(stream) > MaxStreamLen {
		return nil, fmt.Errorf("%w: stream id of %d bytes, want 1 to %d", ErrInvalid, len(stream), MaxStreamLen)
	}
	h := sha256.New()
	var buf [2 + 8]byte
	h.Write([]byte(Domain))
	binary.BigEndian.PutUint16(buf[:2], uint16(len(stream)))
	h.Write(buf[:2])
	h.Write([]byte(stream))
	binary.BigEndian.PutUint64(buf[2:], index)
	h.Write(buf[2:])
	return &Hasher{h: h}, nil
}

// Add appends one message. Seqs must strictly increase.
func (x *Hasher) Add(seq uint64, data []byte) error {
	if x.n > 0 && seq <= x.last {
		return fmt.Errorf("%w: seq %d after seq %d: messages must be in strictly increasing seq order", ErrInvalid, seq, x.last)
	}
	if uint64(len(data)) > MaxMessageLen {
		return fmt.Errorf("%w: message %d has %d bytes, the limit is %d", ErrInvalid, seq, len(data), uint64(MaxMessageLen))
	}
	binary.BigEndian.PutUint64(x.hdr[:8], seq)
	binary.BigEndian.PutUint32(x.hdr[8:], uint32(len(data)))
	x.h.Write(x.hdr[:])
	x.h.Write(data)
	x.n++
	x.last = seq
	return nil
}

// Sum returns the digest of the messages added so far. A chunk needs at
// least one message.
func (x *Hasher) Sum() (Digest, error) {
	if x.n == 0 {
		return Digest{}, fmt.Errorf("%w: a chunk has at least one message", ErrInvalid)
	}
	var d Digest
	x.h.Sum(d[:0])
	return d, nil
}

// String returns the digest as 64 lowercase hex digits.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the zero value (no digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText encodes d as lowercase hex, for JSON.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses 64 hex digits.
func (d *Digest) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Parse reads a digest written as 64 hex digits.
func Parse(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*Size {
		return d, fmt.Errorf("digest %q: want %d hex digits, got %d", s, 2*Size, len(s))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("digest %q: %v", s, err)
	}
	return d, nil
}
