package ethstark

import (
	"errors"
	"fmt"
	"slices"

	"github.com/datadragon/datadragon/zk/field"
)

// Result is what a successful verification reports.
type Result struct {
	SecurityBits int // conjectured bits the parameters claim (Params.Security)
	LogTrace     int // log2 of the trace length
}

// boundary is one constraint of ethSTARK's second (DEEP) AIR: column col
// takes value y at x.
type boundary[E any] struct {
	col  int
	x, y E
}

func bitReverse(v uint64, bits int) uint64 {
	var r uint64
	for range bits {
		r = r<<1 | v&1
		v >>= 1
	}
	return r
}

// verify runs ethSTARK's STARK verifier for one statement: seed is the
// statement's initial hash-chain seed.
func verify[E extElem[E], O extOps[E]](a statementAIR[E], p *Params, seed, proof []byte, minSecurity int) (*Result, error) {
	logN := a.logTrace()
	if err := p.check(logN, logConstraintDegree); err != nil {
		return nil, err
	}
	// ethSTARK's domains are subgroups (and their cosets) of order 2^k,
	// which exist up to 2^34 in this field.
	if logN+p.LogNCosets > field.TwoAdicity {
		return nil, errors.New("ethstark: evaluation domain larger than the field's largest power-of-two subgroup")
	}
	sec := p.Security(logN)
	if sec < minSecurity {
		return nil, fmt.Errorf("ethstark: parameters claim %d bits of security, below the floor of %d", sec, minSecurity)
	}
	n := uint64(1) << logN
	logD := logN + p.LogNCosets
	D := uint64(1) << logD
	nCols := width
	if p.ZeroKnowledge {
		nCols++ // the blinding column
	}
	ch := newChannel(p.Branch.spec().digest, seed, proof)

	// Trace commitment and the constraints' coefficients.
	trace := newTable[E, O](ch, D, nCols, false, p.ZeroKnowledge)
	if err := trace.readCommitment(); err != nil {
		return nil, err
	}
	coef := make([]E, a.nCoefficients())
	for i := range coef {
		coef[i] = randomExt[E, O](ch)
	}

	// Composition commitment, out-of-domain point and values.
	comp := newTable[E, O](ch, D, nBreaks, true, false)
	if err := comp.readCommitment(); err != nil {
		return nil, err
	}
	z := randomExt[E, O](ch)
	g := field.RootOfUnity(logN)
	mask := a.mask()
	vals := make([]E, len(mask))
	var err error
	for i := range vals {
		if vals[i], err = receiveExt[E, O](ch); err != nil {
			return nil, err
		}
	}
	want, err := a.constraintsAt(z, vals, coef)
	if err != nil {
		return nil, err
	}
	breaks := make([]E, nBreaks)
	for i := range breaks {
		if breaks[i], err = receiveExt[E, O](ch); err != nil {
			return nil, err
		}
	}
	bcs := boundaries[E, O](mask, vals, breaks, z, g, nCols)
	var got E
	for i := nBreaks - 1; i >= 0; i-- {
		got = got.Mul(z).Add(breaks[i])
	}
	if got != want {
		return nil, errors.New("ethstark: out of domain sampling verification failed")
	}
	bcoef := make([]E, len(bcs))
	for i := range bcoef {
		bcoef[i] = randomExt[E, O](ch)
	}

	// FRI commitments.
	steps := p.FRISteps
	layerSize := func(basis int) uint64 { return D >> basis }
	var firstPoint E
	evalPoints := make([]E, 0, len(steps))
	layers := make([]*table[E, O], 0, len(steps))
	basis := 0
	for i := range steps {
		basis += steps[i]
		if i == 0 {
			if steps[0] != 0 {
				firstPoint = randomExt[E, O](ch)
			}
		} else {
			evalPoints = append(evalPoints, randomExt[E, O](ch))
		}
		if i < len(steps)-1 {
			cs := uint64(1) << steps[i+1]
			t := newTable[E, O](ch, layerSize(basis)/cs, int(cs), true, false)
			if err := t.readCommitment(); err != nil {
				return nil, err
			}
			layers = append(layers, t)
		}
	}
	sum := p.stepSum()
	lastSize := layerSize(sum)
	if uint64(p.LastLayerDegreeBound) > lastSize {
		return nil, errors.New("ethstark: last_layer_degree_bound larger than the last layer")
	}
	last, err := receiveExtSpan[E, O](ch, p.LastLayerDegreeBound)
	if err != nil {
		return nil, err
	}

	// Grinding, then the queries, drawn in the second layer and sorted.
	if err := ch.proofOfWork(p.PoWBits); err != nil {
		return nil, err
	}
	qs := make([]uint64, p.NQueries)
	for i := range qs {
		qs[i] = ch.randomNumber(layerSize(steps[0]))
	}
	slices.Sort(qs)
	ch.queries = true

	// Layer 0: the DEEP composition, evaluated from the trace and
	// composition rows at the query points.
	s0 := steps[0]
	cs0 := uint64(1) << s0
	first := make([]uint64, 0, len(qs)*int(cs0))
	for _, q := range qs {
		for j := q * cs0; j < (q+1)*cs0; j++ {
			first = append(first, j)
		}
	}
	tv, err := trace.query(first, nil)
	if err != nil {
		return nil, err
	}
	if err := trace.verify(tv); err != nil {
		return nil, fmt.Errorf("%w (trace)", err)
	}
	cv, err := comp.query(first, nil)
	if err != nil {
		return nil, err
	}
	if err := comp.verify(cv); err != nil {
		return nil, fmt.Errorf("%w (composition)", err)
	}
	h := field.RootOfUnity(logD)
	three := field.Generator()
	logC := p.LogNCosets
	// Constraints sharing a point share a denominator, as ethSTARK groups
	// them: there are only four distinct points (z, z̄, z·g^s, z⁴), so one
	// inversion each per query.
	var points []E
	group := make([]int, len(bcs))
	for k, b := range bcs {
		group[k] = slices.Index(points, b.x)
		if group[k] < 0 {
			group[k] = len(points)
			points = append(points, b.x)
		}
	}
	sums := make([]E, len(points))
	deep := func(q uint64) (E, error) {
		ci, off := q>>logN, q&(n-1)
		x := three.Mul(h.Exp(bitReverse(ci, logC) + (uint64(1)<<logC)*bitReverse(off, logN)))
		clear(sums)
		for k, b := range bcs {
			var col E
			if b.col < nCols {
				col = tv[cell{q, b.col}]
			} else {
				col = cv[cell{q, b.col - nCols}]
			}
			sums[group[k]] = sums[group[k]].Add(bcoef[k].Mul(col.Sub(b.y)))
		}
		var r E
		for j, pt := range points {
			den := pt.Neg().AddBase(x)
			if den.IsZero() {
				return r, errors.New("ethstark: query point equals an out-of-domain point")
			}
			r = r.Add(sums[j].Mul(den.Inverse()))
		}
		if p.ZeroKnowledge {
			r = r.Add(tv[cell{q, nCols - 1}])
		}
		return r, nil
	}
	results := make([]E, len(qs))
	for i := range qs {
		coset := make([]E, cs0)
		for j := range coset {
			if coset[j], err = deep(first[uint64(i)*cs0+uint64(j)]); err != nil {
				return nil, err
			}
		}
		results[i] = fold[E](coset, firstPoint, D, 0, steps[0], first[uint64(i)*cs0])
	}

	// Inner layers: each query's coset is opened, the folded value of the
	// layer before fills its own cell, and the coset folds on.
	basis = 0
	for i := 0; i < len(steps)-1; i++ {
		step := steps[i+1]
		basis += steps[i]
		shift := basis - s0
		known := map[cell]bool{}
		rows := make([]uint64, 0, len(qs))
		for _, q := range qs {
			idx := q >> shift
			known[cell{idx >> step, int(idx & (1<<step - 1))}] = true
			rows = append(rows, idx>>step)
		}
		cells, err := layers[i].query(rows, known)
		if err != nil {
			return nil, err
		}
		for j, q := range qs {
			idx := q >> shift
			k := cell{idx >> step, int(idx & (1<<step - 1))}
			if _, ok := cells[k]; !ok {
				cells[k] = results[j]
			}
		}
		for j, q := range qs {
			row := (q >> shift) >> step
			coset := make([]E, 1<<step)
			for c := range coset {
				coset[c] = cells[cell{row, c}]
			}
			results[j] = fold(coset, evalPoints[i], D, basis, step, row<<step)
		}
		if err := layers[i].verify(cells); err != nil {
			return nil, fmt.Errorf("%w (FRI layer %d)", err, i+1)
		}
	}

	// The last layer: its coefficients, evaluated on the last coset in
	// bit-reversed order, must match every query.
	logL := logD - sum
	wL := field.RootOfUnity(logL)
	for j, q := range qs {
		idx := q >> (sum - s0)
		x := wL.Exp(bitReverse(idx, logL))
		var v E
		for k := len(last) - 1; k >= 0; k-- {
			v = v.MulBase(x).Add(last[k])
		}
		if v != results[j] {
			return nil, fmt.Errorf("ethstark: FRI query #%d is not consistent with the coefficients of the last layer", j)
		}
	}
	if ch.pos != len(proof) {
		return nil, errors.New("ethstark: trailing bytes after the proof")
	}
	return &Result{SecurityBits: sec, LogTrace: logN}, nil
}

