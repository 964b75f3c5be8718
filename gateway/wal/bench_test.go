package wal

import (
	"testing"
)

// BenchmarkAppend64KiB appends batches of 16 messages of 64 KiB from one
// goroutine, each batch fsynced before the next: the throughput of one
// producer uploading a file.
func BenchmarkAppend64KiB(b *testing.B) {
	l := openLog(b, b.TempDir(), Options{})
	defer l.Close()
	batch := make([][]byte, 16)
	for i := range batch {
		batch[i] = content(i, 64<<10)
	}
	b.SetBytes(16 * 64 << 10)
	b.ResetTimer()
	for range b.N {
		if _, err := l.Append(batch, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(l.fsyncs.Load())/float64(b.N), "fsyncs/op")
}

// BenchmarkAppendParallelSmall appends single 1 KiB messages from many
// goroutines at once (16 per CPU), each Append waiting for durability: group
// commit makes them share fsyncs, as fsyncs/op shows.
func BenchmarkAppendParallelSmall(b *testing.B) {
	l := openLog(b, b.TempDir(), Options{})
	defer l.Close()
	msg := [][]byte{content(1, 1<<10)}
	b.SetBytes(1 << 10)
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(msg, false); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(l.fsyncs.Load())/float64(b.N), "fsyncs/op")
}
