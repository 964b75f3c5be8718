package chain

import (
	"fmt"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// Constraint indices: the order of the numerators in EvaluateBase and
// EvaluateExt (see the package documentation for what each group says).
// The last two groups are optional and follow the fixed ones in this order.
const (
	capZero   = 0                 // 4: cur[8+j], rows ≡ 0
	firstHalf = capZero + 4       // 8: cur[j] + K0[j] − B[j], j < 8, rows ≡ 0
	capReset  = firstHalf + 8     // 4: B[8+j] − K0[8+j], rows ≡ 0, 10, 20
	roundStep = capReset + 4      // 12: F[j] − B[j]; rows ≡ 1..29 (j < 4), also ≢ 10, 20 (j ≥ 4)
	lastHalf  = roundStep + Width // 12: F[j] − next[j], rows ≡ 30
	numFixed  = lastHalf + Width  // constraints of every statement

	// batchLink (4: next[j] − cur[j], rows ≡ 31) exists for chains longer
	// than one batch (n > 3); output (4: M[j] + K20[j] − out[j] on one
	// row) when hash n does not end a batch.
	numMax = numFixed + 8
)

// Periodic columns: kf[j] at index j, kb[j] at index Width+j.
const numPeriodic = 2 * Width

var (
	mds, mdsInv *[Width][Width]field.Element
	rc          *[2*rescue.Rounds + 1][Width]field.Element
	// periodic holds the 24 periodic columns over one batch.
	periodic [numPeriodic][BatchRows]field.Element
)

func init() {
	mds, mdsInv, rc = rescue.MDS(), rescue.MDSInverse(), rescue.RoundConstants()
	// kb holds M⁻¹·K rather than K: (M⁻¹·(next − K))³ = (M⁻¹·next − M⁻¹·K)³,
	// so one product M⁻¹·next per point serves every row.
	var kbRound [2*rescue.Rounds + 1][Width]field.Element
	for r := 1; r < len(rc); r += 2 {
		for i := range Width {
			kbRound[r][i] = rescue.Dot(&mdsInv[i], &rc[r])
		}
	}
	for k := range BatchRows {
		var zero [Width]field.Element
		kf, kb := &zero, &zero // rows 30 (kb) and 31: unused
		switch {
		case k == 0:
			kb = &kbRound[1]
		case k == BatchRows-2: // 30: last half round of hash C
			kf = &rc[2*rescue.Rounds]
		case k < BatchRows-2:
			rho := (k-1)%rescue.Rounds + 1 // round stored in row k
			kf = &rc[2*rho]
			if rho < rescue.Rounds {
				kb = &kbRound[2*rho+1]
			} else {
				kb = &kbRound[1] // rows 10, 20: next row is round 1 of a new hash
			}
		}
		for j := range Width {
			periodic[j][k] = kf[j]
			periodic[Width+j][k] = kb[j]
		}
		if k == 10 || k == 20 {
			// The digest lanes carry into the next hash's left input, which
			// gets K0 before its first round: fold K0 into the constant.
			for j := range 4 {
				periodic[j][k] = periodic[j][k].Add(rc[0][j])
			}
		}
	}
}

// Air is the hash-chain AIR for one statement and trace length.
type Air struct {
	info    stark.AirInfo
	stmt    Statement
	linkAt  int              // index of the batch-link group, or −1
	outAt   int              // index of the output group, or −1
	outDiff [4]field.Element // K20[j] − out[j]
}

// NewAir returns the AIR of s over a trace of traceLength rows, a power of
// two of at least RowsFor(s.Length) rows, proved without zero knowledge:
// the constraints govern every row.
func NewAir(s Statement, traceLength int) (*Air, error) {
	return newAir(s, traceLength, 0)
}

// NewAirFor returns the AIR proofs of s under opts use: the trace length
// TraceLengthFor gives, and with zero knowledge the statement leaves the
// last opts.ZKRows() rows to randomness. Prove and Verify derive it from
// the options in the same way, so every row of the chain stays
// constrained whatever options a proof carries.
func NewAirFor(s Statement, opts stark.Options) (*Air, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return newAir(s, stark.TraceLengthFor(RowsFor(s.Length), opts), opts.ZKRows())
}

func newAir(s Statement, traceLength, zkRows int) (*Air, error) {
	if err := checkShape(s.Length, traceLength); err != nil {
		return nil, err
	}
	if traceLength-zkRows < RowsFor(s.Length) {
		return nil, fmt.Errorf("chain: %d hashes need %d rows, a trace of %d with %d random rows leaves %d", s.Length, RowsFor(s.Length), traceLength, zkRows, traceLength-zkRows)
	}
	a := &Air{stmt: s, linkAt: -1, outAt: -1}
	per := make([][]field.Element, numPeriodic)
	for i := range per {
		per[i] = append([]field.Element(nil), periodic[i][:]...)
	}
	cons := make([]stark.Constraint, 0, numMax)
	add := func(count, degree int, usesNext bool, rows stark.RowSet) {
		for range count {
			cons = append(cons, stark.Constraint{Degree: degree, UsesNext: usesNext, Rows: rows})
		}
	}
	add(4, 1, false, stark.Rows(BatchRows, 0))
	add(8, 3, true, stark.Rows(BatchRows, 0))
	add(4, 3, true, stark.Rows(BatchRows, 0, 10, 20))
	add(4, 3, true, stark.RowsExcept(BatchRows, 0, 30, 31))
	add(8, 3, true, stark.RowsExcept(BatchRows, 0, 10, 20, 30, 31))
	add(Width, 3, true, stark.Rows(BatchRows, 30))
	if s.Length > HashesPerBatch {
		// A chain within one batch needs no link. Leaving it out matters:
		// with zero-knowledge rows the trace may have only 32 usable rows,
		// and the engine refuses a constraint that applies on no row.
		a.linkAt = len(cons)
		add(4, 1, true, stark.Rows(BatchRows, BatchRows-1))
	}
	b, q := (s.Length-1)/HashesPerBatch, (s.Length-1)%HashesPerBatch
	var asserts []stark.Assertion
	if q == HashesPerBatch-1 {
		row := BatchRows*b + BatchRows - 1
		for j := range 4 {
			asserts = append(asserts, stark.Assertion{Column: j, Row: row, Value: s.Output[j]})
		}
	} else {
		a.outAt = len(cons)
		for j := range 4 {
			a.outDiff[j] = rc[2*rescue.Rounds][j].Sub(s.Output[j])
		}
		add(4, 3, false, stark.SingleRow(BatchRows*b+rescue.Rounds*(q+1)))
	}
	a.info = stark.AirInfo{
		Name:         Name,
		PublicInputs: s.PublicInputs(),
		Width:        Width,
		TraceLength:  traceLength,
		// Rows past the chain hold padding hashes, so constraining every
		// row but the random ones costs nothing and keeps the divisors
		// sparse.
		Rows:          traceLength - zkRows,
		ZeroKnowledge: zkRows > 0,
		Periodic:      per,
		Constraints:   cons,
		Assertions:    asserts,
	}
	return a, nil
}

// Info describes the AIR. The slices are shared: callers must not modify
// them.
func (a *Air) Info() stark.AirInfo { return a.info }

// Statement returns the statement the AIR checks.
func (a *Air) Statement() Statement { return a.stmt }

// EvaluateBase writes every constraint numerator at one point. With
// c = cur³, M = MDS·c, F = M + kf and B = (MDS⁻¹·next − kb)³ it costs two
// matrix–vector products and 24 cubes (about 350 multiplications).
func (a *Air) EvaluateBase(f *stark.Frame[field.Element], out []field.Element) {
	cur := (*[Width]field.Element)(f.Cur)
	next := (*[Width]field.Element)(f.Next)
	per := (*[numPeriodic]field.Element)(f.Periodic)
	var c, m, fw, bw [Width]field.Element
	for j := range Width {
		c[j] = cur[j].Cube()
	}
	for i := range Width {
		m[i] = rescue.Dot(&mds[i], &c)
		fw[i] = m[i].Add(per[i])
		bw[i] = rescue.Dot(&mdsInv[i], next).Sub(per[Width+i]).Cube()
	}
	o := out[:numFixed]
	k0 := &rc[0]
	for j := range 4 {
		o[capZero+j] = cur[8+j]
		o[capReset+j] = bw[8+j].Sub(k0[8+j])
	}
	for j := range 8 {
		o[firstHalf+j] = cur[j].Add(k0[j]).Sub(bw[j])
	}
	for j := range Width {
		o[roundStep+j] = fw[j].Sub(bw[j])
		o[lastHalf+j] = fw[j].Sub(next[j])
	}
	if a.linkAt >= 0 {
		for j := range 4 {
			out[a.linkAt+j] = next[j].Sub(cur[j])
		}
	}
	if a.outAt >= 0 {
		for j := range 4 {
			out[a.outAt+j] = m[j].Add(a.outDiff[j])
		}
	}
}

// EvaluateExt is EvaluateBase over the extension field (the verifier's
// out-of-domain check); it computes the same polynomials.
func (a *Air) EvaluateExt(f *stark.Frame[field.Ext], out []field.Ext) {
	cur, next, per := f.Cur[:Width], f.Next[:Width], f.Periodic[:numPeriodic]
	cube := func(x field.Ext) field.Ext { return x.Mul(x).Mul(x) }
	matVec := func(mat *[Width][Width]field.Element, v []field.Ext, i int) field.Ext {
		var s field.Ext
		for j := range Width {
			s = s.Add(v[j].MulBase(mat[i][j]))
		}
		return s
	}
	var c, m, fw, bw [Width]field.Ext
	for j := range Width {
		c[j] = cube(cur[j])
	}
	for i := range Width {
		m[i] = matVec(mds, c[:], i)
		fw[i] = m[i].Add(per[i])
		bw[i] = cube(matVec(mdsInv, next, i).Sub(per[Width+i]))
	}
	k0 := &rc[0]
	for j := range 4 {
		out[capZero+j] = cur[8+j]
		out[capReset+j] = bw[8+j].SubBase(k0[8+j])
	}
	for j := range 8 {
		out[firstHalf+j] = cur[j].AddBase(k0[j]).Sub(bw[j])
	}
	for j := range Width {
		out[roundStep+j] = fw[j].Sub(bw[j])
		out[lastHalf+j] = fw[j].Sub(next[j])
	}
	if a.linkAt >= 0 {
		for j := range 4 {
			out[a.linkAt+j] = next[j].Sub(cur[j])
		}
	}
	if a.outAt >= 0 {
		for j := range 4 {
			out[a.outAt+j] = m[j].AddBase(a.outDiff[j])
		}
	}
}
