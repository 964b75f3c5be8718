package poly

import (
	"math/bits"
	"runtime"
	"sync"

	"github.com/datadragon/datadragon/zk/field"
)

// Internally every transform is decimation-in-frequency (natural order in,
// bit-reversed order out) followed by one cache-blocked bit-reversal
// permutation. Between stages values are kept lazily reduced in [0, 2p)
// (Harvey's butterfly, with Shoup multiplication by precomputed twiddles:
// one 64×64→128 and two 64×64→64 multiplications, no conditional on the
// product); the last stage brings them back to [0, p).
//
// Elements are handled through their raw Montgomery form
// (field.Element.Montgomery / field.FromMontgomery). A twiddle multiplies
// by the canonical value of a constant, which maps the Montgomery form of
// x to the Montgomery form of x·w, so no conversion is ever needed.

const (
	// blockLog is the log size of sub-transforms finished entirely in L1.
	blockLog = 11
	// Goroutines are only used for transforms of at least 2^transformLog
	// words (n for base-field elements, 3n for extension elements) and for
	// single passes (permutation, scaling) of at least 2^passLog words:
	// below that, waking another thread costs more than it saves.
	transformLog = 14
	passLog      = 17
)

// NTT replaces the coefficients in a by the evaluations a[i] = p(ω^i) with
// ω = field.RootOfUnity(log2 len(a)); input and output are in natural order.
// It panics if len(a) is not a power of two.
func NTT(a []field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	dif(a, twiddles(n), procsFor(n, transformLog))
	bitReverse(a, procsFor(n, passLog))
}

// INTT is the inverse of NTT: it replaces evaluations over ⟨ω⟩ in natural
// order by the coefficients, including the 1/n scaling. It panics if
// len(a) is not a power of two.
func INTT(a []field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	inverse(a, field.One())
}

// CosetNTT replaces the coefficients in a by the evaluations over the coset
// shift·⟨ω⟩: a[i] = p(shift·ω^i). It panics if len(a) is not a power of two.
func CosetNTT(a []field.Element, shift field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return // p(shift·1) = c_0
	}
	passProcs := procsFor(n, passLog)
	scalePowers(a, shift, passProcs)
	dif(a, twiddles(n), procsFor(n, transformLog))
	bitReverse(a, passProcs)
}

// CosetINTT is the inverse of CosetNTT (shift must be nonzero). It panics
// if len(a) is not a power of two.
func CosetINTT(a []field.Element, shift field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	inverse(a, shift.Inverse())
}

// inverse computes the coset inverse transform with sInv = shift^-1 (1 for
// the plain INTT). The inverse DFT is the forward DFT read at negated
// indices: the forward transform of v_i = p(shift·ω^i) is
// a[j] = n·shift^k·c_k with k = −j mod n, so one pass reverses a[1:] and
// applies both 1/n and the coset powers, and the forward twiddle table
// serves both directions.
func inverse(a []field.Element, sInv field.Element) {
	n := len(a)
	passProcs := procsFor(n, passLog)
	dif(a, twiddles(n), procsFor(n, transformLog))
	bitReverse(a, passProcs)
	nInv := field.New(uint64(n)).Inverse()
	negateIndices(a, nInv, sInv, passProcs)
}

// checkPow2 panics unless n is a power of two or 0 (an empty slice is a
// no-op everywhere).
func checkPow2(n int) {
	if n&(n-1) != 0 {
		panic("poly: length is not a power of two")
	}
}

func log2(n int) int { return bits.TrailingZeros(uint(n)) }

