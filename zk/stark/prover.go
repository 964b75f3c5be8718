package stark

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/merkle"
	"github.com/datadragon/datadragon/zk/poly"
	"github.com/datadragon/datadragon/zk/transcript"
)

// Prove proves that trace satisfies air under opts. The trace is consumed:
// its columns are overwritten (they become the columns' coefficients), so
// callers that need it afterwards must pass a copy.
func Prove(air Air, trace Trace, opts Options) (*Proof, error) {
	return proveWith(air, trace, opts, proverConfig{})
}

// ProveWithRandomness is Prove drawing the zero-knowledge randomness (the
// random trace rows and the composition mask) from rng instead of
// crypto/rand: for signers that derive it from their key, the message and
// fresh entropy (hedged signing).
func ProveWithRandomness(air Air, trace Trace, opts Options, rng io.Reader) (*Proof, error) {
	return proveWith(air, trace, opts, proverConfig{rng: rng})
}

// Phase is the wall time one step of the prover took.
type Phase struct {
	Name     string
	Duration time.Duration
}

// ProveTimed is Prove that also reports where the time went.
func ProveTimed(air Air, trace Trace, opts Options) (*Proof, []Phase, error) {
	var phases []Phase
	p, err := proveWith(air, trace, opts, proverConfig{phases: &phases})
	return p, phases, err
}

// mark closes the current phase under name.
func (p *prover) mark(name string) {
	if p.cfg.phases == nil {
		return
	}
	now := time.Now()
	*p.cfg.phases = append(*p.cfg.phases, Phase{name, now.Sub(p.last)})
	p.last = now
}

// proverConfig holds test hooks.
type proverConfig struct {
	rng io.Reader // randomness for zero knowledge; crypto/rand if nil
	// skipChecks turns off the prover's own validity checks, to play a
	// cheating prover in tests.
	skipChecks bool
	// forgeOOD makes the claimed composition values at z satisfy the
	// out-of-domain check whatever the trace.
	forgeOOD bool
	// forgeLastLayer sends twice the remainder coefficients allowed.
	forgeLastLayer bool
	// highDegreeTrace commits trace column 0 plus (x^n − 1): the same rows
	// as a polynomial of degree n.
	highDegreeTrace bool
	// liftRows takes the zero-knowledge flag and the constrained rows
	// from the options instead of the statement.
	liftRows bool
	// solveAssertions chooses the last so many assertion values after z
	// so that the out-of-domain check holds; they go to solved.
	solveAssertions int
	solved          []field.Element
	// phases, when set, receives the time of each prover step.
	phases *[]Phase
}

// prover holds the prover's working state between protocol steps.
type prover struct {
	l     *layout
	trace Trace
	rng   io.Reader
	cfg   proverConfig
	last  time.Time

	traceCoeffs [][]field.Element
	traceLDE    [][]field.Element
	traceTree   *merkle.Tree
	salts       []byte // with zero knowledge, saltSize random bytes per leaf position
	compCoeffs  [][]field.Ext
	compLDE     [][]field.Ext
	compTree    *merkle.Tree
}

func proveWith(air Air, trace Trace, opts Options, cfg proverConfig) (*Proof, error) {
	p, _, err := proveCheating(air, trace, opts, cfg)
	return p, err
}

