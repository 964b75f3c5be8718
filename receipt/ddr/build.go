package ddr

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// Threshold is the genesis acceptance threshold: a record needs signed
// attestations of more than Numerator/Denominator of the total power. The
// zero Threshold keeps every attestation.
type Threshold struct {
	Numerator   uint64 `json:"numerator"`
	Denominator uint64 `json:"denominator"`
}

func (t Threshold) holds(power, total int64) bool {
	if t.Denominator == 0 {
		return false
	}
	return uint64(power)*t.Denominator > t.Numerator*uint64(total)
}

// From assembles the file receipt of receipts (each a chunk's receipt as
// a node serves it), keeping of each record's attestations only those of
// the fewest extensions that give every record more than th of the power.
func From(receipts []*receipt.Receipt, th Threshold) (*File, error) {
	if len(receipts) == 0 {
		return nil, fmt.Errorf("no receipts: a file receipt holds at least one record")
	}
	first := receipts[0]
	f := &File{ChainID: first.ChainID, Validators: first.Validators}
	reg, hist, changed, err := histories(receipts)
	if err != nil {
		return nil, err
	}
	if changed {
		f.Validators, f.History = reg, hist
	}
	valIdx := map[string]int{}
	for i, v := range f.Validators {
		valIdx[string(v.Address)] = i
	}
	blockIdx := map[int64]int{}
	type extKey struct {
		val    int
		height int64
		root   [32]byte
	}
	extIdx := map[extKey]int{}
	sums := newSummaryIndex(f)
	type cand struct {
		ext, leaf, leaves int
		path              [][32]byte
		power             int64
	}
	cands := make([][]cand, len(receipts))
	totals := make([]int64, len(receipts))
	seen := map[wire.ChunkKey]bool{}

	for ri, r := range receipts {
		if r.ChainID != f.ChainID {
			return nil, fmt.Errorf("receipt of %s/%d is of chain %q, the first of %q", r.Stream, r.Index, r.ChainID, f.ChainID)
		}
		if !changed && !sameValidators(r.Validators, f.Validators) {
			return nil, fmt.Errorf("receipt of %s/%d names another validator set than the first; a file receipt holds one", r.Stream, r.Index)
		}
		rec, err := wire.UnmarshalRecord(r.Record)
		if err != nil {
			return nil, fmt.Errorf("receipt of %s/%d: %w", r.Stream, r.Index, err)
		}
		if seen[rec.Key()] {
			return nil, fmt.Errorf("two receipts of %s/%d", rec.Stream, rec.Index)
		}
		seen[rec.Key()] = true
		totals[ri] = rec.TotalPower
		if r.Header == nil || r.Commit == nil {
			return nil, fmt.Errorf("receipt of %s/%d has no header or commit", r.Stream, r.Index)
		}
		bi, ok := blockIdx[r.Block.Height]
		if !ok {
			rr, err1 := hash(r.Block.RecordRoot)
			cs, err2 := hash(r.Block.ChangesetHash)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("receipt of %s/%d: block hashes are not 32 bytes", r.Stream, r.Index)
			}
			bi = len(f.Blocks)
			blockIdx[r.Block.Height] = bi
			f.Blocks = append(f.Blocks, Block{Height: r.Block.Height, PrevAppHash: r.Block.PrevAppHash,
				RecordRoot: rr, ChangesetHash: cs, Header: r.Header, Commit: r.Commit})
		} else if bl := f.Blocks[bi]; !bytes.Equal(bl.Header.Hash(), r.Header.Hash()) || !bytes.Equal(bl.RecordRoot[:], r.Block.RecordRoot) {
			return nil, fmt.Errorf("receipts of block %d disagree about its header or record root", r.Block.Height)
		}
		path, err := hashPath(r.RecordProof.Path)
		if err != nil {
			return nil, fmt.Errorf("receipt of %s/%d: record proof: %w", r.Stream, r.Index, err)
		}
		f.Records = append(f.Records, Record{Record: r.Record, Block: bi, Leaf: r.RecordProof.Leaf,
			Leaves: r.RecordProof.Leaves, Path: path, ProducerSignature: r.ProducerSignature})

		power := map[string]int64{}
		for _, ra := range rec.Attestations {
			if ra.Outcome == wire.OutcomeAgreed {
				power[string(ra.Validator)] = ra.Power
			}
		}
		for _, a := range r.Attestations {
			vi, ok := valIdx[string(a.Validator)]
			if !ok {
				return nil, fmt.Errorf("receipt of %s/%d: attestation of %s, who is not in the validator set", r.Stream, r.Index, a.Validator)
			}
			root, err := hash(a.Root)
			if err != nil {
				return nil, fmt.Errorf("receipt of %s/%d: extension root: %w", r.Stream, r.Index, err)
			}
			p, err := hashPath(a.Proof.Path)
			if err != nil {
				return nil, fmt.Errorf("receipt of %s/%d: attestation path: %w", r.Stream, r.Index, err)
			}
			k := extKey{vi, a.ExtensionHeight, root}
			ei, ok := extIdx[k]
			if !ok {
				ei = len(f.Extensions)
				extIdx[k] = ei
				f.Extensions = append(f.Extensions, Extension{Validator: vi, Height: a.ExtensionHeight, Root: root, Signature: a.Signature})
				if a.Summary != nil {
					if err := sums.add(ei, &a); err != nil {
						return nil, fmt.Errorf("receipt of %s/%d: %w", r.Stream, r.Index, err)
					}
				}
			}
			cands[ri] = append(cands[ri], cand{ei, a.Proof.Leaf, a.Proof.Leaves, p, power[string(a.Validator)]})
		}
	}

	// Choose extensions greedily: the one that helps the most records not
	// yet above the threshold, ties to the smaller signature; a record
	// then carries just enough of its chosen extensions' attestations.
	chosen := make([]bool, len(f.Extensions))
	have := make([]int64, len(receipts))
	done := func(ri int) bool { return th.holds(have[ri], totals[ri]) }
	if th.Denominator != 0 {
		for {
			gain := make([]int, len(f.Extensions))
			open := false
			for ri, cs := range cands {
				if done(ri) {
					continue
				}
				open = true
				for _, c := range cs {
					if !chosen[c.ext] {
						gain[c.ext]++
					}
				}
			}
			if !open {
				break
			}
			best := -1
			for ei, g := range gain {
				if g == 0 {
					continue
				}
				if best < 0 || g > gain[best] || (g == gain[best] && len(f.Extensions[ei].Signature) < len(f.Extensions[best].Signature)) {
					best = ei
				}
			}
			if best < 0 {
				// Some record cannot reach the threshold: keep everything and
				// let Verify say which.
				clear(chosen)
				th = Threshold{}
				break
			}
			chosen[best] = true
			for ri, cs := range cands {
				for _, c := range cs {
					if c.ext == best && !done(ri) {
						have[ri] += c.power
					}
				}
			}
		}
	}
	used := make([]bool, len(f.Extensions))
	for ri, cs := range cands {
		var keep []cand
		for _, c := range cs {
			if th.Denominator == 0 || chosen[c.ext] {
				keep = append(keep, c)
			}
		}
		if th.Denominator != 0 {
			// Just enough: the most powerful first.
			slices.SortStableFunc(keep, func(a, b cand) int { return cmp.Compare(b.power, a.power) })
			var p int64
			for i, c := range keep {
				p += c.power
				if th.holds(p, totals[ri]) {
					keep = keep[:i+1]
					break
				}
			}
			slices.SortStableFunc(keep, func(a, b cand) int { return cmp.Compare(f.Extensions[a.ext].Validator, f.Extensions[b.ext].Validator) })
		}
		for _, c := range keep {
			used[c.ext] = true
			f.Records[ri].Attestations = append(f.Records[ri].Attestations, Attestation{Extension: c.ext, Leaf: c.leaf, Leaves: c.leaves, Path: c.path})
		}
	}
	// Drop the extensions no record uses and renumber.
	renum := make([]int, len(f.Extensions))
	var exts []Extension
	for ei, e := range f.Extensions {
		renum[ei] = -1
		if used[ei] {
			renum[ei] = len(exts)
			exts = append(exts, e)
		}
	}
	f.Extensions = exts
	sums.finish(renum)
	for ri := range f.Records {
		for ai := range f.Records[ri].Attestations {
			a := &f.Records[ri].Attestations[ai]
			a.Extension = renum[a.Extension]
		}
	}
	return f, nil
}

