package gateway

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app/wire"
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
	open := func() *Gateway {
		g, err := Open(Config{Dir: dir, Chain: c, FlushAfter: time.Hour, PublicURL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
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
