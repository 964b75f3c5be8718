package ethstark

import (
	"errors"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
)

const width = rescue.Width // 12 state elements, one trace column each

// maskItem is one neighbour an AIR reads: column col at row offset row.
type maskItem struct {
	row uint64
	col int
}

// statementAIR is what the verifier needs of an ethSTARK AIR: its sizes,
// the neighbours it reads and its composition polynomial at the
// out-of-domain point.
type statementAIR[E any] interface {
	logTrace() int      // log2 of the trace length, slackness included
	mask() []maskItem   // neighbours, in ethSTARK's order
	nCoefficients() int // random coefficients drawn for the constraints
	constraintsAt(z E, nb []E, coef []E) (E, error)
}

// Both AIRs have composition degree bound 4·trace length.
const logConstraintDegree = 2
const nBreaks = 1 << logConstraintDegree

// slackness is ethSTARK's zero-knowledge spacing: the trace grows so that
// the rows the verifier sees (queries and out-of-domain neighbours) cannot
// cover the original rows. Both AIRs read each column twice.
func slackness(origLen uint64, zk bool, nQueries int) uint64 {
	if !zk {
		return 1
	}
	need := origLen + 2 + uint64(nQueries)
	m := uint64(1)
	for m < need {
		m <<= 1
	}
	return m / origLen
}

func log2(n uint64) int {
	l := 0
	for uint64(1)<<l < n {
		l++
	}
	return l
}

// periodicAt evaluates, at y, the polynomials P_c of degree < m with
// P_c(ω^i) = cols[c][i] on the subgroup of order m (natural order), all of
// the same length m. It uses the barycentric form
// P(y) = (y^m − 1)/m · Σ_i v_i·ω^i/(y − ω^i), whose denominators all
// columns share.
func periodicAt[E extElem[E], O extOps[E]](cols [][]field.Element, y E) []E {
	var o O
	m := len(cols[0])
	w := field.RootOfUnity(log2(uint64(m)))
	pts := make([]field.Element, m)
	den := make([]E, m)
	x := field.One()
	for i := range m {
		pts[i] = x
		den[i] = y.SubBase(x)
		if den[i].IsZero() { // y is a point of the subgroup: read the values
			out := make([]E, len(cols))
			for c, v := range cols {
				out[c] = o.fromBase(v[i])
			}
			return out
		}
		x = x.Mul(w)
	}
	batchInverse[E, O](den, den)
	scale := y.Exp(uint64(m)).SubBase(field.One()).MulBase(field.New(uint64(m)).Inverse())
	out := make([]E, len(cols))
	for c, v := range cols {
		var s E
		for i, vi := range v {
			if !vi.IsZero() {
				s = s.Add(den[i].MulBase(vi.Mul(pts[i])))
			}
		}
		out[c] = s.Mul(scale)
	}
	return out
}

// spread spaces values with zeros, slack−1 after each, as ethSTARK spreads
// a periodic column over a zero-knowledge trace.
func spread(v []field.Element, slack uint64) []field.Element {
	out := make([]field.Element, 0, uint64(len(v))*slack)
	for _, x := range v {
		out = append(out, x)
		for range slack - 1 {
			out = append(out, field.Zero())
		}
	}
	return out
}

// roundState computes, from the neighbours (row r in nb[:12], row r+1 in
// nb[12:]) and the periodic round constants (even in per[:12], odd in
// per[12:]), the two sides of one Rescue round as ethSTARK's AIRs write
// them: after = K_even + M·x³ and before = (M⁻¹·(y − K_odd))³.
func roundState[E extElem[E]](nb, per []E) (after, before [width]E) {
	mds := rescue.MDS()
	inv := rescue.MDSInverse()
	var cube, diff [width]E
	for i := range width {
		cube[i] = nb[i].Mul(nb[i]).Mul(nb[i])
		diff[i] = nb[width+i].Sub(per[width+i])
	}
	for i := range width {
		a := per[i]
		var b E
		for j := range width {
			a = a.Add(cube[j].MulBase(mds[i][j]))
			b = b.Add(diff[j].MulBase(inv[i][j]))
		}
		after[i] = a
		before[i] = b.Mul(b).Mul(b)
	}
	return after, before
}

func extPow[E extElem[E]](z E, e uint64) E { return z.Exp(e) }

// degAdj is a constraint's pair of coefficients: c0 + c1·z^e lifts the
// constraint to the composition degree bound.
func degAdj[E extElem[E]](coef []E, k int, zPow E) E {
	return coef[k].Add(coef[k+1].Mul(zPow))
}

// chainAIR is ethSTARK's Rescue hash-chain AIR: 3 hashes per 32-row batch,
// a row per middle state, the chain's words fed in at the batch boundaries
// and the output fixed at the last hash's row.
type chainAIR[E extElem[E], O extOps[E]] struct {
	output   [4]field.Element
	chainLen uint64
	origLen  uint64 // rows before zero-knowledge slackness
	slack    uint64
	periodic [2 * width][]field.Element
}

const batchHeight = 32

