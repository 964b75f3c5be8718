package ziggy

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"golang.org/x/crypto/blake2s"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
)

// Key sizes in bytes.
const (
	// PrivateKeySize is the size of a private key: 32 uniformly random
	// bytes from which the secret preimage is derived.
	PrivateKeySize = 32
	// PublicKeySize is the size of an encoded public key: four field
	// elements, 8 bytes each, canonical little-endian.
	PublicKeySize = rescue.DigestLen * field.Bytes
)

// SecretLen and PublicLen are the number of field elements in the secret
// preimage and in the public key.
const (
	SecretLen = rescue.Rate
	PublicLen = rescue.DigestLen
)

// PublicKey is a Ziggy public key: the Rescue hash of the signer's secret
// preimage, four field elements. The zero value is not a usable key. Public
// keys are comparable with ==.
type PublicKey struct {
	e [PublicLen]field.Element
}

// PrivateKey is a Ziggy private key. It holds the 32-byte private key it
// was made from, the secret preimage derived from it and the public key.
// It never prints its contents: every fmt verb and slog show a placeholder.
type PrivateKey struct {
	seed   [PrivateKeySize]byte
	secret [SecretLen]field.Element
	pub    PublicKey
}

// keyDerivationTag starts the BLAKE2s input of the key derivation; it is
// the seed's Ziggy string, so public keys are interoperable with it.
const keyDerivationTag = "Ziggy secret preimage seed"

// DeriveSecret derives the 8-element secret preimage from a 32-byte
// private key, exactly as the seed's Ziggy does:
//
//	d = BLAKE2s-256("Ziggy secret preimage seed" ‖ 0x00 ‖ private key)
//	for i = 0, 1, 2, …: b = BLAKE2s-256(d ‖ i as 32 bytes big-endian)
//	  each 8-byte big-endian word w of b, in order:
//	    c = w mod 2^62; if c < p, take the element whose Montgomery form
//	    is c (that is, c·2^-64 mod p)
//	stop at 8 elements.
//
// Each word is kept with probability about 1/2, so a few hashes suffice.
func deriveSecret(seed *[PrivateKeySize]byte) [SecretLen]field.Element {
	var in [len(keyDerivationTag) + 1 + PrivateKeySize]byte
	copy(in[:], keyDerivationTag)
	copy(in[len(keyDerivationTag)+1:], seed[:])
	d := blake2s.Sum256(in[:])
	clear(in[:])

	var out [SecretLen]field.Element
	var block [64]byte // d ‖ 32-byte big-endian counter
	copy(block[:32], d[:])
	k := 0
	for i := uint64(0); k < SecretLen; i++ {
		binary.BigEndian.PutUint64(block[56:], i)
		b := blake2s.Sum256(block[:])
		for w := 0; w < 4 && k < SecretLen; w++ {
			c := binary.BigEndian.Uint64(b[8*w:]) & (1<<62 - 1)
			if c < field.Modulus {
				out[k] = field.FromMontgomery(c)
				k++
			}
		}
		clear(b[:])
	}
	clear(block[:])
	clear(d[:])
	return out
}

// NewKeyFromSeed returns the private key made from a 32-byte private key
// (the "seed", uniformly random). It fails only for a wrong length.
func NewKeyFromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != PrivateKeySize {
		return nil, fmt.Errorf("ziggy: a private key has %d bytes, got %d", PrivateKeySize, len(seed))
	}
	priv := &PrivateKey{}
	copy(priv.seed[:], seed)
	priv.secret = deriveSecret(&priv.seed)
	priv.pub = PublicKey{e: rescue.Hash(priv.secret)}
	return priv, nil
}

// GenerateKey makes a new key pair from 32 bytes of rand, or of
// crypto/rand when rand is nil.
func GenerateKey(random io.Reader) (PublicKey, *PrivateKey, error) {
	if random == nil {
		random = rand.Reader
	}
	var seed [PrivateKeySize]byte
	if _, err := io.ReadFull(random, seed[:]); err != nil {
		return PublicKey{}, nil, fmt.Errorf("ziggy: reading randomness: %w", err)
	}
	priv, err := NewKeyFromSeed(seed[:])
	clear(seed[:])
	if err != nil {
		return PublicKey{}, nil, err
	}
	return priv.pub, priv, nil
}

// Public returns the public key of priv.
func (priv *PrivateKey) Public() PublicKey { return priv.pub }

// Seed returns a copy of the 32-byte private key priv was made from: the
// one value to store to keep the key.
func (priv *PrivateKey) Seed() []byte { return append([]byte(nil), priv.seed[:]...) }

// Equal reports whether priv and other are the same key, in constant time.
func (priv *PrivateKey) Equal(other *PrivateKey) bool {
	return subtle.ConstantTimeCompare(priv.seed[:], other.seed[:]) == 1
}

