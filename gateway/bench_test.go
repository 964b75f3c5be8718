package gateway

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"testing"
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
