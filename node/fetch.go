package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/datadragon/datadragon/api"
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
	// Chunks fetched at once. A fetch streams its chunk to a file while
	// hashing it, holding one message and a 256 KiB write buffer, so four
	// workers cost about 5 MiB, not four chunks. There are more workers
	// than requests one peer may hold (fetchPerPeer): a peer that accepts
	// requests and never answers holds two workers until their requests
	// time out, and the others go on fetching other chunks from other
	// sources.
	fetchWorkers = 4
	fetchPerPeer = 2 // requests to one peer at once
	fetchRetry   = 300 * time.Millisecond
	// A fetch request may take 5 s plus the time the chunk takes at
	// 4 MiB/s: a peer slower than that is dropped for the next one.
	fetchBaseTimeout = 5 * time.Second
	fetchMinRate     = 4 << 20
	maxFetchQueue    = 1 << 16
	// maxPrefetchedFrom bounds the prefetch sources kept for findings.
	maxPrefetchedFrom = 1024
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
	kept     *fetched // the checked bytes, until stored
	// mismatch: the last bytes a source served under the chunk's
	// content id that turned out to have another.
	mismatch *contentMismatch
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
	// prefetchedFrom remembers where each prefetched chunk came from, for
	// its finding (at most maxPrefetchedFrom, forgotten once used).
	prefetchedFrom map[wire.ContentID]string
	perPeer        map[string]int
	findings       findings
	wake           chan struct{}
	stop           chan struct{}
	wg             sync.WaitGroup
	started        bool
}

