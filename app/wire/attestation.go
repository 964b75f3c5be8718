package wire

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/datadragon/datadragon/app/internal/codec"
)

// Limits of the formats. They are part of the protocol: every validator
// must use the same values.
const (
	// MaxStreamIDLen is the longest stream id, in bytes.
	MaxStreamIDLen = 64
	// MaxAttestations is the most attestations one vote extension carries.
	// A validator with more pending sends the rest at later heights.
	MaxAttestations = 256
	// MaxSignatureBytes is the longest Ziggy signature an extension may
	// carry; today's signatures are about 23 KB (22,979 bytes median), the
	// limit leaves room for stronger proof options.
	MaxSignatureBytes = 48 << 10
	// MaxExtensionBytes is the longest encoded vote extension: at most 256
	// attestations of at most 118 bytes, a signature and the header fit.
	MaxExtensionBytes = 96 << 10
	// MaxAddressLen is the longest validator address in an injected commit
	// (CometBFT addresses are 20 bytes).
	MaxAddressLen = 64
	// MaxExtensionSignatureLen is the longest CometBFT extension signature
	// (Ed25519 and secp256k1 signatures are 64 bytes, BLS12-381 96).
	MaxExtensionSignatureLen = 256
	// MaxVotes is the most votes an injected commit carries, and so the
	// largest validator set the app accepts.
	MaxVotes = 1024
	// MaxTimeMs is the latest observation time, 9999-12-31T23:59:59.999Z in
	// Unix milliseconds.
	MaxTimeMs = 253402300799999
	// AttestationMaxBytes is the longest encoded attestation (a raw one,
	// RawAttestationMaxBytes, is longer).
	AttestationMaxBytes = 1 + MaxStreamIDLen + 8 + DigestSize + 8 + 1 + 4
	attestationMinBytes = 1 + 1 + 8 + DigestSize + 8 + 1 + 4
)

// DigestSize is the size of a chunk digest (SHA-256).
const DigestSize = 32

// Digest is a chunk digest.
type Digest [DigestSize]byte

// String returns the digest as lowercase hex.
func (d Digest) String() string { return fmt.Sprintf("%x", d[:]) }

// IsZero reports whether every byte is zero.
func (d Digest) IsZero() bool { return d == Digest{} }

// VerdictKind says what a validator found when it observed a chunk.
type VerdictKind uint8

// The verdict kinds.
const (
	// VerdictOK: the chunk was observed in full and every rule passed.
	VerdictOK VerdictKind = 0
	// VerdictGap: the validator missed frames of the chunk and so has no
	// digest; the attestation's digest must be zero. A gap supports no
	// digest and is neither faulty nor absent.
	VerdictGap VerdictKind = 1
	// VerdictViolation: the chunk was observed in full but broke the
	// stream's validation rule whose code is Verdict.Code (≥ 1).
	VerdictViolation VerdictKind = 2
)

// Verdict is a verdict kind and, for rule violations, the rule's code.
type Verdict struct {
	Kind VerdictKind
	Code uint32
}

// OK is the verdict of a chunk that passed every rule.
var OK = Verdict{Kind: VerdictOK}

// Gap is the verdict of a chunk with missing frames.
var Gap = Verdict{Kind: VerdictGap}

// Violation returns the verdict for a broken rule with the given code (≥ 1).
func Violation(code uint32) Verdict { return Verdict{Kind: VerdictViolation, Code: code} }

// Validate checks that the code is 0 for ok and gap and non-zero for a
// violation.
func (v Verdict) Validate() error {
	switch v.Kind {
	case VerdictOK, VerdictGap:
		if v.Code != 0 {
			return fmt.Errorf("verdict %d carries code %d; only rule violations have a code", v.Kind, v.Code)
		}
	case VerdictViolation:
		if v.Code == 0 {
			return errors.New("a rule-violation verdict needs a non-zero rule code")
		}
	default:
		return fmt.Errorf("unknown verdict kind %d", v.Kind)
	}
	return nil
}

// String returns "ok", "gap" or "rule-violation:CODE".
func (v Verdict) String() string {
	switch v.Kind {
	case VerdictOK:
		return "ok"
	case VerdictGap:
		return "gap"
	case VerdictViolation:
		return "rule-violation:" + strconv.FormatUint(uint64(v.Code), 10)
	}
	return "unknown:" + strconv.Itoa(int(v.Kind))
}

// ParseVerdict reads the form String writes.
func ParseVerdict(s string) (Verdict, error) {
	switch {
	case s == "ok":
		return OK, nil
	case s == "gap":
		return Gap, nil
	case strings.HasPrefix(s, "rule-violation:"):
		c, err := strconv.ParseUint(strings.TrimPrefix(s, "rule-violation:"), 10, 32)
		if err != nil || c == 0 {
			return Verdict{}, fmt.Errorf("verdict %q: the rule code must be a number from 1 to %d", s, uint32(1<<32-1))
		}
		return Violation(uint32(c)), nil
	}
	return Verdict{}, fmt.Errorf("verdict %q: want ok, gap or rule-violation:CODE", s)
}

// ChunkKey names one chunk: a stream and the chunk's index in it.
type ChunkKey struct {
	Stream string
	Index  uint64
}

// Compare orders keys by stream id (bytewise), then index.
func (k ChunkKey) Compare(o ChunkKey) int {
	if c := strings.Compare(k.Stream, o.Stream); c != 0 {
		return c
	}
	return cmp.Compare(k.Index, o.Index)
}

