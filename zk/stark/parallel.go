package stark

import (
	"runtime"
	"sync"
)

// parallelFor runs body over [0, n) split into contiguous chunks, one per
// available core, when n is large enough to pay for the goroutines.
func parallelFor(n, minChunk int, body func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n/minChunk {
		workers = n / minChunk
	}
	if workers <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	wg.Wait()
}

// parallelEach runs body(i) for every i in [0, n) on all cores; for a few
// large independent jobs such as one NTT per trace column.
func parallelEach(n int, body func(i int)) {
	parallelFor(n, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			body(i)
		}
	})
}
