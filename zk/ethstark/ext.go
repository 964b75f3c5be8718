package ethstark

import (
	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/poly"
)

// The two branches of ethSTARK work over different extensions of F_p:
// the ziggy branch over the cubic F_p[X]/(X³ + 2X − 1) (field.Ext, which
// DataDragon's engine shares), the master branch over the quadratic
// F_p[φ]/(φ² − φ − 1) (quad). The verifier, the AIRs and FRI are written
// once, for an element type E with field.Ext's arithmetic methods and a
// companion O with what is specific to the extension: its encoding, its
// Frobenius map and how ethSTARK draws a random element.

// extElem is the arithmetic of an extension's elements.
type extElem[E any] interface {
	comparable
	Add(E) E
	Sub(E) E
	Neg() E
	Mul(E) E
	AddBase(field.Element) E
	SubBase(field.Element) E
	MulBase(field.Element) E
	Exp(uint64) E
	Inverse() E
	IsZero() bool
}

// extOps is what the verifier needs of an extension beyond arithmetic.
// Implementations are empty structs; their methods are called on the zero
// value.
type extOps[E any] interface {
	size() int // bytes of an encoded element
	fromBase(field.Element) E
	base(E) field.Element // the constant coefficient
	one() E
	// frobenius is x ↦ x^p. The trace is defined over F_p, so its value at
	// the conjugate of a point is the conjugate of its value at the point.
	frobenius(E) E
	append([]byte, E) []byte
	decode([]byte) (E, error) // ethSTARK's encoding; a coefficient ≥ p is refused
	random(*channel) E        // ethSTARK's RandomElement

	// The prover's transforms and evaluations (the transforms' twiddles
	// are base-field elements, so they act on each coordinate alone).
	cosetNTT(a []E, shift field.Element)
	cosetINTT(a []E, shift field.Element)
	intt(a []E)
	evalBase(coeffs []field.Element, x E) E // Σ coeffs[i]·x^i
	evalExt(coeffs []E, x E) E
}

// cubicOps are the ziggy branch's: elements are three 8-byte big-endian
// Montgomery coefficients, the constant one first.
type cubicOps struct{}

func (cubicOps) size() int                          { return 24 }
func (cubicOps) fromBase(a field.Element) field.Ext { return field.FromBase(a) }
func (cubicOps) base(a field.Ext) field.Element     { return a.A0 }
func (cubicOps) one() field.Ext                     { return field.ExtOne() }

// frobenius on F_p[X]/(X³+2X−1): the images of X and X², in the basis
// (1, X, X²), are fixed constants.
func (cubicOps) frobenius(a field.Ext) field.Ext {
	c := func(v uint64) field.Element { return field.New(v) }
	return field.Ext{
		A0: a.A0.Add(c(318233216319004744).Mul(a.A1)).Add(c(2067168182873786313).Mul(a.A2)),
		A1: c(179006184179440168).Mul(a.A1).Add(c(159116608159502372).Mul(a.A2)),
		A2: c(238674912239253558).Mul(a.A1).Add(c(2126836910933599704).Mul(a.A2)),
	}
}

func (cubicOps) append(b []byte, e field.Ext) []byte {
	return appendBase(appendBase(appendBase(b, e.A0), e.A1), e.A2)
}

func (cubicOps) decode(b []byte) (field.Ext, error) {
	var e field.Ext
	var err error
	if e.A0, err = decodeBase(b[0:]); err != nil {
		return e, err
	}
	if e.A1, err = decodeBase(b[8:]); err != nil {
		return e, err
	}
	e.A2, err = decodeBase(b[16:])
	return e, err
}

// random: ethSTARK builds the element from three random base elements
// passed as constructor arguments, which its compiler (GCC) evaluates right
// to left: the first draw is the X² coefficient, the last the constant one.
func (cubicOps) random(c *channel) field.Ext {
	a2 := c.randomBase()
	a1 := c.randomBase()
	a0 := c.randomBase()
	return field.Ext{A0: a0, A1: a1, A2: a2}
}

