package ziggy

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/rescue"
	"github.com/datadragon/datadragon/zk/stark"
)

// Name identifies the statement and its AIR version in the transcript.
const Name = "datadragon/ziggy/v1"

// Trace shape: twelve columns (one Rescue state) and the rows of one hash.
const (
	width = rescue.Width
	// outputRow holds the last middle state m_10.
	outputRow = rescue.Rounds
	// computationRows is the number of rows the hash occupies: the input
	// and the ten middle states. The engine adds its zero-knowledge rows.
	computationRows = rescue.Rounds + 1
	// period is the length of the periodic columns: the power of two just
	// above the hash's rows.
	period = 16
)

// Constraint groups, in evaluation order (see the package documentation).
const (
	inputStep  = 0                  // 12: cur[j] + K0[j] − B[j], row 0
	capZero    = inputStep + width  // 4: cur[8+j], row 0
	roundStep  = capZero + 4        // 12: F[j] − B[j], rows 1..9
	output     = roundStep + width  // 4: F[j] − pk[j], row 10
	numConstrs = output + PublicLen // 32
	numPeriod  = 2 * width          // kf[j] at j, kb[j] at width+j
	lastRound  = rescue.Rounds - 1  // the last row whose successor is a round
	firstRound = 1                  // the first row holding a middle state
)

var (
	mds, mdsInv *[width][width]field.Element
	rc          *[2*rescue.Rounds + 1][width]field.Element
	// periodic holds kf and kb over one period (rows 11..15 are zero):
	// kf at row r = K(2r) for r = 1..10, kb at row r = M⁻¹·K(2r+1) for
	// r = 0..9.
	periodic [numPeriod][period]field.Element
	// roundRows lists rows 1..9, where the round-step constraints hold.
	roundRows []int
)

func init() {
	mds, mdsInv, rc = rescue.MDS(), rescue.MDSInverse(), rescue.RoundConstants()
	for r := 0; r <= rescue.Rounds; r++ {
		for j := range width {
			if r >= 1 {
				periodic[j][r] = rc[2*r][j]
			}
			if r < rescue.Rounds {
				periodic[width+j][r] = rescue.Dot(&mdsInv[j], &rc[2*r+1])
			}
		}
	}
	for r := firstRound; r <= lastRound; r++ {
		roundRows = append(roundRows, r)
	}
}

// air is the AIR of "I know s with rescue.Hash(s) = pk" for one public key,
// one message digest and one trace length.
type air struct {
	info stark.AirInfo
	pk   [PublicLen]field.Element
}

// newAir returns the statement's AIR over a trace of traceLength rows (a
// power of two of at least computationRows plus the zero-knowledge rows).
func newAir(pub PublicKey, digest *[messageDigestSize]byte, traceLength int) *air {
	a := &air{pk: pub.e}
	per := make([][]field.Element, numPeriod)
	for i := range per {
		per[i] = periodic[i][:]
	}
	cons := make([]stark.Constraint, 0, numConstrs)
	add := func(count, degree int, usesNext bool, rows stark.RowSet) {
		for range count {
			cons = append(cons, stark.Constraint{Degree: degree, UsesNext: usesNext, Rows: rows})
		}
	}
	add(width, 3, true, stark.SingleRow(0))
	add(4, 1, false, stark.SingleRow(0))
	add(width, 3, true, stark.RowSet{Residues: roundRows})
	add(PublicLen, 3, false, stark.SingleRow(outputRow))
	a.info = stark.AirInfo{
		Name:         Name,
		PublicInputs: publicInputs(pub, digest),
		Width:        width,
		TraceLength:  traceLength,
		// The statement governs the hash's rows only; every later row is
		// randomness, and the engine refuses options needing more of it
		// than the trace leaves.
		Rows:          computationRows,
		ZeroKnowledge: true,
		Periodic:      per,
		Constraints:   cons,
	}
	return a
}

// Info describes the AIR. The slices are shared: callers must not modify
// them.
func (a *air) Info() stark.AirInfo { return a.info }

