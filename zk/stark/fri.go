package stark

import (
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/merkle"
	"github.com/datadragon/datadragon/zk/poly"
	"github.com/datadragon/datadragon/zk/transcript"
)

// FRI proves that the DEEP composition, given by its evaluations over the
// LDE coset, is close to a polynomial of degree < n. Each layer is
// committed with one Merkle leaf per coset of FoldingFactor points — the
// values one query needs — then folded with a random challenge β into a
// polynomial of 1/FoldingFactor the degree over the domain of F-th powers.
// The last layer is sent as coefficients, so its degree is checked by its
// length.

type friProver struct {
	l         *layout
	layers    [][]field.Ext // values of each committed layer
	trees     []*merkle.Tree
	roots     []merkle.Digest
	remainder []field.Ext
}

// friLeaf returns the coset leaf holding position pos of a layer of
// size m: leaf pos mod (m/F), slot pos div (m/F).
func friLeaf(pos, m, fold int) (leaf, slot int) {
	w := m / fold
	return pos % w, pos / w
}

func friCommit(ch *transcript.Transcript, l *layout, values []field.Ext, cfg proverConfig) (*friProver, error) {
	f := &friProver{l: l}
	fold := l.opts.FoldingFactor
	shift := l.friShift()
	for layer := 0; layer < l.friLayers; layer++ {
		m := len(values)
		w := m / fold
		vals := values
		tree := merkle.Build(w, func(i int, buf []byte) []byte {
			for k := 0; k < fold; k++ {
				buf = vals[i+k*w].AppendBytes(buf)
			}
			return buf
		})
		f.layers = append(f.layers, values)
		f.trees = append(f.trees, tree)
		root := tree.Root()
		f.roots = append(f.roots, root)
		ch.Absorb("fri-root", rootBytes(root))
		beta := drawExt(ch, "fri-folding")
		values, shift = foldLayer(values, shift, fold, beta)
	}
	// The remainder: interpolate the last layer and keep the coefficients
	// below its degree bound; anything above means the input was not of
	// low degree, which an honest prover never produces.
	coeffs := append([]field.Ext(nil), values...)
	poly.CosetINTTExt(coeffs, shift)
	for _, c := range coeffs[l.remainder:] {
		if !c.IsZero() && !cfg.skipChecks {
			return nil, errors.New("stark: DEEP composition is not of low degree (internal error or invalid trace)")
		}
	}
	f.remainder = coeffs[:l.remainder]
	if cfg.forgeLastLayer {
		f.remainder = coeffs[:min(2*l.remainder, len(coeffs))]
	}
	ch.Absorb("fri-remainder", appendExts(nil, f.remainder))
	return f, nil
}

// foldLayer folds values over shift·⟨ω_m⟩ by fold, one halving at a time
// with challenges β, β², β⁴…: f(x) = Σ_r x^r f_r(x^F) becomes Σ_r β^r f_r.
func foldLayer(values []field.Ext, shift field.Element, fold int, beta field.Ext) ([]field.Ext, field.Element) {
	inv2 := field.New(2).Inverse()
	for ; fold > 1; fold >>= 1 {
		m := len(values)
		half := m / 2
		next := make([]field.Ext, half)
		omegaInv := field.RootOfUnity(log2(m)).Inverse()
		yinv0 := shift.Inverse().Mul(inv2) // 1/(2y) at i = 0
		parallelFor(half, 4096, func(lo, hi int) {
			yinv := yinv0.Mul(omegaInv.Exp(uint64(lo)))
			for i := lo; i < hi; i++ {
				a, b := values[i], values[i+half]
				even := a.Add(b).MulBase(inv2)
				odd := a.Sub(b).MulBase(yinv)
				next[i] = even.Add(beta.Mul(odd))
				yinv = yinv.Mul(omegaInv)
			}
		})
		values = next
		shift = shift.Square()
		beta = beta.Square()
	}
	return values, shift
}

// open answers the query positions (into the LDE domain) for every layer.
func (f *friProver) open(positions []int) ([]ExtOpening, error) {
	fold := f.l.opts.FoldingFactor
	out := make([]ExtOpening, len(f.layers))
	for layer, values := range f.layers {
		m := len(values)
		w := m / fold
		leaves := uniqueMod(positions, w)
		o := ExtOpening{Rows: make([][]field.Ext, len(leaves))}
		for i, leaf := range leaves {
			row := make([]field.Ext, fold)
			for k := range row {
				row[k] = values[leaf+k*w]
			}
			o.Rows[i] = row
		}
		var err error
		if o.Nodes, err = f.trees[layer].Prove(leaves); err != nil {
			return nil, err
		}
		out[layer] = o
		positions = leaves
	}
	return out, nil
}

