package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// Pushed chunks travel beside consensus (DESIGN §5, "push at wire
// speed"): a gateway with a PublicURL submits each chunk of a stream
// without producers as a wire.FetchChunkTx — lengths, content id and
// this URL, not the bytes — and serves the bytes by content id at
// GET /v1/fetch/{content} to every validator until they are decided and
// beyond. Validators that fetched a chunk store it here too (PutFetched)
// and serve it the same way, so a validator that cannot reach the gateway
// fetches from a peer.

// maxContentIndex bounds the content ids a gateway remembers the place of
// (about 100 bytes each). Past it the oldest stored ones are forgotten:
// by then every validator has long fetched them, and they stay readable
// by chunk digest at /v1/data.
const maxContentIndex = 1 << 16

// maxFetchServing bounds the fetch requests a node answers at once (each
// may hold one chunk, at most wire.MaxFetchedChunkBytes, in memory); more
// are answered 503 and their client tries a peer or again later.
const maxFetchServing = 8

// contentLoc is where a content id's bytes are: a chunk of this node's own
// log, or an object (by chunk digest) this node fetched.
type contentLoc struct {
	ps *pushStream
	c  *gwChunk
	d  digest.Digest
}

type contentIndex struct {
	mu    sync.Mutex
	m     map[wire.ContentID]contentLoc
	order []wire.ContentID
}

func (x *contentIndex) put(id wire.ContentID, l contentLoc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[wire.ContentID]contentLoc{}
	}
	if _, ok := x.m[id]; !ok {
		x.order = append(x.order, id)
	}
	x.m[id] = l
	for len(x.m) > maxContentIndex && len(x.order) > 0 {
		delete(x.m, x.order[0])
		x.order = x.order[1:]
	}
	if len(x.order) > 2*maxContentIndex {
		x.order = append([]wire.ContentID(nil), x.order[len(x.order)-len(x.m):]...)
	}
}

func (x *contentIndex) get(id wire.ContentID) (contentLoc, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	l, ok := x.m[id]
	return l, ok
}

// FetchFaults make a gateway misbehave: fault injection for tests and
// demos only, never set in production.
type FetchFaults struct {
	// Withhold makes the gateway answer 404 to fetches of the chunk that
	// starts at this seq of its log.
	Withhold func(firstSeq uint64) bool
	// WrongContent makes the gateway submit the chunk starting at this
	// seq with a content id its bytes do not have (and serve the real
	// bytes under it).
	WrongContent func(firstSeq uint64) bool
}

// SetFetchFaults installs fault injection (tests and demos only).
func (g *Gateway) SetFetchFaults(f FetchFaults) {
	g.faultMu.Lock()
	defer g.faultMu.Unlock()
	g.faults = f
}

func (g *Gateway) fetchFaults() FetchFaults {
	g.faultMu.Lock()
	defer g.faultMu.Unlock()
	return g.faults
}

// fetchMode says whether this gateway submits chunks without their bytes.
func (g *Gateway) fetchMode() bool { return g.cfg.PublicURL != "" }