// procsFor returns how many goroutines may share a job on the given number
// of 64-bit words: 1 below 2^minLog, else GOMAXPROCS.
func procsFor(words, minLog int) int {
	if words < 1<<minLog {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}

// parallel runs f(lo, hi) over [0, n) split into at most procs chunks whose
// bounds are multiples of align (a power of two dividing n).
func parallel(n, align, procs int, f func(lo, hi int)) {
	if procs <= 1 || n < 2*align {
		f(0, n)
		return
	}
	chunks := min(procs, n/align)
	bound := func(c int) int { return n / align * c / chunks * align }
	var wg sync.WaitGroup
	for c := 1; c < chunks; c++ {
		lo, hi := bound(c), bound(c+1)
		wg.Go(func() { f(lo, hi) })
	}
	f(0, bound(1))
	wg.Wait()
}

// dif runs all decimation-in-frequency stages on a (natural order in,
// bit-reversed order out; values in [0, p) in and out).
func dif(a []field.Element, tw []twiddle, procs int) {
	difRun(a, procs, blockLog, baseKernels(tw))
}

func baseKernels(tw []twiddle) difKernels[field.Element] {
	return difKernels[field.Element]{
		pass2: func(a []field.Element, lo, hi int) { dif2(a, tw, lo, hi) },
		pass4: func(a []field.Element, lo, hi int) { dif4(a, tw, lo, hi) },
		block: func(a []field.Element) { difBlock(a, tw) },
	}
}

// difKernels are the element-type specific parts of difRun: one radix-2 or
// radix-4 pass over units [lo, hi) of a block, and a whole small block.
type difKernels[T any] struct {
	pass2, pass4 func(a []T, lo, hi int)
	block        func(a []T)
}

// difRun drives the DIF stages. Sizes above 2^blockLog take one or two
// stages in a pass over the whole slice and then recurse into the
// independent sub-blocks, so every block is finished while it fits in
// cache; passes and sub-blocks are shared out between procs goroutines.
func difRun[T any](a []T, procs, blockLog int, k difKernels[T]) {
	n := len(a)
	if n <= 1<<blockLog {
		k.block(a)
		return
	}
	var parts int
	if (log2(n)-blockLog)%2 == 1 {
		parallel(n/2, 64, procs, func(lo, hi int) { k.pass2(a, lo, hi) })
		parts = 2
	} else {
		parallel(n/4, 64, procs, func(lo, hi int) { k.pass4(a, lo, hi) })
		parts = 4
	}
	m := n / parts
	sub := max(1, procs/parts) // spare goroutines go into the sub-blocks
	parallel(parts, 1, procs, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			difRun(a[i*m:(i+1)*m], sub, blockLog, k)
		}
	})
}

// difBlock runs all DIF stages on a small a (len ≤ 2^blockLog); the last
// stage leaves the values fully reduced.
func difBlock(a []field.Element, tw []twiddle) {
	n := len(a)
	if n == 2 {
		a[0], a[1] = a[0].Add(a[1]), a[0].Sub(a[1])
		return
	}
	l := n
	if log2(n)%2 == 1 {
		for b := 0; b < n; b += l {
			dif2(a[b:b+l], tw, 0, l/2)
		}
		l /= 2
	}
	for ; l > 4; l /= 4 {
		for b := 0; b < n; b += l {
			dif4(a[b:b+l], tw, 0, l/4)
		}
	}
	difLast4(a, tw[3])
}

// add returns x+y reduced to [0, 2p) for x, y in [0, 2p).
func add(x, y uint64) uint64 {
	s := x + y
	if s >= p2 {
		s -= p2
	}
	return s
}

// dif2 runs butterflies j in [lo, hi) of the single radix-2 DIF stage with
// half-size len(a)/2.
func dif2(a []field.Element, tw []twiddle, lo, hi int) {
	h := len(a) / 2
	x := a[lo:hi]
	y := a[h+lo : h+hi]
	t := tw[h+lo : h+hi]
	y = y[:len(x)]
	t = t[:len(x)]
	for j := range x {
		u, v := x[j].Montgomery(), y[j].Montgomery()
		x[j] = field.FromMontgomery(add(u, v))
		y[j] = field.FromMontgomery(mulTw(u-v+p2, t[j]))
	}
}

