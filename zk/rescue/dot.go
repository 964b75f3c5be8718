package rescue

import (
	"math/bits"

	"github.com/datadragon/datadragon/zk/field"
)

// Dot returns the inner product of a and b with a single reduction.
//
// The 128-bit running sum lives in two local words and the twelve terms
// are written out. (field.Acc computes the same sum, but as a struct
// updated through a pointer the compiler keeps it in memory, which
// serialises the loop on store-to-load forwarding; this is about 3× faster.)
func Dot(a, b *[Width]field.Element) field.Element {
	var hi, lo, h, l, c uint64
	h, l = bits.Mul64(a[0].Montgomery(), b[0].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[1].Montgomery(), b[1].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[2].Montgomery(), b[2].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[3].Montgomery(), b[3].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[4].Montgomery(), b[4].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[5].Montgomery(), b[5].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[6].Montgomery(), b[6].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[7].Montgomery(), b[7].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[8].Montgomery(), b[8].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[9].Montgomery(), b[9].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[10].Montgomery(), b[10].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	h, l = bits.Mul64(a[11].Montgomery(), b[11].Montgomery())
	lo, c = bits.Add64(lo, l, 0)
	hi += h + c
	return reduceWide(hi, lo)
}

// reduceWide returns (hi·2^64 + lo)·2^-64 mod p for a sum of at most 12
// products of Montgomery values (so hi < 12·p²/2^64 < 2p).
func reduceWide(hi, lo uint64) field.Element {
	if hi >= field.Modulus {
		hi -= field.Modulus
	}
	mh, _ := bits.Mul64(lo*pInv, field.Modulus)
	r := hi - mh
	if hi < mh {
		r += field.Modulus
	}
	return field.FromMontgomery(r)
}
