package wire

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/merkle"
)

// ExtensionVersion is the version byte of the vote extension format.
const ExtensionVersion = 1

// ExtensionDomain starts the message a validator's Ziggy signature covers.
const ExtensionDomain = "datadragon/extension/v1"

// Extension is the content of one validator's vote extension: the
// attestations it made since its last extension that made it into a block,
// for the height of the precommit it extends, and one signature over them.
//
// An extension with no attestations is sent as zero bytes (no signature);
// a non-empty encoding always has 1…MaxAttestations attestations.
type Extension struct {
	Height       int64
	Attestations []Attestation // sorted by (stream, index), no chunk twice
	Signature    []byte
}

// ErrExtensionTooLarge is wrapped by the errors for extensions over
// MaxExtensionBytes.
var ErrExtensionTooLarge = errors.New("vote extension too large")

// Validate checks everything that needs no key and no registry: height,
// counts, order, each attestation, the signature's length.
func (e *Extension) Validate() error {
	if e.Height < 1 {
		return fmt.Errorf("extension height %d is below 1", e.Height)
	}
	n := len(e.Attestations)
	if n == 0 {
		return errors.New("an extension with no attestations is sent as zero bytes")
	}
	if n > MaxAttestations {
		return fmt.Errorf("%w: %d attestations, the limit is %d", ErrExtensionTooLarge, n, MaxAttestations)
	}
	for i := range e.Attestations {
		a := &e.Attestations[i]
		if err := a.Validate(); err != nil {
			return fmt.Errorf("attestation %d (%s): %w", i, a.Key(), err)
		}
		if i > 0 && e.Attestations[i-1].Key().Compare(a.Key()) >= 0 {
			return fmt.Errorf("attestation %d (%s) is out of order or repeats a chunk: attestations are sorted by stream and index, one per chunk", i, a.Key())
		}
	}
	if len(e.Signature) == 0 {
		return errors.New("extension has no signature")
	}
	if len(e.Signature) > MaxSignatureBytes {
		return fmt.Errorf("%w: signature of %d bytes, the limit is %d", ErrExtensionTooLarge, len(e.Signature), MaxSignatureBytes)
	}
	return nil
}

// Marshal validates e and returns its canonical encoding:
//
//	u8 version (1) ‖ u64 height ‖ u16 n ‖ n × attestation ‖ u32 len ‖ signature
func (e *Extension) Marshal() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	w := codec.Writer{B: make([]byte, 0, 16+len(e.Attestations)*AttestationMaxBytes+len(e.Signature))}
	w.U8(ExtensionVersion)
	w.U64(uint64(e.Height))
	w.U16(uint16(len(e.Attestations)))
	for i := range e.Attestations {
		w.B = e.Attestations[i].AppendBinary(w.B)
	}
	w.Bytes32(e.Signature)
	if len(w.B) > MaxExtensionBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrExtensionTooLarge, len(w.B), MaxExtensionBytes)
	}
	return w.B, nil
}

// UnmarshalExtension decodes and validates an extension. Zero bytes decode
// to nil and no error: the empty extension. It never panics.
func UnmarshalExtension(b []byte) (*Extension, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) > MaxExtensionBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrExtensionTooLarge, len(b), MaxExtensionBytes)
	}
	r := codec.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != ExtensionVersion {
		return nil, fmt.Errorf("vote extension version %d, this node reads version %d", v, ExtensionVersion)
	}
	e := &Extension{}
	h := r.U64()
	if h > 1<<62 {
		r.Failf("height %d out of range", h)
	}
	e.Height = int64(h)
	n := r.Count(MaxAttestations, attestationMinBytes, "attestations")
	if n > 0 {
		e.Attestations = make([]Attestation, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		e.Attestations = append(e.Attestations, readAttestation(r))
	}
	e.Signature = r.Bytes32(MaxSignatureBytes, "signature")
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("vote extension: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("vote extension: %w", err)
	}
	return e, nil
}

// LeafHashes returns the Merkle leaf hash of each attestation's encoding.
func (e *Extension) LeafHashes() []merkle.Hash {
	leaves := make([]merkle.Hash, len(e.Attestations))
	var buf []byte
	for i := range e.Attestations {
		buf = e.Attestations[i].AppendBinary(buf[:0])
		leaves[i] = merkle.LeafHash(buf)
	}
	return leaves
}

// Root returns the Merkle root (package merkle) over the encoded
// attestations, in order.
func (e *Extension) Root() merkle.Hash { return merkle.Root(e.LeafHashes()) }

// Proof returns the inclusion proof of attestation i in Root.
func (e *Extension) Proof(i int) []merkle.Hash { return merkle.Proof(e.LeafHashes(), i) }

// SignBytes returns the 32-byte message a validator signs with Ziggy for
// an extension:
//
//	SHA-256("datadragon/extension/v1" ‖ u8 len ‖ chain id ‖ u64 height ‖
//	        u8 len ‖ validator address ‖ root)
//
// where the address is the validator's CometBFT address and root the
// Merkle root of the attestations.
func SignBytes(chainID string, height int64, address []byte, root merkle.Hash) []byte {
	w := codec.Writer{}
	w.Raw([]byte(ExtensionDomain))
	w.Bytes8([]byte(chainID))
	w.U64(uint64(height))
	w.Bytes8(address)
	w.Raw(root[:])
	sum := sha256.Sum256(w.B)
	return sum[:]
}
