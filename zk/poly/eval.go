package poly

import (
	"math/bits"

	"github.com/datadragon/datadragon/zk/field"
)

// Extend returns the evaluations of the polynomial with the given
// coefficients (implicitly zero-padded) over the coset shift·⟨ω_m⟩, in
// natural order: out[i] = p(shift·ω_m^i) with ω_m = field.RootOfUnity(log2 m).
// coeffs is not modified. It panics unless m is a power of two with
// m ≥ len(coeffs).
//
// With n the padded length of coeffs and m = B·n, the DIF transform of the
// zero-padded input splits after log B stages into B independent size-n
// transforms of the coefficients scaled by powers of shift·ω_m^rev(b), so
// Extend starts directly from those and never works on the padding.
func Extend(coeffs []field.Element, m int, shift field.Element) []field.Element {
	n, blocks := extendShape(len(coeffs), m)
	out := make([]field.Element, m)
	if m == 0 {
		return out
	}
	if n == 1 {
		// A constant (or zero) polynomial.
		if len(coeffs) == 1 && !coeffs[0].IsZero() {
			for i := range out {
				out[i] = coeffs[0]
			}
		}
		return out
	}
	k := baseKernels(twiddles(n))
	extendBlocks(m, n, blocks, 1, shift, func(b int, z field.Element, procs int) {
		blk := out[b*n : (b+1)*n]
		scaleInto(blk, coeffs, z)
		difRun(blk, procs, blockLog, k)
	})
	bitReverse(out, procsFor(m, passLog))
	return out
}

// ExtendExt is Extend for coefficients in the extension field.
func ExtendExt(coeffs []field.Ext, m int, shift field.Element) []field.Ext {
	n, blocks := extendShape(len(coeffs), m)
	out := make([]field.Ext, m)
	if m == 0 {
		return out
	}
	if n == 1 {
		if len(coeffs) == 1 && !coeffs[0].IsZero() {
			for i := range out {
				out[i] = coeffs[0]
			}
		}
		return out
	}
	k := extKernels(twiddles(n))
	extendBlocks(m, n, blocks, 3, shift, func(b int, z field.Element, procs int) {
		blk := out[b*n : (b+1)*n]
		scaleIntoExt(blk, coeffs, z)
		difRun(blk, procs, blockLogExt, k)
	})
	bitReverse(out, procsFor(3*m, passLog))
	return out
}

// extendShape checks Extend's arguments and returns the padded coefficient
// count n and the number of blocks m/n.
func extendShape(k, m int) (n, blocks int) {
	checkPow2(m)
	if m < k {
		panic("poly: Extend target size is smaller than the coefficient count")
	}
	if m == 0 {
		return 0, 0
	}
	n = 1
	for n < k {
		n *= 2
	}
	return n, m / n
}

// extendBlocks calls f(b, shift·ω_m^rev(b), procs) for every block b,
// sharing the blocks out between goroutines when the job (of `words` words
// per element) is large enough. Blocks are visited in the order of their
// exponent rev(b), so each z costs one multiplication.
func extendBlocks(m, n, blocks, words int, shift field.Element, f func(b int, z field.Element, procs int)) {
	logB := log2(blocks)
	wm := field.RootOfUnity(log2(m))
	run := func(lo, hi, procs int) {
		z := shift.Mul(wm.Exp(uint64(lo)))
		for k := lo; k < hi; k++ {
			b := 0
			if logB > 0 {
				b = int(bits.Reverse64(uint64(k)) >> (64 - logB))
			}
			f(b, z, procs)
			z = z.Mul(wm)
		}
	}
	procs := procsFor(words*m, transformLog)
	if procs <= 1 || blocks < procs {
		run(0, blocks, procsFor(words*n, transformLog))
		return
	}
	parallel(blocks, 1, procs, func(lo, hi int) { run(lo, hi, 1) })
}