// proveCheating is the prover with cfg's test hooks; it also returns the
// assertion values cfg.solveAssertions chose.
func proveCheating(air Air, trace Trace, opts Options, cfg proverConfig) (*Proof, []field.Element, error) {
	rng := cfg.rng
	if rng == nil {
		rng = rand.Reader
	}
	info := air.Info()
	if cfg.liftRows {
		info.ZeroKnowledge, info.Rows = opts.ZeroKnowledge, info.TraceLength-opts.ZKRows()
	}
	l, err := newLayout(info, opts)
	if err != nil {
		return nil, nil, err
	}
	if err := l.checkQueries(); err != nil {
		return nil, nil, err
	}
	if len(trace) != info.Width {
		return nil, nil, fmt.Errorf("stark: trace has %d columns, the AIR wants %d", len(trace), info.Width)
	}
	for j, col := range trace {
		if len(col) != l.n {
			return nil, nil, fmt.Errorf("stark: trace column %d has %d rows, the AIR wants %d", j, len(col), l.n)
		}
	}
	p := &prover{l: l, trace: trace, rng: rng, cfg: cfg, last: time.Now()}
	if opts.ZeroKnowledge {
		if err := p.randomizeTrace(); err != nil {
			return nil, nil, err
		}
	}
	ch := newChannel(l)
	proof := &Proof{Options: opts, LogTraceLength: l.logN}

	// 1. Commit to the trace's low-degree extension.
	if l.masked {
		if p.salts, err = p.randomBytes(saltSize * l.m / 2); err != nil {
			return nil, nil, err
		}
	}
	p.extendTrace()
	if cfg.highDegreeTrace {
		p.addVanishingToColumn0()
	}
	proof.TraceRoot = p.traceTree.Root()
	ch.Absorb("trace-root", rootBytes(proof.TraceRoot))

	// 2. Combine all constraints with random coefficients into the
	// composition polynomial; commit to its segments.
	alphas := make([]field.Ext, len(l.constraints))
	for i := range alphas {
		alphas[i] = drawExt(ch, "composition-coefficient")
	}
	if err := p.composition(air, alphas); err != nil {
		return nil, nil, err
	}
	p.mark("composition commit")
	proof.CompositionRoot = p.compTree.Root()
	ch.Absorb("composition-root", rootBytes(proof.CompositionRoot))

	// 3. Out-of-domain evaluations at z and g·z.
	z := drawOODPoint(ch, l)
	gz := z.MulBase(l.traceGenerator())
	proof.OODTrace = evalColumns(p.traceCoeffs, z)
	proof.OODTraceNext = evalColumns(p.traceCoeffs, gz)
	if cfg.highDegreeTrace {
		// x^n − 1 at z, and at g·z (g^n = 1) the same.
		v := z.Exp(uint64(l.n)).Sub(field.ExtOne())
		proof.OODTrace[0] = proof.OODTrace[0].Add(v)
		proof.OODTraceNext[0] = proof.OODTraceNext[0].Add(v)
	}
	for _, c := range p.compCoeffs {
		proof.OODComposition = append(proof.OODComposition, poly.EvalExtAt(c, z))
	}
	if cfg.solveAssertions > 0 {
		if cfg.solved, err = solveAssertions(air, l, proof, alphas, z, cfg.solveAssertions); err != nil {
			return nil, nil, err
		}
	}
	if !cfg.skipChecks && combineSegments(l, proof.OODComposition, z) != constraintsAt(air, l, proof, alphas, z) {
		// The segments interpolate Σ α_k C_k/Z_k over the constraint
		// evaluation domain; they agree with it at a random z only if it
		// is a polynomial of the degree the layout allows, that is, if the
		// trace satisfies the constraints (and the AIR's declared degrees
		// are right). The coefficient check above cannot see this when
		// the segments fill the whole domain (a power-of-two count).
		return nil, nil, errors.New("stark: the trace does not satisfy the AIR's constraints (out-of-domain check failed)")
	}
	if cfg.forgeOOD {
		// A cheating prover makes the out-of-domain check pass by fixing
		// the last segment's claimed value; FRI must then catch it.
		last := l.segments - 1
		proof.OODComposition[last] = field.ExtZero()
		rest := combineSegments(l, proof.OODComposition, z)
		want := constraintsAt(air, l, proof, alphas, z)
		proof.OODComposition[last] = want.Sub(rest).Mul(z.Exp(uint64(last * l.stride)).Inverse())
	}
	ch.Absorb("ood-values", oodBytes(proof))
	p.mark("out-of-domain")

	// 4. DEEP composition and FRI.
	dc := drawDeepCoefficients(ch, l)
	gamma := drawExt(ch, "deep-degree-adjustment")
	layer0 := p.deepLayer0(dc, z, gz, proof, gamma, drawExt(ch, "fri-first-fold"))
	p.mark("DEEP composition")
	fri, err := friCommit(ch, l, layer0, cfg)
	if err != nil {
		return nil, nil, err
	}
	p.mark("FRI commit")
	proof.FRIRoots = fri.roots
	proof.Remainder = fri.remainder

	// 5. Proof of work, then the query positions it guards.
	proof.Nonce = ch.Grind(opts.GrindingBits)
	ch.Absorb("proof-of-work", nonceBytes(proof.Nonce))
	positions := drawPositions(ch, opts.Queries, l.m/2)
	p.mark("proof of work")

	// 6. Openings: each query opens the leaf pairing x and −x.
	half := l.m / 2
	proof.Trace.Rows = make([][]field.Element, len(positions))
	proof.Composition.Rows = make([][]field.Ext, len(positions))
	for i, pos := range positions {
		row := make([]field.Element, 0, 2*len(p.traceLDE))
		crow := make([]field.Ext, 0, 2*len(p.compLDE))
		for _, at := range []int{pos, pos + half} {
			for _, col := range p.traceLDE {
				row = append(row, col[at])
			}
			for _, col := range p.compLDE {
				crow = append(crow, col[at])
			}
		}
		proof.Trace.Rows[i] = row
		proof.Composition.Rows[i] = crow
		if l.masked {
			var s Salt
			copy(s[:], p.salts[pos*saltSize:])
			proof.Salts = append(proof.Salts, s)
		}
	}
	if proof.Trace.Nodes, err = p.traceTree.Prove(positions); err != nil {
		return nil, nil, err
	}
	if proof.Composition.Nodes, err = p.compTree.Prove(positions); err != nil {
		return nil, nil, err
	}
	if proof.FRI, err = fri.open(positions); err != nil {
		return nil, nil, err
	}
	p.mark("openings")
	return proof, cfg.solved, nil
}

