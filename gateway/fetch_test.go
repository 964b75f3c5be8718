package gateway

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// TestFetchServesChunksByContent: in fetch mode the gateway submits each
// chunk as lengths and a content id naming its URL, and serves exactly the
// chunk's bytes under that id — while answering malformed, unknown, withheld and excess requests
// without harm.
func TestFetchServesChunksByContent(t *testing.T) {
	c := newFakeChain(uploadsStream())
	g, err := Open(Config{Dir: t.TempDir(), Chain: c, FlushAfter: time.Hour, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := g.Handler()
	file := make([]byte, 5*64<<10)
	rand.Read(file)
	if w, _ := do(t, h, "POST", "/v1/push/uploads?upload="+newSession(t)+"&offset=0&end=1", file, ""); w.Code != 200 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	var txs []*wire.FetchChunkTx
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		txs = txs[:0]
		for _, raw := range c.submitted {
			tx, err := wire.UnmarshalTx(raw)
			if err != nil || tx.Fetch == nil {
				t.Fatalf("submitted %v %v, want a fetched chunk", tx, err)
			}
			txs = append(txs, tx.Fetch)
		}
		return len(txs) == 2
	})
	off := 0
	for _, tx := range txs {
		if tx.Source != "http://127.0.0.1:1" || len(tx.Lengths) == 0 {
			t.Fatalf("tx %+v", tx)
		}
		w, _ := do(t, h, "GET", "/v1/fetch/"+tx.Content.String(), nil, "")
		n := int(tx.DataBytes())
		if w.Code != 200 || w.Header().Get("Content-Length") != fmt.Sprint(n) || !bytes.Equal(w.Body.Bytes(), file[off:off+n]) {
			t.Fatalf("fetch %s: %d, %d bytes, Content-Length %q", tx.Content, w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
		}
		off += n
	}
	if off != len(file) {
		t.Fatalf("chunks hold %d bytes of %d", off, len(file))
	}
	for target, want := range map[string]int{
		"/v1/fetch/zz": http.StatusBadRequest,
		"/v1/fetch/" + string(bytes.Repeat([]byte("g"), 64)): http.StatusBadRequest,
		"/v1/fetch/" + wire.ContentID{1}.String():            http.StatusNotFound,
	} {
		if w, _ := do(t, h, "GET", target, nil, ""); w.Code != want {
			t.Errorf("GET %s: %d, want %d", target, w.Code, want)
		}
	}
	// A withheld chunk is not served; past the serving bound, 503.
	g.SetFetchFaults(FetchFaults{Withhold: func(seq uint64) bool { return seq == txs[0].FirstSeq }})
	if w, _ := do(t, h, "GET", "/v1/fetch/"+txs[0].Content.String(), nil, ""); w.Code != http.StatusNotFound {
		t.Errorf("withheld chunk: %d, want 404", w.Code)
	}
	for range maxFetchServing {
		g.fetchSem <- struct{}{}
	}
	if w, _ := do(t, h, "GET", "/v1/fetch/"+txs[1].Content.String(), nil, ""); w.Code != http.StatusServiceUnavailable {
		t.Errorf("past the serving bound: %d, want 503", w.Code)
	}
	for range maxFetchServing {
		<-g.fetchSem
	}
}

// TestFetchContentAfterRestart: a chunk already on chain when the gateway
// restarts (so it is not submitted again) is still served by content id.
func TestFetchContentAfterRestart(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	open := func() *Gateway { return openFetching(t, dir, c) }
	g := open()
	file := make([]byte, 4*64<<10)
	rand.Read(file)
	if w, _ := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+newSession(t)+"&offset=0&end=1", file, ""); w.Code != 200 {
		t.Fatalf("upload: %d", w.Code)
	}
	var tx *wire.FetchChunkTx
	waitFor(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.submitted) == 0 {
			return false
		}
		d, err := wire.UnmarshalTx(c.submitted[0])
		if err != nil || d.Fetch == nil {
			t.Fatalf("submitted %v", err)
		}
		tx = d.Fetch
		c.onChain[fmt.Sprintf("%x/%d", tx.Origin, tx.FirstSeq)] = wire.ChunkKey{Stream: "uploads", Index: 0}
		c.submitted = nil
		return true
	})
	g.Close()
	g = open()
	defer g.Close()
	var got []byte
	waitFor(t, func() bool {
		b, err := g.FetchBytes(tx.Content)
		got = b
		return err == nil
	})
	if !bytes.Equal(got, file) {
		t.Fatalf("served %d bytes that are not the chunk", len(got))
	}
	c.mu.Lock()
	n := len(c.submitted)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("resubmitted %d chunks the chain holds", n)
	}
}