const redacted = "ziggy.PrivateKey(redacted)"

// Format prints a placeholder for every verb, so a private key (or a copy
// of one) never ends up in a log by accident.
func (PrivateKey) Format(f fmt.State, verb rune) { io.WriteString(f, redacted) }

// String returns a placeholder, never the key.
func (PrivateKey) String() string { return redacted }

// GoString returns a placeholder, never the key.
func (PrivateKey) GoString() string { return redacted }

// LogValue keeps the key out of structured logs.
func (PrivateKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// NewPublicKey returns the public key with the given elements.
func NewPublicKey(e [PublicLen]field.Element) PublicKey { return PublicKey{e: e} }

// Elements returns the four field elements of the public key.
func (pub PublicKey) Elements() [PublicLen]field.Element { return pub.e }

// Bytes returns the 32-byte encoding: each element as 8 bytes canonical
// little-endian.
func (pub PublicKey) Bytes() []byte { return pub.appendBytes(make([]byte, 0, PublicKeySize)) }

func (pub PublicKey) appendBytes(b []byte) []byte {
	for _, e := range pub.e {
		b = e.AppendBytes(b)
	}
	return b
}

// PublicKeyFromBytes decodes a public key written by Bytes, rejecting a
// wrong length and non-canonical elements.
func PublicKeyFromBytes(b []byte) (PublicKey, error) {
	var pub PublicKey
	if len(b) != PublicKeySize {
		return pub, fmt.Errorf("ziggy: a public key has %d bytes, got %d", PublicKeySize, len(b))
	}
	for i := range pub.e {
		e, err := field.FromBytes(b[i*field.Bytes:])
		if err != nil {
			return PublicKey{}, fmt.Errorf("ziggy: public key element %d: %w", i, err)
		}
		pub.e[i] = e
	}
	return pub, nil
}

// String returns the four elements as lowercase 0x hex without leading
// zeros, space-separated: the form 'datadragon keys public' prints and
// ParsePublicKey reads.
func (pub PublicKey) String() string {
	var b strings.Builder
	for i, e := range pub.e {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(formatElement(e))
	}
	return b.String()
}

// MarshalText encodes the public key as String does.
func (pub PublicKey) MarshalText() ([]byte, error) { return []byte(pub.String()), nil }

// UnmarshalText decodes the form String writes.
func (pub *PublicKey) UnmarshalText(text []byte) error {
	p, err := ParsePublicKey(string(text))
	if err != nil {
		return err
	}
	*pub = p
	return nil
}

// ParsePublicKey reads four field elements, 0x hex (or decimal), separated
// by white space, each below p.
func ParsePublicKey(s string) (PublicKey, error) {
	f := strings.Fields(s)
	if len(f) != PublicLen {
		return PublicKey{}, fmt.Errorf("ziggy: a public key is %d field elements, got %d words", PublicLen, len(f))
	}
	var pub PublicKey
	for i, w := range f {
		e, err := parseElement(w)
		if err != nil {
			return PublicKey{}, fmt.Errorf("ziggy: public key element %d: %w", i, err)
		}
		pub.e[i] = e
	}
	return pub, nil
}

// formatElement writes e as lowercase 0x hex without leading zeros.
func formatElement(e field.Element) string { return "0x" + strconv.FormatUint(e.Uint64(), 16) }

// parseElement reads 0x-prefixed hex or decimal below p.
func parseElement(s string) (field.Element, error) {
	digits, base := s, 10
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits, base = s[2:], 16
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil || v >= field.Modulus {
		return field.Element{}, fmt.Errorf("%q is not a field element (0x hex or decimal below %#x)", abbreviate(s), field.Modulus)
	}
	return field.New(v), nil
}

// ParsePrivateKeyHex reads a private key written as "0x" and 64 hex
// digits (the 0x is optional). Errors never repeat the input.
func ParsePrivateKeyHex(s string) (*PrivateKey, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 2*PrivateKeySize {
		return nil, fmt.Errorf("ziggy: a private key is 0x and %d hex digits, got %d digits", 2*PrivateKeySize, len(s))
	}
	var seed [PrivateKeySize]byte
	for i := range seed {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			clear(seed[:])
			return nil, errors.New("ziggy: a private key may hold only hex digits 0-9, a-f")
		}
		seed[i] = hi<<4 | lo
	}
	priv, err := NewKeyFromSeed(seed[:])
	clear(seed[:])
	return priv, err
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// privateKeyHex writes the 32-byte private key as 0x and 64 lowercase hex
// digits.
func (priv *PrivateKey) privateKeyHex() string {
	const digits = "0123456789abcdef"
	b := make([]byte, 2, 2+2*PrivateKeySize)
	b[0], b[1] = '0', 'x'
	for _, c := range priv.seed {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

// abbreviate shortens user input quoted in an error message.
func abbreviate(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
