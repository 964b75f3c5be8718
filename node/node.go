package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/datadragon/datadragon/api"
	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/gateway"
	"github.com/datadragon/datadragon/ingest"
	"github.com/datadragon/datadragon/ingest/chunk"
	"github.com/datadragon/datadragon/ingest/observe"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Node is one DataDragon validator: CometBFT consensus with the app in
// process, ingest observing every registered stream, and the attestor
// between them.
type Node struct {
	home       string
	cfg        *Config
	log        *slog.Logger
	app        *app.App
	cmt        *cmtnode.Node
	att        *Attestor
	fetcher    *Fetcher
	genesis    *app.GenesisState
	feed       *api.Feed
	gw         *gateway.Gateway
	api        *http.Server
	apiLn      net.Listener
	srcTLS     *tls.Config  // for wss:// sources; nil: the system roots
	archive    *archive     // data/receipts.db
	blockDB    dbm.DB       // CometBFT's block store database, for pruneExtCommits
	stateDB    dbm.DB       // CometBFT's state database, for the stored retain height
	lastRetain int64        // the highest retain height answered or stored
	ecFloor    atomic.Int64 // extended commits below it are deleted (read by tests while consensus runs)
	retainErr  string       // the last archiving error logged
	summ       *summarizer  // this validator's epoch summaries; nil: none
	snapExtra  *snapshotExtra

	srcMu     sync.Mutex
	srcStatus map[string]string // by stream: why its observer is not delivering

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	state  int // 0 opened, 1 started, 2 stopped
}

// Options tune a node beyond its home's settings.
type Options struct {
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// CometLogLevel is CometBFT's log level ("error", "info", "debug");
	// empty silences CometBFT.
	CometLogLevel string
	// CometLogOutput receives CometBFT's log lines (absent: standard
	// error).
	CometLogOutput io.Writer
	// OnCommit is called after every block the app commits.
	OnCommit func(app.CommitSummary)
	// Version is shown by the API.
	Version string
}

