package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway"
	"github.com/datadragon/datadragon/ingest/digest"
)

// Fetching pushed chunks. A chunk the chain took as a wire.FetchChunkTx
// names its bytes; this validator fetches them — from its own gateway,
// from the gateway named in the transaction, or from any peer that holds
// them — checks them against the lengths and content id on chain, hashes
// the chunk digest itself, runs the stream's rules, stores the bytes and
// attests, exactly as for a chunk it observed. A chunk it cannot get
// within the fetch window is attested as a gap: it never guesses.

// Defaults of the fetcher.
const (
	DefaultFetchWindow = 30 * time.Second
	fetchWorkers       = 2 // chunks fetched at once (each holds ≤ 16 MiB)
	fetchPerPeer       = 2 // requests to one peer at once
	fetchRetry         = 300 * time.Millisecond
	// A fetch request may take 5 s plus the time the chunk takes at
	// 4 MiB/s: a peer slower than that is dropped for the next one.
	fetchBaseTimeout = 5 * time.Second
	fetchMinRate     = 4 << 20
	maxFetchQueue    = 1 << 16
)

// fetchJob is one chunk to fetch.
type fetchJob struct {
	key      wire.ChunkKey
	order    *app.FetchOrder
	deadline time.Time
	next     time.Time // not before
	tries    int
	// prefetch: the transaction is only in the mempool; fetch the bytes
	// and keep them, attest nothing (the index is not known yet).
	prefetch *wire.FetchChunkTx
	data     []byte // the checked bytes, until stored
}

// Fetcher fetches pushed chunks' bytes and hands the attestor what it
// found. Safe for concurrent use.
type Fetcher struct {
	window time.Duration
	peers  []string // base URLs of peers' APIs, besides a chunk's source
	self   string   // this node's own API URL (never fetched over HTTP)
	gw     fetchStore
	attest func(app.PushedChunk)
	log    *slog.Logger
	client *http.Client
	// blocked refuses URLs: fault injection for tests (a validator that
	// cannot reach the gateway).
	blocked func(url string) bool
	// reqBase is a request's time allowance besides its size's
	// (fetchBaseTimeout; tests shorten it).
	reqBase time.Duration

	mu     sync.Mutex
	queue  []*fetchJob
	queued map[wire.ChunkKey]bool
	// prefetching holds the content ids being fetched ahead of their
	// block; a chunk's own fetch waits for it rather than fetch twice.
	prefetching map[wire.ContentID]bool
	perPeer     map[string]int
	wake        chan struct{}
	stop        chan struct{}
	wg          sync.WaitGroup
	started     bool
}

// fetchStore is where fetched bytes are kept and first looked for: the
// node's gateway.
type fetchStore interface {
	FetchBytes(wire.ContentID) ([]byte, error)
	PutFetched(wire.ContentID, digest.Digest, []byte) error
	PutPrefetched(wire.ContentID, []byte) bool
}

var _ fetchStore = (*gateway.Gateway)(nil)

func newFetcher(window time.Duration, self string, peers []string, gw fetchStore, attest func(app.PushedChunk), log *slog.Logger) *Fetcher {
	if window <= 0 {
		window = DefaultFetchWindow
	}
	f := &Fetcher{window: window, reqBase: fetchBaseTimeout, self: strings.TrimRight(self, "/"), gw: gw, attest: attest, log: log,
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost:   fetchPerPeer * 2,
			ResponseHeaderTimeout: fetchBaseTimeout,
			IdleConnTimeout:       time.Minute,
		}},
		queued: map[wire.ChunkKey]bool{}, prefetching: map[wire.ContentID]bool{}, perPeer: map[string]int{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	for _, p := range peers {
		p = strings.TrimRight(p, "/")
		if p != "" && p != f.self {
			f.peers = append(f.peers, p)
		}
	}
	return f
}

// Add queues a pushed chunk to fetch; a chunk already queued is not
// queued twice. It never blocks.
func (f *Fetcher) Add(p app.PushedChunk) {
	if p.Fetch == nil {
		return
	}
	f.mu.Lock()
	if f.queued[p.Key] || len(f.queue) >= maxFetchQueue {
		f.mu.Unlock()
		return
	}
	f.queued[p.Key] = true
	now := time.Now()
	f.queue = append(f.queue, &fetchJob{key: p.Key, order: p.Fetch, deadline: now.Add(f.window), next: now})
	f.mu.Unlock()
	f.poke()
}

