//go:build !js

package receipt

import (
	"github.com/datadragon/datadragon/app/merkle"
	"github.com/datadragon/datadragon/app/wire"
)

// SummarySource is implemented by sources whose archive may hold an
// extension's signed payload without its signature, proven instead by
// the validator's epoch summary.
type SummarySource interface {
	// Summarized returns, for validator's extension filed in block
	// height, the unsigned extension, the summary, the extension's leaf
	// in it and all of the summary's leaves; ok is false if the source
	// holds that extension signed (or not at all).
	Summarized(height int64, validator []byte) (ext *wire.Extension, sum *wire.SummaryTx, leaf int, leaves []merkle.Hash, ok bool, err error)
}

// summarizedAttestation builds the attestation of leaf of a summarized
// extension; ok is false if src has the extension signed.
func summarizedAttestation(src Source, ra *wire.RecordAttestation) (*Attestation, bool, error) {
	ss, isSS := src.(SummarySource)
	if !isSS {
		return nil, false, nil
	}
	ext, sum, leaf, leaves, ok, err := ss.Summarized(ra.Height, ra.Validator)
	if err != nil || !ok {
		return nil, false, err
	}
	if int(ra.Leaf) >= len(ext.Attestations) || leaf < 0 || leaf >= len(leaves) {
		return nil, false, errBadSummary(ra)
	}
	return &Attestation{
		Validator:       ra.Validator,
		ExtensionHeight: ext.Height,
		Proof:           Proof{Leaf: int(ra.Leaf), Leaves: len(ext.Attestations), Path: hexPath(ext.Proof(int(ra.Leaf)))},
		Root:            rootBytes(ext.Root()),
		Summary: &Summary{First: sum.First, Last: sum.Last, Root: rootBytes(sum.Root), Signature: sum.Signature,
			Proof: Proof{Leaf: leaf, Leaves: len(leaves), Path: hexPath(merkle.Proof(leaves, leaf))}},
	}, true, nil
}