// checkQueries keeps the number of distinct query positions well inside
// the domain, so drawing them terminates quickly.
func (l *layout) checkQueries() error {
	if 4*l.opts.Queries > l.m {
		return fmt.Errorf("stark: %d queries need an evaluation domain of at least %d points; this one has %d (raise the blowup or the trace length)", l.opts.Queries, 4*l.opts.Queries, l.m)
	}
	return nil
}

// randomizeTrace fills the zero-knowledge rows with uniform field elements.
func (p *prover) randomizeTrace() error {
	buf := make([]byte, 16)
	for _, col := range p.trace {
		for i := p.l.usable; i < p.l.n; i++ {
			if _, err := io.ReadFull(p.rng, buf); err != nil {
				return fmt.Errorf("stark: reading randomness: %w", err)
			}
			col[i] = elementFromBytes(buf)
		}
	}
	return nil
}

func (p *prover) randomExt() (field.Ext, error) {
	var buf [48]byte
	if _, err := io.ReadFull(p.rng, buf[:]); err != nil {
		return field.Ext{}, fmt.Errorf("stark: reading randomness: %w", err)
	}
	return extFromBytes(buf[:]), nil
}

// extendTrace interpolates every column, evaluates it over the LDE coset
// and commits to the rows.
func (p *prover) extendTrace() {
	l := p.l
	w := len(p.trace)
	p.traceCoeffs = make([][]field.Element, w)
	p.traceLDE = make([][]field.Element, w)
	parallelEach(w, func(j int) {
		// The trace is consumed: its columns become the coefficients.
		c := p.trace[j]
		poly.INTT(c)
		p.traceCoeffs[j] = c
		p.traceLDE[j] = poly.Extend(c, l.m, l.shift)
	})
	p.mark("trace LDE")
	p.traceTree = commitPairs(p.traceLDE, p.salts)
	p.mark("trace commit")
}

// addVanishingToColumn0 adds x^n − 1 to trace column 0 over the LDE
// domain and commits again (the cheating prover's highDegreeTrace).
func (p *prover) addVanishingToColumn0() {
	l := p.l
	omega := field.RootOfUnity(l.logM)
	x := l.shift
	for k := range p.traceLDE[0] {
		p.traceLDE[0][k] = p.traceLDE[0][k].Add(x.Exp(uint64(l.n)).Sub(field.One()))
		x = x.Mul(omega)
	}
	p.traceTree = commitPairs(p.traceLDE, p.salts)
}