func newChainAIR[E extElem[E], O extOps[E]](in *ChainInput, zk bool, nQueries int) *chainAIR[E, O] {
	rows := in.ChainLength / 3 * batchHeight
	orig := uint64(1) << log2(rows)
	a := &chainAIR[E, O]{output: in.Output, chainLen: in.ChainLength, origLen: orig}
	a.slack = slackness(orig, zk, nQueries)
	rc := rescue.RoundConstants()
	for i := range width {
		even := make([]field.Element, 0, batchHeight)
		odd := make([]field.Element, 0, batchHeight)
		even = append(even, field.Zero())
		for range 3 {
			// The first constant of each hash adds to the word carried
			// over (columns 0–3) and replaces the rest.
			if i < 4 {
				even[len(even)-1] = even[len(even)-1].Add(rc[0][i])
			} else {
				even[len(even)-1] = rc[0][i]
			}
			for r := range rescue.Rounds {
				odd = append(odd, rc[2*r+1][i])
				even = append(even, rc[2*r+2][i])
			}
		}
		even = append(even, field.Zero())
		odd = append(odd, field.Zero(), field.Zero())
		a.periodic[i] = spread(even, a.slack)
		a.periodic[width+i] = spread(odd, a.slack)
	}
	return a
}

func (a *chainAIR[E, O]) logTrace() int      { return log2(a.origLen * a.slack) }
func (a *chainAIR[E, O]) nCoefficients() int { return 2 * 52 }
func (a *chainAIR[E, O]) mask() []maskItem   { return twoRowMask(a.slack) }

func twoRowMask(slack uint64) []maskItem {
	m := make([]maskItem, 0, 2*width)
	for r := range uint64(2) {
		for c := range width {
			m = append(m, maskItem{r * slack, c})
		}
	}
	return m
}

// evalPeriodic evaluates periodic columns of a trace of n rows at z: a
// column of period m is a polynomial in z^(n/m).
func evalPeriodic[E extElem[E], O extOps[E]](cols [][]field.Element, n uint64, z E) []E {
	return periodicAt[E, O](cols, z.Exp(n/uint64(len(cols[0]))))
}

func (a *chainAIR[E, O]) constraintsAt(z E, nb, coef []E) (E, error) {
	var o O
	n := a.origLen * a.slack // trace length
	d := 4 * n               // composition degree bound
	N0 := a.origLen
	nb32 := N0 / batchHeight // batches
	exps := []uint64{
		nb32,
		N0,
		d - n + nb32,
		d + 2 - 3*n + nb32,
		d + 2 - 3*n - 3*nb32 + N0,
		d + 2 - 3*n - 5*nb32 + N0,
		d + 2 - 3*n + 2*nb32,
		d - 1 - n + nb32,
		d - n + 1,
	}
	pp := make([]E, 1+len(exps))
	pp[0] = z
	for i, e := range exps {
		pp[i+1] = extPow(z, e)
	}
	g0 := field.RootOfUnity(log2(N0)) // generator of the original rows
	sh := []field.Element{
		g0.Exp(15 * N0 / 16),
		g0.Exp(31 * N0 / 32),
		g0.Exp(5 * N0 / 16),
		g0.Exp(5 * N0 / 8),
		g0.Exp(N0 - 1),
		g0.Exp(32*(a.chainLen/3-1) + 31),
	}
	one := o.one()
	dom0 := pp[1].Sub(one)
	dom1 := pp[2].Sub(one)
	dom2 := dom0.Mul(pp[1].SubBase(sh[0])).Mul(pp[1].SubBase(sh[1]))
	dom3 := dom2.Mul(pp[1].SubBase(sh[2])).Mul(pp[1].SubBase(sh[3]))
	dom4 := pp[1].SubBase(sh[2]).Mul(pp[1].SubBase(sh[3]))
	dom5 := pp[1].SubBase(sh[0])
	dom6 := pp[1].SubBase(sh[1])
	dom7 := z.SubBase(sh[4])
	dom8 := z.SubBase(sh[5])
	if anyZero(dom0, dom1, dom4, dom5, dom6, dom8) {
		var zero E
		return zero, errOnDomain
	}

	per := evalPeriodic[E, O](a.periodic[:], n, z)
	after, before := roundState(nb, per)

	k := 0
	var res E
	// Rows where a batch starts: the capacity of the first hash is zero and
	// the state enters the first round.
	{
		var s E
		for i := range 4 {
			s = s.Add(nb[8+i].Mul(degAdj(coef, k, pp[3])))
			k += 2
		}
		for i := range width {
			c := nb[i].Add(per[i]).Sub(before[i])
			s = s.Add(c.Mul(degAdj(coef, k, pp[4])))
			k += 2
		}
		res = res.Add(s.Mul(dom0.Inverse()))
	}
	// Rounds inside a hash, everywhere except the batch's hash boundaries.
	{
		var s1, s2 E
		for i := range 4 {
			s1 = s1.Add(after[i].Sub(before[i]).Mul(degAdj(coef, k, pp[5])))
			k += 2
		}
		for i := 4; i < width; i++ {
			s2 = s2.Add(after[i].Sub(before[i]).Mul(degAdj(coef, k, pp[6])))
			k += 2
		}
		s := s1.Mul(dom2).Add(s2.Mul(dom3))
		res = res.Add(s.Mul(dom1.Inverse()))
	}
	// Between hashes of a batch: the new capacity is zero.
	{
		var s E
		for i := width - 4; i < width; i++ {
			s = s.Add(per[i].Sub(before[i]).Mul(degAdj(coef, k, pp[7])))
			k += 2
		}
		res = res.Add(s.Mul(dom4.Inverse()))
	}
	// The last row of a batch holds the state after the third hash.
	{
		var s E
		for i := range width {
			s = s.Add(after[i].Sub(nb[width+i]).Mul(degAdj(coef, k, pp[4])))
			k += 2
		}
		res = res.Add(s.Mul(dom5.Inverse()))
	}
	// The digest carries from one batch to the next (not past the last row).
	{
		var s E
		for i := range 4 {
			s = s.Add(nb[i].Sub(nb[width+i]).Mul(degAdj(coef, k, pp[8])))
			k += 2
		}
		s = s.Mul(dom7)
		res = res.Add(s.Mul(dom6.Inverse()))
	}
	// The output at the chain's last hash.
	{
		var s E
		for i := range 4 {
			s = s.Add(nb[i].SubBase(a.output[i]).Mul(degAdj(coef, k, pp[9])))
			k += 2
		}
		res = res.Add(s.Mul(dom8.Inverse()))
	}
	return res, nil
}