// fold applies ethSTARK's FRI folding to one coset of 2^step values of the
// layer at basis (the domain of size D/2^basis, offset 1, bit-reversed),
// starting at index start: f(x), f(−x) ↦ f(x)+f(−x)+α(f(x)−f(−x))/x, α
// squaring at each halving.
func fold[E extElem[E]](vals []E, alpha E, D uint64, basis, step int, start uint64) E {
	cur := vals
	for b := basis; b < basis+step; b++ {
		logS := log2(D >> b)
		w := field.RootOfUnity(logS)
		next := make([]E, len(cur)/2)
		for j := 0; j < len(cur); j += 2 {
			x := w.Exp(bitReverse(start+uint64(j), logS))
			fx, fmx := cur[j], cur[j+1]
			next[j/2] = fx.Add(fmx).Add(alpha.Mul(fx.Sub(fmx)).MulBase(x.Inverse()))
		}
		cur = next
		alpha = alpha.Mul(alpha)
		start /= 2
	}
	return cur[0]
}

// boundaries lists the DEEP AIR's constraints in ethSTARK's order: each
// mask value at z·g^row, a column's first one also at the conjugate point,
// then the composition pieces at z⁴.
func boundaries[E extElem[E], O extOps[E]](mask []maskItem, vals, breaks []E, z E, g field.Element, nCols int) []boundary[E] {
	var o O
	zc := o.frobenius(z)
	seen := make([]bool, nCols)
	var bcs []boundary[E]
	for i, m := range mask {
		shift := g.Exp(m.row)
		bcs = append(bcs, boundary[E]{m.col, z.MulBase(shift), vals[i]})
		if !seen[m.col] {
			seen[m.col] = true
			bcs = append(bcs, boundary[E]{m.col, zc.MulBase(shift), o.frobenius(vals[i])})
		}
	}
	zb := z.Exp(nBreaks)
	for i, v := range breaks {
		bcs = append(bcs, boundary[E]{nCols + i, zb, v})
	}
	return bcs
}
