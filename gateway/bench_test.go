package gateway

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkUploadIngest measures the gateway alone: 4 MiB upload parts,
// cut into 64 KiB messages, logged and synced before each answer (the
// submitter runs against a chain that admits everything).
func BenchmarkUploadIngest(b *testing.B) {
	c := newFakeChain(uploadsStream())
	g, err := Open(Config{Dir: b.TempDir(), Chain: c})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	h := g.Handler()
	part := make([]byte, 4<<20)
	rand.Read(part)
	var id [16]byte
	rand.Read(id[:])
	b.SetBytes(int64(len(part)))
	b.ResetTimer()
	for i := range b.N {
		r := httptest.NewRequest("POST", fmt.Sprintf("/v1/push/uploads?upload=%x&offset=%d", id, i*len(part)), bytes.NewReader(part))
		r.RemoteAddr = "127.0.0.1:1"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
		c.mu.Lock()
		c.submitted = nil
		c.mu.Unlock()
	}
}

// BenchmarkSteadyPushKept pushes 64 MiB in parts of 256 KiB, each decided
// on chain before the next, and reports what the gateway keeps on disk
// afterwards: log-B (the stream's log, sessions, released and retained
// files) and objects-B, with every object kept and with a 16 MiB
// retention limit. Disk use is what it measures, so nothing is synced.
func BenchmarkSteadyPushKept(b *testing.B) {
	for _, tc := range []struct {
		name string
		ret  map[string]Retention
	}{
		{"keep-all", nil},
		{"max-bytes-16MiB", map[string]Retention{"uploads": {MaxBytes: 16 << 20}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				c := newFakeChain(uploadsStream())
				g, err := Open(Config{Dir: dir, Chain: c, FlushAfter: time.Hour, NoSync: true, Retention: tc.ret, RetentionEvery: time.Millisecond})
				if err != nil {
					b.Fatal(err)
				}
				id := fmt.Sprintf("%x", sha256.Sum256([]byte(b.Name())))[:32]
				part := testFile(7, 256<<10)
				const parts = 256
				for i := range parts {
					end := 0
					if i == parts-1 {
						end = 1
					}
					r := httptest.NewRequest("POST", fmt.Sprintf("/v1/push/uploads?upload=%s&offset=%d&end=%d", id, i*len(part), end), bytes.NewReader(part))
					r.RemoteAddr = "127.0.0.1:1"
					w := httptest.NewRecorder()
					g.Handler().ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatal(w.Body.String())
					}
					c.commitAll(g)
					c.decideAll(g)
				}
				// Let the last chunks be stored, released and retained.
				deadline := time.Now().Add(20 * time.Second)
				for {
					c.commitAll(g)
					c.decideAll(g)
					g.mu.Lock()
					ps := g.streams["uploads"]
					g.mu.Unlock()
					ps.mu.Lock()
					done := len(ps.chunks) == 0 && ps.open.count == 0 && (tc.ret == nil || ps.keptBytes <= 16<<20)
					ps.mu.Unlock()
					if done {
						break
					}
					if time.Now().After(deadline) {
						b.Fatal("the gateway did not settle in 20 s")
					}
					time.Sleep(10 * time.Millisecond)
				}
				g.Close()
				all, objs := dirSize(b, dir), dirSize(b, filepath.Join(dir, objectsDir))
				b.ReportMetric(float64(all-objs), "log-B")
				b.ReportMetric(float64(objs), "objects-B")
			}
		})
	}
}

// dirSize is the bytes of the regular files under dir.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			st, err := d.Info()
			if err != nil {
				return err
			}
			n += st.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