// ziggyAIR is ethSTARK's Ziggy AIR: one Rescue permutation in 16 rows,
// rows 1–10 holding the middle states; the first half round is checked
// against a zero capacity and the last against the public key.
type ziggyAIR[E extElem[E], O extOps[E]] struct {
	pk       [4]field.Element
	slack    uint64
	periodic [2 * width][]field.Element
}

const ziggyHeight = 16

func newZiggyAIR[E extElem[E], O extOps[E]](in *ZiggyInput, zk bool, nQueries int) *ziggyAIR[E, O] {
	a := &ziggyAIR[E, O]{pk: in.PublicKey, slack: slackness(ziggyHeight, zk, nQueries)}
	rc := rescue.RoundConstants()
	for i := range width {
		even := make([]field.Element, 0, ziggyHeight)
		odd := make([]field.Element, 0, ziggyHeight)
		even = append(even, rc[0][i])
		for r := range rescue.Rounds {
			odd = append(odd, rc[2*r+1][i])
			even = append(even, rc[2*r+2][i])
		}
		for len(odd) < ziggyHeight {
			odd = append(odd, field.Zero())
		}
		for len(even) < ziggyHeight {
			even = append(even, field.Zero())
		}
		a.periodic[i] = spread(even, a.slack)
		a.periodic[width+i] = spread(odd, a.slack)
	}
	return a
}

func (a *ziggyAIR[E, O]) logTrace() int      { return log2(ziggyHeight * a.slack) }
func (a *ziggyAIR[E, O]) nCoefficients() int { return 2 * 20 }
func (a *ziggyAIR[E, O]) mask() []maskItem   { return twoRowMask(a.slack) }

func (a *ziggyAIR[E, O]) constraintsAt(z E, nb, coef []E) (E, error) {
	var o O
	n := ziggyHeight * a.slack
	d := 4 * n
	pp := []E{z, extPow(z, d+1-3*(n-1)-1), extPow(z, d+9-3*(n-1)-1)}
	g0 := field.RootOfUnity(log2(ziggyHeight))
	one := o.one()
	dom0 := z.Sub(one)
	dom1 := one
	for e := uint64(1); e <= 9; e++ {
		dom1 = dom1.Mul(z.SubBase(g0.Exp(e)))
	}
	dom2 := z.SubBase(g0.Exp(10))
	if anyZero(dom0, dom1, dom2) {
		var zero E
		return zero, errOnDomain
	}

	per := evalPeriodic[E, O](a.periodic[:], n, z)
	after, before := roundState(nb, per)

	k := 0
	var res E
	// Row 0: the first half round from the secret and a zero capacity.
	{
		var s E
		for i := 8; i < width; i++ {
			s = s.Add(per[i].Sub(before[i]).Mul(degAdj(coef, k, pp[1])))
			k += 2
		}
		res = res.Add(s.Mul(dom0.Inverse()))
	}
	// Rows 1–9: a full round between consecutive middle states.
	{
		var s E
		for i := range width {
			s = s.Add(after[i].Sub(before[i]).Mul(degAdj(coef, k, pp[2])))
			k += 2
		}
		res = res.Add(s.Mul(dom1.Inverse()))
	}
	// Row 10: the last half round gives the public key.
	{
		var s E
		for i := range 4 {
			s = s.Add(after[i].SubBase(a.pk[i]).Mul(degAdj(coef, k, pp[1])))
			k += 2
		}
		res = res.Add(s.Mul(dom2.Inverse()))
	}
	return res, nil
}

var errOnDomain = errors.New("ethstark: the out-of-domain point lies on a constraint's domain")

func anyZero[E extElem[E]](xs ...E) bool {
	for _, x := range xs {
		if x.IsZero() {
			return true
		}
	}
	return false
}
