package node

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
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

// chunkOf makes a chunk with messages of the given lengths, random bytes.
func chunkOf(index uint64, src string, lengths []uint32) (app.PushedChunk, []byte, wire.Digest) {
	var size int
	for _, l := range lengths {
		size += int(l)
	}
	data := make([]byte, size)
	rand.Read(data)
	origin := [wire.OriginSize]byte{9}
	ch := wire.NewContentHasher("files", origin, 0)
	h, _ := digest.NewHasher("files", index)
	off := 0
	for i, l := range lengths {
		m := data[off : off+int(l)]
		off += int(l)
		ch.Add(m)
		h.Add(uint64(i), m)
	}
	d, _ := h.Sum()
	order := &app.FetchOrder{Tx: wire.FetchChunkTx{Stream: "files", Origin: origin, Lengths: lengths, Content: ch.Sum(), Source: src}}
	return app.PushedChunk{Key: wire.ChunkKey{Stream: "files", Index: index}, Fetch: order}, data, wire.Digest(d)
}

// TestFetcherChunkAtTheLimit: a chunk of exactly wire.MaxFetchedChunkBytes
// is fetched, hashed and stored whole, cut into 1 MiB messages, into
// empty ones, or as one 16 MiB message (more than a gateway's log takes,
// so no pooled buffer holds it); an answer one byte longer is refused,
// whether it announces its length or not, and the next source serves the
// chunk; no temporary file is left behind. A transaction naming one byte
// more is refused when decoded, so no fetch of it is ever ordered.
func TestFetcherChunkAtTheLimit(t *testing.T) {
	var data []byte
	var mu sync.Mutex
	serve := func(extra int, announce bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			b := data
			mu.Unlock()
			if announce {
				w.Header().Set("Content-Length", strconv.Itoa(len(b)+extra))
			}
			w.WriteHeader(200)
			w.Write(b)
			w.Write(make([]byte, extra))
		}))
	}
	good := serve(0, true)
	defer good.Close()
	longAnnounced := serve(1, true)
	defer longAnnounced.Close()
	longChunked := serve(1, false)
	defer longChunked.Close()

	mib := make([]uint32, 16)
	for i := range mib {
		mib[i] = 1 << 20
	}
	withEmpty := append([]uint32{0}, append(slices.Clone(mib[:15]), 0, 1<<20, 0)...)
	cases := map[string]struct {
		lengths []uint32
		src     *httptest.Server
	}{
		"1 MiB messages":             {mib, good},
		"empty messages":             {withEmpty, good},
		"one message":                {[]uint32{wire.MaxFetchedChunkBytes}, good},
		"one byte too many":          {mib, longAnnounced},
		"one byte too many, chunked": {mib, longChunked},
	}
	for name, c := range cases {
		p, b, want := chunkOf(7, c.src.URL, c.lengths)
		if n := p.Fetch.Tx.DataBytes(); n != wire.MaxFetchedChunkBytes {
			t.Fatalf("%s: test chunk of %d bytes", name, n)
		}
		if err := p.Fetch.Tx.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mu.Lock()
		data = b
		mu.Unlock()
		st := newMemStore(t)
		got := make(chan app.PushedChunk, 1)
		f := newFetcher(time.Minute, "", []string{good.URL}, st, func(p app.PushedChunk) { got <- p }, slog.New(slog.DiscardHandler))
		f.Start()
		f.Add(p)
		select {
		case r := <-got:
			if r.Digest != want || r.Verdict != wire.OK {
				t.Fatalf("%s: attested %s %v, want %s ok", name, r.Digest, r.Verdict, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no attestation in 20 s", name)
		}
		f.Stop() // waits for the worker, which stores after attesting
		st.mu.Lock()
		kept := st.m[p.Fetch.Tx.Content]
		st.mu.Unlock()
		if !bytes.Equal(kept, b) {
			t.Fatalf("%s: stored %d bytes that are not the chunk", name, len(kept))
		}
		if left := st.temps(t); len(left) > 0 {
			t.Fatalf("%s: temporary files left: %v", name, left)
		}
	}

	over := wire.FetchChunkTx{Stream: "files", Origin: [wire.OriginSize]byte{9}, Lengths: append(slices.Clone(mib), 1), Content: wire.ContentID{1}, Source: good.URL}
	if err := over.Validate(); err == nil {
		t.Fatal("a transaction naming a chunk one byte over the limit validates")
	}
	if b, err := over.Marshal(); err == nil {
		if _, err := wire.UnmarshalTx(b); err == nil {
			t.Fatal("a transaction naming a chunk one byte over the limit decodes")
		}
	}
}

// TestFetcherSilentPeer: a source that accepts connections and never
// answers, for longer than the whole fetch window, holds at most the
// requests the per-peer limit allows; chunks from other sources are
// attested at once all the while, and the silent source's chunks are
// attested as gaps after the window.
func TestFetcherSilentPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var cmu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns = append(conns, c) // read nothing, say nothing
			cmu.Unlock()
		}
	}()
	defer func() {
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	}()
	silent := "http://" + ln.Addr().String()

	var served sync.Map // content id → bytes
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := wire.ParseContentID(strings.TrimPrefix(r.URL.Path, "/v1/fetch/"))
		b, ok := served.Load(id)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b.([]byte))
	}))
	defer good.Close()

	const window = 3 * time.Second
	got := make(chan app.PushedChunk, 16)
	f := newFetcher(window, "", nil, newMemStore(t), func(p app.PushedChunk) { got <- p }, slog.New(slog.DiscardHandler))
	// Each request to the silent source waits the whole window: it never
	// gives up on its own before the chunk's time is over.
	f.reqBase = window
	f.Start()
	defer f.Stop()
	start := time.Now()
	for i := range uint64(3) {
		p, _, _ := chunkOf(100+i, silent, []uint32{1 << 20})
		f.Add(p)
	}
	want := map[uint64]wire.Digest{}
	for i := range uint64(4) {
		p, b, d := chunkOf(i, good.URL, []uint32{300 << 10, 700 << 10})
		served.Store(p.Fetch.Tx.Content, b)
		want[i] = d
		f.Add(p)
	}
	for len(want) > 0 {
		select {
		case r := <-got:
			d, ok := want[r.Key.Index]
			if !ok {
				t.Fatalf("chunk %d of the silent source attested (%v) before the good source's chunks", r.Key.Index, r.Verdict)
			}
			if r.Digest != d || r.Verdict != wire.OK {
				t.Fatalf("chunk %d: attested %s %v, want %s ok", r.Key.Index, r.Digest, r.Verdict, d)
			}
			delete(want, r.Key.Index)
		case <-time.After(window / 2):
			t.Fatalf("after %v, %d chunks of a good source are not attested while a silent source holds its requests", time.Since(start), len(want))
		}
	}
	for range 3 {
		select {
		case r := <-got:
			if r.Key.Index < 100 || r.Verdict != wire.Gap || !r.Digest.IsZero() {
				t.Fatalf("attested %v %s %v, want a gap of a silent source's chunk", r.Key, r.Digest, r.Verdict)
			}
			if time.Since(start) < window {
				t.Fatalf("gave up on a chunk after %v, before the window", time.Since(start))
			}
		case <-time.After(4 * window):
			t.Fatal("a silent source's chunk is not attested as a gap after the window")
		}
	}
}