// fetchTx builds a chunk's FetchChunkTx from its logged messages, read a
// few at a time, and remembers where its bytes are.
func (ps *pushStream) fetchTx(c *gwChunk) ([]byte, error) {
	h := wire.NewContentHasher(ps.id, ps.origin, c.FirstSeq)
	lens := make([]uint32, 0, c.Count)
	err := ps.eachMessage(c, func(_ uint64, m []byte) error {
		h.Add(m)
		lens = append(lens, uint32(len(m)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	id := h.Sum()
	if f := ps.g.fetchFaults().WrongContent; f != nil && f(c.FirstSeq) {
		id[0] ^= 0xff
	}
	ps.g.content.put(id, contentLoc{ps: ps, c: c})
	ps.mu.Lock()
	c.HasContent = true
	ps.mu.Unlock()
	t := &wire.FetchChunkTx{Stream: ps.id, Origin: ps.origin, FirstSeq: c.FirstSeq, Offset: c.SessionOffset,
		Lengths: lens, Content: id, Source: ps.g.cfg.PublicURL}
	return t.Marshal()
}

// indexContent puts in the content index the chunks this run did not
// submit itself — those recovery found already on chain — so that its
// validator and the others can still fetch them after a restart.
func (ps *pushStream) indexContent() {
	if !ps.g.fetchMode() {
		return
	}
	ps.mu.Lock()
	var todo []*gwChunk
	for _, c := range ps.chunks {
		if c.State >= StateOnChain && c.State != StateRejected && !c.HasContent && !c.ObjectGone {
			todo = append(todo, c)
		}
	}
	ps.mu.Unlock()
	for _, c := range todo {
		h := wire.NewContentHasher(ps.id, ps.origin, c.FirstSeq)
		if err := ps.eachMessage(c, func(_ uint64, m []byte) error { h.Add(m); return nil }); err != nil {
			ps.g.log.Error("gateway: reading a chunk to index its content", "stream", ps.id, "first_seq", c.FirstSeq, "err", err)
			return
		}
		ps.g.content.put(h.Sum(), contentLoc{ps: ps, c: c})
		ps.mu.Lock()
		c.HasContent = true
		ps.mu.Unlock()
	}
}

// errNoContent: this node holds no bytes under a content id.
var errNoContent = errors.New("this node holds no chunk with that content id")

// ContentKind says where a node holds a content id's bytes.
type ContentKind uint8

const (
	// ContentLog: a chunk of this gateway's own log, not yet stored as
	// an object.
	ContentLog ContentKind = iota
	// ContentObject: an object of the store, named by its chunk digest.
	ContentObject
	// ContentPrefetched: bytes this node's validator fetched, and checked
	// against their content id, before their chunk had an index.
	ContentPrefetched
)

// LocalContent is a content id's bytes on this node, ready to be read
// once. Close it when done (WriteTo does not).
type LocalContent struct {
	Size int64
	Kind ContentKind
	// Digest names the object (ContentObject only).
	Digest digest.Digest
	// WriteTo writes the bytes to w: a log chunk a few messages at a
	// time, a file through w's ReadFrom if it has one, so that a 16 MiB
	// chunk is never held whole.
	WriteTo func(w io.Writer) error
	Close   func()
}

// HasContent reports whether this node holds a content id's bytes,
// without reading them.
func (g *Gateway) HasContent(id wire.ContentID) bool {
	c, err := g.OpenContent(id)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// FetchBytes returns the bytes a content id names, if this node holds
// them, in one buffer (tests and small tools; fetching streams them with
// OpenContent).
func (g *Gateway) FetchBytes(id wire.ContentID) ([]byte, error) {
	c, err := g.OpenContent(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	buf := bytes.NewBuffer(make([]byte, 0, c.Size))
	if err := c.WriteTo(buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fetchBatch bounds the bytes a log chunk is read in, so that serving or
// storing a 16 MiB chunk holds about 1 MiB at a time.
const fetchBatch = 1 << 20

// eachMessage reads a logged chunk's messages in order, about fetchBatch
// bytes at a time, and hands each to fn (valid only during the call).
func (ps *pushStream) eachMessage(c *gwChunk, fn func(seq uint64, data []byte) error) error {
	var n uint64
	for seq, left := c.FirstSeq, c.Count; left > 0; {
		ents, err := ps.log.Read(seq, left, fetchBatch)
		if err != nil {
			return fmt.Errorf("reading the chunk from the log: %w", err)
		}
		if len(ents) == 0 || ents[0].Seq != seq {
			return fmt.Errorf("the log has no message %d of the chunk", seq)
		}
		for _, e := range ents {
			if err := fn(e.Seq, e.Data); err != nil {
				return err
			}
			n += uint64(len(e.Data))
		}
		seq, left = seq+uint64(len(ents)), left-len(ents)
	}
	if n != c.Bytes {
		return fmt.Errorf("the log holds %d bytes of the chunk's %d", n, c.Bytes)
	}
	return nil
}

// OpenContent finds a content id's bytes on this node: a chunk of its own
// log (decided or not), an object it stored or fetched, or bytes fetched
// ahead of their block. The node's own validator reads them here, without
// HTTP.
func (g *Gateway) OpenContent(id wire.ContentID) (*LocalContent, error) {
	l, ok := g.content.get(id)
	path, kind := g.prefetchPath(id), ContentPrefetched
	if ok && l.c != nil {
		l.ps.mu.Lock()
		stored, gone, d := l.c.Stored, l.c.ObjectGone, l.c.Digest
		l.ps.mu.Unlock()
		if !stored {
			c, ps := l.c, l.ps
			return &LocalContent{Size: int64(c.Bytes), Kind: ContentLog, Close: func() {}, WriteTo: func(w io.Writer) error {
				return ps.eachMessage(c, func(_ uint64, b []byte) error {
					_, err := w.Write(b)
					return err
				})
			}}, nil
		}
		if gone {
			return nil, errNoContent
		}
		l.d = d
	}
	if ok {
		path, kind = g.objects.path(l.d), ContentObject
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errNoContent
	}
	st, err := f.Stat()
	if err != nil || st.Size() > wire.MaxFetchedChunkBytes {
		f.Close()
		return nil, errNoContent
	}
	return &LocalContent{Size: st.Size(), Kind: kind, Digest: l.d, Close: func() { f.Close() }, WriteTo: func(w io.Writer) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		_, err := io.CopyN(w, f, st.Size())
		return err
	}}, nil
}

// FetchTemp creates a temporary file for bytes being fetched, where
// KeepFetched and KeepPrefetched can adopt it without copying. Remove it
// if neither does. Such files left by a crash go when the gateway opens.
func (g *Gateway) FetchTemp() (*os.File, error) {
	dir := filepath.Join(g.cfg.Dir, objectsDir, prefetchDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(dir, ".fetch-*")
}

// KeepFetched stores bytes this node's validator fetched and checked, by
// their chunk digest (so /v1/data serves them on this node too), and
// remembers them under their content id for peers that fetch them here.
// The bytes are f, a file of FetchTemp (closed here), or, with f nil, the
// content's prefetched file or the object d already stored. They are
// durable when KeepFetched returns.
func (g *Gateway) KeepFetched(id wire.ContentID, d digest.Digest, f *os.File) error {
	src := ""
	if f != nil {
		src = f.Name()
		if err := f.Close(); err != nil {
			os.Remove(src)
			return err
		}
	} else if p := g.prefetchPath(id); fileExists(p) {
		src = p
	}
	at := g.cfg.clock()
	var gone bool
	if src != "" {
		var err error
		at, gone, err = g.objects.adopt(d, src, at)
		if src == g.prefetchPath(id) {
			g.prefetched.Add(-1) // adopted or removed
		}
		if err != nil {
			return err
		}
	} else if st, err := os.Stat(g.objects.path(d)); err == nil {
		at = st.ModTime()
	} else {
		return fmt.Errorf("no bytes to keep for content %s: %w", id, err)
	}
	if l, ok := g.content.get(id); ok && l.c != nil {
		l.ps.markStored(l.c, d, at, gone)
	} else if !ok {
		g.content.put(id, contentLoc{d: d})
	}
	g.dropPrefetched(id)
	return nil
}

// PutFetched stores bytes held in memory as KeepFetched does.
func (g *Gateway) PutFetched(id wire.ContentID, d digest.Digest, data []byte) error {
	f, err := g.FetchTemp()
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	return g.KeepFetched(id, d, f)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// handleFetch serves a chunk's bytes by content id to validators
// (GET /v1/fetch/{content}). The answer's Content-Length is exact, so a
// fetcher can refuse a wrong size before reading.
func (g *Gateway) handleFetch(w http.ResponseWriter, r *http.Request) {
	id, err := wire.ParseContentID(r.PathValue("content"))
	if err != nil {
		writeErr(w, errBad("%v", err))
		return
	}
	select {
	case g.fetchSem <- struct{}{}:
		defer func() { <-g.fetchSem }()
	default:
		writeErr(w, &httpError{http.StatusServiceUnavailable, "this node is serving as many chunks as it will at once; try a peer or again in a moment"})
		return
	}
	if l, ok := g.content.get(id); ok && l.c != nil {
		if f := g.fetchFaults().Withhold; f != nil && f(l.c.FirstSeq) {
			writeErr(w, &httpError{http.StatusNotFound, errNoContent.Error()})
			return
		}
	}
	c, err := g.OpenContent(id)
	if err != nil {
		writeErr(w, &httpError{http.StatusNotFound, err.Error() + "; try another node"})
		return
	}
	defer c.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(c.Size, 10))
	if err := c.WriteTo(w); err != nil {
		// The length is promised: a short answer tells the client.
		g.log.Warn("gateway: serving a chunk by content id", "content", id.String(), "err", err)
	}
}

// maxPrefetched bounds the chunks held fetched ahead of their block: a
// transaction the mempool admitted that never reaches a block leaves its
// file until the node restarts, so this is also what such leftovers cost
// at most (64 × 16 MiB of disk).
const maxPrefetched = 64

func (g *Gateway) prefetchPath(id wire.ContentID) string {
	return filepath.Join(g.cfg.Dir, objectsDir, prefetchDir, id.String())
}

const prefetchDir = "prefetch"

// KeepPrefetched keeps bytes a validator fetched (and checked against
// their content id) before their chunk had an index, until KeepFetched
// stores them by digest; f is a file of FetchTemp, closed here and
// removed if it is not kept. It reports false if the bound is reached.
// The files are a cache: not synced (KeepFetched syncs the one it
// adopts), and deleted when the gateway opens.
func (g *Gateway) KeepPrefetched(id wire.ContentID, f *os.File) bool {
	name := f.Name()
	if f.Close() == nil {
		if g.prefetched.Add(1) <= maxPrefetched && os.Rename(name, g.prefetchPath(id)) == nil {
			return true
		}
		g.prefetched.Add(-1)
	}
	os.Remove(name)
	return false
}

func (g *Gateway) dropPrefetched(id wire.ContentID) {
	if os.Remove(g.prefetchPath(id)) == nil {
		g.prefetched.Add(-1)
	}
}