// dif4 runs units j in [lo, hi) of the two DIF stages with half-sizes
// len(a)/2 and len(a)/4 fused: each unit is four butterflies on the
// elements j, j+q, j+2q, j+3q (q = len(a)/4).
func dif4(a []field.Element, tw []twiddle, lo, hi int) {
	q := len(a) / 4
	a0 := a[lo:hi]
	a1 := a[q+lo : q+hi][:len(a0)]
	a2 := a[2*q+lo : 2*q+hi][:len(a0)]
	a3 := a[3*q+lo : 3*q+hi][:len(a0)]
	t1 := tw[2*q+lo : 2*q+hi][:len(a0)]
	t1b := tw[3*q+lo : 3*q+hi][:len(a0)]
	t2 := tw[q+lo : q+hi][:len(a0)]
	for j := range a0 {
		x0, x1, x2, x3 := a0[j].Montgomery(), a1[j].Montgomery(), a2[j].Montgomery(), a3[j].Montgomery()
		y0 := add(x0, x2)
		y2 := mulTw(x0-x2+p2, t1[j])
		y1 := add(x1, x3)
		y3 := mulTw(x1-x3+p2, t1b[j])
		w := t2[j]
		a0[j] = field.FromMontgomery(add(y0, y1))
		a1[j] = field.FromMontgomery(mulTw(y0-y1+p2, w))
		a2[j] = field.FromMontgomery(add(y2, y3))
		a3[j] = field.FromMontgomery(mulTw(y2-y3+p2, w))
	}
}

// difLast4 runs the last two DIF stages (half-sizes 2 and 1) on every
// group of four, leaving the values fully reduced; the twiddles are 1
// except ω_4.
func difLast4(a []field.Element, i4 twiddle) {
	for b := 0; b+4 <= len(a); b += 4 {
		g := a[b : b+4 : b+4]
		x0, x1, x2, x3 := g[0].Montgomery(), g[1].Montgomery(), g[2].Montgomery(), g[3].Montgomery()
		y0 := add(x0, x2)
		y2 := sub(x0, x2)
		y1 := add(x1, x3)
		y3 := mulTw(x1-x3+p2, i4)
		g[0] = field.FromMontgomery(reduce4(y0 + y1))
		g[1] = field.FromMontgomery(reduce4(y0 - y1 + p2))
		g[2] = field.FromMontgomery(reduce4(y2 + y3))
		g[3] = field.FromMontgomery(reduce4(y2 - y3 + p2))
	}
}

// sub returns x-y reduced to [0, 2p) for x, y in [0, 2p).
func sub(x, y uint64) uint64 {
	d := x - y
	if x < y {
		d += p2
	}
	return d
}

// reduce4 maps [0, 4p) to [0, p).
func reduce4(x uint64) uint64 {
	if x >= p2 {
		x -= p2
	}
	if x >= p {
		x -= p
	}
	return x
}

// Bit reversal works on tiles so that it touches every cache line once:
// an index of L bits is split as (hi, mid, lo) with hi and lo of tileLog
// bits, and rev(hi, mid, lo) = (rev lo, rev mid, rev hi). The 2^(2·tileLog)
// indices sharing mid form a tile of 2^tileLog short contiguous rows, which
// is swapped as a whole with the tile of rev(mid).
const tileLog = 3

// bitReverse permutes a (length n ≥ 2, a power of two) into bit-reversed
// index order.
func bitReverse[T any](a []T, procs int) {
	n := len(a)
	logN := log2(n)
	if logN < 2*tileLog+2 {
		shift := 64 - uint(logN)
		for i := range a {
			if j := int(bits.Reverse64(uint64(i)) >> shift); i < j {
				a[i], a[j] = a[j], a[i]
			}
		}
		return
	}
	midBits := logN - 2*tileLog
	const t = 1 << tileLog
	var rt [t]int
	for i := range rt {
		rt[i] = int(bits.Reverse8(uint8(i)) >> (8 - tileLog))
	}
	hiShift := uint(logN - tileLog)
	midShift := 64 - uint(midBits)
	parallel(1<<midBits, 1, procs, func(lo, hi int) {
		for m := lo; m < hi; m++ {
			mr := int(bits.Reverse64(uint64(m)) >> midShift)
			if m > mr {
				continue
			}
			bi, bj := m<<tileLog, mr<<tileLog
			for h := 0; h < t; h++ {
				row := a[h<<hiShift+bi:][:t]
				col := bj + rt[h] // the partner's low bits and mid bits
				if m == mr {
					// Within one tile: swap each pair once.
					for l, lr := range rt {
						if j := lr<<hiShift + col; h<<hiShift+bi+l < j {
							row[l], a[j] = a[j], row[l]
						}
					}
					continue
				}
				for l, lr := range rt {
					j := lr<<hiShift + col
					row[l], a[j] = a[j], row[l]
				}
			}
		}
	})
}

