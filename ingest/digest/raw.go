package digest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
)

// The raw digest: how DataDragon hashes a chunk of an unmodified
// third-party feed (a "raw" stream). It is defined here once; the chunker,
// the app, receipts and the verify command all call these functions.
//
//	n(m)        the message after normalisation (Normalize.Apply)
//	boundary(m) = SHA-256("datadragon/raw/boundary/v1" ‖ n(m))
//	chunk id    = boundary(first message of the chunk)
//	close       = boundary(first message of the next chunk)
//	content     = SHA-256("datadragon/raw/content/v1"
//	                      ‖ for each message, in arrival order:
//	                            u32 BE len(n(m)) ‖ n(m))
//	digest      = SHA-256("datadragon/raw/v1"
//	                      ‖ u16 BE len(stream) ‖ stream
//	                      ‖ chunk id ‖ close ‖ u32 BE count ‖ content)
//
// Domain strings are ASCII with no length prefix and no terminator.
const (
	RawBoundaryDomain = "datadragon/raw/boundary/v1"
	RawContentDomain  = "datadragon/raw/content/v1"
	RawDomain         = "datadragon/raw/v1"
)

// Limits of normalisation specs.
const (
	MaxNormalizeFields = 16  // names in DropFields, values in IgnoreValues
	MaxFieldNameLen    = 128 // bytes of one field name or ignored value
)

// Normalize is a raw stream's declared normalisation: which messages carry
// no data (heartbeats) and which fields differ per connection (ids,
// sequence numbers of the connection) and so must not be hashed.
//
// Exactly what Apply does, so that anyone can recompute a digest:
//
//  1. A message that is not one valid JSON object (after optional
//     whitespace, '{' … '}', as RFC 8259 and Go's json.Valid define it),
//     text or binary, is kept byte for byte and never ignored.
//  2. If IgnoreField is set and the object has a top-level member of that
//     name whose value is one of IgnoreValues, the message is ignored: it
//     is not part of any chunk and does not count. A string value is
//     compared after JSON unescaping; any other value by its JSON text
//     (e.g. true, 0).
//  3. If the object has top-level members named in DropFields (names
//     compared after unescaping), it is rewritten as '{', the bytes of
//     every other member in order (from the opening quote of its key to
//     the last byte of its value, inner whitespace kept) joined by ',', and
//     '}'. Whitespace between members is thus removed. If no member is
//     dropped the message is kept byte for byte.
//
// Nested objects are never touched.
type Normalize struct {
	IgnoreField  string   `json:"ignore_field,omitempty"`
	IgnoreValues []string `json:"ignore_values,omitempty"`
	DropFields   []string `json:"drop_fields,omitempty"`
}

// Validate checks the bounds of a spec.
func (n *Normalize) Validate() error {
	if len(n.IgnoreValues) > MaxNormalizeFields || len(n.DropFields) > MaxNormalizeFields {
		return fmt.Errorf("normalisation lists at most %d ignored values and %d dropped fields", MaxNormalizeFields, MaxNormalizeFields)
	}
	if (n.IgnoreField == "") != (len(n.IgnoreValues) == 0) {
		return fmt.Errorf("normalisation: give ignore_field and ignore_values together (e.g. \"type\" and [\"heartbeat\"])")
	}
	for _, s := range append(append([]string{n.IgnoreField}, n.IgnoreValues...), n.DropFields...) {
		if len(s) > MaxFieldNameLen {
			return fmt.Errorf("normalisation: %.20q… is %d bytes, the limit is %d", s, len(s), MaxFieldNameLen)
		}
	}
	for _, s := range n.DropFields {
		if s == "" {
			return fmt.Errorf("normalisation: an empty name in drop_fields")
		}
	}
	return nil
}

// IsZero reports whether the spec changes nothing.
func (n *Normalize) IsZero() bool {
	return n.IgnoreField == "" && len(n.IgnoreValues) == 0 && len(n.DropFields) == 0
}

// member is one top-level member of an object: its key, decoded, and the
// byte spans of the whole member and of its value.
type member struct {
	key        string
	start, end int // member: key's opening quote to value's last byte + 1
	vstart     int // value's first byte
}

// Apply normalises msg. ignore reports a message to leave out; otherwise
// out is what is hashed (msg itself when nothing changes). msg is not
// modified.
func (n *Normalize) Apply(msg []byte) (out []byte, ignore bool) {
	if n.IsZero() {
		return msg, false
	}
	ms, ok := topMembers(msg)
	if !ok {
		return msg, false
	}
	if n.IgnoreField != "" {
		for _, m := range ms {
			if m.key != n.IgnoreField {
				continue
			}
			v := msg[m.vstart:m.end]
			cmp := string(v)
			if v[0] == '"' {
				var s string
				if json.Unmarshal(v, &s) == nil {
					cmp = s
				}
			}
			if slices.Contains(n.IgnoreValues, cmp) {
				return nil, true
			}
		}
	}
	drop := false
	for _, m := range ms {
		if slices.Contains(n.DropFields, m.key) {
			drop = true
			break
		}
	}
	if !drop {
		return msg, false
	}
	out = make([]byte, 0, len(msg))
	out = append(out, '{')
	first := true
	for _, m := range ms {
		if slices.Contains(n.DropFields, m.key) {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, msg[m.start:m.end]...)
	}
	return append(out, '}'), false
}

