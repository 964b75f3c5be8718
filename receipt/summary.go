package receipt

import (
	"bytes"

	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
)

// VersionSummaries is the receipt version whose attestations may be
// proven by an epoch summary instead of their extension's signature. A
// receipt without summaries keeps Version, so verifiers that predate
// summaries still read it; one with them says a verifier that does not
// know them is too old, instead of failing on an empty signature.
const VersionSummaries = 2

// Summary proves an attestation's extension root by its validator's epoch
// summary (wire.SummaryTx): the leaf wire.SummaryLeaf(extension height,
// root) sits at Proof in the summary's Root, and Signature is the
// validator's Ziggy signature over wire.SummarySignBytes(chain id,
// validator, First, Last, Proof.Leaves, Root). It states exactly what the
// extension's own signature would: this validator signed this attestation
// root at this height.
type Summary struct {
	First     int64    `json:"first_height"`
	Last      int64    `json:"last_height"`
	Proof     Proof    `json:"proof"`
	Root      HexBytes `json:"root"`
	Signature HexBytes `json:"signature"`
}

// verifySignedRoot checks that validator a signed eroot at its extension
// height: by the extension's own signature, or through its summary. It
// returns a broken link's error, or nil.
func verifySignedRoot(chainID string, i int, a *Attestation, eroot merkle.Hash, zpk []byte, name string, cache *Cache) error {
	if a.Summary == nil {
		msg := wire.SignBytes(chainID, a.ExtensionHeight, a.Validator, eroot)
		if err := cache.check(func() error { return (ziggysig.Scheme{}).Verify(zpk, msg, a.Signature) },
			[]byte("ziggy"), zpk, msg, a.Signature); err != nil {
			return broken("attestations", "the Ziggy signature of %s over its vote extension at height %d does not verify against its genesis key: the attestation was forged or altered (%v)", name, a.ExtensionHeight, err)
		}
		return nil
	}
	s := a.Summary
	if len(a.Signature) != 0 {
		return broken("summary", "attestation %d carries both an extension signature and a summary; a receipt gives one", i)
	}
	if s.First < 1 || s.Last < s.First || s.Last-s.First+1 > wire.MaxSummarySpan {
		return broken("summary", "attestation %d: the summary of %s covers heights %d…%d, not a span of at most %d heights", i, name, s.First, s.Last, wire.MaxSummarySpan)
	}
	if a.ExtensionHeight < s.First || a.ExtensionHeight > s.Last {
		return broken("summary", "attestation %d: extension height %d is outside its summary's heights %d…%d", i, a.ExtensionHeight, s.First, s.Last)
	}
	if s.Proof.Leaves < 1 || int64(s.Proof.Leaves) > s.Last-s.First+1 {
		return broken("summary", "attestation %d: a summary of %d leaves for %d heights", i, s.Proof.Leaves, s.Last-s.First+1)
	}
	sroot, err := hash32(s.Root)
	if err != nil {
		return broken("summary", "attestation %d: root: %v", i, err)
	}
	path, err := hashes(s.Proof.Path)
	if err != nil {
		return broken("summary", "attestation %d: %v", i, err)
	}
	if err := merkle.Verify(sroot, wire.SummaryLeaf(a.ExtensionHeight, eroot), s.Proof.Leaf, s.Proof.Leaves, path); err != nil {
		return broken("summary", "attestation %d (%s): its extension root at height %d is not leaf %d of %d under the summary root %x", i, name, a.ExtensionHeight, s.Proof.Leaf, s.Proof.Leaves, sroot)
	}
	msg := wire.SummarySignBytes(chainID, a.Validator, s.First, s.Last, uint32(s.Proof.Leaves), sroot)
	if err := cache.check(func() error { return (ziggysig.Scheme{}).Verify(zpk, msg, s.Signature) },
		[]byte("ziggy-summary"), zpk, msg, s.Signature); err != nil {
		return broken("summary", "the Ziggy signature of %s over its summary of heights %d…%d does not verify against its genesis key: the summary was forged or altered (%v)", name, s.First, s.Last, err)
	}
	return nil
}

// usesSummaries reports whether any attestation of r is proven by a
// summary.
func (r *Receipt) usesSummaries() bool {
	for i := range r.Attestations {
		if r.Attestations[i].Summary != nil {
			return true
		}
	}
	return false
}

// sameSummary reports whether two summaries are one signature (for file
// receipts, which keep each once).
func sameSummary(a, b *Summary) bool {
	return a.First == b.First && a.Last == b.Last && a.Proof.Leaves == b.Proof.Leaves &&
		bytes.Equal(a.Root, b.Root) && bytes.Equal(a.Signature, b.Signature)
}

func errBadSummary(ra *wire.RecordAttestation) error {
	return broken("summary", "block %d: the summarized extension of %X has no attestation %d", ra.Height, ra.Validator, ra.Leaf)
}
