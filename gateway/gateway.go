package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// Chain is what the gateway needs of its node.
type Chain interface {
	// ChainID is the network's chain id.
	ChainID() string
	// Stream returns a registered stream (app.ErrNotFound if none).
	Stream(id string) (app.StreamInfo, error)
	// Check runs the app's admission checks on tx without submitting it.
	Check(tx []byte) (code uint32, log string)
	// Submit hands tx to the node's mempool, which gossips it to every
	// validator. code is CheckTx's.
	Submit(tx []byte) (code uint32, log string, err error)
	// PushedKey says which chunk a gateway chunk became on chain.
	PushedKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) (wire.ChunkKey, bool)
	// RecordStatus returns "accepted" or "disputed" for a decided chunk,
	// "pending" while it is tallied or on chain, "" if the chain has never
	// heard of it.
	RecordStatus(k wire.ChunkKey) string
}

// Config configures a gateway.
type Config struct {
	// Dir holds one directory per pushed stream (durable logs).
	Dir   string
	Chain Chain
	// Logger; nil discards.
	Logger *slog.Logger
	// FlushAfter closes a chunk that has had no new message for this long
	// (default 1 s), so a slow producer's data does not wait for M
	// messages.
	FlushAfter time.Duration
	// ResubmitAfter resubmits a chunk that is not on chain this long after
	// its submission (default 15 s): a mempool may drop transactions.
	ResubmitAfter time.Duration
	// MaxInflight bounds chunks submitted but not yet on chain, per stream
	// (default 32).
	MaxInflight int
	// NoSync skips fsync: for benchmarks that measure everything else.
	// Never in production: acknowledgements would not be durable.
	NoSync bool
	// WSIdleTimeout closes a push WebSocket on which no frame begins for
	// this long (default DefaultWSIdleTimeout); WSFrameTimeout one whose
	// frame, once begun, is not whole within this long (default
	// DefaultWSFrameTimeout).
	WSIdleTimeout, WSFrameTimeout time.Duration
	// MaxWSConns caps the push WebSockets open at once (default
	// DefaultMaxWSConns; more are answered 503), MaxWSConnsPerClient
	// those of one client address, IPv6 by /64 (default
	// DefaultMaxWSConnsPerClient; more are answered 429).
	MaxWSConns, MaxWSConnsPerClient int
	// Registry receives the gateway's metrics; nil makes a private one.
	Registry *prometheus.Registry
	// LogSegmentBytes is the size of the segment files of a stream's log
	// (default DefaultLogSegmentBytes): a decided prefix of the log is
	// deleted a whole segment at a time, so this bounds what a stream
	// keeps of messages already done with.
	LogSegmentBytes int64
	// Retention is the object retention policy by stream id; the entry
	// "*" applies to every stream without one of its own. No entry: the
	// stream's objects are kept forever (see Retention for why).
	Retention map[string]Retention
	// RetentionEvery is how often a stream's policy runs (default
	// DefaultRetentionEvery); RetentionBatch bounds the objects one pass
	// releases (default DefaultRetentionBatch), so that a policy made
	// stricter on a large store catches up over several passes.
	RetentionEvery time.Duration
	RetentionBatch int
	// PublicURL is the base URL (scheme, host, port) at which validators
	// reach this node's API. Set, chunks of streams without producers go
	// on chain without their bytes, which every validator fetches from
	// here (GET /v1/fetch/{content}) or from a peer; empty, each chunk's
	// transaction carries its bytes (at most 1 MiB a chunk).
	PublicURL string

	clock func() time.Time // tests move time; nil: time.Now
}

// DefaultLogSegmentBytes is the default size of a stream log's segment
// files: small enough that the log of a steady push keeps a few MiB of
// decided messages at most, large enough that rotating (three fsyncs)
// is rare.
const DefaultLogSegmentBytes = 8 << 20

// MaxUploadPart bounds one upload request's body.
const MaxUploadPart = 64 << 20

// DefaultPiece is the message size an upload is cut into.
const DefaultPiece = 64 << 10