// Prefetch queues the bytes of a chunk whose transaction this node's
// mempool admitted, so that they are here when its block gives it an
// index. It never blocks.
func (f *Fetcher) Prefetch(t *wire.FetchChunkTx) {
	if _, err := f.gw.FetchBytes(t.Content); err == nil {
		return // this node's own push, or already here
	}
	f.mu.Lock()
	if f.prefetching[t.Content] || len(f.queue) >= maxFetchQueue {
		f.mu.Unlock()
		return
	}
	f.prefetching[t.Content] = true
	now := time.Now()
	f.queue = append(f.queue, &fetchJob{prefetch: t, deadline: now.Add(f.window), next: now})
	f.mu.Unlock()
	f.poke()
}

// errPrefetching: the bytes are on their way already.
var errPrefetching = errors.New("being fetched ahead of the block")

func (f *Fetcher) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Start starts the workers; Stop ends them.
func (f *Fetcher) Start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return
	}
	f.started = true
	for range fetchWorkers {
		f.wg.Add(1)
		go f.worker()
	}
}

// Stop ends the workers and waits for them (a fetch in flight is cut).
func (f *Fetcher) Stop() {
	f.mu.Lock()
	started := f.started
	f.started = false
	f.mu.Unlock()
	if started {
		close(f.stop)
		f.wg.Wait()
	}
	f.client.CloseIdleConnections()
}

// take returns the first due job, or how long until one is due.
func (f *Fetcher) take() (*fetchJob, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	wait := time.Second
	for i, j := range f.queue {
		if !j.next.After(now) {
			f.queue = append(f.queue[:i], f.queue[i+1:]...)
			return j, 0
		}
		wait = min(wait, j.next.Sub(now))
	}
	return nil, wait
}

func (f *Fetcher) worker() {
	defer f.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-f.stop
		cancel()
	}()
	for {
		j, wait := f.take()
		if j == nil {
			t := time.NewTimer(wait)
			select {
			case <-f.stop:
				t.Stop()
				return
			case <-f.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if j.prefetch != nil {
			f.runPrefetch(ctx, j)
			continue
		}
		p, err := f.fetch(ctx, j)
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, errPrefetching):
			j.next = time.Now().Add(20 * time.Millisecond)
			f.requeue(j)
		case err == nil:
			f.done(j)
			f.attest(p)
			f.store(j, p.Digest)
		case time.Now().After(j.deadline):
			f.log.Warn("fetch: no matching bytes for a pushed chunk within the fetch window; attesting a gap",
				"chunk", j.key.String(), "content", j.order.Tx.Content.String(), "source", j.order.Tx.Source, "err", err)
			f.done(j)
			f.attest(app.PushedChunk{Key: j.key, Verdict: wire.Gap})
		default:
			j.tries++
			j.next = time.Now().Add(fetchRetry)
			f.requeue(j)
		}
	}
}

func (f *Fetcher) requeue(j *fetchJob) {
	f.mu.Lock()
	f.queue = append(f.queue, j)
	f.mu.Unlock()
	f.poke()
}

// runPrefetch makes one try at a prefetch; it gives up quietly at its
// deadline (the chunk's own fetch then starts from scratch).
func (f *Fetcher) runPrefetch(ctx context.Context, j *fetchJob) {
	t := j.prefetch
	b, err := f.download(ctx, t, j.tries)
	if err == nil {
		if id := contentID(t, b); id == t.Content {
			f.gw.PutPrefetched(t.Content, b)
		} else {
			err = fmt.Errorf("the bytes have content id %s", id)
		}
	}
	if err == nil || ctx.Err() != nil || time.Now().After(j.deadline) {
		f.mu.Lock()
		delete(f.prefetching, t.Content)
		f.mu.Unlock()
		return
	}
	j.tries++
	j.next = time.Now().Add(fetchRetry)
	f.requeue(j)
}

// contentID is the content id of b cut by t's lengths (len(b) must be
// t.DataBytes()).
func contentID(t *wire.FetchChunkTx, b []byte) wire.ContentID {
	if uint64(len(b)) != t.DataBytes() {
		return wire.ContentID{}
	}
	h := wire.NewContentHasher(t.Stream, t.Origin, t.FirstSeq)
	off := 0
	for _, l := range t.Lengths {
		h.Add(b[off : off+int(l)])
		off += int(l)
	}
	return h.Sum()
}

func (f *Fetcher) done(j *fetchJob) {
	f.mu.Lock()
	delete(f.queued, j.key)
	f.mu.Unlock()
}

// fetch tries this node's own gateway, then the chunk's source and the
// peers (starting at a different one each try), and checks what it got.
func (f *Fetcher) fetch(ctx context.Context, j *fetchJob) (app.PushedChunk, error) {
	t := &j.order.Tx
	if b, err := f.gw.FetchBytes(t.Content); err == nil {
		if p, err := f.check(j, b); err == nil {
			return p, nil
		}
	}
	f.mu.Lock()
	busy := f.prefetching[t.Content]
	f.mu.Unlock()
	if busy {
		return app.PushedChunk{}, errPrefetching
	}
	b, err := f.download(ctx, t, j.tries)
	if err != nil {
		return app.PushedChunk{}, err
	}
	return f.check(j, b)
}

