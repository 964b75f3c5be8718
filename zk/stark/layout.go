package stark

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/poly"
)

// layout is everything prover and verifier derive identically from an AIR
// and the options before touching a proof: domain sizes, the divisor of
// every constraint, the number of composition segments and FRI layers.
// The verifier trusts no size a proof claims; it compares against this.
type layout struct {
	info    AirInfo
	opts    Options
	n, logN int // trace length
	m, logM int // low-degree extension (LDE) size = n·blowup
	usable  int // rows the constraints govern (AirInfo.Rows)

	// constraints are the AIR's followed by one per assertion.
	constraints []Constraint
	numAir      int
	groups      []divisor
	groupOf     []int // divisor group of each constraint

	// segments is the number of composition polynomial columns of degree
	// < n; H = Σ x^(i·stride) H_i. Without zero knowledge stride = n and
	// the split is H's coefficients in blocks of n. With it, stride =
	// n − (2·Queries + 1): consecutive segments overlap by that many
	// coefficients, which leaves room to randomise them (see
	// prover.composition and doc.go).
	segments  int
	stride    int
	quotient  int // segments of degree < n that H's degree bound needs without overlap
	masked    bool
	ceSize    int // constraint evaluation domain, a sub-coset of the LDE domain
	shift     field.Element
	periodic  [][]field.Element // coefficients of each periodic column's polynomial
	friLayers int
	remainder int // coefficients of the last FRI layer
}

// divisor describes the vanishing polynomial of a constraint's rows:
// base(x) / ∏_{e∈excluded}(x − g^e), with
// base(x) = ∏_{r∈residues}(x^{n/period} − g^{r·n/period}), or, when except,
// (x^n − 1) divided by that product.
type divisor struct {
	period   int
	residues []int
	except   bool
	excluded []int
	zeros    int   // degree of the divisor
	members  []int // the constraints divided by it
}

func (d *divisor) equal(o *divisor) bool {
	return d.period == o.period && d.except == o.except &&
		slices.Equal(d.residues, o.residues) && slices.Equal(d.excluded, o.excluded)
}

func newLayout(info AirInfo, opts Options) (*layout, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := info.validate(); err != nil {
		return nil, err
	}
	l := &layout{info: info, opts: opts, n: info.TraceLength, shift: field.Generator()}
	l.logN = bits.TrailingZeros(uint(l.n))
	l.m = l.n * opts.Blowup
	l.logM = bits.TrailingZeros(uint(l.m))
	if l.logM > field.TwoAdicity {
		return nil, fmt.Errorf("stark: evaluation domain 2^%d exceeds the field's 2^%d", l.logM, field.TwoAdicity)
	}
	// The statement, not the proof, says which rows are constrained and
	// whether the witness is hidden: options that would lift constraints
	// from rows the statement governs, or change its zero-knowledge flag,
	// are refused.
	if opts.ZeroKnowledge != info.ZeroKnowledge {
		return nil, fmt.Errorf("%w: zero knowledge is %v in the options and %v in the statement", ErrStatementMismatch, opts.ZeroKnowledge, info.ZeroKnowledge)
	}
	l.usable = info.rows()
	if free := l.n - l.usable; free < opts.ZKRows() {
		return nil, fmt.Errorf("%w: the statement leaves %d of %d rows free, the options need %d random rows (size the trace with stark.TraceLengthFor)", ErrStatementMismatch, free, l.n, opts.ZKRows())
	}
	l.numAir = len(info.Constraints)
	l.constraints = append([]Constraint(nil), info.Constraints...)
	for _, a := range info.Assertions {
		l.constraints = append(l.constraints, Constraint{Degree: 1, Rows: SingleRow(a.Row)})
	}
	maxQuotient := 0
	if len(l.constraints) == 0 {
		return nil, fmt.Errorf("stark: the AIR has no constraints")
	}
	for i := range l.constraints {
		c := &l.constraints[i]
		d := l.divisorOf(c)
		if d.zeros == 0 {
			// Every row of its set falls outside the constrained rows: the
			// statement would lose a constraint, so refuse it outright
			// (accepting it silently would let anything verify).
			return nil, fmt.Errorf("stark: constraint %d holds on no constrained row (AirInfo.Rows excludes all of its rows)", i)
		}
		numerator := c.Degree * (l.n - 1)
		for _, p := range c.Cycles {
			numerator += l.n - l.n/p
		}
		maxQuotient = max(maxQuotient, numerator-d.zeros)
		g := slices.IndexFunc(l.groups, func(o divisor) bool { return o.equal(&d) })
		if g < 0 {
			g = len(l.groups)
			l.groups = append(l.groups, d)
		}
		l.groupOf = append(l.groupOf, g)
	}
	for g := range l.groups {
		for k, gk := range l.groupOf {
			if gk == g {
				l.groups[g].members = append(l.groups[g].members, k)
			}
		}
	}
	l.quotient = max(1, (maxQuotient+l.n)/l.n) // ceil((maxQuotient+1)/n)
	l.segments, l.stride = l.quotient, l.n
	l.masked = opts.ZeroKnowledge
	if l.masked && l.quotient > 1 {
		// Each segment is opened at 2·Queries base points and at z: that
		// many random coefficients per randomiser make the openings of
		// all segments but the last uniform. n ≥ 4·Queries + 8 here, so
		// the stride exceeds n/2.
		l.stride = l.n - (2*opts.Queries + 1)
		// (segments − 1)·stride + n must exceed H's degree.
		l.segments = 1 + (maxQuotient+1-l.n+l.stride-1)/l.stride
	}
	if w := l.compositionWidth(); w > maxCompositionWidth {
		return nil, fmt.Errorf("stark: the constraints need %d composition columns, more than the %d a proof may carry (lower their degrees or cycles)", w, maxCompositionWidth)
	}
	ce := 1
	for ce < l.quotient {
		ce <<= 1
	}
	if ce > opts.Blowup {
		return nil, fmt.Errorf("stark: constraints of this AIR need blowup at least %d, options give %d", ce, opts.Blowup)
	}
	l.ceSize = ce * l.n
	for _, p := range info.Periodic {
		coeffs := slices.Clone(p)
		poly.INTT(coeffs)
		l.periodic = append(l.periodic, coeffs)
	}
	// The DEEP polynomial (degree < n) is first folded by 2 without a
	// commitment of its own (see friFirstFold); FRI's committed layers start
	// from degree n/2 over the half-size domain.
	d := l.n / 2
	for d > opts.LastLayerDegree && d >= opts.FoldingFactor {
		d /= opts.FoldingFactor
		l.friLayers++
	}
	l.remainder = d
	return l, nil
}