// Bytes is the key's storage form: u8 len ‖ stream ‖ u64 index. Keys of
// one stream share the prefix StreamPrefix(stream) and sort by index.
func (k ChunkKey) Bytes() []byte {
	w := codec.Writer{B: make([]byte, 0, 1+len(k.Stream)+8)}
	w.Bytes8([]byte(k.Stream))
	w.U64(k.Index)
	return w.B
}

// StreamPrefix is the common prefix of the storage keys of one stream.
func StreamPrefix(stream string) []byte {
	w := codec.Writer{}
	w.Bytes8([]byte(stream))
	return w.B
}

// ParseChunkKey decodes Bytes.
func ParseChunkKey(b []byte) (ChunkKey, error) {
	r := codec.NewReader(b)
	s := r.Bytes8(MaxStreamIDLen, "stream id")
	i := r.U64()
	if err := r.Done(); err != nil {
		return ChunkKey{}, fmt.Errorf("chunk key: %w", err)
	}
	return ChunkKey{Stream: string(s), Index: i}, nil
}

// String returns "stream/index".
func (k ChunkKey) String() string { return k.Stream + "/" + strconv.FormatUint(k.Index, 10) }

// ValidateStreamID checks a stream id: 1 to 64 bytes of ASCII letters,
// digits, '.', '_' and '-', starting with a letter or digit.
func ValidateStreamID(id string) error {
	if id == "" {
		return errors.New("stream id is empty")
	}
	if len(id) > MaxStreamIDLen {
		return fmt.Errorf("stream id %.20q… is %d bytes, the limit is %d", id, len(id), MaxStreamIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("stream id %q: only letters, digits, '.', '_' and '-' are allowed, starting with a letter or digit", id)
		}
	}
	return nil
}

// Attestation is one validator's statement about one chunk: "chunk Index
// of Stream has digest Digest, I observed it at TimeMs (Unix
// milliseconds), and my verdict is Verdict".
type Attestation struct {
	Stream  string
	Index   uint64
	Digest  Digest
	TimeMs  int64
	Verdict Verdict
	// Raw is set for a chunk of a raw stream (see raw.go): Index is then
	// RawIndex(Raw.ID) and Digest follows from the link.
	Raw *RawLink
}

// Key returns the attestation's chunk.
func (a *Attestation) Key() ChunkKey { return ChunkKey{a.Stream, a.Index} }

// Validate checks the fields on their own (not against a stream registry).
func (a *Attestation) Validate() error {
	if err := ValidateStreamID(a.Stream); err != nil {
		return err
	}
	if a.TimeMs < 0 || a.TimeMs > MaxTimeMs {
		return fmt.Errorf("observation time %d ms is outside 0…%d", a.TimeMs, int64(MaxTimeMs))
	}
	if err := a.Verdict.Validate(); err != nil {
		return err
	}
	if a.Verdict.Kind == VerdictGap && !a.Digest.IsZero() {
		return errors.New("a gap attestation must carry the zero digest")
	}
	if a.Raw != nil {
		return a.validateRaw()
	}
	return nil
}

// AppendBinary appends the canonical encoding:
//
//	u8 len ‖ stream ‖ u64 index ‖ digest[32] ‖ i64 time_ms ‖ u8 kind ‖ u32 code
//
// A raw attestation (Raw set) is encoded as appendRaw says.
func (a *Attestation) AppendBinary(b []byte) []byte {
	if a.Raw != nil {
		return a.appendRaw(b)
	}
	w := codec.Writer{B: b}
	w.Bytes8([]byte(a.Stream))
	w.U64(a.Index)
	w.Raw(a.Digest[:])
	w.I64(a.TimeMs)
	w.U8(uint8(a.Verdict.Kind))
	w.U32(a.Verdict.Code)
	return w.B
}

// Marshal returns the canonical encoding.
func (a *Attestation) Marshal() []byte { return a.AppendBinary(nil) }

func readAttestation(r *codec.Reader) Attestation {
	var a Attestation
	if r.Remaining() > 0 {
		var first [1]byte
		peek := *r
		peek.Fixed(first[:])
		if first[0]&rawFlag != 0 {
			*r = peek
			return readRawAttestation(r, int(first[0]&^rawFlag))
		}
	}
	a.Stream = string(r.Bytes8(MaxStreamIDLen, "stream id"))
	a.Index = r.U64()
	r.Fixed(a.Digest[:])
	a.TimeMs = r.I64()
	a.Verdict.Kind = VerdictKind(r.U8())
	a.Verdict.Code = r.U32()
	if r.Err() == nil {
		if err := a.Validate(); err != nil {
			r.Fail(err)
		}
	}
	return a
}

// UnmarshalAttestation decodes one attestation and validates it.
func UnmarshalAttestation(b []byte) (Attestation, error) {
	r := codec.NewReader(b)
	a := readAttestation(r)
	if err := r.Done(); err != nil {
		return Attestation{}, fmt.Errorf("attestation: %w", err)
	}
	return a, nil
}

// SameClaim reports whether two attestations say the same thing about the
// chunk: same digest and verdict (the observation time may differ).
func (a *Attestation) SameClaim(o *Attestation) bool {
	return a.Digest == o.Digest && a.Verdict == o.Verdict
}
