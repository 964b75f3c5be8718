package ziggy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/datadragon/datadragon/zk/stark"
)

// MinSecurity is the floor Verify holds signatures to, in conjectured bits:
// a forger chooses the options of a forged signature, so the floor, not
// the signer's default, is the security of the scheme.
const MinSecurity = 128

// DefaultOptions are the proof options Sign uses: 128 bits of conjectured
// security (24 queries at blowup 32 give 5 bits each, plus 9 bits of
// grinding, less ethSTARK's one bit), zero knowledge on. The trace has 128
// rows: 11 for the hash and 117 of randomness (the engine needs
// 4·24+6 = 102). The engine folds the DEEP composition once, to degree
// below 64, and LastLayerDegree 64 sends that polynomial whole as the FRI
// remainder: no FRI layer is committed or opened, which keeps the
// signature small. The package documentation gives the measurements behind
// the choice, and the proven security (far lower).
func DefaultOptions() stark.Options {
	return stark.Options{
		Blowup:          32,
		Queries:         24,
		GrindingBits:    9,
		FoldingFactor:   8,
		LastLayerDegree: 64,
		ZeroKnowledge:   true,
	}
}

// messageDigestSize is the size of the message digest bound into the
// statement.
const messageDigestSize = sha256.Size

// messageTag separates the message digest from every other SHA-256 use.
const messageTag = "datadragon/ziggy/v1"

// messageDigest returns SHA-256("datadragon/ziggy/v1" ‖ pk ‖ message), pk
// as its 32-byte encoding. Binding pk too means a signature is a statement
// about this key and this message together.
func messageDigest(pub PublicKey, message []byte) *[messageDigestSize]byte {
	h := sha256.New()
	h.Write([]byte(messageTag))
	h.Write(pub.Bytes())
	h.Write(message)
	var d [messageDigestSize]byte
	h.Sum(d[:0])
	return &d
}

// publicInputs is the statement's public input, absorbed into the
// Fiat–Shamir transcript before any commitment: pk (32 bytes) ‖ the
// message digest (32 bytes).
func publicInputs(pub PublicKey, digest *[messageDigestSize]byte) []byte {
	b := pub.appendBytes(make([]byte, 0, PublicKeySize+messageDigestSize))
	return append(b, digest[:]...)
}

// traceLength returns the trace length Sign uses with opts: the smallest
// power of two holding the hash's rows and the engine's zero-knowledge rows
// (Options.ZKRows: 4·Queries + 6, one per base-field value a proof can
// reveal about a trace polynomial).
func traceLength(opts stark.Options) int {
	return stark.TraceLengthFor(computationRows, opts)
}

// MaxTraceLength bounds the trace length Verify accepts (Sign uses 128
// rows with DefaultOptions; 4096 covers any options the engine allows).
const MaxTraceLength = 1 << 12

// checkTraceLength is the verifier's check of the trace length a
// signature claims. How many random rows to add is the signer's choice (it
// protects the signer's secret), so Verify accepts any power of two up to
// MaxTraceLength. The statement constrains the hash's rows whatever the
// length: the engine refuses options whose random rows would not fit after
// them (stark.ErrStatementMismatch).
func checkTraceLength(n int) error {
	if n < period || n > MaxTraceLength || n&(n-1) != 0 {
		return fmt.Errorf("trace length %d is not a power of two from %d to %d", n, period, MaxTraceLength)
	}
	return nil
}

// Sign signs message with priv under DefaultOptions and returns the
// encoded signature.
func Sign(priv *PrivateKey, message []byte) ([]byte, error) {
	return SignWithOptions(priv, message, DefaultOptions())
}