func sameValidators(a, b []receipt.Validator) bool {
	return slices.EqualFunc(a, b, func(x, y receipt.Validator) bool {
		return x.Name == y.Name && bytes.Equal(x.Address, y.Address) && x.PubKey.Type == y.PubKey.Type &&
			bytes.Equal(x.PubKey.Value, y.PubKey.Value) && bytes.Equal(x.ZiggyPubKey, y.ZiggyPubKey) && x.Power == y.Power
	})
}

func hash(b []byte) ([32]byte, error) {
	var h [32]byte
	if len(b) != 32 {
		return h, fmt.Errorf("%d bytes, want 32", len(b))
	}
	copy(h[:], b)
	return h, nil
}

func hashPath(p []receipt.HexBytes) ([][32]byte, error) {
	if len(p) > maxPath {
		return nil, fmt.Errorf("%d hashes, at most %d", len(p), maxPath)
	}
	var out [][32]byte
	for _, b := range p {
		h, err := hash(b)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func hexPath(p [][32]byte) []receipt.HexBytes {
	out := make([]receipt.HexBytes, len(p))
	for i := range p {
		out[i] = receipt.HexBytes(bytes.Clone(p[i][:]))
	}
	return out
}

// Receipts returns the per-chunk receipts f holds, in f's order, each as
// receipt.Verify checks it. Parts that do not decode are left for Verify
// to name.
func (f *File) Receipts() []*receipt.Receipt {
	out := make([]*receipt.Receipt, len(f.Records))
	changes := f.changes()
	links := f.linksByExtension()
	for i, rc := range f.Records {
		r := &receipt.Receipt{Version: receipt.Version, ChainID: f.ChainID, Record: receipt.HexBytes(rc.Record),
			RecordProof: receipt.Proof{Leaf: rc.Leaf, Leaves: rc.Leaves, Path: hexPath(rc.Path)},
			Validators:  f.Validators, ProducerSignature: receipt.HexBytes(rc.ProducerSignature)}
		if rec, err := wire.UnmarshalRecord(rc.Record); err == nil {
			r.Stream, r.Index = rec.Stream, rec.Index
		}
		if rc.Block < len(f.Blocks) {
			bl := f.Blocks[rc.Block]
			r.Block = receipt.Block{Height: bl.Height, PrevAppHash: receipt.HexBytes(bl.PrevAppHash),
				RecordRoot: receipt.HexBytes(bytes.Clone(bl.RecordRoot[:])), ChangesetHash: receipt.HexBytes(bytes.Clone(bl.ChangesetHash[:]))}
			r.Header, r.Commit = bl.Header, bl.Commit
			if bl.Header != nil {
				r.Block.AppHash = receipt.HexBytes(bl.Header.AppHash) // the header's app hash must follow from the inputs
			}
		}
		f.atHeight(r, changes)
		for _, a := range rc.Attestations {
			if a.Extension >= len(f.Extensions) {
				continue
			}
			e := f.Extensions[a.Extension]
			var addr receipt.HexBytes
			if e.Validator < len(f.Validators) {
				addr = f.Validators[e.Validator].Address
			}
			ra := receipt.Attestation{Validator: addr, ExtensionHeight: e.Height,
				Proof: receipt.Proof{Leaf: a.Leaf, Leaves: a.Leaves, Path: hexPath(a.Path)},
				Root:  receipt.HexBytes(bytes.Clone(e.Root[:])), Signature: receipt.HexBytes(e.Signature)}
			if l, ok := links[a.Extension]; ok {
				ra.Summary = f.receiptSummary(l)
				r.Version = receipt.VersionSummaries
			}
			r.Attestations = append(r.Attestations, ra)
		}
		out[i] = r
	}
	return out
}
