package poly

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/datadragon/datadragon/zk/field"
)

func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

// minTime runs f reps times and returns the fastest run, in thread CPU
// time when CPUTIME is set (only meaningful for single-threaded f).
func minTime(reps int, f func()) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	now := time.Now
	if os.Getenv("CPUTIME") != "" {
		now = func() time.Time { return time.Unix(0, int64(threadCPU())) }
	}
	best := time.Duration(1 << 62)
	for i := 0; i < reps; i++ {
		s := now()
		f()
		if d := now().Sub(s); d < best {
			best = d
		}
	}
	return best
}

func TestParts(t *testing.T) {
	if os.Getenv("PARTS") == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("PARTS"))
	for _, logN := range []int{12, 16, 18, 20} {
		n := 1 << logN
		a := randElems(rand.New(rand.NewPCG(5, 5)), n)
		tw := twiddles(n)
		bf := float64(n / 2 * logN)
		for _, procs := range []int{1, 2} {
			d1 := minTime(reps, func() { dif(a, tw, procs) })
			d2 := minTime(reps, func() { bitReverse(a, procs) })
			fmt.Printf("2^%d p%d dif %.3f ns/bf  bitrev %.3f ns/elem (%.3f ns/bf)\n", logN, procs,
				float64(d1.Nanoseconds())/bf, float64(d2.Nanoseconds())/float64(n), float64(d2.Nanoseconds())/bf)
		}
		for name, f := range map[string]func([]field.Element){"NTT": NTT, "INTT": INTT,
			"CosetNTT":  func(a []field.Element) { CosetNTT(a, field.Generator()) },
			"CosetINTT": func(a []field.Element) { CosetINTT(a, field.Generator()) }} {
			d := minTime(reps, func() { f(a) })
			fmt.Printf("2^%d %s %.3f ns/bf\n", logN, name, float64(d.Nanoseconds())/bf)
		}
	}
}

func TestPartsExt(t *testing.T) {
	if os.Getenv("PARTS") == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("PARTS"))
	for _, logN := range []int{12, 16, 18, 20} {
		n := 1 << logN
		a := randExts(rand.New(rand.NewPCG(5, 5)), n)
		bf := float64(n / 2 * logN)
		for name, f := range map[string]func([]field.Ext){"NTTExt": NTTExt, "INTTExt": INTTExt,
			"CosetNTTExt":  func(a []field.Ext) { CosetNTTExt(a, field.Generator()) },
			"CosetINTTExt": func(a []field.Ext) { CosetINTTExt(a, field.Generator()) },
			"3xNTT": func(a []field.Ext) {
				c := components(a)
				for k := range c {
					NTT(c[k])
				}
			}} {
			d := minTime(reps, func() { f(a) })
			fmt.Printf("2^%d %s %.3f ns/bf\n", logN, name, float64(d.Nanoseconds())/bf)
		}
	}
}

func TestPartsScale(t *testing.T) {
	if os.Getenv("PARTS") == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("PARTS"))
	n := 1 << 16
	a := randElems(rand.New(rand.NewPCG(5, 5)), n)
	e := randExts(rand.New(rand.NewPCG(5, 5)), n)
	s := field.Generator()
	d := minTime(reps, func() { scalePowers(a, s, 1) })
	fmt.Printf("scalePowers %.3f ns/elem\n", float64(d.Nanoseconds())/float64(n))
	d = minTime(reps, func() { negateIndices(a, s, s, 1) })
	fmt.Printf("negateIndices %.3f ns/elem\n", float64(d.Nanoseconds())/float64(n))
	d = minTime(reps, func() { negateIndices(a, s, field.One(), 1) })
	fmt.Printf("negateIndices(1) %.3f ns/elem\n", float64(d.Nanoseconds())/float64(n))
	d = minTime(reps, func() { scalePowersExt(e, s, 1) })
	fmt.Printf("scalePowersExt %.3f ns/elem\n", float64(d.Nanoseconds())/float64(n))
	d = minTime(reps, func() { negateIndicesExt(e, s, s, 1) })
	fmt.Printf("negateIndicesExt %.3f ns/elem\n", float64(d.Nanoseconds())/float64(n))
}