// negateIndices replaces a[i] by a[-i mod n]·c·s^i, fully reduced; the
// input must be fully reduced.
func negateIndices(a []field.Element, c, s field.Element, procs int) {
	n := len(a)
	h := n / 2
	// 0 and n/2 are their own negations; the other indices pair up.
	a[0] = a[0].Mul(c)
	a[h] = a[h].Mul(c.Mul(s.Exp(uint64(h))))
	if s == field.One() {
		ct := newTwiddle(c)
		parallel(h, 64, procs, func(lo, hi int) {
			for i := max(lo, 1); i < hi; i++ {
				x, y := a[i].Montgomery(), a[n-i].Montgomery()
				a[i] = field.FromMontgomery(reduce(mulTw(y, ct)))
				a[n-i] = field.FromMontgomery(reduce(mulTw(x, ct)))
			}
		})
		return
	}
	sT, sInvT := newTwiddle(s), newTwiddle(s.Inverse())
	parallel(h, 64, procs, func(lo, hi int) {
		lo = max(lo, 1)
		// Running powers c·s^i and c·s^(n-i), kept in [0, 2p).
		up := c.Mul(s.Exp(uint64(lo))).Montgomery()
		down := c.Mul(s.Exp(uint64(n - lo))).Montgomery()
		for i := lo; i < hi; i++ {
			x, y := a[i].Montgomery(), a[n-i].Montgomery()
			a[i] = field.FromMontgomery(montMul(y, up))
			a[n-i] = field.FromMontgomery(montMul(x, down))
			up = mulTw(up, sT)
			down = mulTw(down, sInvT)
		}
	})
}

// scalePowers replaces a[i] by a[i]·s^i, fully reduced; the input must be
// fully reduced.
func scalePowers(a []field.Element, s field.Element, procs int) {
	parallel(len(a), 64, procs, func(lo, hi int) { scaleRange(a[lo:hi], s, lo) })
}

// scaleRange replaces b[i] by b[i]·s^(lo+i).
func scaleRange(b []field.Element, s field.Element, lo int) {
	if len(b) < 8 {
		x := s.Exp(uint64(lo))
		for i := range b {
			b[i] = b[i].Mul(x)
			x = x.Mul(s)
		}
		return
	}
	pw, step := powerLanes(s, lo)
	i := 0
	for ; i+4 <= len(b); i += 4 {
		g := b[i : i+4 : i+4]
		g[0] = field.FromMontgomery(montMul(g[0].Montgomery(), pw[0]))
		g[1] = field.FromMontgomery(montMul(g[1].Montgomery(), pw[1]))
		g[2] = field.FromMontgomery(montMul(g[2].Montgomery(), pw[2]))
		g[3] = field.FromMontgomery(montMul(g[3].Montgomery(), pw[3]))
		pw[0], pw[1], pw[2], pw[3] = mulTw(pw[0], step), mulTw(pw[1], step), mulTw(pw[2], step), mulTw(pw[3], step)
	}
	for k := 0; i < len(b); i, k = i+1, k+1 {
		b[i] = field.FromMontgomery(montMul(b[i].Montgomery(), pw[k]))
	}
}

// powerLanes returns s^lo, ..., s^(lo+3) in Montgomery form and s^4 as a
// twiddle: four independent chains of powers, so that computing one power
// never waits for the previous.
func powerLanes(s field.Element, lo int) ([4]uint64, twiddle) {
	var pw [4]uint64
	x := s.Exp(uint64(lo))
	for k := range pw {
		pw[k] = x.Montgomery()
		x = x.Mul(s)
	}
	return pw, newTwiddle(s.Square().Square())
}

// reduce maps [0, 2p) to [0, p).
func reduce(x uint64) uint64 {
	if x >= p {
		x -= p
	}
	return x
}
