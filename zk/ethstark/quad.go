package ethstark

import "github.com/datadragon/datadragon/zk/field"

// quad is an element a0 + a1·φ of ethSTARK master's quadratic extension
// F_p[φ]/(φ² − φ − 1), φ² = φ + 1. The polynomial is irreducible because
// 5, its discriminant, is not a square modulo p. Its method set is that of
// field.Ext (the ziggy branch's cubic extension), so the verifier is
// written once for both.
type quad struct{ A0, A1 field.Element }

func (a quad) IsZero() bool { return a.A0.IsZero() && a.A1.IsZero() }

func (a quad) Add(b quad) quad { return quad{a.A0.Add(b.A0), a.A1.Add(b.A1)} }

func (a quad) Sub(b quad) quad { return quad{a.A0.Sub(b.A0), a.A1.Sub(b.A1)} }

func (a quad) Neg() quad { return quad{a.A0.Neg(), a.A1.Neg()} }

func (a quad) AddBase(b field.Element) quad { return quad{a.A0.Add(b), a.A1} }

func (a quad) SubBase(b field.Element) quad { return quad{a.A0.Sub(b), a.A1} }

func (a quad) MulBase(b field.Element) quad { return quad{a.A0.Mul(b), a.A1.Mul(b)} }

// Mul uses φ² = φ + 1: (a0 + a1φ)(b0 + b1φ) = a0b0 + a1b1 + (a0b1 + a1b0 + a1b1)φ,
// the φ coefficient computed as (a0 + a1)(b0 + b1) − a0b0 (three products).
func (a quad) Mul(b quad) quad {
	p0 := a.A0.Mul(b.A0)
	p1 := a.A1.Mul(b.A1)
	return quad{p0.Add(p1), a.A0.Add(a.A1).Mul(b.A0.Add(b.A1)).Sub(p0)}
}

// Exp returns a^e.
func (a quad) Exp(e uint64) quad {
	r := quad{A0: field.One()}
	for ; e != 0; e >>= 1 {
		if e&1 == 1 {
			r = r.Mul(a)
		}
		a = a.Mul(a)
	}
	return r
}

// conj is the Frobenius map x ↦ x^p: it sends φ to the other root, 1 − φ.
func (a quad) conj() quad { return quad{a.A0.Add(a.A1), a.A1.Neg()} }

// Inverse returns a^-1 (0 for 0): a·conj(a) is the norm
// a0² + a0a1 − a1², a base-field element.
func (a quad) Inverse() quad {
	n := a.A0.Mul(a.A0).Add(a.A0.Mul(a.A1)).Sub(a.A1.Mul(a.A1))
	if n.IsZero() {
		return quad{}
	}
	inv := n.Inverse()
	c := a.conj()
	return quad{c.A0.Mul(inv), c.A1.Mul(inv)}
}
