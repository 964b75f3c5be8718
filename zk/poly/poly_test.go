package poly

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/datadragon/datadragon/zk/field"
)

func randElems(r *rand.Rand, n int) []field.Element {
	a := make([]field.Element, n)
	for i := range a {
		a[i] = field.New(r.Uint64N(field.Modulus))
	}
	return a
}

func randExts(r *rand.Rand, n int) []field.Ext {
	a := make([]field.Ext, n)
	for i := range a {
		a[i] = field.Ext{
			A0: field.New(r.Uint64N(field.Modulus)),
			A1: field.New(r.Uint64N(field.Modulus)),
			A2: field.New(r.Uint64N(field.Modulus)),
		}
	}
	return a
}

func randExt(r *rand.Rand) field.Ext { return randExts(r, 1)[0] }

// naiveEval evaluates the polynomial with coefficients c at x.
func naiveEval(c []field.Element, x field.Element) field.Element {
	acc, pw := field.Zero(), field.One()
	for _, ci := range c {
		acc = acc.Add(ci.Mul(pw))
		pw = pw.Mul(x)
	}
	return acc
}

func naiveEvalExt(c []field.Ext, x field.Ext) field.Ext {
	acc, pw := field.ExtZero(), field.ExtOne()
	for _, ci := range c {
		acc = acc.Add(ci.Mul(pw))
		pw = pw.Mul(x)
	}
	return acc
}

func equal(a, b []field.Element) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkCanonical fails if some value is not fully reduced.
func checkCanonical(t *testing.T, a []field.Element) {
	t.Helper()
	for i, x := range a {
		if x.Montgomery() >= field.Modulus {
			t.Fatalf("element %d not reduced: %#x", i, x.Montgomery())
		}
	}
}

func TestNTTMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	shift := field.Generator()
	for logN := 0; logN <= 8; logN++ {
		n := 1 << logN
		c := randElems(r, n)
		w := field.RootOfUnity(logN)
		want := make([]field.Element, n)
		wantCoset := make([]field.Element, n)
		x := field.One()
		for i := range want {
			want[i] = naiveEval(c, x)
			wantCoset[i] = naiveEval(c, shift.Mul(x))
			x = x.Mul(w)
		}
		got := append([]field.Element(nil), c...)
		NTT(got)
		checkCanonical(t, got)
		if !equal(got, want) {
			t.Fatalf("NTT size %d differs from naive evaluation", n)
		}
		INTT(got)
		checkCanonical(t, got)
		if !equal(got, c) {
			t.Fatalf("INTT size %d does not invert NTT", n)
		}
		got = append(got[:0], c...)
		CosetNTT(got, shift)
		checkCanonical(t, got)
		if !equal(got, wantCoset) {
			t.Fatalf("CosetNTT size %d differs from naive evaluation", n)
		}
		CosetINTT(got, shift)
		checkCanonical(t, got)
		if !equal(got, c) {
			t.Fatalf("CosetINTT size %d does not invert CosetNTT", n)
		}
	}
}

// edgeElems returns values that stress lazy reduction: 0, 1, p-1 and
// friends.
func edgeElems(r *rand.Rand, n int) []field.Element {
	edge := []field.Element{field.Zero(), field.One(), field.One().Neg(), field.New(2).Neg(), field.FromMontgomery(field.Modulus - 1), field.FromMontgomery(field.Modulus - 2)}
	a := make([]field.Element, n)
	for i := range a {
		a[i] = edge[r.IntN(len(edge))]
	}
	return a
}

func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for logN := 0; logN <= 16; logN++ {
		n := 1 << logN
		for k, c := range [][]field.Element{randElems(r, n), edgeElems(r, n)} {
			got := append([]field.Element(nil), c...)
			NTT(got)
			checkCanonical(t, got)
			INTT(got)
			checkCanonical(t, got)
			if !equal(got, c) {
				t.Fatalf("INTT∘NTT size %d (input %d) is not the identity", n, k)
			}
			shift := field.New(r.Uint64N(field.Modulus-1) + 1)
			CosetNTT(got, shift)
			checkCanonical(t, got)
			CosetINTT(got, shift)
			checkCanonical(t, got)
			if !equal(got, c) {
				t.Fatalf("CosetINTT∘CosetNTT size %d (input %d) is not the identity", n, k)
			}
		}
	}
}