// EvaluateBase writes every constraint numerator at one point. With
// c = cur³, F = M·c + kf (forward: the state after round r from m_r) and
// B = (M⁻¹·next − kb)³ (backward: the same state from m_(r+1)):
//
//	inputStep  cur[j] + K0[j] − B[j]   the first round starts from s ‖ 0⁴ + K0
//	capZero    cur[8+j]                the capacity starts at zero
//	roundStep  F[j] − B[j]             consecutive rounds meet
//	output     F[j] − pk[j]            the digest is the public key
func (a *air) EvaluateBase(f *stark.Frame[field.Element], out []field.Element) {
	cur := (*[width]field.Element)(f.Cur)
	next := (*[width]field.Element)(f.Next)
	per := (*[numPeriod]field.Element)(f.Periodic)
	o := (*[numConstrs]field.Element)(out)
	var c [width]field.Element
	for j := range width {
		c[j] = cur[j].Cube()
	}
	k0 := &rc[0]
	for j := range width {
		fw := rescue.Dot(&mds[j], &c).Add(per[j])
		bw := rescue.Dot(&mdsInv[j], next).Sub(per[width+j]).Cube()
		o[inputStep+j] = cur[j].Add(k0[j]).Sub(bw)
		o[roundStep+j] = fw.Sub(bw)
		if j < PublicLen {
			o[output+j] = fw.Sub(a.pk[j])
		}
	}
	for j := range 4 {
		o[capZero+j] = cur[rescue.Rate+j]
	}
}

// EvaluateExt is EvaluateBase over the extension field (the verifier's
// out-of-domain check).
func (a *air) EvaluateExt(f *stark.Frame[field.Ext], out []field.Ext) {
	cur, next, per := f.Cur[:width], f.Next[:width], f.Periodic[:numPeriod]
	o := out[:numConstrs]
	var c [width]field.Ext
	for j := range width {
		c[j] = cur[j].Mul(cur[j]).Mul(cur[j])
	}
	k0 := &rc[0]
	for j := range width {
		var fw, bw field.Ext
		for k := range width {
			fw = fw.Add(c[k].MulBase(mds[j][k]))
			bw = bw.Add(next[k].MulBase(mdsInv[j][k]))
		}
		fw = fw.Add(per[j])
		bw = bw.Sub(per[width+j])
		bw = bw.Mul(bw).Mul(bw)
		o[inputStep+j] = cur[j].AddBase(k0[j]).Sub(bw)
		o[roundStep+j] = fw.Sub(bw)
		if j < PublicLen {
			o[output+j] = fw.SubBase(a.pk[j])
		}
	}
	for j := range 4 {
		o[capZero+j] = cur[rescue.Rate+j]
	}
}

// buildTrace returns the trace of one hash of secret in traceLength rows:
// row 0 holds secret ‖ 0⁴, rows 1..10 the middle states of the ten rounds,
// and every later row uniform randomness read from random (no constraint
// applies there; the engine overwrites the last ZKRows of them with its
// own). With a nil random the later rows are zero, for tests.
func buildTrace(secret *[SecretLen]field.Element, traceLength int, random io.Reader) (stark.Trace, error) {
	backing := make([]field.Element, width*traceLength)
	trace := make(stark.Trace, width)
	for j := range trace {
		trace[j] = backing[j*traceLength : (j+1)*traceLength : (j+1)*traceLength]
	}
	var state [width]field.Element
	var mid [rescue.Rounds][width]field.Element
	copy(state[:], secret[:])
	for j := range width {
		trace[j][0] = state[j]
	}
	rescue.PermuteRounds(&state, &mid)
	for r := range rescue.Rounds {
		for j := range width {
			trace[j][1+r] = mid[r][j]
		}
	}
	clear(state[:])
	clear(mid[:])
	if random == nil {
		return trace, nil
	}
	buf := make([]byte, 16*(traceLength-computationRows))
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("ziggy: reading randomness: %w", err)
	}
	for j := range width {
		if j > 0 {
			if _, err := io.ReadFull(random, buf); err != nil {
				return nil, fmt.Errorf("ziggy: reading randomness: %w", err)
			}
		}
		for i := computationRows; i < traceLength; i++ {
			k := 16 * (i - computationRows)
			trace[j][i] = field.FromWide(binary.LittleEndian.Uint64(buf[k:]), binary.LittleEndian.Uint64(buf[k+8:]))
		}
	}
	clear(buf)
	return trace, nil
}