// scaleInto sets dst[i] = src[i]·z^i for i < len(src) and zeroes the rest.
func scaleInto(dst, src []field.Element, z field.Element) {
	copy(dst, src)
	clear(dst[len(src):])
	scaleRange(dst[:len(src)], z, 0)
}

func scaleIntoExt(dst, src []field.Ext, z field.Element) {
	copy(dst, src)
	clear(dst[len(src):])
	scaleRangeExt(dst[:len(src)], z, 0)
}

// mulMat is multiplication by a fixed extension element x as a 3×3 matrix
// over the base field (Montgomery form): (a·x)_r = Σ_c a_c·M[r][c], from
// X³ = 1 − 2X. Products are accumulated unreduced and reduced once per
// coordinate, lazily: inputs below 3.25p give outputs below 2.22p, so a
// Horner step (multiply, then add a coefficient below p) keeps every
// coordinate below 3.25p without any conditional subtraction.
type mulMat [3][3]uint64

func newMulMat(x field.Ext) mulMat {
	x0, x1, x2 := x.A0, x.A1, x.A2
	u := x0.Sub(x2.Double()) // x0 − 2x2
	v := x2.Sub(x1.Double()) // x2 − 2x1
	return mulMat{
		{x0.Montgomery(), x2.Montgomery(), x1.Montgomery()},
		{x1.Montgomery(), u.Montgomery(), v.Montgomery()},
		{x2.Montgomery(), x1.Montgomery(), u.Montgomery()},
	}
}

// row returns a value ≡ Σ·2^-64 (mod p), Σ = a0·m0 + a1·m1 + a2·m2, in
// (hi, hi+p] where hi = ⌊Σ/2^64⌋ < 3·max(a_i)·p/2^64 < 0.376·max(a_i).
func row(a0, a1, a2 uint64, m *[3]uint64) uint64 {
	h0, l0 := bits.Mul64(a0, m[0])
	h1, l1 := bits.Mul64(a1, m[1])
	h2, l2 := bits.Mul64(a2, m[2])
	lo, c := bits.Add64(l0, l1, 0)
	hi := h0 + h1 + c
	lo, c = bits.Add64(lo, l2, 0)
	hi += h2 + c
	q := lo * pInv
	qh, _ := bits.Mul64(q, p)
	// Σ − q·p is divisible by 2^64 and its quotient is hi − qh.
	return hi - qh + p
}

// mul returns a·x coordinatewise lazily (see row).
func (m *mulMat) mul(a0, a1, a2 uint64) (uint64, uint64, uint64) {
	return row(a0, a1, a2, &m[0]), row(a0, a1, a2, &m[1]), row(a0, a1, a2, &m[2])
}

func canon(a0, a1, a2 uint64) field.Ext {
	return field.Ext{
		A0: field.FromMontgomery(a0 % p),
		A1: field.FromMontgomery(a1 % p),
		A2: field.FromMontgomery(a2 % p),
	}
}

// EvalAt returns p(x) for the polynomial with the given base-field
// coefficients (lowest degree first), by Horner's rule.
func EvalAt(coeffs []field.Element, x field.Ext) field.Ext {
	m := newMulMat(x)
	var a0, a1, a2 uint64
	for i := len(coeffs) - 1; i >= 0; i-- {
		a0, a1, a2 = m.mul(a0, a1, a2)
		a0 += coeffs[i].Montgomery()
	}
	return canon(a0, a1, a2)
}

// EvalExtAt returns p(x) for the polynomial with the given extension-field
// coefficients (lowest degree first), by Horner's rule.
func EvalExtAt(coeffs []field.Ext, x field.Ext) field.Ext {
	m := newMulMat(x)
	var a0, a1, a2 uint64
	for i := len(coeffs) - 1; i >= 0; i-- {
		a0, a1, a2 = m.mul(a0, a1, a2)
		c := &coeffs[i]
		a0 += c.A0.Montgomery()
		a1 += c.A1.Montgomery()
		a2 += c.A2.Montgomery()
	}
	return canon(a0, a1, a2)
}