// TestLargeSpotCheck compares a few outputs of big transforms (which take
// the parallel, cache-blocked paths) against direct evaluation.
func TestLargeSpotCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, logN := range []int{12, 13, 14, 17, 18} {
		n := 1 << logN
		c := randElems(r, n)
		got := append([]field.Element(nil), c...)
		NTT(got)
		checkCanonical(t, got)
		w := field.RootOfUnity(logN)
		shift := field.New(7)
		coset := append([]field.Element(nil), c...)
		CosetNTT(coset, shift)
		for k := 0; k < 8; k++ {
			i := r.IntN(n)
			if k == 0 {
				i = n - 1
			}
			x := w.Exp(uint64(i))
			if want := naiveEval(c, x); got[i] != want {
				t.Fatalf("NTT size 2^%d wrong at %d", logN, i)
			}
			if want := naiveEval(c, shift.Mul(x)); coset[i] != want {
				t.Fatalf("CosetNTT size 2^%d wrong at %d", logN, i)
			}
		}
		INTT(got)
		if !equal(got, c) {
			t.Fatalf("INTT∘NTT size 2^%d is not the identity", logN)
		}
		CosetINTT(coset, shift)
		if !equal(coset, c) {
			t.Fatalf("CosetINTT∘CosetNTT size 2^%d is not the identity", logN)
		}
	}
}

func TestConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	done := make(chan error)
	for g := 0; g < 4; g++ {
		c := randElems(r, 1<<(10+3*g))
		go func() {
			got := append([]field.Element(nil), c...)
			NTT(got)
			INTT(got)
			if !equal(got, c) {
				done <- fmt.Errorf("round trip of size %d failed", len(c))
				return
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPanicsOnBadLength(t *testing.T) {
	for name, f := range map[string]func(){
		"NTT":    func() { NTT(make([]field.Element, 3)) },
		"INTT":   func() { INTT(make([]field.Element, 6)) },
		"Extend": func() { Extend(make([]field.Element, 4), 12, field.One()) },
		"Short":  func() { Extend(make([]field.Element, 5), 4, field.One()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		}()
	}
}

// Benchmarks use all of GOMAXPROCS; compare -cpu 1,2 for the parallel
// speed-up. Transform benchmarks report ns per butterfly, (n/2)·log2(n)
// butterflies per transform.

func reportButterflies(b *testing.B, logN int) {
	bf := float64(int(1)<<logN/2*logN) * float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/bf, "ns/butterfly")
}

func benchTransform(b *testing.B, sizes []int, f func([]field.Element)) {
	for _, logN := range sizes {
		b.Run(fmt.Sprintf("2^%d", logN), func(b *testing.B) {
			a := randElems(rand.New(rand.NewPCG(5, 5)), 1<<logN)
			for b.Loop() {
				f(a)
			}
			reportButterflies(b, logN)
		})
	}
}

func benchTransformExt(b *testing.B, sizes []int, f func([]field.Ext)) {
	for _, logN := range sizes {
		b.Run(fmt.Sprintf("2^%d", logN), func(b *testing.B) {
			a := randExts(rand.New(rand.NewPCG(5, 5)), 1<<logN)
			for b.Loop() {
				f(a)
			}
			reportButterflies(b, logN)
		})
	}
}

var benchSizes = []int{12, 16, 18, 20}

func BenchmarkNTT(b *testing.B)  { benchTransform(b, benchSizes, NTT) }
func BenchmarkINTT(b *testing.B) { benchTransform(b, benchSizes, INTT) }

func BenchmarkCosetNTT(b *testing.B) {
	benchTransform(b, benchSizes, func(a []field.Element) { CosetNTT(a, field.Generator()) })
}

func BenchmarkCosetINTT(b *testing.B) {
	benchTransform(b, benchSizes, func(a []field.Element) { CosetINTT(a, field.Generator()) })
}

// Ext benchmarks count one extension butterfly (three base butterflies)
// as one.
func BenchmarkNTTExt(b *testing.B)  { benchTransformExt(b, benchSizes[1:], NTTExt) }
func BenchmarkINTTExt(b *testing.B) { benchTransformExt(b, benchSizes[1:], INTTExt) }

// components splits extension elements into their three coordinates.
func components(a []field.Ext) [3][]field.Element {
	var c [3][]field.Element
	for k := range c {
		c[k] = make([]field.Element, len(a))
	}
	for i, x := range a {
		c[0][i], c[1][i], c[2][i] = x.A0, x.A1, x.A2
	}
	return c
}

func TestExtMatchesComponentwise(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	shift := field.New(r.Uint64N(field.Modulus-1) + 1)
	type pair struct {
		name string
		ext  func([]field.Ext)
		base func([]field.Element)
	}
	pairs := []pair{
		{"NTT", NTTExt, NTT},
		{"INTT", INTTExt, INTT},
		{"CosetNTT", func(a []field.Ext) { CosetNTTExt(a, shift) }, func(a []field.Element) { CosetNTT(a, shift) }},
		{"CosetINTT", func(a []field.Ext) { CosetINTTExt(a, shift) }, func(a []field.Element) { CosetINTT(a, shift) }},
	}
	for _, logN := range []int{0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 15} {
		n := 1 << logN
		in := randExts(r, n)
		for _, pr := range pairs {
			got := append([]field.Ext(nil), in...)
			pr.ext(got)
			want := components(in)
			for k := range want {
				pr.base(want[k])
			}
			gc := components(got)
			for k := range gc {
				checkCanonical(t, gc[k])
				if !equal(gc[k], want[k]) {
					t.Fatalf("%sExt size %d coordinate %d differs from the base transform", pr.name, n, k)
				}
			}
		}
		got := append([]field.Ext(nil), in...)
		NTTExt(got)
		INTTExt(got)
		for i := range got {
			if got[i] != in[i] {
				t.Fatalf("INTTExt∘NTTExt size %d is not the identity", n)
			}
		}
	}
}

func TestExtend(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct{ k, m int }{{0, 1}, {0, 8}, {1, 1}, {1, 4}, {3, 4}, {5, 8}, {4, 64}, {7, 1 << 10}, {16, 1 << 12}, {100, 1 << 13}, {1 << 10, 1 << 14}, {1 << 12, 1 << 14}, {1 << 13, 1 << 13}, {1, 1 << 15}, {2, 1 << 15}, {9, 1 << 16}} {
		coeffs := randElems(r, tc.k)
		ecoeffs := randExts(r, tc.k)
		keep := append([]field.Element(nil), coeffs...)
		shift := field.New(r.Uint64N(field.Modulus-1) + 1)
		got := Extend(coeffs, tc.m, shift)
		gotExt := ExtendExt(ecoeffs, tc.m, shift)
		if !equal(coeffs, keep) {
			t.Fatal("Extend modified its input")
		}
		if len(got) != tc.m || len(gotExt) != tc.m {
			t.Fatalf("Extend(%d, %d) returned %d values", tc.k, tc.m, len(got))
		}
		checkCanonical(t, got)
		checkCanonical(t, components(gotExt)[1])
		w := field.RootOfUnity(bits.TrailingZeros(uint(tc.m)))
		for s := 0; s < 10; s++ {
			i := r.IntN(tc.m)
			if s == 0 {
				i = tc.m - 1
			}
			x := field.FromBase(shift.Mul(w.Exp(uint64(i))))
			if want := EvalAt(coeffs, x); field.FromBase(got[i]) != want {
				t.Fatalf("Extend(%d, %d)[%d] = %v, want %v", tc.k, tc.m, i, got[i], want)
			}
			if want := EvalExtAt(ecoeffs, x); gotExt[i] != want {
				t.Fatalf("ExtendExt(%d, %d)[%d] wrong", tc.k, tc.m, i)
			}
		}
		if tc.m <= 1<<10 {
			// Whole output against the coset transform of the padded input.
			want := make([]field.Element, tc.m)
			copy(want, coeffs)
			CosetNTT(want, shift)
			if !equal(got, want) {
				t.Fatalf("Extend(%d, %d) differs from CosetNTT", tc.k, tc.m)
			}
		}
	}
}

func TestEvalAt(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	// Coefficients of maximal size push the lazy bounds hardest.
	top := field.One().Neg()
	for _, n := range []int{0, 1, 2, 3, 17, 256, 1000} {
		for k, c := range [][]field.Element{randElems(r, n), edgeElems(r, n)} {
			if k == 1 {
				for i := range c {
					c[i] = top
				}
			}
			ce := make([]field.Ext, n)
			for i := range c {
				ce[i] = field.FromBase(c[i])
			}
			for _, x := range []field.Ext{randExt(r), field.ExtZero(), field.ExtOne(), {A0: top, A1: top, A2: top}} {
				want := naiveEvalExt(ce, x)
				if got := EvalAt(c, x); got != want {
					t.Fatalf("EvalAt(n=%d) = %v, want %v", n, got, want)
				}
				if got := EvalExtAt(ce, x); got != want {
					t.Fatalf("EvalExtAt(n=%d) = %v, want %v", n, got, want)
				}
			}
			ce = randExts(r, n)
			x := randExt(r)
			if got, want := EvalExtAt(ce, x), naiveEvalExt(ce, x); got != want {
				t.Fatalf("EvalExtAt(n=%d) = %v, want %v", n, got, want)
			}
		}
	}
	// A base point must agree with base-field evaluation.
	c := randElems(r, 50)
	x := field.New(12345)
	if got, want := EvalAt(c, field.FromBase(x)), field.FromBase(naiveEval(c, x)); got != want {
		t.Fatalf("EvalAt at a base point = %v, want %v", got, want)
	}
}

func BenchmarkExtend(b *testing.B) {
	for _, tc := range []struct{ logN, blowup int }{{16, 2}, {16, 8}, {18, 4}, {20, 2}} {
		n := 1 << tc.logN
		c := randElems(rand.New(rand.NewPCG(9, 9)), n)
		b.Run(fmt.Sprintf("2^%d/x%d", tc.logN, tc.blowup), func(b *testing.B) {
			for b.Loop() {
				Extend(c, n*tc.blowup, field.Generator())
			}
			m := n * tc.blowup
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m), "ns/point")
		})
	}
}

func BenchmarkExtendExt(b *testing.B) {
	for _, tc := range []struct{ logN, blowup int }{{16, 8}, {18, 4}} {
		n := 1 << tc.logN
		c := randExts(rand.New(rand.NewPCG(9, 9)), n)
		b.Run(fmt.Sprintf("2^%d/x%d", tc.logN, tc.blowup), func(b *testing.B) {
			for b.Loop() {
				ExtendExt(c, n*tc.blowup, field.Generator())
			}
			m := n * tc.blowup
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(m), "ns/point")
		})
	}
}