// TestKeepFetchedAndPrefetched: a validator's fetched file becomes the
// object of its digest, served by digest and by content id; bytes kept
// ahead of their block are served by content id until KeepFetched adopts
// that very file; a second copy of an object already stored is dropped;
// and temporary files a crash left behind go when the gateway opens.
func TestKeepFetchedAndPrefetched(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	open := func() *Gateway { return openFetching(t, dir, c) }
	g := open()
	temp := func(b []byte) *os.File {
		f, err := g.FetchTemp()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
		return f
	}
	a, b := bytes.Repeat([]byte("a"), 300<<10), bytes.Repeat([]byte("b"), 200<<10)
	idA, idB := wire.ContentID{0xa}, wire.ContentID{0xb}
	dA, dB := digest.Digest{0xa}, digest.Digest{0xb}

	if err := g.KeepFetched(idA, dA, temp(a)); err != nil {
		t.Fatal(err)
	}
	if got, err := g.FetchBytes(idA); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("by content id: %d bytes, %v", len(got), err)
	}
	if got, err := os.ReadFile(g.objects.path(dA)); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("object: %d bytes, %v", len(got), err)
	}
	// A second copy of the same object is dropped, the first kept.
	if err := g.KeepFetched(idA, dA, temp(b)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(g.objects.path(dA)); !bytes.Equal(got, a) {
		t.Fatal("a second copy replaced a stored object")
	}

	if !g.KeepPrefetched(idB, temp(b)) {
		t.Fatal("KeepPrefetched refused")
	}
	lc, err := g.OpenContent(idB)
	if err != nil || lc.Kind != ContentPrefetched || lc.Size != int64(len(b)) {
		t.Fatalf("prefetched: %+v %v", lc, err)
	}
	lc.Close()
	if err := g.KeepFetched(idB, dB, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(g.objects.path(dB)); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("adopted prefetched object: %d bytes, %v", len(got), err)
	}
	if fileExists(g.prefetchPath(idB)) || g.prefetched.Load() != 0 {
		t.Fatalf("the prefetched file is still counted (%d) or there", g.prefetched.Load())
	}
	if err := g.KeepFetched(wire.ContentID{0xc}, digest.Digest{0xc}, nil); err == nil {
		t.Fatal("KeepFetched of nothing succeeded")
	}

	// A crash mid-fetch leaves a temporary file; the next open removes it.
	left := temp(a)
	left.Close()
	g.Close()
	g = open()
	defer g.Close()
	if fileExists(left.Name()) {
		t.Fatalf("%s survived a restart", left.Name())
	}
	if got, err := g.objects.open(dA); err != nil {
		t.Fatalf("object lost over a restart: %v", err)
	} else {
		got.Close()
	}
}

// openFetching opens a gateway in dir that names its chunks' bytes by
// URL (so its submissions are FetchChunkTx) and flushes only on demand.
func openFetching(t *testing.T, dir string, c *fakeChain) *Gateway {
	t.Helper()
	g, err := Open(Config{Dir: dir, Chain: c, FlushAfter: time.Hour, PublicURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}