// commitPairs commits to columns of LDE values with one Merkle leaf per
// pair of points x, −x: leaf i holds row i then row i + m/2, then, with
// salts (zero knowledge), position i's saltSize random bytes, which make
// the hash of a leaf no proof opens reveal nothing about its values. The
// trace and composition trees share each position's salt: in the random
// oracle model the hashes of two different leaves under one unopened salt
// are still independent and uniform.
func commitPairs[E interface{ AppendBytes([]byte) []byte }](cols [][]E, salts []byte) *merkle.Tree {
	half := len(cols[0]) / 2
	return merkle.Build(half, func(i int, buf []byte) []byte {
		for _, at := range [2]int{i, i + half} {
			for _, c := range cols {
				buf = c[at].AppendBytes(buf)
			}
		}
		if salts != nil {
			buf = append(buf, salts[i*saltSize:(i+1)*saltSize]...)
		}
		return buf
	})
}

// randomBytes reads k bytes of the prover's randomness.
func (p *prover) randomBytes(k int) ([]byte, error) {
	b := make([]byte, k)
	if _, err := io.ReadFull(p.rng, b); err != nil {
		return nil, fmt.Errorf("stark: reading randomness: %w", err)
	}
	return b, nil
}

// composition evaluates Σ α_k·C_k(x)/Z_k(x) over the constraint evaluation
// domain, interpolates it, splits it into segments of degree < n and
// commits to their low-degree extensions.
func (p *prover) composition(air Air, alphas []field.Ext) error {
	l := p.l
	ce := l.ceSize
	stride := l.m / ce
	zinv := l.divisorTables()
	periodic := l.periodicTables()
	h := make([]field.Ext, ce)
	numAir := l.numAir
	width := l.info.Width
	asserts := l.info.Assertions
	// Per group, the coefficient components of its members, so each
	// group's combination is three dot products.
	type groupCoeffs struct{ a0, a1, a2 []field.Element }
	gc := make([]groupCoeffs, len(l.groups))
	for g := range l.groups {
		for _, k := range l.groups[g].members {
			gc[g].a0 = append(gc[g].a0, alphas[k].A0)
			gc[g].a1 = append(gc[g].a1, alphas[k].A1)
			gc[g].a2 = append(gc[g].a2, alphas[k].A2)
		}
	}
	parallelFor(ce, 1024, func(lo, hi int) {
		f := Frame[field.Element]{
			Cur:      make([]field.Element, width),
			Next:     make([]field.Element, width),
			Periodic: make([]field.Element, len(periodic)),
		}
		out := make([]field.Element, len(l.constraints))
		vals := make([]field.Element, len(l.constraints))
		for k := lo; k < hi; k++ {
			i := k * stride
			next := (i + l.opts.Blowup) & (l.m - 1)
			for j, col := range p.traceLDE {
				f.Cur[j] = col[i]
				f.Next[j] = col[next]
			}
			for c, t := range periodic {
				f.Periodic[c] = t[k&(len(t)-1)]
			}
			air.EvaluateBase(&f, out[:numAir])
			for a, as := range asserts {
				out[numAir+a] = f.Cur[as.Column].Sub(as.Value)
			}
			var sum field.Ext
			for g := range l.groups {
				members := l.groups[g].members
				v := vals[:len(members)]
				for i, c := range members {
					v[i] = out[c]
				}
				comb := field.Ext{A0: field.Dot(gc[g].a0, v), A1: field.Dot(gc[g].a1, v), A2: field.Dot(gc[g].a2, v)}
				sum = sum.Add(comb.MulBase(zinv[g][k]))
			}
			h[k] = sum
		}
	})
	p.mark("constraint evaluation")
	poly.CosetINTTExt(h, l.shift)
	for i := l.quotient * l.n; i < ce && !p.cfg.skipChecks; i++ {
		if !h[i].IsZero() {
			return errors.New("stark: the trace does not satisfy the AIR's constraints (composition polynomial degree too high)")
		}
	}
	p.compCoeffs = make([][]field.Ext, l.compositionWidth())
	if l.stride == l.n {
		for s := 0; s < l.segments; s++ {
			p.compCoeffs[s] = h[s*l.n : (s+1)*l.n]
		}
	} else if err := p.randomizedSegments(h); err != nil {
		return err
	}
	if l.masked {
		mask := make([]field.Ext, l.n)
		for i := range mask {
			v, err := p.randomExt()
			if err != nil {
				return err
			}
			mask[i] = v
		}
		p.compCoeffs[l.segments] = mask
	}
	p.mark("composition interpolation")
	p.compLDE = make([][]field.Ext, len(p.compCoeffs))
	parallelEach(len(p.compCoeffs), func(s int) {
		p.compLDE[s] = poly.ExtendExt(p.compCoeffs[s], l.m, l.shift)
	})
	p.compTree = commitPairs(p.compLDE, p.salts)
	return nil
}

