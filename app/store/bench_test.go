package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
)

// benchStore fills one bucket with n values of size bytes each, as a
// block's records would be.
func benchStore(b *testing.B, n, size int) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), Options{Buckets: []string{"records"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	val := make([]byte, size)
	for i := range val {
		val[i] = byte(i * 7)
	}
	for lo := 0; lo < n; lo += 1000 {
		batch := s.NewBatch()
		for i := lo; i < min(lo+1000, n); i++ {
			batch.Put([]byte("records"), binary.BigEndian.AppendUint64(nil, uint64(i)), val)
		}
		if err := batch.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkViewGet is one read transaction reading one value: what a
// record read through the API costs in the store.
func BenchmarkViewGet(b *testing.B) {
	for _, size := range []int{64, 600, 4096} {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) {
			s := benchStore(b, 10000, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := range b.N {
				k := binary.BigEndian.AppendUint64(nil, uint64(i%10000))
				s.View(func(tx Tx) error {
					if tx.Get([]byte("records"), k) == nil {
						b.Fatal("missing")
					}
					return nil
				})
			}
		})
	}
}

// BenchmarkScan reads 100 consecutive values in one transaction, as a
// page of records does.
func BenchmarkScan(b *testing.B) {
	s := benchStore(b, 10000, 600)
	b.SetBytes(100 * 600)
	b.ResetTimer()
	for i := range b.N {
		from := binary.BigEndian.AppendUint64(nil, uint64(i%9900))
		s.View(func(tx Tx) error {
			n := 0
			tx.Scan([]byte("records"), from, nil, func(_, _ []byte) bool { n++; return n < 100 })
			return nil
		})
	}
}

// BenchmarkScrub verifies a whole file of 600-byte values (about what a
// record weighs); MB/s is of the file's size, so 1/(MB/s) is the scrub's
// time per MB of app.db.
func BenchmarkScrub(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("values=%d", n), func(b *testing.B) {
			s := benchStore(b, n, 600)
			st, err := s.Scrub(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.FileBytes)
			b.ResetTimer()
			for range b.N {
				if _, err := s.Scrub(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.FileBytes)/(1<<20), "file-MB")
			b.ReportMetric(float64(st.PagesTook.Microseconds())/1000, "page-check-ms")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(float64(st.FileBytes)/(1<<20))/1e6, "ms/MB")
		})
	}
}
