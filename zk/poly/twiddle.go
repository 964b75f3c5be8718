package poly

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/datadragon/datadragon/zk/field"
)

// p is the field modulus, and p2 = 2p is the bound of lazily reduced values.
const (
	p  = field.Modulus
	p2 = 2 * field.Modulus
)

// twiddle is a constant multiplier prepared for Shoup multiplication: w is
// the canonical value of the constant and q = ⌊w·2^64/p⌋.
type twiddle struct{ w, q uint64 }

func newTwiddle(c field.Element) twiddle {
	// With M = w·2^64 mod p the Montgomery form of c, w·2^64 = q·p + M, so
	// q ≡ −M·p^-1 (mod 2^64), and q < 2^64 as w < p: no division needed.
	m := c.Montgomery()
	return twiddle{c.Uint64(), -(m * pInv)}
}

// mulTw returns a value ≡ x·w (mod p) in [0, 2p) for any x < 2^64. Because
// w is canonical rather than Montgomery, the product of a Montgomery-form x
// is again in Montgomery form.
func mulTw(x uint64, t twiddle) uint64 {
	hi, _ := bits.Mul64(x, t.q)
	return x*t.w - hi*p
}

// montMul returns a·b·2^-64 mod p fully reduced, provided a·b < p·2^64,
// which holds whenever one factor is below p. It maps Montgomery forms of
// x and y to the Montgomery form of x·y.
func montMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	m := lo * pInv
	mh, _ := bits.Mul64(m, p)
	r := hi - mh
	if hi < mh {
		r += p
	}
	return r
}

// pInv is p^-1 mod 2^64.
const pInv uint64 = 0xdfffffec00000001

// The twiddle table holds, for every stage half-size h = 2^k, the h
// twiddles ω_{2h}^j (j < h) at indices [h, 2h). Because the roots of unity
// are consistent across sizes, one table serves every transform size up to
// its own length, so it only ever grows: to 16 bytes per point of the
// largest transform used (Extend only needs the coefficient count). The
// inverse transforms reuse it (see inverse).
var (
	twTable atomic.Pointer[[]twiddle]
	twMu    sync.Mutex
)

// twiddles returns a table covering transforms of size n (a power of two).
func twiddles(n int) []twiddle {
	if t := twTable.Load(); t != nil && len(*t) >= n {
		return *t
	}
	twMu.Lock()
	defer twMu.Unlock()
	old := twTable.Load()
	if old != nil && len(*old) >= n {
		return *old
	}
	size := max(n, 1<<12)
	t := make([]twiddle, size)
	oldLen := 0
	if old != nil {
		oldLen = copy(t, *old)
	}
	// Top stage directly from powers of ω_size, lower new stages by
	// taking every other entry of the stage above.
	half := size / 2
	logSize := bits.TrailingZeros(uint(size))
	w := field.RootOfUnity(logSize)
	parallel(half, 1024, runtime.GOMAXPROCS(0), func(lo, hi int) { fillPowers(t[half+lo:half+hi], w, lo) })
	for h := half / 2; h >= 1 && 2*h > oldLen; h /= 2 {
		for j := 0; j < h; j++ {
			t[h+j] = t[2*h+2*j]
		}
	}
	twTable.Store(&t)
	return t
}

// fillPowers sets dst[j] = w^(lo+j) as twiddles.
func fillPowers(dst []twiddle, w field.Element, lo int) {
	x := w.Exp(uint64(lo))
	for j := range dst {
		dst[j] = newTwiddle(x)
		x = x.Mul(w)
	}
}
