package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the wire-format version this package writes and reads.
const Version = 1

// MaxPayload is the largest payload a data frame may carry: 1 MiB.
const MaxPayload = 1 << 20

// Sizes of the encoded messages, in bytes.
const (
	DataHeaderSize = 2 + 8 + 8 + 4               // version, kind, seq, time, len
	GapSize        = 2 + 8 + 8                   // version, kind, from, to
	EndSize        = 2 + 8                       // version, kind, next
	BehindSize     = 2 + 8                       // version, kind, next
	MaxMessageSize = DataHeaderSize + MaxPayload // the largest valid message
)

// FromParam is the query parameter a subscriber names its first seq with.
const FromParam = "from"

// CloseTooSlow is the WebSocket close code a source uses when it drops a
// subscriber that fell behind its replay buffer (a private-use code).
const CloseTooSlow = 4001

// Kind says what a message is.
type Kind uint8

// The message kinds.
const (
	KindData Kind = 1 // one frame of the stream
	KindGap  Kind = 2 // frames the source no longer has
	KindEnd  Kind = 3 // the stream is finished
	// KindBehind says the source has not produced the subscriber's first
	// seq yet: its next frame is Next. A source sends it once, at the
	// start of a subscription from a seq beyond its next, so an observer
	// that waits for a restarted source knows it, instead of meeting
	// silence.
	KindBehind Kind = 4
)

func (k Kind) String() string {
	switch k {
	case KindData:
		return "data"
	case KindGap:
		return "gap"
	case KindEnd:
		return "end"
	case KindBehind:
		return "behind"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Frame is one message of a stream.
type Frame struct {
	Seq     uint64 // position in the stream, from 0
	Time    int64  // source timestamp, Unix nanoseconds
	Payload []byte // at most MaxPayload bytes
}

// Message is one decoded wire message: exactly one of its parts is
// meaningful, according to Kind.
type Message struct {
	Kind  Kind
	Frame Frame  // KindData
	From  uint64 // KindGap: first missing seq
	To    uint64 // KindGap: last missing seq (inclusive)
	Next  uint64 // KindEnd: the number of frames the stream had; KindBehind: the source's next seq
}

// Errors returned by the codec. Decode wraps ErrMalformed with details.
var (
	ErrMalformed  = errors.New("malformed frame")
	ErrTooLarge   = errors.New("frame payload too large")
	ErrBadVersion = errors.New("unsupported frame version")
)

// AppendData appends the encoding of f to dst.
func AppendData(dst []byte, f Frame) ([]byte, error) {
	if len(f.Payload) > MaxPayload {
		return dst, fmt.Errorf("%w: %d bytes, the limit is %d (1 MiB): split the data into smaller frames", ErrTooLarge, len(f.Payload), MaxPayload)
	}
	dst = append(dst, Version, byte(KindData))
	dst = binary.BigEndian.AppendUint64(dst, f.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(f.Time))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(f.Payload)))
	return append(dst, f.Payload...), nil
}

// EncodeData returns the encoding of f in a new slice.
func EncodeData(f Frame) ([]byte, error) {
	return AppendData(make([]byte, 0, DataHeaderSize+len(f.Payload)), f)
}

// EncodeGap returns a gap message for the missing seqs from..to
// (inclusive). It panics if from > to, which is a programming error.
func EncodeGap(from, to uint64) []byte {
	if from > to {
		panic(fmt.Sprintf("frame: gap from %d to %d is empty", from, to))
	}
	b := make([]byte, 0, GapSize)
	b = append(b, Version, byte(KindGap))
	b = binary.BigEndian.AppendUint64(b, from)
	return binary.BigEndian.AppendUint64(b, to)
}

// EncodeEnd returns an end message for a stream of next frames.
func EncodeEnd(next uint64) []byte {
	b := make([]byte, 0, EndSize)
	b = append(b, Version, byte(KindEnd))
	return binary.BigEndian.AppendUint64(b, next)
}

// EncodeBehind returns the message of a source whose next frame is next,
// before the seq a subscriber asked for.
func EncodeBehind(next uint64) []byte {
	b := make([]byte, 0, BehindSize)
	b = append(b, Version, byte(KindBehind))
	return binary.BigEndian.AppendUint64(b, next)
}

// Decode parses one message. It accepts exactly the encodings the Encode
// functions produce and rejects everything else with an error; it never
// panics. A data frame's payload aliases b.
func Decode(b []byte) (Message, error) {
	if len(b) < 2 {
		return Message{}, fmt.Errorf("%w: %d bytes, too short for a header", ErrMalformed, len(b))
	}
	if b[0] != Version {
		return Message{}, fmt.Errorf("%w %d: this build reads version %d; upgrade the older side", ErrBadVersion, b[0], Version)
	}
	switch k := Kind(b[1]); k {
	case KindData:
		if len(b) < DataHeaderSize {
			return Message{}, fmt.Errorf("%w: data message of %d bytes, the header alone is %d", ErrMalformed, len(b), DataHeaderSize)
		}
		n := binary.BigEndian.Uint32(b[18:22])
		if n > MaxPayload {
			return Message{}, fmt.Errorf("%w: payload of %d bytes, the limit is %d", ErrTooLarge, n, MaxPayload)
		}
		if rest := len(b) - DataHeaderSize; uint64(rest) != uint64(n) {
			return Message{}, fmt.Errorf("%w: length field says %d payload bytes, %d follow", ErrMalformed, n, rest)
		}
		return Message{Kind: k, Frame: Frame{
			Seq:     binary.BigEndian.Uint64(b[2:10]),
			Time:    int64(binary.BigEndian.Uint64(b[10:18])),
			Payload: b[DataHeaderSize:len(b):len(b)],
		}}, nil
	case KindGap:
		if len(b) != GapSize {
			return Message{}, fmt.Errorf("%w: gap message of %d bytes, want %d", ErrMalformed, len(b), GapSize)
		}
		from, to := binary.BigEndian.Uint64(b[2:10]), binary.BigEndian.Uint64(b[10:18])
		if from > to {
			return Message{}, fmt.Errorf("%w: gap from %d to %d is empty", ErrMalformed, from, to)
		}
		return Message{Kind: k, From: from, To: to}, nil
	case KindEnd:
		if len(b) != EndSize {
			return Message{}, fmt.Errorf("%w: end message of %d bytes, want %d", ErrMalformed, len(b), EndSize)
		}
		return Message{Kind: k, Next: binary.BigEndian.Uint64(b[2:10])}, nil
	case KindBehind:
		if len(b) != BehindSize {
			return Message{}, fmt.Errorf("%w: behind message of %d bytes, want %d", ErrMalformed, len(b), BehindSize)
		}
		return Message{Kind: k, Next: binary.BigEndian.Uint64(b[2:10])}, nil
	default:
		return Message{}, fmt.Errorf("%w: unknown message kind %d", ErrMalformed, b[1])
	}
}

// Encode returns the canonical encoding of m, the inverse of Decode.
func Encode(m Message) ([]byte, error) {
	switch m.Kind {
	case KindData:
		return EncodeData(m.Frame)
	case KindGap:
		if m.From > m.To {
			return nil, fmt.Errorf("%w: gap from %d to %d is empty", ErrMalformed, m.From, m.To)
		}
		return EncodeGap(m.From, m.To), nil
	case KindEnd:
		return EncodeEnd(m.Next), nil
	case KindBehind:
		return EncodeBehind(m.Next), nil
	}
	return nil, fmt.Errorf("%w: unknown message kind %d", ErrMalformed, uint8(m.Kind))
}