// randomizedSegments splits H's coefficients h into overlapping segments
// H'_i of degree < n with H = Σ x^(i·stride) H'_i, randomised so that their
// openings reveal nothing beyond H's own values. With k = n − stride and
// random polynomials r_0 … r_(d−2) of degree < k:
//
//	H'_i = H_i + x^stride·r_i − r_(i−1)    (r_(−1) = r_(d−1) = 0)
//
// where H_i holds coefficients i·stride … i·stride + stride − 1 of H (the
// last segment all the rest). In Σ x^(i·stride) H'_i the term
// x^((i+1)·stride)·r_i of segment i cancels the −r_i of segment i+1, so H
// is unchanged; x^stride·r_i has degree < n. The openings of H'_0 … H'_(d−2)
// at the 2·Queries + 1 points a proof reveals are uniform (each r_i has
// that many random coefficients), and H'_(d−1) is then fixed by H there.
func (p *prover) randomizedSegments(h []field.Ext) error {
	l := p.l
	k := l.n - l.stride
	for s := 0; s < l.segments; s++ {
		seg := make([]field.Ext, l.n)
		lo := s * l.stride
		hi := lo + l.stride
		if s == l.segments-1 {
			hi = lo + l.n
		}
		copy(seg, h[min(lo, len(h)):min(hi, len(h))])
		p.compCoeffs[s] = seg
	}
	if !p.cfg.skipChecks {
		for i := (l.segments-1)*l.stride + l.n; i < len(h); i++ {
			if !h[i].IsZero() {
				return errors.New("stark: the trace does not satisfy the AIR's constraints (composition polynomial degree too high)")
			}
		}
	}
	for s := 0; s+1 < l.segments; s++ {
		for j := 0; j < k; j++ {
			v, err := p.randomExt()
			if err != nil {
				return err
			}
			p.compCoeffs[s][l.stride+j] = v
			p.compCoeffs[s+1][j] = p.compCoeffs[s+1][j].Sub(v)
		}
	}
	return nil
}

// divisorTables returns, per divisor group, 1/Z(x) at every point of the
// constraint evaluation domain.
func (l *layout) divisorTables() [][]field.Element {
	ce := l.ceSize
	omega := field.RootOfUnity(log2(ce))
	g := l.traceGenerator()
	tables := make([][]field.Element, len(l.groups))
	parallelEach(len(l.groups), func(gi int) {
		d := &l.groups[gi]
		step := l.n / d.period
		// x^(n/period) repeats with period (ce/n)·period along the domain.
		cycle := ce / l.n * d.period
		xp := l.shift.Exp(uint64(step))
		wstep := omega.Exp(uint64(step))
		wp := field.RootOfUnity(log2(d.period))
		roots := make([]field.Element, len(d.residues))
		for i, r := range d.residues {
			roots[i] = wp.Exp(uint64(r))
		}
		base := make([]field.Element, cycle)
		for k := 0; k < cycle; k++ {
			prod := field.One()
			for _, r := range roots {
				prod = prod.Mul(xp.Sub(r))
			}
			base[k] = prod
			xp = xp.Mul(wstep)
		}
		if d.except {
			// Z = (x^n − 1)/prod, so 1/Z = prod/(x^n − 1).
			xn := l.shift.Exp(uint64(l.n))
			wn := omega.Exp(uint64(l.n))
			vn := make([]field.Element, cycle)
			for k := 0; k < cycle; k++ {
				vn[k] = xn.Sub(field.One())
				xn = xn.Mul(wn)
			}
			field.BatchInverse(vn, vn)
			for k := range base {
				base[k] = base[k].Mul(vn[k])
			}
		} else {
			field.BatchInverse(base, base)
		}
		t := make([]field.Element, ce)
		for k := range t {
			t[k] = base[k%cycle]
		}
		if len(d.excluded) > 0 {
			ex := make([]field.Element, len(d.excluded))
			for i, e := range d.excluded {
				ex[i] = g.Exp(uint64(e))
			}
			x := l.shift
			for k := range t {
				prod := t[k]
				for _, e := range ex {
					prod = prod.Mul(x.Sub(e))
				}
				t[k] = prod
				x = x.Mul(omega)
			}
		}
		tables[gi] = t
	})
	return tables
}