// foldCoset folds the F values of one leaf of a layer of size m over the
// coset shift·ω_m^leaf·⟨ω_F⟩ down to one value, as foldLayer does for the
// whole layer.
func foldCoset(vals []field.Ext, shift field.Element, m, leaf int, beta field.Ext) field.Ext {
	fold := len(vals)
	inv2 := field.New(2).Inverse()
	cur := append([]field.Ext(nil), vals...)
	// y_k = base·ω_f^k for the current sub-coset size f.
	base := shift.Mul(field.RootOfUnity(log2(m)).Exp(uint64(leaf)))
	for f := fold; f > 1; f >>= 1 {
		half := f / 2
		wInv := field.RootOfUnity(log2(f)).Inverse()
		yinv := base.Inverse().Mul(inv2)
		for k := 0; k < half; k++ {
			a, b := cur[k], cur[k+half]
			cur[k] = a.Add(b).MulBase(inv2).Add(beta.Mul(a.Sub(b).MulBase(yinv)))
			yinv = yinv.Mul(wInv)
		}
		base = base.Square()
		beta = beta.Square()
	}
	return cur[0]
}

// FRI's layer 0 is the DEEP polynomial folded once by 2; its values are
// not committed. The trace and composition commitments pair the rows of x
// and −x in one leaf (positions i and i + m/2), so a query opens both and
// the verifier recomputes the two DEEP values and folds them itself. That
// saves the prover a Merkle tree over the LDE domain and the proof a layer.

// foldPair folds the DEEP values at x = shift·ω_m^pos and −x by 2 with β,
// as friFirstFold does at position pos.
func foldPair(atX, atMinusX field.Ext, x field.Element, beta field.Ext) field.Ext {
	inv2 := field.New(2).Inverse()
	even := atX.Add(atMinusX).MulBase(inv2)
	odd := atX.Sub(atMinusX).MulBase(x.Double().Inverse())
	return even.Add(beta.Mul(odd))
}

// friVerify checks the FRI layers at the query positions, given the
// expected layer-0 value at each position.
func friVerify(l *layout, p *Proof, betas []field.Ext, positions []int, layer0 []field.Ext) error {
	fold := l.opts.FoldingFactor
	shift := l.friShift()
	expected := make(map[int]field.Ext, len(positions))
	for i, pos := range positions {
		expected[pos] = layer0[i]
	}
	for layer := 0; layer < l.friLayers; layer++ {
		m := l.friLayerSize(layer)
		w := m / fold
		leaves := uniqueMod(positions, w)
		o := &p.FRI[layer]
		if len(o.Rows) != len(leaves) {
			return fmt.Errorf("stark: FRI layer %d opens %d cosets, want %d", layer, len(o.Rows), len(leaves))
		}
		hashes := make([]merkle.Digest, len(leaves))
		rowOf := make(map[int]int, len(leaves))
		for i, row := range o.Rows {
			hashes[i] = merkle.HashLeaf(appendExts(nil, row))
			rowOf[leaves[i]] = i
		}
		if err := merkle.Verify(p.FRIRoots[layer], w, leaves, hashes, o.Nodes); err != nil {
			return fmt.Errorf("stark: FRI layer %d opening does not match its commitment: %w", layer, err)
		}
		for _, pos := range positions {
			leaf, slot := friLeaf(pos, m, fold)
			if o.Rows[rowOf[leaf]][slot] != expected[pos] {
				return fmt.Errorf("stark: FRI layer %d is inconsistent at position %d", layer, pos)
			}
		}
		next := make(map[int]field.Ext, len(leaves))
		for i, leaf := range leaves {
			next[leaf] = foldCoset(o.Rows[i], shift, m, leaf, betas[layer])
		}
		expected = next
		positions = leaves
		shift = shift.Exp(uint64(fold))
	}
	// The last layer must agree with the remainder polynomial.
	m := l.friLayerSize(l.friLayers)
	omega := field.RootOfUnity(log2(m))
	for _, pos := range positions {
		x := field.FromBase(shift.Mul(omega.Exp(uint64(pos))))
		if poly.EvalExtAt(p.Remainder, x) != expected[pos] {
			return fmt.Errorf("stark: FRI remainder disagrees with the last layer at position %d", pos)
		}
	}
	return nil
}