// fetchStore is where fetched bytes are kept and first looked for: the
// node's gateway (see its methods of the same names).
type fetchStore interface {
	HasContent(wire.ContentID) bool
	OpenContent(wire.ContentID) (*gateway.LocalContent, error)
	FetchTemp() (*os.File, error)
	KeepPrefetched(wire.ContentID, *os.File) bool
	KeepFetched(wire.ContentID, digest.Digest, *os.File) error
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
		queued: map[wire.ChunkKey]bool{}, prefetching: map[wire.ContentID]bool{}, prefetchedFrom: map[wire.ContentID]string{}, perPeer: map[string]int{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
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
	if f.gw.HasContent(t.Content) {
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
			j.kept.discard() // stopping: the chunk is fetched again after a restart
			return
		}
		switch {
		case errors.Is(err, errPrefetching):
			j.next = time.Now().Add(20 * time.Millisecond)
			f.requeue(j)
		case err == nil:
			f.done(j)
			f.attest(p)
			f.findings.put(j.key, api.FetchFinding{Outcome: "fetched", ContentNamed: j.order.Tx.Content.String(),
				Content: j.order.Tx.Content.String(), Digest: p.Digest.String(), Source: j.kept.source})
			f.store(j)
		case errors.Is(err, errRules):
			f.log.Error("fetch: the stream's rules on chain do not parse; attesting a gap", "chunk", j.key.String(), "err", err)
			f.done(j)
			f.attest(app.PushedChunk{Key: j.key, Verdict: wire.Gap})
			f.findings.put(j.key, gapFinding(j, err))
		case time.Now().After(j.deadline):
			f.noteMismatch(j, err)
			f.log.Warn("fetch: no matching bytes for a pushed chunk within the fetch window; attesting a gap",
				"chunk", j.key.String(), "content", j.order.Tx.Content.String(), "source", j.order.Tx.Source, "err", err)
			f.done(j)
			f.attest(app.PushedChunk{Key: j.key, Verdict: wire.Gap})
			f.findings.put(j.key, gapFinding(j, err))
		default:
			f.noteMismatch(j, err)
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
	got, err := f.download(ctx, t, j.tries, nil, nil)
	if err == nil && !f.gw.KeepPrefetched(t.Content, got.file) {
		// The bound of prefetched chunks is reached: this one is fetched
		// when its block comes.
		got.file = nil
	} else if err == nil {
		f.mu.Lock()
		if len(f.prefetchedFrom) >= maxPrefetchedFrom {
			clear(f.prefetchedFrom) // only findings lose their source
		}
		f.prefetchedFrom[t.Content] = got.source
		f.mu.Unlock()
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

func (f *Fetcher) done(j *fetchJob) {
	f.mu.Lock()
	delete(f.queued, j.key)
	f.mu.Unlock()
}

// fetched is what a fetch found: the checked chunk and, unless the bytes
// are stored here already, the temporary file holding them.
type fetched struct {
	digest  digest.Digest
	verdict wire.Verdict
	file    *os.File
	keep    bool   // store the bytes (file, or the prefetched file or object)
	source  string // where they came from
}

// discard removes a fetch's temporary file (g may be nil).
func (g *fetched) discard() {
	if g != nil && g.file != nil {
		g.file.Close()
		os.Remove(g.file.Name())
		g.file = nil
	}
}

// errRules: the stream's rules on chain do not parse, so no fetch can
// judge the chunk.
var errRules = errors.New("stream rules")

// fetch reads the chunk from this node's own store if it holds it, or
// else fetches it from the chunk's source and the peers (starting at a
// different one each try), checking it as it comes.
func (f *Fetcher) fetch(ctx context.Context, j *fetchJob) (app.PushedChunk, error) {
	t := &j.order.Tx
	rs, err := rules.Parse(j.order.Rules)
	if err != nil {
		return app.PushedChunk{}, fmt.Errorf("%w: %w", errRules, err)
	}
	got, err := f.local(j, rs)
	if err != nil {
		f.noteMismatch(j, err)
		f.mu.Lock()
		busy := f.prefetching[t.Content]
		f.mu.Unlock()
		if busy {
			return app.PushedChunk{}, errPrefetching
		}
		got, err = f.download(ctx, t, j.tries, &j.key.Index, rs)
	}
	if err != nil {
		return app.PushedChunk{}, err
	}
	j.kept = got
	return app.PushedChunk{Key: j.key, Digest: wire.Digest(got.digest), Verdict: got.verdict}, nil
}

// local checks the chunk's bytes if this node holds them: its gateway's
// own log (the gateway stores its chunks by digest itself once they are on
// chain), an object, or a chunk fetched ahead of its block (stored where
// it is).
func (f *Fetcher) local(j *fetchJob, rs *rules.Rules) (*fetched, error) {
	t := &j.order.Tx
	lc, err := f.gw.OpenContent(t.Content)
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	if uint64(lc.Size) != t.DataBytes() {
		return nil, fmt.Errorf("this node holds %d bytes under the content id, the chunk has %d", lc.Size, t.DataBytes())
	}
	s := newChunkSink(t)
	defer s.release()
	if s.digest, err = digest.NewHasher(t.Stream, j.key.Index); err != nil {
		return nil, err
	}
	s.rules = rs.NewChecker()
	got := &fetched{keep: lc.Kind != gateway.ContentLog, source: "this node"}
	if lc.Kind == gateway.ContentPrefetched {
		// A prefetched file was checked against its content id when it
		// was fetched, by this node.
		f.mu.Lock()
		if src, ok := f.prefetchedFrom[t.Content]; ok {
			got.source = "this node, fetched ahead of its block from " + src
			delete(f.prefetchedFrom, t.Content)
		}
		f.mu.Unlock()
	} else {
		s.content = wire.NewContentHasher(t.Stream, t.Origin, t.FirstSeq)
	}
	if err = lc.WriteTo(s); err == nil {
		err = s.finish()
	}
	if err == nil && s.content != nil && s.content.Sum() != t.Content {
		err = mismatchOf(s, t, "this node")
	}
	if err == nil {
		got.digest, err = s.digest.Sum()
	}
	if err != nil {
		got.discard()
		return nil, err
	}
	got.verdict = s.rules.Verdict()
	return got, nil
}

// download fetches a chunk's bytes of the right size and content id from
// the chunk's source or a peer, starting at a different one each try,
// into a temporary file. With index, it also hashes the chunk digest and
// judges rs; without (a prefetch) only the content id.
func (f *Fetcher) download(ctx context.Context, t *wire.FetchChunkTx, try int, index *uint64, rs *rules.Rules) (*fetched, error) {
	srcs := append([]string{strings.TrimRight(t.Source, "/")}, f.peers...)
	var errs []error
	var file *os.File
	defer func() {
		if file != nil {
			file.Close()
			os.Remove(file.Name())
		}
	}()
	for i := range srcs {
		src := srcs[(i+try)%len(srcs)]
		if src == f.self || (f.blocked != nil && f.blocked(src)) {
			continue
		}
		if !f.acquire(src) {
			errs = append(errs, fmt.Errorf("%s: busy with this node's other fetches", src))
			continue
		}
		var err error
		if file == nil {
			file, err = f.gw.FetchTemp()
		} else if err = file.Truncate(0); err == nil {
			_, err = file.Seek(0, io.SeekStart)
		}
		var got *fetched
		if err == nil {
			got, err = f.get(ctx, src, t, index, rs, file)
		}
		f.release(src)
		if err == nil {
			got.file, got.keep, got.source, file = file, true, src, nil
			return got, nil
		}
		var m *contentMismatch
		if errors.As(err, &m) {
			m.source = src
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

// get fetches one chunk's bytes from one node into file, refusing an
// answer of the wrong size before reading it, never reading more than
// the chunk, and hashing the bytes as they come.
func (f *Fetcher) get(ctx context.Context, src string, t *wire.FetchChunkTx, index *uint64, rs *rules.Rules, file *os.File) (*fetched, error) {
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
	s := newChunkSink(t)
	defer s.release()
	s.content = wire.NewContentHasher(t.Stream, t.Origin, t.FirstSeq)
	if index != nil {
		if s.digest, err = digest.NewHasher(t.Stream, *index); err != nil {
			return nil, err
		}
		s.rules = rs.NewChecker()
	}
	s.keepIn(file)
	if _, err := s.ReadFrom(resp.Body); err != nil {
		return nil, fmt.Errorf("reading %d bytes: %w", size, err)
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	if s.content.Sum() != t.Content {
		return nil, mismatchOf(s, t, src)
	}
	got := &fetched{}
	if s.digest != nil {
		if got.digest, err = s.digest.Sum(); err != nil {
			return nil, err
		}
		got.verdict = s.rules.Verdict()
	}
	return got, nil
}

// store keeps a fetched chunk's bytes by digest and content id, durably.
// It runs after the attestation, which stands on the hash alone, so the
// disk's fsync is not in the chunk's way to its decision; a node that
// could not keep the bytes says so, and the chunk is served by the others.
func (f *Fetcher) store(j *fetchJob) {
	got := j.kept
	j.kept = nil
	if got == nil || !got.keep {
		return
	}
	file := got.file
	got.file = nil
	if err := f.gw.KeepFetched(j.order.Tx.Content, got.digest, file); err != nil {
		f.log.Error("fetch: storing a fetched chunk", "chunk", j.key.String(), "err", err)
	}
}

// contentMismatch: a source served bytes under the chunk's content id
// that have another. The validator attests no digest for them (the chain
// names other bytes), but says which they were (FetchFinding).
type contentMismatch struct {
	named, content wire.ContentID
	digest         digest.Digest // of the bytes served, under the chunk's index; zero for a prefetch
	source         string
}

func (e *contentMismatch) Error() string {
	return fmt.Sprintf("the bytes have content id %s, the chain names %s", e.content, e.named)
}

func mismatchOf(s *chunkSink, t *wire.FetchChunkTx, src string) *contentMismatch {
	m := &contentMismatch{named: t.Content, content: s.content.Sum(), source: src}
	if s.digest != nil {
		m.digest, _ = s.digest.Sum()
	}
	return m
}

// noteMismatch keeps the content mismatch among a try's errors, if any.
func (f *Fetcher) noteMismatch(j *fetchJob, err error) {
	var m *contentMismatch
	if errors.As(err, &m) && !m.digest.IsZero() {
		j.mismatch = m
	}
}

// gapFinding is what a validator found about a chunk it attests as a gap.
func gapFinding(j *fetchJob, err error) api.FetchFinding {
	named := j.order.Tx.Content.String()
	if m := j.mismatch; m != nil {
		return api.FetchFinding{Outcome: "content-mismatch", ContentNamed: named, Content: m.content.String(), Digest: wire.Digest(m.digest).String(), Source: m.source}
	}
	msg := ""
	if err != nil {
		msg = err.Error()
		if len(msg) > 1000 {
			msg = msg[:1000] + "…"
		}
	}
	return api.FetchFinding{Outcome: "unavailable", ContentNamed: named, Error: msg}
}

// maxFindings bounds the fetch findings a node keeps (a few hundred bytes
// each): the most recent ones, until it restarts.
const maxFindings = 4096

// findings keeps what this node's validator found for its most recently
// fetched chunks, for the record API: the chain holds only the attested
// digest or gap.
type findings struct {
	mu    sync.Mutex
	m     map[wire.ChunkKey]api.FetchFinding
	order []wire.ChunkKey
}

func (x *findings) put(k wire.ChunkKey, v api.FetchFinding) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m == nil {
		x.m = map[wire.ChunkKey]api.FetchFinding{}
	}
	if _, ok := x.m[k]; !ok {
		x.order = append(x.order, k)
	}
	x.m[k] = v
	for len(x.m) > maxFindings {
		delete(x.m, x.order[0])
		x.order = x.order[1:]
	}
}

// Finding returns what this node's validator found when it fetched a
// chunk's bytes, or nil if it does not know (not a fetched chunk, not yet
// fetched, or before this node's last restart).
func (f *Fetcher) Finding(k wire.ChunkKey, validator string) *api.FetchFinding {
	f.findings.mu.Lock()
	defer f.findings.mu.Unlock()
	v, ok := f.findings.m[k]
	if !ok {
		return nil
	}
	v.Validator = validator
	return &v
}