// periodicTables evaluates each periodic column over the constraint
// evaluation domain; the values repeat, so one cycle is kept.
func (l *layout) periodicTables() [][]field.Element {
	out := make([][]field.Element, len(l.periodic))
	for i, coeffs := range l.periodic {
		period := len(coeffs)
		cycle := l.ceSize / l.n * period
		out[i] = poly.Extend(coeffs, cycle, l.shift.Exp(uint64(l.n/period)))
	}
	return out
}

// evalColumns evaluates every column polynomial at x.
func evalColumns(coeffs [][]field.Element, x field.Ext) []field.Ext {
	out := make([]field.Ext, len(coeffs))
	if len(coeffs) == 0 {
		return out
	}
	n := len(coeffs[0])
	powers := make([]field.Ext, n)
	pw := field.ExtOne()
	for i := range powers {
		powers[i] = pw
		pw = pw.Mul(x)
	}
	parallelEach(len(coeffs), func(j int) {
		out[j] = dotBaseExt(coeffs[j], powers)
	})
	return out
}

// dotBaseExt returns Σ a[i]·b[i] with a in the base field.
func dotBaseExt(a []field.Element, b []field.Ext) field.Ext {
	var sum field.Ext
	for lo := 0; lo < len(a); lo += 32 {
		hi := min(lo+32, len(a))
		var c0, c1, c2 field.Acc
		for i := lo; i < hi; i++ {
			c0.AddMul(a[i], b[i].A0)
			c1.AddMul(a[i], b[i].A1)
			c2.AddMul(a[i], b[i].A2)
		}
		sum = sum.Add(field.Ext{A0: c0.Reduce(), A1: c1.Reduce(), A2: c2.Reduce()})
	}
	return sum
}

func oodBytes(p *Proof) []byte {
	var b []byte
	b = appendExts(b, p.OODTrace)
	b = appendExts(b, p.OODTraceNext)
	return appendExts(b, p.OODComposition)
}

// deepCoefficients weight the DEEP quotients: per trace column one for
// z and one for g·z, per composition column one for z.
type deepCoefficients struct {
	trace, traceNext, comp []field.Ext
}

func drawDeepCoefficients(t *transcript.Transcript, l *layout) deepCoefficients {
	var dc deepCoefficients
	for range l.info.Width {
		dc.trace = append(dc.trace, drawExt(t, "deep-coefficient"))
		dc.traceNext = append(dc.traceNext, drawExt(t, "deep-coefficient"))
	}
	for range l.compositionWidth() {
		dc.comp = append(dc.comp, drawExt(t, "deep-coefficient"))
	}
	return dc
}

