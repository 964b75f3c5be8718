package field

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// Modulus is p = 2^61 + 20·2^32 + 1.
const Modulus uint64 = 0x2000001400000001

const (
	// pInv is p^-1 mod 2^64, used by Montgomery reduction.
	pInv uint64 = 0xdfffffec00000001
	// r2 is 2^128 mod p: multiplying by it moves a value into Montgomery form.
	r2 uint64 = 0x1fc18a13fffce041
	// montOne is 2^64 mod p, the Montgomery form of 1.
	montOne uint64 = 0x1fffff73fffffff9
)

// TwoAdicity is the largest k with 2^k dividing p-1: the field has NTT
// domains of every power-of-two size up to 2^34.
const TwoAdicity = 34

// Bytes is the size of an encoded element.
const Bytes = 8

// Element is a field element kept in Montgomery form (value·2^64 mod p),
// always fully reduced, so == compares values. The zero value is 0.
type Element struct{ v uint64 }

// New returns v mod p as a field element.
func New(v uint64) Element {
	if v >= Modulus {
		v %= Modulus
	}
	return Element{montMul(v, r2)}
}

// Zero and One are the additive and multiplicative identities.
func Zero() Element { return Element{} }
func One() Element  { return Element{montOne} }

// Uint64 returns the canonical value in [0, p).
func (a Element) Uint64() uint64 { return montMul(a.v, 1) }

// montMul returns a·b·2^-64 mod p for a, b < p.
func montMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	m := lo * pInv
	mh, _ := bits.Mul64(m, Modulus)
	r := hi - mh
	if hi < mh {
		r += Modulus
	}
	return r
}

func (a Element) Add(b Element) Element {
	r := a.v + b.v
	if r >= Modulus {
		r -= Modulus
	}
	return Element{r}
}

func (a Element) Sub(b Element) Element {
	r := a.v - b.v
	if a.v < b.v {
		r += Modulus
	}
	return Element{r}
}

func (a Element) Neg() Element {
	if a.v == 0 {
		return a
	}
	return Element{Modulus - a.v}
}

func (a Element) Double() Element { return a.Add(a) }

func (a Element) Mul(b Element) Element { return Element{montMul(a.v, b.v)} }

func (a Element) Square() Element { return Element{montMul(a.v, a.v)} }

// Cube returns a^3, Rescue's S-box.
func (a Element) Cube() Element { return Element{montMul(montMul(a.v, a.v), a.v)} }

func (a Element) IsZero() bool { return a.v == 0 }

func (a Element) Equal(b Element) bool { return a.v == b.v }

// Exp returns a^e.
func (a Element) Exp(e uint64) Element {
	r := One()
	for ; e != 0; e >>= 1 {
		if e&1 == 1 {
			r = r.Mul(a)
		}
		a = a.Square()
	}
	return r
}

// Inverse returns a^-1, and 0 for 0 (callers that can see 0 must check).
func (a Element) Inverse() Element { return a.Exp(Modulus - 2) }

// BatchInverse writes the inverse of every src[i] into dst[i] with one
// field inversion (Montgomery's trick). Zeros map to zero. dst and src may
// be the same slice.
func BatchInverse(dst, src []Element) {
	if len(dst) != len(src) {
		panic("field: BatchInverse length mismatch")
	}
	n := len(src)
	if n == 0 {
		return
	}
	prefix := make([]Element, n)
	acc := One()
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
			dst[i] = Zero()
			continue
		}
		dst[i] = inv.Mul(prefix[i])
		inv = inv.Mul(x)
	}
}

// Generator returns 3, a generator of the multiplicative group.
func Generator() Element { return New(3) }

// RootOfUnity returns a primitive 2^logN-th root of unity; the roots for
// successive sizes are consistent (the square of one is the next smaller).
func RootOfUnity(logN int) Element {
	if logN < 0 || logN > TwoAdicity {
		panic("field: no root of unity of that order")
	}
	w := Generator().Exp((Modulus - 1) >> TwoAdicity)
	for i := logN; i < TwoAdicity; i++ {
		w = w.Square()
	}
	return w
}

// ErrNonCanonical reports an encoded element that is not below p.
var ErrNonCanonical = errors.New("field: encoded element is not below the modulus")

// AppendBytes appends the canonical 8-byte little-endian encoding of a.
func (a Element) AppendBytes(b []byte) []byte {
	return binary.LittleEndian.AppendUint64(b, a.Uint64())
}

// FromBytes decodes 8 little-endian bytes, rejecting values ≥ p so that
// every element has exactly one encoding.
func FromBytes(b []byte) (Element, error) {
	if len(b) < Bytes {
		return Element{}, errors.New("field: short element encoding")
	}
	v := binary.LittleEndian.Uint64(b)
	if v >= Modulus {
		return Element{}, ErrNonCanonical
	}
	return New(v), nil
}

// FromCanonical returns v as an element if v < p.
func FromCanonical(v uint64) (Element, error) {
	if v >= Modulus {
		return Element{}, ErrNonCanonical
	}
	return New(v), nil
}

// FromWide reduces the 128-bit value hi·2^64+lo mod p. It turns 16 random
// bytes into a field element with bias below 2^-66.
func FromWide(hi, lo uint64) Element {
	return New(bits.Rem64(hi, lo, Modulus))
}

// Acc accumulates a sum of up to 64 products without reducing each one:
// the hot loops (MDS matrices, random linear combinations) pay one
// reduction per sum instead of one per product.
type Acc struct{ hi, lo uint64 }

// AddMul adds a·b to the accumulator.
func (acc *Acc) AddMul(a, b Element) {
	h, l := bits.Mul64(a.v, b.v)
	var c uint64
	acc.lo, c = bits.Add64(acc.lo, l, 0)
	acc.hi += h + c
}

// Add adds a to the accumulator.
func (acc *Acc) Add(a Element) {
	// a·2^64 in the accumulator's scale is a.v in the high word.
	acc.hi += a.v
}

// Reduce returns the accumulated sum as an element.
func (acc Acc) Reduce() Element {
	hi := acc.hi % Modulus
	m := acc.lo * pInv
	mh, _ := bits.Mul64(m, Modulus)
	r := hi - mh
	if hi < mh {
		r += Modulus
	}
	return Element{r}
}

// Montgomery exposes the internal representation for code that must
// accumulate unreduced products (see DotAcc); it is not an encoding.
func (a Element) Montgomery() uint64 { return a.v }

// FromMontgomery is the inverse of Montgomery for a value below p.
func FromMontgomery(v uint64) Element { return Element{v} }

// Dot returns Σ a[i]·b[i] over min(len(a), len(b)) terms, reducing once
// per 32 products. The running sum lives in local variables, which keeps it
// in registers; it is the inner loop of MDS products and random linear
// combinations.
func Dot(a, b []Element) Element {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	var sum Element
	for len(a) > 0 {
		k := min(len(a), 32)
		var hi, lo uint64
		for i := 0; i < k; i++ {
			h, l := bits.Mul64(a[i].v, b[i].v)
			var c uint64
			lo, c = bits.Add64(lo, l, 0)
			hi += h + c
		}
		sum = sum.Add(Acc{hi: hi, lo: lo}.Reduce())
		a, b = a[k:], b[k:]
	}
	return sum
}