// Open loads a node home (written by InitHomes / 'datadragon init').
func Open(home string, o Options) (*Node, error) {
	cfg, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	// TLS files are read before anything is opened, so a missing or bad
	// one is reported at once, naming it.
	apiTLS, err := cfg.ServerTLS(home)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	srcTLS, err := cfg.SourceTLS(home)
	if err != nil {
		return nil, fmt.Errorf("node: %w (change it in %s)", err, filepath.Join(home, NodeFile))
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("node", cfg.Moniker)
	if w := cfg.snapshotWarning(); w != "" {
		logger.Warn(w)
	}
	priv, err := ziggy.LoadPrivateKey(filepath.Join(home, ZiggyKeyFile))
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	ccfg := cfg.comet(home)
	gen, err := cmttypes.GenesisDocFromFile(ccfg.GenesisFile())
	if err != nil {
		return nil, fmt.Errorf("node: genesis: %w", err)
	}
	gs, err := app.ParseGenesisState(gen.AppState)
	if err != nil {
		return nil, fmt.Errorf("node: genesis app_state: %w", err)
	}
	att := NewAttestor(cfg.FaultRate)
	att.skewMs = cfg.ClockSkewMs
	feed := api.NewFeed(api.FeedOptions{})
	var gw *gateway.Gateway // set below, before CometBFT starts
	onCommit := func(s app.CommitSummary) {
		feed.Publish(s)
		if gw != nil {
			gw.Committed(s)
		}
		if o.OnCommit != nil {
			o.OnCommit(s)
		}
	}
	ar, err := openArchive(home)
	if err != nil {
		return nil, err
	}
	if found, err := ar.discardUnfinishedImport(); err != nil {
		ar.Close()
		return nil, fmt.Errorf("node: the receipt archive %s: %w", ar.path, err)
	} else if found {
		logger.Warn("the receipt archive holds a state sync import that never finished; discarded it (state sync starts again)", "archive", ar.path)
	}
	// The node answers the retain height once it exists: the blocks
	// CometBFT's handshake replays before that are archived afterwards.
	var self atomic.Pointer[Node]
	extra := &snapshotExtra{node: self.Load, ar: ar}
	var fetcher *Fetcher // set below, before CometBFT starts
	a, err := app.New(app.Config{
		Prefetch: func(t *wire.FetchChunkTx) {
			if fetcher != nil {
				fetcher.Prefetch(t)
			}
		},
		Dir:      filepath.Join(home, "data", "app"),
		Scheme:   ziggysig.Scheme{},
		Signer:   ziggysig.NewSigner(priv),
		Attestor: att,
		Logger:   logger,
		OnCommit: onCommit,
		RetainHeight: func(h int64) int64 {
			if n := self.Load(); n != nil {
				return n.retain(h)
			}
			return 0
		},
		Snapshots: cfg.snapshotConfig(extra),
	})
	if err != nil {
		ar.Close()
		return nil, err
	}
	// Pushed chunks still without a record: attest them again (what the
	// attestor held before a restart is gone).
	att.pushed = a.PushedChunk
	nodeKey, err := p2p.LoadNodeKey(ccfg.NodeKeyFile())
	if err != nil {
		a.Close()
		ar.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	// The validator's sign state (data/priv_validator_state.json) persists
	// across restarts, so it never double-signs a height.
	pv := privval.LoadFilePV(ccfg.PrivValidatorKeyFile(), ccfg.PrivValidatorStateFile())
	clog := cmtlog.NewNopLogger()
	if o.CometLogLevel != "" {
		lvl, err := cmtlog.AllowLevel(o.CometLogLevel)
		if err != nil {
			a.Close()
			ar.Close()
			return nil, fmt.Errorf("node: CometBFT log level: %w", err)
		}
		out := o.CometLogOutput
		if out == nil {
			out = os.Stderr
		}
		clog = cmtlog.NewFilter(cmtlog.NewTMLogger(cmtlog.NewSyncWriter(out)), lvl).With("node", cfg.Moniker)
	}
	var blockDB, stateDB dbm.DB
	dbProvider := func(ctx *cmtcfg.DBContext) (dbm.DB, error) {
		db, err := guardedDBProvider(ctx)
		if err == nil && ctx.ID == "blockstore" {
			blockDB = db
		}
		if err == nil && ctx.ID == "state" {
			stateDB = db
		}
		return db, err
	}
	cn, err := cmtnode.NewNode(context.Background(), ccfg, pv, nodeKey,
		proxy.NewLocalClientCreator(a),
		cmtnode.DefaultGenesisDocProviderFunc(ccfg),
		dbProvider, cmtnode.DefaultMetricsProvider(ccfg.Instrumentation), clog)
	if err != nil {
		a.Close()
		ar.Close()
		return nil, fmt.Errorf("node: starting CometBFT: %w", err)
	}
	reg := prometheus.NewRegistry() // the API serves it at /metrics
	gw, err = gateway.Open(gateway.Config{Dir: filepath.Join(home, "data", "gateway"), Chain: &gatewayChain{app: a, rpc: local.New(cn)}, Logger: logger, Registry: reg,
		Retention: cfg.gatewayRetention(), PublicURL: cfg.publicURL()})
	if err != nil {
		a.Close()
		ar.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	fetcher = newFetcher(time.Duration(cfg.FetchWindow), cfg.publicURL(), cfg.PeerAPIs, gw,
		func(p app.PushedChunk) { att.AddPushed([]app.PushedChunk{p}) }, logger)
	if len(cfg.FetchBlocked) > 0 {
		blocked := cfg.FetchBlocked
		fetcher.blocked = func(u string) bool { return slices.Contains(blocked, u) }
	}
	att.fetch = fetcher.Add
	att.AddPushed(a.PendingPushed())
	n := &Node{home: home, cfg: cfg, log: logger, app: a, cmt: cn, att: att, fetcher: fetcher, genesis: gs, feed: feed, gw: gw, srcTLS: srcTLS,
		archive: ar, blockDB: blockDB, stateDB: stateDB, snapExtra: extra}
	n.setupSummaries(priv, pv.Key.Address, local.New(cn))
	if err := n.startArchive(); err != nil {
		gw.Close()
		a.Close()
		ar.Close()
		return nil, err
	}
	floor, err := ar.meta(keyExtCommits)
	if err != nil {
		gw.Close()
		a.Close()
		ar.Close()
		return nil, err
	}
	n.ecFloor.Store(floor)
	if cfg.API != "" {
		h, err := api.New(api.Config{
			App: a, Receipts: n, Feed: feed, Registry: reg, Logger: logger, Push: gw.Handler(), PushErrors: gw.StreamErrors, SourceStatus: n.SourceStatus,
			FetchFinding: func(stream string, index uint64) *api.FetchFinding {
				return fetcher.Finding(wire.ChunkKey{Stream: stream, Index: index}, cfg.Moniker)
			},
			Node:      api.NodeInfo{Moniker: cfg.Moniker, Version: o.Version, Height: n.Height},
			Genesis:   func() (*cmttypes.GenesisDoc, error) { return cmttypes.GenesisDocFromFile(ccfg.GenesisFile()) },
			RateLimit: cfg.RateLimit.api(),
		})
		if err != nil {
			gw.Close()
			a.Close()
			ar.Close()
			return nil, err
		}
		// Listen now, so a port in use is reported before anything starts.
		ln, err := net.Listen("tcp", cfg.API)
		if err != nil {
			gw.Close()
			a.Close()
			ar.Close()
			return nil, fmt.Errorf("node: API address %s: %w (change api_listen in %s)", cfg.API, err, filepath.Join(home, NodeFile))
		}
		n.api, n.apiLn = api.Server(cfg.API, h), ln
		// With a certificate the API, explorer and push endpoint are
		// served over HTTPS only (Start uses ServeTLS).
		n.api.TLSConfig = apiTLS
	}
	self.Store(n)
	return n, nil
}

// Start starts consensus and the stream followers.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state != 0 {
		return errors.New("node: already started")
	}
	if err := n.cmt.Start(); err != nil {
		return fmt.Errorf("node: starting CometBFT: %w", err)
	}
	n.state = 1
	n.fetcher.Start()
	if n.api != nil {
		go func() {
			serve := n.api.Serve
			if n.api.TLSConfig != nil {
				serve = func(ln net.Listener) error { return n.api.ServeTLS(ln, "", "") }
			}
			if err := serve(n.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				n.log.Error("API server stopped", "err", err)
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		n.followStreams(ctx)
	}()
	go func() {
		defer n.wg.Done()
		n.pruneWALLoop(ctx, n.cfg.comet(n.home).Consensus.WalFile())
	}()
	go func() {
		defer n.wg.Done()
		n.scrub(ctx, n.cfg.scrubInterval())
	}()
	return nil
}

// scrub verifies the app's state file every interval until ctx ends or
// it finds damage. Damage marks the app's store corrupt: from then on the
// API answers 503 with the app's message (the file and what to do),
// /healthz is unhealthy, and the validator stops attesting and voting.
func (n *Node) scrub(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := n.app.Scrub(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			n.log.Error("the state file is damaged; this node stops serving and voting", "err", err)
			return
		}
		n.log.Info("state verified", "bytes", rep.FileBytes, "values", rep.Keys, "blocks", rep.Blocks, "records", rep.Records, "took", rep.Took)
	}
}

// followStreams follows every observed stream: the genesis ones at once,
// and streams registered later as their registrations are committed.
func (n *Node) followStreams(ctx context.Context) {
	followed := map[string]bool{}
	start := func(s app.Stream) {
		if followed[s.ID] || s.IsPush() {
			return
		}
		followed[s.ID] = true
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if s.IsRaw() {
				n.followRaw(ctx, s)
				return
			}
			n.follow(ctx, s)
		}()
	}
	for _, s := range n.genesis.Streams {
		start(s)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		all, err := n.app.Streams()
		if err != nil {
			continue
		}
		for _, si := range all {
			start(si.Stream)
		}
	}
}

// follow observes one stream until ctx ends, restarting after failures.
func (n *Node) follow(ctx context.Context, s app.Stream) {
	policy := chunk.EverySeq(s.Chunk.Messages)
	if s.Chunk.WindowMs > 0 {
		policy = chunk.EveryWindow(time.Duration(s.Chunk.WindowMs) * time.Millisecond)
	}
	// The genesis (or registration) validated the rules; a stream whose
	// rules do not parse here is followed without them and says so.
	rs, err := rules.Parse(s.Rules)
	if err != nil {
		n.log.Error("stream rules do not parse; chunks are attested without them", "stream", s.ID, "err", err)
	}
	// A source that cannot be reached (down, or a wss:// certificate that
	// does not verify) is retried for ever: say so once per distinct error.
	var lastErr string
	behind := false
	onEvent := func(ev observe.Event) {
		switch ev := ev.(type) {
		case observe.Disconnected:
			if msg := ev.Err.Error(); msg != lastErr {
				lastErr = msg
				n.log.Warn("stream source unreachable; retrying", "stream", s.ID, "err", ev.Err)
				n.setSourceStatus(s.ID, "source unreachable, retrying: "+msg)
			}
		case observe.Connected:
			if lastErr != "" {
				n.log.Info("stream source reconnected", "stream", s.ID, "from", ev.From)
				lastErr = ""
				n.setSourceStatus(s.ID, "")
			}
		case observe.Behind:
			// A source that restarted from an earlier seq: this node waits
			// for it to reach the seq it needs, and says so.
			behind = true
			msg := fmt.Sprintf("the source is at seq %d, behind seq %d that this node waits for (it restarted from an earlier seq?); observing resumes when it gets there", ev.Next, ev.Want)
			n.log.Warn("stream source is behind", "stream", s.ID, "source_seq", ev.Next, "waiting_for", ev.Want)
			n.setSourceStatus(s.ID, msg)
		case observe.Data, observe.Gap:
			if behind {
				behind = false
				n.log.Info("stream source caught up", "stream", s.ID)
				n.setSourceStatus(s.ID, "")
			}
		}
	}
	replay := &replayWatch{n: n, stream: s.ID}
	for ctx.Err() == nil {
		err := ingest.Follow(ctx, ingest.Config{
			Stream:  s.ID,
			Policy:  policy,
			Source:  observe.Config{URL: s.Source, TLS: n.srcTLS},
			OnEvent: onEvent,
		}, func(o ingest.Observed) error {
			replay.check(o.Index)
			v := wire.OK
			if rs != nil && o.Status == chunk.Complete {
				msgs := make([][]byte, len(o.Frames))
				for i, f := range o.Frames {
					msgs[i] = f.Payload
				}
				v = rs.Check(msgs)
			}
			n.att.AddVerdict(o, v)
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("stream follower stopped; restarting", "stream", s.ID, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Stop stops the node in the order that loses nothing: ingest first (no
// new attestations), then CometBFT (no more ABCI calls; Wait lets its
// goroutines finish), then the app's store.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == 2 {
		return nil
	}
	if n.api != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		n.api.Shutdown(sctx)
		cancel()
		if n.state == 0 {
			n.apiLn.Close()
		}
	}
	n.feed.Close()
	n.fetcher.Stop()
	// The gateway's logs hold everything it acknowledged; it stops
	// submitting before CometBFT goes.
	if err := n.gw.Close(); err != nil {
		n.log.Error("closing the gateway", "err", err)
	}
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	var errs []error
	if n.state == 1 {
		if err := n.cmt.Stop(); err != nil {
			errs = append(errs, err)
		}
		n.cmt.Wait()
	}
	n.state = 2
	if err := n.app.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := n.archive.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// App is the node's application, for the API's reads.
func (n *Node) App() *app.App { return n.app }

// Config is the node's configuration.
func (n *Node) Config() *Config { return n.cfg }

// Height is the last height CometBFT stored.
func (n *Node) Height() int64 { return n.cmt.BlockStore().Height() }

// SourceStatus returns, by observed stream, why this node's observer is
// not delivering, for the streams where it is not.
func (n *Node) SourceStatus() map[string]string {
	n.srcMu.Lock()
	defer n.srcMu.Unlock()
	out := make(map[string]string, len(n.srcStatus))
	for k, v := range n.srcStatus {
		out[k] = v
	}
	return out
}

func (n *Node) setSourceStatus(stream, msg string) {
	n.srcMu.Lock()
	defer n.srcMu.Unlock()
	if msg == "" {
		delete(n.srcStatus, stream)
		return
	}
	if n.srcStatus == nil {
		n.srcStatus = map[string]string{}
	}
	n.srcStatus[stream] = msg
}

// replayWatch notices a source that sends again chunks the chain decided
// long ago — one that restarted from an earlier seq, while this node
// observes it from the start: its chunks count for nothing until it
// reaches the chain's index again. The node says so in its log and in
// /v1/streams rather than fall silent for as long.
type replayWatch struct {
	n         *Node
	stream    string
	replaying bool
	last      time.Time // when the chain was last asked
}

func (r *replayWatch) check(index uint64) {
	// A store read per chunk would sit on the observer's path (a gap burst
	// closes hundreds of chunks at once): once a second is enough to say
	// so in the log.
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		return
	}
	r.last = now
	si, err := r.n.app.Stream(r.stream)
	if err != nil || si.LastIndex == nil {
		return
	}
	last := *si.LastIndex
	// Two chunks of slack: a node a little behind its peers is not a
	// replay.
	behind := index+2 < last
	switch {
	case behind && !r.replaying:
		r.replaying = true
		r.n.log.Warn("stream source is sending chunks the chain decided long ago (it restarted from an earlier seq?)", "stream", r.stream, "chunk", index, "chain_last", last)
		r.n.setSourceStatus(r.stream, fmt.Sprintf("the source is sending chunk %d again while the chain has accepted up to %d (it restarted from an earlier seq?); this node attests again once it reaches chunk %d", index, last, last+1))
	case !behind && r.replaying:
		r.replaying = false
		r.n.log.Info("stream source caught up with the chain", "stream", r.stream, "chunk", index)
		r.n.setSourceStatus(r.stream, "")
	}
}