// Field returns the JSON text of msg's top-level member name (the last
// one, if repeated), or nil when msg is not a JSON object or has none.
func Field(msg []byte, name string) []byte {
	ms, ok := topMembers(msg)
	if !ok {
		return nil
	}
	var v []byte
	for _, m := range ms {
		if m.key == name {
			v = msg[m.vstart:m.end]
		}
	}
	return v
}

// topMembers lists the top-level members of msg if it is one valid JSON
// object.
func topMembers(msg []byte) ([]member, bool) {
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' || !json.Valid(msg) {
		return nil, false
	}
	// msg is valid JSON from here on, so the scan need not check syntax.
	i = skipWS(msg, i+1)
	var ms []member
	if msg[i] == '}' {
		return ms, true
	}
	for {
		start := i
		kend := skipString(msg, i)
		var key string
		if err := json.Unmarshal(msg[start:kend], &key); err != nil {
			return nil, false
		}
		i = skipWS(msg, kend)
		i = skipWS(msg, i+1) // the colon
		vstart := i
		i = skipValue(msg, i)
		ms = append(ms, member{key: key, start: start, end: i, vstart: vstart})
		i = skipWS(msg, i)
		if msg[i] == '}' {
			return ms, true
		}
		i = skipWS(msg, i+1) // the comma
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default:
		for i < len(b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(b[i])) {
			i++
		}
		return i
	}
}

// Boundary returns a normalised message's boundary hash: a chunk's id is
// the boundary hash of its first message.
func Boundary(norm []byte) Digest {
	h := sha256.New()
	h.Write([]byte(RawBoundaryDomain))
	h.Write(norm)
	var d Digest
	h.Sum(d[:0])
	return d
}

// RawHasher computes the content hash of a raw chunk message by message.
type RawHasher struct {
	h hash.Hash
	n uint32
}

// NewRawHasher starts a content hash.
func NewRawHasher() *RawHasher {
	h := sha256.New()
	h.Write([]byte(RawContentDomain))
	return &RawHasher{h: h}
}

// Add appends one normalised message.
func (x *RawHasher) Add(norm []byte) error {
	if uint64(len(norm)) > MaxMessageLen {
		return fmt.Errorf("%w: message of %d bytes", ErrInvalid, len(norm))
	}
	if x.n == 1<<32-1 {
		return fmt.Errorf("%w: too many messages", ErrInvalid)
	}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(len(norm)))
	x.h.Write(l[:])
	x.h.Write(norm)
	x.n++
	return nil
}

// Count returns the messages added.
func (x *RawHasher) Count() uint32 { return x.n }

// Sum returns the content hash.
func (x *RawHasher) Sum() Digest {
	var d Digest
	x.h.Sum(d[:0])
	return d
}

// RawDigest binds a raw chunk's stream, id, closing boundary, message count
// and content hash into the digest validators attest.
func RawDigest(stream string, id, close Digest, count uint32, content Digest) (Digest, error) {
	if len(stream) == 0 || len(stream) > MaxStreamLen {
		return Digest{}, fmt.Errorf("%w: stream id of %d bytes", ErrInvalid, len(stream))
	}
	if count == 0 {
		return Digest{}, fmt.Errorf("%w: a chunk has at least one message", ErrInvalid)
	}
	h := sha256.New()
	h.Write([]byte(RawDomain))
	var b [4]byte
	binary.BigEndian.PutUint16(b[:2], uint16(len(stream)))
	h.Write(b[:2])
	h.Write([]byte(stream))
	h.Write(id[:])
	h.Write(close[:])
	binary.BigEndian.PutUint32(b[:], count)
	h.Write(b[:])
	h.Write(content[:])
	var d Digest
	h.Sum(d[:0])
	return d, nil
}

// ComputeRaw recomputes a raw chunk's digest from the messages as captured
// (before normalisation): ignored messages are skipped, the first kept
// message must have boundary hash id. close is the chunk's closing
// boundary (the next chunk's id).
func ComputeRaw(stream string, n Normalize, id, close Digest, captured [][]byte) (Digest, error) {
	x := NewRawHasher()
	for _, m := range captured {
		norm, ign := n.Apply(m)
		if ign {
			continue
		}
		if x.Count() == 0 && Boundary(norm) != id {
			return Digest{}, fmt.Errorf("%w: the first kept message has boundary hash %s, the chunk id is %s: the data starts at another message", ErrInvalid, Boundary(norm), id)
		}
		if err := x.Add(norm); err != nil {
			return Digest{}, err
		}
	}
	return RawDigest(stream, id, close, x.Count(), x.Sum())
}
