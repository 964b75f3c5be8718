package field

import (
	"errors"
	"math/bits"
)

// Ext is an element a0 + a1·X + a2·X² of the cubic extension
// F_p[X]/(X³ + 2X − 1). Verifier challenges live here so that soundness
// is bounded by |F_p³| ≈ 2^183 rather than |F_p| ≈ 2^61.
type Ext struct{ A0, A1, A2 Element }

// ExtBytes is the size of an encoded extension element.
const ExtBytes = 3 * Bytes

// FromBase embeds a base-field element.
func FromBase(a Element) Ext { return Ext{A0: a} }

func ExtZero() Ext { return Ext{} }
func ExtOne() Ext  { return Ext{A0: One()} }

func (a Ext) IsZero() bool { return a.A0.IsZero() && a.A1.IsZero() && a.A2.IsZero() }

func (a Ext) Equal(b Ext) bool { return a == b }

func (a Ext) Add(b Ext) Ext { return Ext{a.A0.Add(b.A0), a.A1.Add(b.A1), a.A2.Add(b.A2)} }

func (a Ext) Sub(b Ext) Ext { return Ext{a.A0.Sub(b.A0), a.A1.Sub(b.A1), a.A2.Sub(b.A2)} }

func (a Ext) Neg() Ext { return Ext{a.A0.Neg(), a.A1.Neg(), a.A2.Neg()} }

// AddBase returns a + b for b in the base field.
func (a Ext) AddBase(b Element) Ext { return Ext{a.A0.Add(b), a.A1, a.A2} }

// SubBase returns a - b for b in the base field.
func (a Ext) SubBase(b Element) Ext { return Ext{a.A0.Sub(b), a.A1, a.A2} }

// MulBase returns a·b for b in the base field.
func (a Ext) MulBase(b Element) Ext { return Ext{a.A0.Mul(b), a.A1.Mul(b), a.A2.Mul(b)} }

// Mul multiplies using X³ = 1 − 2X and X⁴ = X − 2X². The nine products
// are summed unreduced in local variables (kept in registers) and reduced
// once per coefficient of the degree-4 product.
func (a Ext) Mul(b Ext) Ext {
	a0, a1, a2 := a.A0.v, a.A1.v, a.A2.v
	b0, b1, b2 := b.A0.v, b.A1.v, b.A2.v
	d0 := redc(bits.Mul64(a0, b0))
	h, l := bits.Mul64(a0, b1)
	d1 := redc(mulAcc(h, l, a1, b0))
	h, l = bits.Mul64(a0, b2)
	h, l = mulAcc(h, l, a1, b1)
	d2 := redc(mulAcc(h, l, a2, b0))
	h, l = bits.Mul64(a1, b2)
	d3 := redc(mulAcc(h, l, a2, b1))
	d4 := redc(bits.Mul64(a2, b2))
	e3, e4 := Element{d3}, Element{d4}
	return Ext{
		A0: Element{d0}.Add(e3),
		A1: Element{d1}.Sub(e3.Double()).Add(e4),
		A2: Element{d2}.Sub(e4.Double()),
	}
}

// mulAcc returns (hi·2^64 + lo) + a·b.
func mulAcc(hi, lo, a, b uint64) (uint64, uint64) {
	h, l := bits.Mul64(a, b)
	lo, c := bits.Add64(lo, l, 0)
	return hi + h + c, lo
}

// redc is Montgomery reduction of hi·2^64 + lo for hi < p, which holds for
// a sum of up to seven products of values below p (7·p² < p·2^64).
func redc(hi, lo uint64) uint64 {
	m := lo * pInv
	mh, _ := bits.Mul64(m, Modulus)
	r := hi - mh
	if hi < mh {
		r += Modulus
	}
	return r
}

func (a Ext) Square() Ext { return a.Mul(a) }

// Exp returns a^e.
func (a Ext) Exp(e uint64) Ext {
	r := ExtOne()
	for ; e != 0; e >>= 1 {
		if e&1 == 1 {
			r = r.Mul(a)
		}
		a = a.Square()
	}
	return r
}

// Inverse returns a^-1 (0 for 0). Multiplication by a is the 3×3 matrix
//
//	| a0  a2       a1      |
//	| a1  a0−2a2   a2−2a1  |
//	| a2  a1       a0−2a2  |
//
// over the basis (1, X, X²); the inverse is its solution against (1,0,0),
// i.e. the first row of cofactors divided by the determinant.
func (a Ext) Inverse() Ext {
	m00, m01, m02 := a.A0, a.A2, a.A1
	m10, m11, m12 := a.A1, a.A0.Sub(a.A2.Double()), a.A2.Sub(a.A1.Double())
	m20, m21, m22 := a.A2, a.A1, a.A0.Sub(a.A2.Double())
	c0 := m11.Mul(m22).Sub(m12.Mul(m21))
	c1 := m12.Mul(m20).Sub(m10.Mul(m22))
	c2 := m10.Mul(m21).Sub(m11.Mul(m20))
	det := m00.Mul(c0).Add(m01.Mul(c1)).Add(m02.Mul(c2))
	inv := det.Inverse()
	return Ext{c0.Mul(inv), c1.Mul(inv), c2.Mul(inv)}
}

// ExtBatchInverse inverts every src[i] into dst[i] with one inversion.
// Zeros map to zero; dst and src may alias.
func ExtBatchInverse(dst, src []Ext) {
	if len(dst) != len(src) {
		panic("field: ExtBatchInverse length mismatch")
	}
	n := len(src)
	if n == 0 {
		return
	}
	prefix := make([]Ext, n)
	acc := ExtOne()
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
			dst[i] = Ext{}
			continue
		}
		dst[i] = inv.Mul(prefix[i])
		inv = inv.Mul(x)
	}
}

// AppendBytes appends the three canonical coefficients, lowest first.
func (a Ext) AppendBytes(b []byte) []byte {
	return a.A2.AppendBytes(a.A1.AppendBytes(a.A0.AppendBytes(b)))
}

// ExtFromBytes decodes 24 bytes written by AppendBytes.
func ExtFromBytes(b []byte) (Ext, error) {
	if len(b) < ExtBytes {
		return Ext{}, errors.New("field: short extension element encoding")
	}
	a0, err := FromBytes(b[0:])
	if err != nil {
		return Ext{}, err
	}
	a1, err := FromBytes(b[8:])
	if err != nil {
		return Ext{}, err
	}
	a2, err := FromBytes(b[16:])
	if err != nil {
		return Ext{}, err
	}
	return Ext{a0, a1, a2}, nil
}
