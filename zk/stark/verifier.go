package stark

import (
	"errors"
	"fmt"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/merkle"
	"github.com/datadragon/datadragon/zk/poly"
)

// DefaultMinSecurity is the verifier's default floor in conjectured bits:
// proofs made with weaker options are rejected whatever else they hold.
const DefaultMinSecurity = 100

// ErrWeakOptions is returned (wrapped) for proofs below the security floor.
var ErrWeakOptions = errors.New("stark: proof options are below the verifier's security floor")

// ErrStatementMismatch is returned (wrapped) when a proof's options do not
// fit the statement: another zero-knowledge flag, or more random rows than
// the statement leaves unconstrained.
var ErrStatementMismatch = errors.New("stark: proof options do not fit the statement")

// Verify checks proof against air. minBits is the security floor in
// conjectured bits (0 means DefaultMinSecurity).
func Verify(air Air, proof *Proof, minBits int) error {
	if proof == nil {
		return errors.New("stark: no proof")
	}
	if minBits <= 0 {
		minBits = DefaultMinSecurity
	}
	info := air.Info()
	l, err := newLayout(info, proof.Options)
	if err != nil {
		return fmt.Errorf("stark: proof options unusable for this statement: %w", err)
	}
	if err := l.checkQueries(); err != nil {
		return err
	}
	if bits := proof.Options.ConjecturedSecurity(l.n); bits < minBits {
		return fmt.Errorf("%w: %d bits, floor %d", ErrWeakOptions, bits, minBits)
	}
	if proof.LogTraceLength != l.logN {
		return fmt.Errorf("stark: proof is for a trace of 2^%d rows, the statement has 2^%d", proof.LogTraceLength, l.logN)
	}
	if err := checkShape(l, proof); err != nil {
		return err
	}

	ch := newChannel(l)
	ch.Absorb("trace-root", rootBytes(proof.TraceRoot))
	alphas := make([]field.Ext, len(l.constraints))
	for i := range alphas {
		alphas[i] = drawExt(ch, "composition-coefficient")
	}
	ch.Absorb("composition-root", rootBytes(proof.CompositionRoot))
	z := drawOODPoint(ch, l)
	gz := z.MulBase(l.traceGenerator())
	ch.Absorb("ood-values", oodBytes(proof))

	// The out-of-domain check: the constraints evaluated on the claimed
	// trace values at z and g·z must equal the claimed composition at z.
	if err := checkOOD(air, l, proof, alphas, z); err != nil {
		return err
	}

	dc := drawDeepCoefficients(ch, l)
	gamma := drawExt(ch, "deep-degree-adjustment")
	beta0 := drawExt(ch, "fri-first-fold")
	betas := make([]field.Ext, l.friLayers)
	for i := range betas {
		ch.Absorb("fri-root", rootBytes(proof.FRIRoots[i]))
		betas[i] = drawExt(ch, "fri-folding")
	}
	ch.Absorb("fri-remainder", appendExts(nil, proof.Remainder))
	if !ch.CheckGrind(proof.Nonce, l.opts.GrindingBits) {
		return errors.New("stark: proof of work is invalid")
	}
	ch.Absorb("proof-of-work", nonceBytes(proof.Nonce))
	positions := drawPositions(ch, l.opts.Queries, l.m/2)

	// Openings must match the commitments.
	if len(proof.Trace.Rows) != len(positions) || len(proof.Composition.Rows) != len(positions) {
		return fmt.Errorf("stark: proof opens %d trace and %d composition rows, want %d", len(proof.Trace.Rows), len(proof.Composition.Rows), len(positions))
	}
	hashes := make([]merkle.Digest, len(positions))
	var buf []byte
	for i, row := range proof.Trace.Rows {
		buf = buf[:0]
		for _, v := range row {
			buf = v.AppendBytes(buf)
		}
		if l.masked {
			buf = append(buf, proof.Salts[i][:]...)
		}
		hashes[i] = merkle.HashLeaf(buf)
	}
	if err := merkle.Verify(proof.TraceRoot, l.m/2, positions, hashes, proof.Trace.Nodes); err != nil {
		return fmt.Errorf("stark: trace opening does not match the trace commitment: %w", err)
	}
	for i, row := range proof.Composition.Rows {
		buf = appendExts(buf[:0], row)
		if l.masked {
			buf = append(buf, proof.Salts[i][:]...)
		}
		hashes[i] = merkle.HashLeaf(buf)
	}
	if err := merkle.Verify(proof.CompositionRoot, l.m/2, positions, hashes, proof.Composition.Nodes); err != nil {
		return fmt.Errorf("stark: composition opening does not match its commitment: %w", err)
	}

	// The DEEP composition at x and −x of each query, from the opened
	// values, folded into FRI's layer 0; FRI then shows it is of low degree.
	layer0 := deepLayer0(l, proof, dc, z, gz, positions, gamma, beta0)
	return friVerify(l, proof, betas, positions, layer0)
}

