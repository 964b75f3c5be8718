package ziggy

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/datadragon/datadragon/zk/stark"
)

// Signature is a decoded Ziggy signature: a zero-knowledge STARK proof of
// knowledge of the signer's secret preimage, bound to the message.
//
// Encoding (version 1): the 8 bytes "DDZIGGY" 0x01 (magic and version),
// then the STARK proof as stark.Proof.MarshalBinary writes it (which
// carries the proof options). The encoding is canonical: ParseSignature
// accepts exactly what MarshalBinary writes.
type Signature struct {
	proof *stark.Proof
}

// signatureMagic starts every encoded signature; the last byte is the
// version.
var signatureMagic = [8]byte{'D', 'D', 'Z', 'I', 'G', 'G', 'Y', 1}

// MaxSignatureSize bounds an encoded signature (a default one is about
// 15 KB); ParseSignature refuses anything larger before decoding it.
const MaxSignatureSize = 128 << 10

// MarshalBinary encodes the signature.
func (s *Signature) MarshalBinary() ([]byte, error) {
	if s == nil || s.proof == nil {
		return nil, errors.New("ziggy: empty signature")
	}
	p, err := s.proof.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(signatureMagic)+len(p))
	b = append(b, signatureMagic[:]...)
	return append(b, p...), nil
}

// ParseSignature decodes an encoded signature, checking its structure and
// limits (whether it is valid is for Verify). It never panics.
func ParseSignature(b []byte) (*Signature, error) {
	if len(b) > MaxSignatureSize {
		return nil, fmt.Errorf("ziggy: signature of %d bytes exceeds the %d-byte limit", len(b), MaxSignatureSize)
	}
	if len(b) < len(signatureMagic) || [7]byte(b[:7]) != [7]byte(signatureMagic[:7]) {
		return nil, errors.New("ziggy: not a Ziggy signature (bad magic)")
	}
	if v := b[7]; v != signatureMagic[7] {
		return nil, fmt.Errorf("ziggy: signature version %d is not supported (this build reads version %d)", v, signatureMagic[7])
	}
	p, err := stark.ParseProof(b[len(signatureMagic):])
	if err != nil {
		return nil, fmt.Errorf("ziggy: malformed signature: %w", err)
	}
	return &Signature{proof: p}, nil
}

// Options returns the proof options the signature was made with.
func (s *Signature) Options() stark.Options { return s.proof.Options }

// SecurityBits returns the conjectured security of the signature's
// options, in bits.
func (s *Signature) SecurityBits() int {
	return s.proof.Options.ConjecturedSecurity(s.traceLength())
}

// ProvenSecurityBits returns the proven security of the signature's
// options, in bits (stark.Options.ProvenSecurity): far below the
// conjectured bits, 67 for DefaultOptions.
func (s *Signature) ProvenSecurityBits() int {
	return s.proof.Options.ProvenSecurity(s.traceLength())
}

// traceLength returns the trace length the signature's proof claims.
func (s *Signature) traceLength() int { return 1 << s.proof.LogTraceLength }

// EncodeHex writes an encoded signature as 0x-prefixed lowercase hex, for
// JSON and terminals.
func EncodeHex(sig []byte) string { return "0x" + hex.EncodeToString(sig) }

// EncodeBase64 writes an encoded signature in standard base64 with
// padding, the compact form for JSON.
func EncodeBase64(sig []byte) string { return base64.StdEncoding.EncodeToString(sig) }

// DecodeText reads a signature written by EncodeHex (it starts with 0x) or
// EncodeBase64 (standard or URL alphabet, padded or not). Surrounding white
// space is ignored. It does not parse the signature itself.
func DecodeText(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2*MaxSignatureSize+2 {
		return nil, fmt.Errorf("ziggy: signature text of %d characters exceeds the limit", len(s))
	}
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return nil, fmt.Errorf("ziggy: signature hex: %w", err)
		}
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("ziggy: signature text is neither 0x hex nor base64")
}