// download gets a chunk's bytes of the right size and content id from the
// chunk's source or a peer, starting at a different one each try.
func (f *Fetcher) download(ctx context.Context, t *wire.FetchChunkTx, try int) ([]byte, error) {
	srcs := append([]string{strings.TrimRight(t.Source, "/")}, f.peers...)
	var errs []error
	for i := range srcs {
		src := srcs[(i+try)%len(srcs)]
		if src == f.self || (f.blocked != nil && f.blocked(src)) {
			continue
		}
		if !f.acquire(src) {
			errs = append(errs, fmt.Errorf("%s: busy with this node's other fetches", src))
			continue
		}
		b, err := f.get(ctx, src, t)
		f.release(src)
		if err == nil {
			if id := contentID(t, b); id == t.Content {
				return b, nil
			} else {
				err = fmt.Errorf("the bytes have content id %s, the chain names %s", id, t.Content)
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", src, err))
		if ctx.Err() != nil {
			break
		}
	}
	if len(errs) == 0 {
		return nil, errors.New("no source to fetch from")
	}
	return nil, errors.Join(errs...)
}

func (f *Fetcher) acquire(src string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.perPeer[src] >= fetchPerPeer {
		return false
	}
	f.perPeer[src]++
	return true
}

func (f *Fetcher) release(src string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.perPeer[src]--; f.perPeer[src] <= 0 {
		delete(f.perPeer, src)
	}
}

// get fetches one chunk's bytes from one node, refusing an answer of the
// wrong size before reading it, and never reading more than the chunk.
func (f *Fetcher) get(ctx context.Context, src string, t *wire.FetchChunkTx) ([]byte, error) {
	size := t.DataBytes() // ≤ wire.MaxFetchedChunkBytes (checked when decoded)
	timeout := f.reqBase + time.Duration(size)*time.Second/fetchMinRate
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src+"/v1/fetch/"+t.Content.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	if resp.ContentLength >= 0 && uint64(resp.ContentLength) != size {
		return nil, fmt.Errorf("offers %d bytes, the chunk on chain has %d", resp.ContentLength, size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return nil, fmt.Errorf("reading %d bytes: %w", size, err)
	}
	var one [1]byte
	if n, _ := resp.Body.Read(one[:]); n > 0 {
		return nil, fmt.Errorf("sent more than the chunk's %d bytes", size)
	}
	return b, nil
}

// check verifies fetched bytes against the chain's lengths and content id,
// computes the chunk digest and the rules' verdict, and stores the bytes.
func (f *Fetcher) check(j *fetchJob, b []byte) (app.PushedChunk, error) {
	t := &j.order.Tx
	if uint64(len(b)) != t.DataBytes() {
		return app.PushedChunk{}, fmt.Errorf("%d bytes, the chunk has %d", len(b), t.DataBytes())
	}
	msgs := make([][]byte, len(t.Lengths))
	ch := wire.NewContentHasher(t.Stream, t.Origin, t.FirstSeq)
	h, err := digest.NewHasher(t.Stream, j.key.Index)
	if err != nil {
		return app.PushedChunk{}, err
	}
	off := 0
	for i, l := range t.Lengths {
		m := b[off : off+int(l)]
		off += int(l)
		msgs[i] = m
		ch.Add(m)
		if err := h.Add(t.FirstSeq+uint64(i), m); err != nil {
			return app.PushedChunk{}, err
		}
	}
	if ch.Sum() != t.Content {
		return app.PushedChunk{}, fmt.Errorf("the bytes have content id %s, the chain names %s", ch.Sum(), t.Content)
	}
	d, err := h.Sum()
	if err != nil {
		return app.PushedChunk{}, err
	}
	rs, err := rules.Parse(j.order.Rules)
	if err != nil {
		return app.PushedChunk{}, fmt.Errorf("stream rules: %w", err)
	}
	j.data = b
	return app.PushedChunk{Key: j.key, Digest: wire.Digest(d), Verdict: rs.Check(msgs)}, nil
}

// store keeps a fetched chunk's bytes by digest and content id. It runs
// after the attestation, which stands on the hash alone, so the disk's
// fsync is not in the chunk's way to its decision; a node that could not
// keep the bytes says so, and the chunk is served by the others.
func (f *Fetcher) store(j *fetchJob, d wire.Digest) {
	b := j.data
	j.data = nil
	if b == nil {
		return
	}
	if err := f.gw.PutFetched(j.order.Tx.Content, digest.Digest(d), b); err != nil {
		f.log.Error("fetch: storing a fetched chunk", "chunk", j.key.String(), "err", err)
	}
}