// checkShape compares every count in the proof with the layout.
func checkShape(l *layout, p *Proof) error {
	w := l.info.Width
	switch {
	case len(p.OODTrace) != w || len(p.OODTraceNext) != w:
		return fmt.Errorf("stark: proof has %d out-of-domain trace values, the statement has %d columns", len(p.OODTrace), w)
	case len(p.OODComposition) != l.compositionWidth():
		return fmt.Errorf("stark: proof has %d composition values, want %d", len(p.OODComposition), l.compositionWidth())
	case len(p.FRIRoots) != l.friLayers || len(p.FRI) != l.friLayers:
		return fmt.Errorf("stark: proof has %d FRI layers, want %d", len(p.FRIRoots), l.friLayers)
	case len(p.Remainder) != l.remainder:
		return fmt.Errorf("stark: FRI remainder has %d coefficients, want %d", len(p.Remainder), l.remainder)
	}
	for _, row := range p.Trace.Rows {
		if len(row) != 2*w {
			return errors.New("stark: an opened trace row has the wrong width")
		}
	}
	if want := len(p.Trace.Rows); (l.masked && len(p.Salts) != want) || (!l.masked && len(p.Salts) != 0) {
		return fmt.Errorf("stark: proof has %d leaf salts, want one per opened position with zero knowledge, none without", len(p.Salts))
	}
	for _, row := range p.Composition.Rows {
		if len(row) != 2*l.compositionWidth() {
			return errors.New("stark: an opened composition row has the wrong width")
		}
	}
	for _, o := range p.FRI {
		for _, row := range o.Rows {
			if len(row) != l.opts.FoldingFactor {
				return errors.New("stark: an opened FRI coset has the wrong size")
			}
		}
	}
	return nil
}

func checkOOD(air Air, l *layout, p *Proof, alphas []field.Ext, z field.Ext) error {
	if combineSegments(l, p.OODComposition, z) != constraintsAt(air, l, p, alphas, z) {
		return errors.New("stark: out-of-domain check failed: the claimed trace values do not satisfy the constraints")
	}
	return nil
}

// constraintsAt evaluates Σ α_k C_k(z)/Z_k(z) on the claimed out-of-domain
// trace values.
func constraintsAt(air Air, l *layout, p *Proof, alphas []field.Ext, z field.Ext) field.Ext {
	f := Frame[field.Ext]{Cur: p.OODTrace, Next: p.OODTraceNext}
	for _, coeffs := range l.periodic {
		f.Periodic = append(f.Periodic, poly.EvalAt(coeffs, z.Exp(uint64(l.n/len(coeffs)))))
	}
	out := make([]field.Ext, len(l.constraints))
	air.EvaluateExt(&f, out[:l.numAir])
	for a, as := range l.info.Assertions {
		out[l.numAir+a] = p.OODTrace[as.Column].SubBase(as.Value)
	}
	sums := make([]field.Ext, len(l.groups))
	for k, v := range out {
		g := l.groupOf[k]
		sums[g] = sums[g].Add(alphas[k].Mul(v))
	}
	var want field.Ext
	for g := range l.groups {
		want = want.Add(sums[g].Mul(l.groups[g].evalInverse(z, l.n, l.logN)))
	}
	return want
}

// combineSegments returns H(z) = Σ z^(i·stride) H_i(z) over the segments
// (the zero-knowledge mask column, if any, is not part of H).
func combineSegments(l *layout, segs []field.Ext, z field.Ext) field.Ext {
	var got field.Ext
	zn := z.Exp(uint64(l.stride))
	pw := field.ExtOne()
	for s := 0; s < l.segments; s++ {
		got = got.Add(segs[s].Mul(pw))
		pw = pw.Mul(zn)
	}
	return got
}

func deepLayer0(l *layout, p *Proof, dc deepCoefficients, z, gz field.Ext, positions []int, gamma, beta0 field.Ext) []field.Ext {
	var atZ, atGZ field.Ext
	for j := range p.OODTrace {
		atZ = atZ.Add(dc.trace[j].Mul(p.OODTrace[j]))
		atGZ = atGZ.Add(dc.traceNext[j].Mul(p.OODTraceNext[j]))
	}
	for i := range p.OODComposition {
		atZ = atZ.Add(dc.comp[i].Mul(p.OODComposition[i]))
	}
	deepAt := func(x field.Element, trace []field.Element, comp []field.Ext) field.Ext {
		xe := field.FromBase(x)
		var t1, t2 field.Ext
		for j, v := range trace {
			t1 = t1.Add(dc.trace[j].MulBase(v))
			t2 = t2.Add(dc.traceNext[j].MulBase(v))
		}
		for s, v := range comp {
			t1 = t1.Add(dc.comp[s].Mul(v))
		}
		return t1.Sub(atZ).Mul(xe.Sub(z).Inverse()).Add(t2.Sub(atGZ).Mul(xe.Sub(gz).Inverse()))
	}
	w, cw := l.info.Width, l.compositionWidth()
	omega := field.RootOfUnity(l.logM)
	out := make([]field.Ext, len(positions))
	for i, pos := range positions {
		x := l.shift.Mul(omega.Exp(uint64(pos)))
		tr, cr := p.Trace.Rows[i], p.Composition.Rows[i]
		// FRI sees (1 + γx)·D (see the prover's deepLayer0).
		gx := gamma.MulBase(x)
		a := deepAt(x, tr[:w], cr[:cw]).Mul(field.ExtOne().Add(gx))
		b := deepAt(x.Neg(), tr[w:], cr[cw:]).Mul(field.ExtOne().Sub(gx))
		out[i] = foldPair(a, b, x, beta0)
	}
	return out
}
