package poly

import "github.com/datadragon/datadragon/zk/field"

// The extension-field transforms run the base-field algorithm on the three
// coordinates at once: twiddles are base-field elements, so every
// butterfly is three independent base-field butterflies sharing one
// twiddle load.

// blockLogExt is blockLog for 24-byte elements.
const blockLogExt = blockLog - 1

// NTTExt is NTT over the extension field. It panics if len(a) is not a
// power of two.
func NTTExt(a []field.Ext) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	difExt(a, twiddles(n), procsFor(3*n, transformLog))
	bitReverse(a, procsFor(3*n, passLog))
}

// INTTExt is INTT over the extension field. It panics if len(a) is not a
// power of two.
func INTTExt(a []field.Ext) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	inverseExt(a, field.One())
}

// CosetNTTExt is CosetNTT over the extension field. It panics if len(a) is
// not a power of two.
func CosetNTTExt(a []field.Ext, shift field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	passProcs := procsFor(3*n, passLog)
	scalePowersExt(a, shift, passProcs)
	difExt(a, twiddles(n), procsFor(3*n, transformLog))
	bitReverse(a, passProcs)
}

// CosetINTTExt is the inverse of CosetNTTExt. It panics if len(a) is not a
// power of two.
func CosetINTTExt(a []field.Ext, shift field.Element) {
	n := len(a)
	checkPow2(n)
	if n <= 1 {
		return
	}
	inverseExt(a, shift.Inverse())
}

func inverseExt(a []field.Ext, sInv field.Element) {
	n := len(a)
	passProcs := procsFor(3*n, passLog)
	difExt(a, twiddles(n), procsFor(3*n, transformLog))
	bitReverse(a, passProcs)
	negateIndicesExt(a, field.New(uint64(n)).Inverse(), sInv, passProcs)
}

func difExt(a []field.Ext, tw []twiddle, procs int) {
	difRun(a, procs, blockLogExt, extKernels(tw))
}

func extKernels(tw []twiddle) difKernels[field.Ext] {
	return difKernels[field.Ext]{
		pass2: func(a []field.Ext, lo, hi int) { dif2Ext(a, tw, lo, hi) },
		pass4: func(a []field.Ext, lo, hi int) { dif4Ext(a, tw, lo, hi) },
		block: func(a []field.Ext) { difBlockExt(a, tw) },
	}
}

func difBlockExt(a []field.Ext, tw []twiddle) {
	n := len(a)
	if n == 2 {
		a[0], a[1] = a[0].Add(a[1]), a[0].Sub(a[1])
		return
	}
	l := n
	if log2(n)%2 == 1 {
		for b := 0; b < n; b += l {
			dif2Ext(a[b:b+l], tw, 0, l/2)
		}
		l /= 2
	}
	for ; l > 4; l /= 4 {
		for b := 0; b < n; b += l {
			dif4Ext(a[b:b+l], tw, 0, l/4)
		}
	}
	difLast4Ext(a, tw[3])
}

func dif2Ext(a []field.Ext, tw []twiddle, lo, hi int) {
	h := len(a) / 2
	xs := a[lo:hi]
	ys := a[h+lo : h+hi][:len(xs)]
	t := tw[h+lo : h+hi][:len(xs)]
	for j := range xs {
		u, v, w := &xs[j], &ys[j], t[j]
		var x, y uint64
		x, y = u.A0.Montgomery(), v.A0.Montgomery()
		u.A0, v.A0 = field.FromMontgomery(add(x, y)), field.FromMontgomery(mulTw(x-y+p2, w))
		x, y = u.A1.Montgomery(), v.A1.Montgomery()
		u.A1, v.A1 = field.FromMontgomery(add(x, y)), field.FromMontgomery(mulTw(x-y+p2, w))
		x, y = u.A2.Montgomery(), v.A2.Montgomery()
		u.A2, v.A2 = field.FromMontgomery(add(x, y)), field.FromMontgomery(mulTw(x-y+p2, w))
	}
}

func dif4Ext(a []field.Ext, tw []twiddle, lo, hi int) {
	q := len(a) / 4
	a0 := a[lo:hi]
	a1 := a[q+lo : q+hi][:len(a0)]
	a2 := a[2*q+lo : 2*q+hi][:len(a0)]
	a3 := a[3*q+lo : 3*q+hi][:len(a0)]
	t1 := tw[2*q+lo : 2*q+hi][:len(a0)]
	t1b := tw[3*q+lo : 3*q+hi][:len(a0)]
	t2 := tw[q+lo : q+hi][:len(a0)]
	for j := range a0 {
		w1, w1b, w2 := t1[j], t1b[j], t2[j]
		e0, e1, e2, e3 := &a0[j], &a1[j], &a2[j], &a3[j]
		var x0, x1, x2, x3, y0, y1, y2, y3 uint64
		x0, x1, x2, x3 = e0.A0.Montgomery(), e1.A0.Montgomery(), e2.A0.Montgomery(), e3.A0.Montgomery()
		y0, y2 = add(x0, x2), mulTw(x0-x2+p2, w1)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, w1b)
		e0.A0, e1.A0 = field.FromMontgomery(add(y0, y1)), field.FromMontgomery(mulTw(y0-y1+p2, w2))
		e2.A0, e3.A0 = field.FromMontgomery(add(y2, y3)), field.FromMontgomery(mulTw(y2-y3+p2, w2))
		x0, x1, x2, x3 = e0.A1.Montgomery(), e1.A1.Montgomery(), e2.A1.Montgomery(), e3.A1.Montgomery()
		y0, y2 = add(x0, x2), mulTw(x0-x2+p2, w1)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, w1b)
		e0.A1, e1.A1 = field.FromMontgomery(add(y0, y1)), field.FromMontgomery(mulTw(y0-y1+p2, w2))
		e2.A1, e3.A1 = field.FromMontgomery(add(y2, y3)), field.FromMontgomery(mulTw(y2-y3+p2, w2))
		x0, x1, x2, x3 = e0.A2.Montgomery(), e1.A2.Montgomery(), e2.A2.Montgomery(), e3.A2.Montgomery()
		y0, y2 = add(x0, x2), mulTw(x0-x2+p2, w1)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, w1b)
		e0.A2, e1.A2 = field.FromMontgomery(add(y0, y1)), field.FromMontgomery(mulTw(y0-y1+p2, w2))
		e2.A2, e3.A2 = field.FromMontgomery(add(y2, y3)), field.FromMontgomery(mulTw(y2-y3+p2, w2))
	}
}