func (cubicOps) cosetNTT(a []field.Ext, shift field.Element)  { poly.CosetNTTExt(a, shift) }
func (cubicOps) cosetINTT(a []field.Ext, shift field.Element) { poly.CosetINTTExt(a, shift) }
func (cubicOps) intt(a []field.Ext)                           { poly.INTTExt(a) }
func (cubicOps) evalBase(c []field.Element, x field.Ext) field.Ext {
	return poly.EvalAt(c, x)
}
func (cubicOps) evalExt(c []field.Ext, x field.Ext) field.Ext { return poly.EvalExtAt(c, x) }

// quadOps are the master branch's: elements are two 8-byte big-endian
// Montgomery coefficients, the constant one first.
type quadOps struct{}

func (quadOps) size() int                     { return 16 }
func (quadOps) fromBase(a field.Element) quad { return quad{A0: a} }
func (quadOps) base(a quad) field.Element     { return a.A0 }
func (quadOps) one() quad                     { return quad{A0: field.One()} }
func (quadOps) frobenius(a quad) quad         { return a.conj() }

func (quadOps) append(b []byte, e quad) []byte { return appendBase(appendBase(b, e.A0), e.A1) }

func (quadOps) decode(b []byte) (quad, error) {
	var e quad
	var err error
	if e.A0, err = decodeBase(b[0:]); err != nil {
		return e, err
	}
	e.A1, err = decodeBase(b[8:])
	return e, err
}

// random: as for the cubic extension, the two constructor arguments are
// evaluated right to left, so the first draw is the φ coefficient.
func (quadOps) random(c *channel) quad {
	a1 := c.randomBase()
	a0 := c.randomBase()
	return quad{A0: a0, A1: a1}
}

// The quadratic transforms run the cubic ones on elements whose X²
// coefficient is zero: a transform is linear over F_p with twiddles in
// F_p, so it maps each coordinate on its own and the third stays zero.
func quadTransform(a []quad, f func([]field.Ext)) {
	c := make([]field.Ext, len(a))
	for i, v := range a {
		c[i] = field.Ext{A0: v.A0, A1: v.A1}
	}
	f(c)
	for i, v := range c {
		a[i] = quad{v.A0, v.A1}
	}
}

func (quadOps) cosetNTT(a []quad, shift field.Element) {
	quadTransform(a, func(c []field.Ext) { poly.CosetNTTExt(c, shift) })
}

func (quadOps) cosetINTT(a []quad, shift field.Element) {
	quadTransform(a, func(c []field.Ext) { poly.CosetINTTExt(c, shift) })
}

func (quadOps) intt(a []quad) { quadTransform(a, poly.INTTExt) }

func (quadOps) evalBase(c []field.Element, x quad) quad {
	var r quad
	for i := len(c) - 1; i >= 0; i-- {
		r = r.Mul(x).AddBase(c[i])
	}
	return r
}

func (quadOps) evalExt(c []quad, x quad) quad {
	var r quad
	for i := len(c) - 1; i >= 0; i-- {
		r = r.Mul(x).Add(c[i])
	}
	return r
}

// batchInverse inverts every src[i] into dst[i] with one inversion; zeros
// map to zero; dst and src may alias.
func batchInverse[E extElem[E], O extOps[E]](dst, src []E) {
	var o O
	n := len(src)
	if n == 0 {
		return
	}
	prefix := make([]E, n)
	acc := o.one()
	for i, x := range src {
		prefix[i] = acc
		if !x.IsZero() {
			acc = acc.Mul(x)
		}
	}
	inv := acc.Inverse()
	for i := n - 1; i >= 0; i-- {
		x := src[i]
		if x.IsZero() {
			var zero E
			dst[i] = zero
			continue
		}
		dst[i] = inv.Mul(prefix[i])
		inv = inv.Mul(x)
	}
}