// Gateway takes producers' pushes for one node. Create it with Open; its
// Handler serves the push API; Committed must be called after every
// block.
type Gateway struct {
	cfg Config
	log *slog.Logger

	objects *objectStore
	metrics *metrics
	ws      wsConns
	wsQueue int          // wsQueueBytes; tests lower it
	wsPeak  atomic.Int64 // the most bytes one push WebSocket had queued

	content  contentIndex
	fetchSem chan struct{}
	faultMu  sync.Mutex
	faults   FetchFaults
	// prefetched counts the files in objects/prefetch.
	prefetched atomic.Int64

	mu      sync.Mutex
	streams map[string]*pushStream
	failed  map[string]error // streams whose log could not be opened, and why
	closed  bool
	wg      sync.WaitGroup
	stop    chan struct{}
}

// Open opens the gateway's directory and recovers every stream log in it:
// chunks that are logged but not on chain are submitted again. A stream
// whose log cannot be recovered (damage no crash leaves) does not stop the
// others, nor the node: it is logged, listed by StreamErrors, and every
// push to it is answered 503 with the reason until its directory is
// repaired and the node restarted.
func Open(cfg Config) (*Gateway, error) {
	if cfg.Chain == nil {
		return nil, errors.New("gateway: no chain")
	}
	if cfg.FlushAfter <= 0 {
		cfg.FlushAfter = time.Second
	}
	if cfg.PublicURL != "" {
		t := wire.FetchChunkTx{Stream: "x", Origin: [wire.OriginSize]byte{1}, Lengths: []uint32{1}, Content: wire.ContentID{1}, Source: cfg.PublicURL}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("gateway: public URL: %w", err)
		}
	}
	if cfg.ResubmitAfter <= 0 {
		cfg.ResubmitAfter = 15 * time.Second
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = 32
	}
	if cfg.WSIdleTimeout <= 0 {
		cfg.WSIdleTimeout = DefaultWSIdleTimeout
	}
	if cfg.WSFrameTimeout <= 0 {
		cfg.WSFrameTimeout = DefaultWSFrameTimeout
	}
	if cfg.MaxWSConns <= 0 {
		cfg.MaxWSConns = DefaultMaxWSConns
	}
	if cfg.MaxWSConnsPerClient <= 0 {
		cfg.MaxWSConnsPerClient = DefaultMaxWSConnsPerClient
	}
	switch {
	case cfg.LogSegmentBytes == 0:
		cfg.LogSegmentBytes = DefaultLogSegmentBytes
	case cfg.LogSegmentBytes < 1<<16 || cfg.LogSegmentBytes > 1<<30:
		return nil, fmt.Errorf("gateway: LogSegmentBytes %d is out of range: use 64 KiB to 1 GiB, or 0 for the default %d", cfg.LogSegmentBytes, DefaultLogSegmentBytes)
	}
	for id, r := range cfg.Retention {
		if id != "*" {
			if err := wire.ValidateStreamID(id); err != nil {
				return nil, fmt.Errorf("gateway: retention policy for %q: the stream id is not valid (%v); use a stream id or \"*\" for every stream", id, err)
			}
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("gateway: retention policy for %q: %w", id, err)
		}
	}
	if cfg.RetentionEvery <= 0 {
		cfg.RetentionEvery = DefaultRetentionEvery
	}
	if cfg.RetentionBatch <= 0 {
		cfg.RetentionBatch = DefaultRetentionBatch
	}
	if cfg.clock == nil {
		cfg.clock = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, fmt.Errorf("gateway: metrics: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g := &Gateway{cfg: cfg, log: log, streams: map[string]*pushStream{}, failed: map[string]error{}, stop: make(chan struct{}),
		metrics: m, ws: wsConns{byClient: map[string]int{}}, wsQueue: wsQueueBytes, fetchSem: make(chan struct{}, maxFetchServing),
		objects: &objectStore{dir: filepath.Join(cfg.Dir, objectsDir), noSync: cfg.NoSync}}
	// Chunks fetched ahead of their block are a cache of one run.
	os.RemoveAll(filepath.Join(cfg.Dir, objectsDir, prefetchDir))
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == objectsDir || wire.ValidateStreamID(e.Name()) != nil {
			continue
		}
		if _, err := g.stream(e.Name(), nil); err != nil {
			g.log.Error("gateway: a stream's log cannot be opened; the node runs without it", "stream", e.Name(), "err", err)
		}
	}
	return g, nil
}

