package bench

import (
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// HeapPeakProfile samples the Go heap every 100 ms and keeps a heap
// profile of the moment it held the most live objects, which is what
// decides a run's peak RSS; the profile at the end of a run shows only
// what was left. The returned function stops sampling and writes the
// profile to path.
func HeapPeakProfile(path string) (stop func() error) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var best uint64
	var prof bytes.Buffer
	take := func() {
		metrics.Read(sample)
		v := sample[0].Value.Uint64()
		// A new snapshot only when the heap grew by 5 %: writing one
		// costs a few milliseconds of the run.
		if v < best+best/20 {
			return
		}
		best = v
		runtime.GC() // the profile's in-use figures are as of the last GC
		prof.Reset()
		pprof.Lookup("heap").WriteTo(&prof, 0)
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				take()
			}
		}
	}()
	return func() error {
		close(done)
		<-finished
		if prof.Len() == 0 {
			take()
		}
		return os.WriteFile(path, prof.Bytes(), 0o644)
	}
}