// deepLayer0 evaluates over the LDE domain
//
//	Σ_j a_j (f_j(x) − f_j(z))/(x − z) + b_j (f_j(x) − f_j(gz))/(x − gz)
//	  + Σ_i c_i (H_i(x) − H_i(z))/(x − z),
//
// D, a polynomial of degree < n − 1 exactly when every opened value is
// honest and every committed column has degree < n. FRI tests degree < n,
// so it is given (1 + γx)·D for a random γ (degree adjustment): a
// committed column of degree n would make D of degree n − 1 and that
// product of degree n, which FRI rejects, so a prover cannot commit the
// same rows as another polynomial. The product is folded by 2 with β0 on
// the way (see friFirstFold): it returns FRI's layer 0 over the half-size
// domain, each value made from the points x and −x, which sit at
// positions k and k + m/2.
func (p *prover) deepLayer0(dc deepCoefficients, z, gz field.Ext, proof *Proof, gamma, beta0 field.Ext) []field.Ext {
	l := p.l
	var atZ, atGZ field.Ext
	for j := range proof.OODTrace {
		atZ = atZ.Add(dc.trace[j].Mul(proof.OODTrace[j]))
		atGZ = atGZ.Add(dc.traceNext[j].Mul(proof.OODTraceNext[j]))
	}
	for i := range proof.OODComposition {
		atZ = atZ.Add(dc.comp[i].Mul(proof.OODComposition[i]))
	}
	components := func(v []field.Ext) (a0, a1, a2 []field.Element) {
		for _, x := range v {
			a0, a1, a2 = append(a0, x.A0), append(a1, x.A1), append(a2, x.A2)
		}
		return
	}
	ta0, ta1, ta2 := components(dc.trace)
	tb0, tb1, tb2 := components(dc.traceNext)
	half := l.m / 2
	out := make([]field.Ext, half)
	omega := field.RootOfUnity(l.logM)
	omegaInv := omega.Inverse()
	inv2 := field.New(2).Inverse()
	c1 := field.ExtOne().Add(beta0.Mul(gamma))
	parallelFor(half, 4096, func(lo, hi int) {
		const chunk = 1024
		row := make([]field.Element, len(p.traceLDE))
		// Per point k of the chunk: 1/(x−z), 1/(x−gz), 1/(−x−z), 1/(−x−gz).
		den := make([]field.Ext, 4*chunk)
		x0 := l.shift.Mul(omega.Exp(uint64(lo)))
		xinv0 := x0.Inverse()
		x2 := x0.Square()
		omega2 := omega.Square()
		deepAt := func(k int, d1, d2 field.Ext) field.Ext {
			for j, col := range p.traceLDE {
				row[j] = col[k]
			}
			t1 := field.Ext{A0: field.Dot(ta0, row), A1: field.Dot(ta1, row), A2: field.Dot(ta2, row)}
			t2 := field.Ext{A0: field.Dot(tb0, row), A1: field.Dot(tb1, row), A2: field.Dot(tb2, row)}
			for i, col := range p.compLDE {
				t1 = t1.Add(dc.comp[i].Mul(col[k]))
			}
			return t1.Sub(atZ).Mul(d1).Add(t2.Sub(atGZ).Mul(d2))
		}
		for start := lo; start < hi; start += chunk {
			end := min(start+chunk, hi)
			d := den[:4*(end-start)]
			x := x0
			for k := 0; k < end-start; k++ {
				xe := field.FromBase(x)
				d[4*k] = xe.Sub(z)
				d[4*k+1] = xe.Sub(gz)
				d[4*k+2] = xe.Neg().Sub(z)
				d[4*k+3] = xe.Neg().Sub(gz)
				x = x.Mul(omega)
			}
			x0 = x
			field.ExtBatchInverse(d, d)
			for k := start; k < end; k++ {
				i := 4 * (k - start)
				a := deepAt(k, d[i], d[i+1])
				b := deepAt(k+half, d[i+2], d[i+3])
				// Fold (1 + γx)·D: with e = (a+b)/2 and o = (a−b)/(2x) the
				// fold of D, it is e·(1 + β0·γ) + o·(β0 + γ·x²).
				even := a.Add(b).MulBase(inv2)
				odd := a.Sub(b).MulBase(xinv0.Mul(inv2))
				out[k] = even.Mul(c1).Add(odd.Mul(beta0.Add(gamma.MulBase(x2))))
				xinv0 = xinv0.Mul(omegaInv)
				x2 = x2.Mul(omega2)
			}
		}
	})
	return out
}