func TestPartsExtend(t *testing.T) {
	if os.Getenv("PARTS") == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("PARTS"))
	r := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct{ logN, blowup int }{{16, 2}, {16, 8}, {18, 4}} {
		n := 1 << tc.logN
		m := n * tc.blowup
		c := randElems(r, n)
		ce := randExts(r, n)
		buf := make([]field.Element, m)
		d := minTime(reps, func() { Extend(c, m, field.Generator()) })
		d2 := minTime(reps, func() { copy(buf, c); clear(buf[n:]); CosetNTT(buf, field.Generator()) })
		d3 := minTime(reps, func() { ExtendExt(ce, m, field.Generator()) })
		fmt.Printf("Extend 2^%d x%d: %.2f ns/point (%.3f ns/bf of the m-size NTT); padded CosetNTT %.2f ns/point; ExtendExt %.2f ns/point\n", tc.logN, tc.blowup,
			float64(d)/float64(m), float64(d)/float64(m/2*log2(m)), float64(d2)/float64(m), float64(d3)/float64(m))
	}
	n := 1 << 16
	c := randElems(r, n)
	ce := randExts(r, n)
	x := randExt(r)
	d := minTime(reps, func() { EvalAt(c, x) })
	d2 := minTime(reps, func() { EvalExtAt(ce, x) })
	d3 := minTime(reps, func() {
		acc := field.ExtZero()
		for i := n - 1; i >= 0; i-- {
			acc = acc.Mul(x).AddBase(c[i])
		}
	})
	fmt.Printf("EvalAt %.2f ns/coeff, EvalExtAt %.2f ns/coeff, naive Horner %.2f ns/coeff\n", float64(d)/float64(n), float64(d2)/float64(n), float64(d3)/float64(n))
}

func TestPartsSpeedup(t *testing.T) {
	if os.Getenv("PARTS") == "" {
		t.Skip()
	}
	reps, _ := strconv.Atoi(os.Getenv("PARTS"))
	for _, logN := range []int{12, 14, 16, 18, 20} {
		n := 1 << logN
		a := randElems(rand.New(rand.NewPCG(5, 5)), n)
		e := randExts(rand.New(rand.NewPCG(5, 5)), n)
		bf := float64(n / 2 * logN)
		best := [2]time.Duration{1 << 62, 1 << 62}
		bestE := [2]time.Duration{1 << 62, 1 << 62}
		bestX := [2]time.Duration{1 << 62, 1 << 62}
		c := a[:n/4]
		for r := 0; r < reps; r++ {
			for k, procs := range []int{1, 2} {
				runtime.GOMAXPROCS(procs)
				best[k] = min(best[k], minTime(1, func() { NTT(a) }))
				bestE[k] = min(bestE[k], minTime(1, func() { NTTExt(e) }))
				bestX[k] = min(bestX[k], minTime(1, func() { Extend(c, n, field.Generator()) }))
			}
		}
		runtime.GOMAXPROCS(2)
		fmt.Printf("2^%d NTT p1 %.3f p2 %.3f ns/bf (x%.2f) | NTTExt p1 %.3f p2 %.3f (x%.2f) | Extend x4 p1 %.2f p2 %.2f ns/pt (x%.2f)\n", logN,
			float64(best[0])/bf, float64(best[1])/bf, float64(best[0])/float64(best[1]),
			float64(bestE[0])/bf, float64(bestE[1])/bf, float64(bestE[0])/float64(bestE[1]),
			float64(bestX[0])/float64(n), float64(bestX[1])/float64(n), float64(bestX[0])/float64(bestX[1]))
	}
}