// divisorOf derives the divisor of c: its row set minus the rows the
// statement leaves unconstrained (from AirInfo.Rows on, and for constraints
// reading the next row, the last constrained row, whose successor is not).
func (l *layout) divisorOf(c *Constraint) divisor {
	period := c.Rows.period(l.n)
	d := divisor{period: period, except: c.Rows.Except, residues: slices.Clone(c.Rows.Residues)}
	slices.Sort(d.residues)
	last := l.usable
	if c.UsesNext {
		last--
	}
	for i := last; i < l.n; i++ {
		if c.Rows.contains(i, l.n) {
			d.excluded = append(d.excluded, i)
		}
	}
	perResidue := l.n / period
	if d.except {
		d.zeros = l.n - len(d.residues)*perResidue
	} else {
		d.zeros = len(d.residues) * perResidue
	}
	d.zeros -= len(d.excluded)
	return d
}

// traceGenerator returns g, the generator of the trace domain.
func (l *layout) traceGenerator() field.Element { return field.RootOfUnity(l.logN) }

// evalDivisorInverse returns 1/Z(x) for a point outside the trace domain.
func (d *divisor) evalInverse(x field.Ext, n, logN int) field.Ext {
	xp := x.Exp(uint64(n / d.period))
	wp := field.RootOfUnity(bits.TrailingZeros(uint(d.period)))
	prod := field.ExtOne()
	for _, r := range d.residues {
		prod = prod.Mul(xp.SubBase(wp.Exp(uint64(r))))
	}
	base := prod
	if d.except {
		base = x.Exp(uint64(n)).SubBase(field.One()).Mul(prod.Inverse())
	}
	g := field.RootOfUnity(logN)
	excl := field.ExtOne()
	for _, e := range d.excluded {
		excl = excl.Mul(x.SubBase(g.Exp(uint64(e))))
	}
	return excl.Mul(base.Inverse())
}

// friLayerSize returns the domain size of committed FRI layer i (layer 0
// is the first fold of the DEEP polynomial, over half the LDE domain).
func (l *layout) friLayerSize(i int) int {
	s := l.m / 2
	for ; i > 0; i-- {
		s /= l.opts.FoldingFactor
	}
	return s
}

// friShift is the coset shift of FRI layer 0: the square of the LDE's.
func (l *layout) friShift() field.Element { return l.shift.Square() }

// compositionWidth is the number of committed composition columns.
func (l *layout) compositionWidth() int {
	if l.masked {
		return l.segments + 1
	}
	return l.segments
}