// SignWithOptions signs under the given proof options, which must have
// zero knowledge on: without it the proof would leak the secret. Verify
// accepts the signature only if the options reach MinSecurity.
func SignWithOptions(priv *PrivateKey, message []byte, opts stark.Options) ([]byte, error) {
	if priv == nil {
		return nil, errors.New("ziggy: no private key")
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	return sign(priv, message, opts, traceLength(opts))
}

// sign proves the statement for message with priv's secret in a trace of n
// rows.
func sign(priv *PrivateKey, message []byte, opts stark.Options, n int) ([]byte, error) {
	digest := messageDigest(priv.pub, message)
	random, err := hedgedRandomness(priv, digest)
	if err != nil {
		return nil, err
	}
	trace, err := buildTrace(&priv.secret, n, random)
	if err != nil {
		return nil, err
	}
	a := newAir(priv.pub, digest, n)
	proof, err := stark.ProveWithRandomness(a, trace, opts, random)
	for _, col := range trace {
		clear(col) // the engine leaves the columns' coefficients here
	}
	if err != nil {
		return nil, fmt.Errorf("ziggy: signing: %w", err)
	}
	return (&Signature{proof: proof}).MarshalBinary()
}

// hedgedRandomness returns the stream all of one signature's randomness
// comes from: AES-256-CTR under SHA-256(tag ‖ private key ‖ message digest
// ‖ 32 fresh bytes from crypto/rand). A broken system RNG then still gives
// distinct streams for distinct messages (the key and message are mixed
// in), and a fault cannot make two signatures of one message share their
// randomness (the fresh bytes are mixed in) — hedged signing, as FIPS 204
// does by default.
func hedgedRandomness(priv *PrivateKey, digest *[messageDigestSize]byte) (io.Reader, error) {
	var fresh [32]byte
	if _, err := io.ReadFull(rand.Reader, fresh[:]); err != nil {
		return nil, fmt.Errorf("ziggy: reading system randomness: %w", err)
	}
	h := sha256.New()
	h.Write([]byte("datadragon/ziggy/hedge/v1"))
	h.Write(priv.seed[:])
	h.Write(digest[:])
	h.Write(fresh[:])
	key := h.Sum(nil)
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	var iv [aes.BlockSize]byte
	return cipher.StreamReader{S: cipher.NewCTR(block, iv[:]), R: zeroReader{}}, nil
}

// zeroReader yields zeros; encrypted by the CTR stream they become its
// keystream.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func checkOptions(opts stark.Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	if !opts.ZeroKnowledge {
		return errors.New("ziggy: signatures need zero knowledge: without it the proof reveals the secret key")
	}
	return nil
}

// ErrInvalidSignature is wrapped by every error Verify returns.
var ErrInvalidSignature = errors.New("ziggy: invalid signature")

// Verify reports whether sig is a valid signature of message by pub: nil
// if it is, otherwise an error wrapping ErrInvalidSignature that says why.
// Signatures below MinSecurity conjectured bits are rejected.
func Verify(pub PublicKey, message, sig []byte) error {
	return VerifyWithFloor(pub, message, sig, MinSecurity)
}

// VerifyWithFloor is Verify with another security floor in conjectured
// bits; a floor below stark.DefaultMinSecurity is raised to it.
func VerifyWithFloor(pub PublicKey, message, sig []byte, minBits int) error {
	s, err := ParseSignature(sig)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	if err := s.verify(pub, message, minBits); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}
	return nil
}

func (s *Signature) verify(pub PublicKey, message []byte, minBits int) error {
	minBits = max(minBits, stark.DefaultMinSecurity)
	opts := s.proof.Options
	if !opts.ZeroKnowledge {
		return errors.New("the proof is not zero-knowledge")
	}
	n := s.traceLength()
	if err := checkTraceLength(n); err != nil {
		return err
	}
	if bits := s.SecurityBits(); bits < minBits {
		return fmt.Errorf("%d bits of conjectured security, below the floor of %d", bits, minBits)
	}
	a := newAir(pub, messageDigest(pub, message), n)
	return stark.Verify(a, s.proof, minBits)
}
