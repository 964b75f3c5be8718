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

// fetchTx builds a chunk's FetchChunkTx from its logged messages and
// remembers where its bytes are.
func (ps *pushStream) fetchTx(c *gwChunk, msgs [][]byte) ([]byte, error) {
	h := wire.NewContentHasher(ps.id, ps.origin, c.FirstSeq)
	lens := make([]uint32, len(msgs))
	for i, m := range msgs {
		h.Add(m)
		lens[i] = uint32(len(m))
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
		ents, err := ps.log.Read(c.FirstSeq, c.Count, int(c.Bytes)+1)
		if err != nil || len(ents) != c.Count {
			ps.g.log.Error("gateway: reading a chunk to index its content", "stream", ps.id, "first_seq", c.FirstSeq, "err", err)
			return
		}
		h := wire.NewContentHasher(ps.id, ps.origin, c.FirstSeq)
		for _, e := range ents {
			h.Add(e.Data)
		}
		ps.g.content.put(h.Sum(), contentLoc{ps: ps, c: c})
		ps.mu.Lock()
		c.HasContent = true
		ps.mu.Unlock()
	}
}

// errNoContent: this node holds no bytes under a content id.
var errNoContent = errors.New("this node holds no chunk with that content id")

// FetchBytes returns the bytes a content id names, if this node holds
// them: a chunk of its own log (decided or not), one it fetched, or one
// fetched ahead of its block. The node's own validator reads its
// gateway's chunks here, without HTTP.
func (g *Gateway) FetchBytes(id wire.ContentID) ([]byte, error) {
	size, write, err := g.openFetch(id)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if err := write(buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fetchBatch is how many logged messages a fetch answer reads at once, so
// that serving a 16 MiB chunk holds about 1 MiB at a time.
const fetchBatch = 16

// openFetch finds a content id's bytes and returns their size and a
// function that writes them (once).
func (g *Gateway) openFetch(id wire.ContentID) (int64, func(io.Writer) error, error) {
	l, ok := g.content.get(id)
	path := g.prefetchPath(id)
	if ok && l.c != nil {
		l.ps.mu.Lock()
		stored, gone, d := l.c.Stored, l.c.ObjectGone, l.c.Digest
		l.ps.mu.Unlock()
		if !stored {
			c, ps := l.c, l.ps
			return int64(c.Bytes), func(w io.Writer) error {
				var n uint64
				for seq, left := c.FirstSeq, c.Count; left > 0; {
					k := min(left, fetchBatch)
					ents, err := ps.log.Read(seq, k, int(c.Bytes-n)+1)
					if err != nil {
						return fmt.Errorf("reading the chunk from the log: %w", err)
					}
					if len(ents) != k {
						return fmt.Errorf("the log returned %d of %d messages", len(ents), k)
					}
					for _, e := range ents {
						if _, err := w.Write(e.Data); err != nil {
							return err
						}
						n += uint64(len(e.Data))
					}
					seq, left = seq+uint64(k), left-k
				}
				if n != c.Bytes {
					return fmt.Errorf("the log holds %d bytes of the chunk's %d", n, c.Bytes)
				}
				return nil
			}, nil
		}
		if gone {
			return 0, nil, errNoContent
		}
		l.d = d
	}
	if ok {
		path = g.objects.path(l.d)
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, nil, errNoContent
	}
	st, err := f.Stat()
	if err != nil || st.Size() > wire.MaxFetchedChunkBytes {
		f.Close()
		return 0, nil, errNoContent
	}
	return st.Size(), func(w io.Writer) error {
		defer f.Close()
		_, err := io.CopyN(w, f, st.Size())
		return err
	}, nil
}

// PutFetched stores bytes this node's validator fetched and checked, by
// their chunk digest (so /v1/data serves them on this node too), and
// remembers them under their content id for peers that fetch them here.
func (g *Gateway) PutFetched(id wire.ContentID, d digest.Digest, data []byte) error {
	if _, _, err := g.objects.put(d, data, g.cfg.clock()); err != nil {
		return err
	}
	if _, ok := g.content.get(id); !ok {
		g.content.put(id, contentLoc{d: d})
	}
	g.dropPrefetched(id)
	return nil
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
	size, write, err := g.openFetch(id)
	if err != nil {
		writeErr(w, &httpError{http.StatusNotFound, err.Error() + "; try another node"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	if err := write(w); err != nil {
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

// PutPrefetched keeps bytes a validator fetched (and checked against
// their content id) before their chunk had an index, until PutFetched
// stores them by digest. It reports false if the bound is reached. The
// files are a cache: not synced, and deleted when the gateway opens.
func (g *Gateway) PutPrefetched(id wire.ContentID, b []byte) bool {
	if g.prefetched.Add(1) > maxPrefetched {
		g.prefetched.Add(-1)
		return false
	}
	p := g.prefetchPath(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
		if err = os.WriteFile(p+".tmp", b, 0o600); err == nil && os.Rename(p+".tmp", p) == nil {
			return true
		}
	}
	g.prefetched.Add(-1)
	return false
}

func (g *Gateway) dropPrefetched(id wire.ContentID) {
	if os.Remove(g.prefetchPath(id)) == nil {
		g.prefetched.Add(-1)
	}
}
