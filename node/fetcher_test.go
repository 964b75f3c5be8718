package node

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway"
	"github.com/datadragon/datadragon/ingest/digest"
)

// memStore is a fetchStore that keeps chunks in memory (fetches still
// write to temporary files, in dir).
type memStore struct {
	dir string
	mu  sync.Mutex
	m   map[wire.ContentID][]byte
	pre map[wire.ContentID]bool // kept by KeepPrefetched
}

func newMemStore(t *testing.T) *memStore {
	return &memStore{dir: t.TempDir(), m: map[wire.ContentID][]byte{}, pre: map[wire.ContentID]bool{}}
}

func (s *memStore) HasContent(id wire.ContentID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[id]
	return ok
}

func (s *memStore) OpenContent(id wire.ContentID) (*gateway.LocalContent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[id]
	if !ok {
		return nil, errors.New("none")
	}
	kind := gateway.ContentObject
	if s.pre[id] {
		kind = gateway.ContentPrefetched
	}
	return &gateway.LocalContent{Size: int64(len(b)), Kind: kind, Close: func() {}, WriteTo: func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}}, nil
}

func (s *memStore) FetchTemp() (*os.File, error) { return os.CreateTemp(s.dir, "fetch-*") }

func (s *memStore) take(id wire.ContentID, f *os.File) error {
	f.Close()
	defer os.Remove(f.Name())
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = b
	return nil
}

func (s *memStore) KeepPrefetched(id wire.ContentID, f *os.File) bool {
	if s.take(id, f) != nil {
		return false
	}
	s.mu.Lock()
	s.pre[id] = true
	s.mu.Unlock()
	return true
}

func (s *memStore) KeepFetched(id wire.ContentID, _ digest.Digest, f *os.File) error {
	if f != nil {
		if err := s.take(id, f); err != nil {
			return err
		}
	}
	s.mu.Lock()
	delete(s.pre, id)
	s.mu.Unlock()
	return nil
}

// temps lists the temporary files left in the store's directory.
func (s *memStore) temps(t *testing.T) []string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// fetchChunk makes a chunk of two messages and its fetch order.
func fetchChunk(t *testing.T, index uint64, src string) (app.PushedChunk, []byte, wire.Digest) {
	data := make([]byte, 300<<10)
	rand.Read(data)
	origin := [wire.OriginSize]byte{9}
	msgs := [][]byte{data[:100<<10], data[100<<10:]}
	ch := wire.NewContentHasher("files", origin, 0)
	h, _ := digest.NewHasher("files", index)
	for i, m := range msgs {
		ch.Add(m)
		h.Add(uint64(i), m)
	}
	d, _ := h.Sum()
	order := &app.FetchOrder{Tx: wire.FetchChunkTx{Stream: "files", Origin: origin, Lengths: []uint32{100 << 10, 200 << 10},
		Content: ch.Sum(), Source: src}}
	return app.PushedChunk{Key: wire.ChunkKey{Stream: "files", Index: index}, Fetch: order}, data, wire.Digest(d)
}

// TestFetcherHostilePeers: sources that announce too many bytes, send
// more than they announce, send other bytes or never finish are each
// dropped for the next source, and a source that hangs does not hold up
// another chunk; the fetched digest is the one the bytes have.
func TestFetcherHostilePeers(t *testing.T) {
	var good []byte
	var served atomic.Int64
	goodSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(good)))
		w.Write(good)
	}))
	defer goodSrv.Close()
	oversize := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.WriteHeader(200)
		n, _ := w.Write(make([]byte, 1<<20))
		served.Add(int64(n))
	}))
	defer oversize.Close()
	longer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write(good)
		w.Write([]byte("and more"))
	}))
	defer longer.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := bytes.Clone(good)
		b[5] ^= 1
		w.Write(b)
	}))
	defer other.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(good)))
		w.WriteHeader(200)
		w.Write(good[:10])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	for _, bad := range []*httptest.Server{oversize, longer, other, slow} {
		p, data, want := fetchChunk(t, 3, bad.URL)
		good = data
		got := make(chan app.PushedChunk, 1)
		f := newFetcher(time.Minute, "", []string{goodSrv.URL}, newMemStore(t),
			func(p app.PushedChunk) { got <- p }, slog.New(slog.DiscardHandler))
		f.reqBase = 300 * time.Millisecond
		f.Start()
		f.Add(p)
		select {
		case r := <-got:
			if r.Digest != want || r.Verdict != wire.OK {
				t.Fatalf("source %s: attested %s %v, want %s ok", bad.URL, r.Digest, r.Verdict, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("source %s: no attestation in 10 s", bad.URL)
		}
		f.Stop()
	}
	if n := served.Load(); n > 4<<20 {
		t.Fatalf("read %d bytes of an answer that announced 1 GiB", n)
	}

	// A source that hangs holds one request, not the other chunks: a
	// second chunk from the good source is attested while the first waits.
	p1, _, _ := fetchChunk(t, 1, slow.URL)
	p2, data2, want2 := fetchChunk(t, 2, goodSrv.URL)
	good = data2
	got := make(chan app.PushedChunk, 2)
	f := newFetcher(time.Minute, "", nil, newMemStore(t), func(p app.PushedChunk) { got <- p }, slog.New(slog.DiscardHandler))
	f.reqBase = time.Minute
	f.Start()
	defer f.Stop()
	f.Add(p1)
	time.Sleep(100 * time.Millisecond)
	f.Add(p2)
	select {
	case r := <-got:
		if r.Key.Index != 2 || r.Digest != want2 {
			t.Fatalf("attested %v %s first, want chunk 2", r.Key, r.Digest)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a hanging source held up another chunk")
	}
}

// TestFetcherGapAfterWindow: a chunk no source serves is attested as a
// gap once the window has passed, never with a guessed digest.
func TestFetcherGapAfterWindow(t *testing.T) {
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	p, _, _ := fetchChunk(t, 4, none.URL)
	got := make(chan app.PushedChunk, 1)
	f := newFetcher(time.Second, "", nil, newMemStore(t), func(p app.PushedChunk) { got <- p }, slog.New(slog.DiscardHandler))
	f.Start()
	defer f.Stop()
	start := time.Now()
	f.Add(p)
	select {
	case r := <-got:
		if r.Verdict != wire.Gap || !r.Digest.IsZero() {
			t.Fatalf("attested %s %v, want a gap", r.Digest, r.Verdict)
		}
		if time.Since(start) < time.Second {
			t.Fatal("gave up before the window")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no gap after the window")
	}
}