func difLast4Ext(a []field.Ext, i4 twiddle) {
	for b := 0; b+4 <= len(a); b += 4 {
		g := a[b : b+4 : b+4]
		var x0, x1, x2, x3, y0, y1, y2, y3 uint64
		x0, x1, x2, x3 = g[0].A0.Montgomery(), g[1].A0.Montgomery(), g[2].A0.Montgomery(), g[3].A0.Montgomery()
		y0, y2 = add(x0, x2), sub(x0, x2)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, i4)
		g[0].A0, g[1].A0 = field.FromMontgomery(reduce4(y0+y1)), field.FromMontgomery(reduce4(y0-y1+p2))
		g[2].A0, g[3].A0 = field.FromMontgomery(reduce4(y2+y3)), field.FromMontgomery(reduce4(y2-y3+p2))
		x0, x1, x2, x3 = g[0].A1.Montgomery(), g[1].A1.Montgomery(), g[2].A1.Montgomery(), g[3].A1.Montgomery()
		y0, y2 = add(x0, x2), sub(x0, x2)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, i4)
		g[0].A1, g[1].A1 = field.FromMontgomery(reduce4(y0+y1)), field.FromMontgomery(reduce4(y0-y1+p2))
		g[2].A1, g[3].A1 = field.FromMontgomery(reduce4(y2+y3)), field.FromMontgomery(reduce4(y2-y3+p2))
		x0, x1, x2, x3 = g[0].A2.Montgomery(), g[1].A2.Montgomery(), g[2].A2.Montgomery(), g[3].A2.Montgomery()
		y0, y2 = add(x0, x2), sub(x0, x2)
		y1, y3 = add(x1, x3), mulTw(x1-x3+p2, i4)
		g[0].A2, g[1].A2 = field.FromMontgomery(reduce4(y0+y1)), field.FromMontgomery(reduce4(y0-y1+p2))
		g[2].A2, g[3].A2 = field.FromMontgomery(reduce4(y2+y3)), field.FromMontgomery(reduce4(y2-y3+p2))
	}
}

// mulExtM sets *x = x·s for a fully reduced x and a Montgomery-form s in
// [0, 2p), fully reduced.
func mulExtM(x *field.Ext, s uint64) {
	x.A0 = field.FromMontgomery(montMul(x.A0.Montgomery(), s))
	x.A1 = field.FromMontgomery(montMul(x.A1.Montgomery(), s))
	x.A2 = field.FromMontgomery(montMul(x.A2.Montgomery(), s))
}

func negateIndicesExt(a []field.Ext, c, s field.Element, procs int) {
	n := len(a)
	h := n / 2
	a[0] = a[0].MulBase(c)
	a[h] = a[h].MulBase(c.Mul(s.Exp(uint64(h))))
	sT, sInvT := newTwiddle(s), newTwiddle(s.Inverse())
	parallel(h, 64, procs, func(lo, hi int) {
		lo = max(lo, 1)
		up := c.Mul(s.Exp(uint64(lo))).Montgomery()
		down := c.Mul(s.Exp(uint64(n - lo))).Montgomery()
		for i := lo; i < hi; i++ {
			x, y := &a[i], &a[n-i]
			*x, *y = *y, *x
			mulExtM(x, up)
			mulExtM(y, down)
			up = mulTw(up, sT)
			down = mulTw(down, sInvT)
		}
	})
}

func scalePowersExt(a []field.Ext, s field.Element, procs int) {
	parallel(len(a), 64, procs, func(lo, hi int) { scaleRangeExt(a[lo:hi], s, lo) })
}

func scaleRangeExt(b []field.Ext, s field.Element, lo int) {
	if len(b) < 8 {
		x := s.Exp(uint64(lo))
		for i := range b {
			b[i] = b[i].MulBase(x)
			x = x.Mul(s)
		}
		return
	}
	pw, step := powerLanes(s, lo)
	i := 0
	for ; i+4 <= len(b); i += 4 {
		g := b[i : i+4 : i+4]
		mulExtM(&g[0], pw[0])
		mulExtM(&g[1], pw[1])
		mulExtM(&g[2], pw[2])
		mulExtM(&g[3], pw[3])
		pw[0], pw[1], pw[2], pw[3] = mulTw(pw[0], step), mulTw(pw[1], step), mulTw(pw[2], step), mulTw(pw[3], step)
	}
	for k := 0; i < len(b); i, k = i+1, k+1 {
		mulExtM(&b[i], pw[k])
	}
}