// stream returns the stream's log, opening or creating it. spec is needed
// to create one (its chunk size is fixed at creation).
func (g *Gateway) stream(id string, spec *app.StreamInfo) (*pushStream, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errors.New("gateway: closed")
	}
	if ps, ok := g.streams[id]; ok {
		return ps, nil
	}
	if err, ok := g.failed[id]; ok {
		return nil, err
	}
	dir := filepath.Join(g.cfg.Dir, id)
	_, statErr := os.Stat(filepath.Join(dir, originFile))
	if spec == nil && statErr != nil {
		return nil, fmt.Errorf("gateway: stream %s: %w", id, statErr)
	}
	ps, err := openPushStream(g, id, dir, spec)
	if err != nil {
		if statErr != nil {
			// A new log that could not be created (the disk, say): the
			// next push tries again.
			return nil, fmt.Errorf("gateway: stream %s: creating its log in %s: %w", id, dir, err)
		}
		// An existing log that cannot be recovered stays refused: opening
		// it again would meet the same damage.
		err = &httpError{http.StatusServiceUnavailable, fmt.Sprintf("gateway: stream %s cannot be opened on this node: %v. "+
			"%s is left as it was, but for a log's torn tail, which holds nothing acknowledged. The node runs without this stream's gateway: restore that directory from a copy, "+
			"or move it aside to start a new log (chunks already on chain stay; producers push again what this node had not put on chain), then restart the node", id, err, dir)}
		g.failed[id] = err
		return nil, err
	}
	g.streams[id] = ps
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ps.run(g.stop)
	}()
	return ps, nil
}

// StreamErrors returns, by stream, why a stream takes no pushes on this
// gateway: its log could not be opened, or a write or fsync of it failed
// since (the outcome of that write is unknown, so the log accepts nothing
// more until the node restarts and recovers it).
func (g *Gateway) StreamErrors() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.failed))
	for id, err := range g.failed {
		out[id] = err.Error()
	}
	for id, ps := range g.streams {
		ps.mu.Lock()
		if ps.broken != nil {
			out[id] = ps.broken.Error()
		}
		ps.mu.Unlock()
	}
	return out
}

// Committed tells the gateway what a block did: which of its chunks are
// on chain (or refused), and which are decided.
func (g *Gateway) Committed(s app.CommitSummary) {
	g.mu.Lock()
	streams := make([]*pushStream, 0, len(g.streams))
	for _, ps := range g.streams {
		streams = append(streams, ps)
	}
	g.mu.Unlock()
	for _, ps := range streams {
		ps.committed(s)
	}
}

// Close stops the submitters and closes every log. Nothing acknowledged
// is lost: it is in the logs, and Open resumes.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	close(g.stop)
	g.mu.Unlock()
	g.wg.Wait()
	var first error
	for _, ps := range g.streams {
		if err := ps.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// authorize checks an unsigned push's credential: a bearer token whose
// SHA-256 the stream registers, or the loopback when the stream is open
// to it.
func authorize(r *http.Request, s *app.StreamInfo) error {
	if tok, ok := bearer(r); ok {
		sum := sha256.Sum256([]byte(tok))
		for _, h := range s.WriteTokens {
			if subtle.ConstantTimeCompare(sum[:], h) == 1 {
				return nil
			}
		}
		return errForbidden("the token is not one of stream %q's write tokens", s.ID)
	}
	if s.OpenLoopback && isLoopback(r.RemoteAddr) {
		return nil
	}
	if len(s.WriteTokens) == 0 && !s.OpenLoopback {
		return errForbidden("stream %q takes no unsigned pushes here: its owner registered no write tokens", s.ID)
	}
	return errUnauthorized("stream %q needs a write token: send 'Authorization: Bearer <token>' (datadragon stream --token)", s.ID)
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):], true
	}
	return "", false
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