func BenchmarkEvalAt(b *testing.B) {
	r := rand.New(rand.NewPCG(10, 10))
	n := 1 << 16
	c := randElems(r, n)
	ce := randExts(r, n)
	x := randExt(r)
	b.Run("base/2^16", func(b *testing.B) {
		for b.Loop() {
			EvalAt(c, x)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/coeff")
	})
	b.Run("ext/2^16", func(b *testing.B) {
		for b.Loop() {
			EvalExtAt(ce, x)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/coeff")
	})
}

func TestTwiddles(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for i := 0; i < 1000; i++ {
		c := field.New(r.Uint64N(field.Modulus))
		if i < 3 {
			c = []field.Element{field.Zero(), field.One(), field.One().Neg()}[i]
		}
		tw := newTwiddle(c)
		q, _ := bits.Div64(tw.w, 0, field.Modulus)
		if tw.w != c.Uint64() || tw.q != q {
			t.Fatalf("newTwiddle(%v) = %+v, want {%#x %#x}", c, tw, c.Uint64(), q)
		}
	}
	tab := twiddles(1 << 13)
	for h := 1; h < len(tab); h *= 2 {
		w := field.RootOfUnity(bits.TrailingZeros(uint(2 * h)))
		for _, j := range []int{0, 1, h / 2, h - 1} {
			if j < h && tab[h+j] != newTwiddle(w.Exp(uint64(j))) {
				t.Fatalf("twiddle table wrong at stage %d index %d", h, j)
			}
		}
	}
}

// TestParallelMatchesSerial runs every function on sizes that take the
// parallel paths, with several GOMAXPROCS values (odd ones give uneven
// splits), and compares with the single-goroutine results.
func TestParallelMatchesSerial(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	r := rand.New(rand.NewPCG(12, 12))
	shift := field.New(r.Uint64N(field.Modulus-1) + 1)
	in := randElems(r, 1<<17)
	inExt := randExts(r, 1<<16)
	run := func() [][]field.Element {
		var outs [][]field.Element
		for _, f := range []func([]field.Element){NTT, INTT,
			func(a []field.Element) { CosetNTT(a, shift) },
			func(a []field.Element) { CosetINTT(a, shift) }} {
			a := append([]field.Element(nil), in...)
			f(a)
			outs = append(outs, a)
		}
		for _, f := range []func([]field.Ext){NTTExt, INTTExt,
			func(a []field.Ext) { CosetNTTExt(a, shift) },
			func(a []field.Ext) { CosetINTTExt(a, shift) }} {
			a := append([]field.Ext(nil), inExt...)
			f(a)
			c := components(a)
			outs = append(outs, c[:]...)
		}
		outs = append(outs, Extend(in[:1<<13], 1<<17, shift), Extend(in[:1<<16], 1<<17, shift))
		c := components(ExtendExt(inExt[:1<<12], 1<<16, shift))
		outs = append(outs, c[:]...)
		return outs
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	want := run()
	for _, procs := range []int{2, 3, 4, 8} {
		runtime.GOMAXPROCS(procs)
		got := run()
		for i := range want {
			if !equal(got[i], want[i]) {
				t.Fatalf("GOMAXPROCS=%d: result %d differs from the serial one", procs, i)
			}
		}
	}
}
