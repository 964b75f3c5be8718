package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// AppVersion is the application protocol version reported to CometBFT.
const AppVersion = 1

// Buckets of the store.
const (
	bucketMeta      = "meta"      // chain parameters, last height and app hash (not hashed: derived)
	bucketBlocks    = "blocks"    // per-block info (not hashed: derived)
	bucketChunks    = "chunks"    // chunk key → tally.Chunk
	bucketRecords   = "records"   // chunk key → wire.Record (decided chunks)
	bucketDeadlines = "deadlines" // u64 height ‖ chunk key → empty
	bucketCounters  = "counters"  // u16 validator index → tally.Counters
	bucketStreams   = "streams"   // stream id → stream counters
)

var (
	keyChain   = []byte("chain")
	keyGenesis = []byte("genesis")
	keyHeight  = []byte("height")
	keyAppHash = []byte("app_hash")
)

// Config is what the node gives the app.
type Config struct {
	// Dir is the directory of the app's state (the file app.db in it).
	Dir string
	// Scheme verifies extension signatures; required.
	Scheme Scheme
	// Signer signs this node's extensions; nil on a node that is not a
	// validator (ExtendVote then returns an empty extension).
	Signer Signer
	// Attestor supplies this node's attestations; nil attests nothing.
	Attestor Attestor
	// Logger; nil discards.
	Logger *slog.Logger
	// OnCommit, if set, is called after each Commit with what the block
	// did (for the API's feeds). It runs on the consensus goroutine and
	// must not block.
	OnCommit func(CommitSummary)
	// RetainHeight, if set, is called at the end of each Commit with the
	// height just committed and answers the lowest height whose block
	// CometBFT must keep (0: keep everything); Commit returns it to
	// CometBFT, which prunes its blocks and states below it. It is a
	// node's local decision, outside the state and the app hash: the
	// node keeps what receipts need of the pruned blocks elsewhere
	// before it answers. It runs on the consensus goroutine.
	RetainHeight func(height int64) int64
	// Snapshots configures the state sync snapshots the app takes.
	Snapshots SnapshotConfig
	// Prefetch, if set, is called (and must not block) for each fetched
	// chunk a new mempool transaction names, once it passes admission:
	// the node can fetch the bytes while the transaction waits for its
	// block, since they do not depend on the index the block gives.
	Prefetch func(*wire.FetchChunkTx)
}

// CommitSummary is what OnCommit receives.
type CommitSummary struct {
	Height  int64
	AppHash []byte
	Records []*wire.Record // decided in this block, in chunk-key order
	Txs     []TxOutcome    // the block's mempool transactions, in block order
}

// App is the DataDragon ABCI++ application. Create it with New; it is safe
// for concurrent use by CometBFT's connections and by readers.
type App struct {
	abci.BaseApplication

	cfg   Config
	log   *slog.Logger
	store *store.Store
	cache *verifyCache

	chain   atomic.Pointer[chain] // nil until InitChain (or a loaded state)
	lastAtt sync.Map              // validator index → LastAttestation (not state: for the dashboard)
	last    atomic.Pointer[committed]

	mu       sync.Mutex // serialises consensus calls
	pending  *blockResult
	inflight map[int64]map[wire.ChunkKey]tally.Claim // own attestations sent, by extension height
	stale    []wire.ChunkKey                         // offered for settled chunks; told at the next Commit
	warned   bool
	restore  *restoreState // a snapshot being restored (under mu)

	snapBusy atomic.Bool    // a snapshot is being written
	snapAt   atomic.Int64   // the height of the snapshot being written, 0 when none
	snapWG   sync.WaitGroup // the snapshot writer, waited for by Close
}

type committed struct {
	height  int64
	appHash []byte
}

// chain is everything fixed at genesis.
type chain struct {
	ChainID        string
	InitialHeight  int64
	VoteExtHeight  int64 // consensus_params.feature.vote_extensions_enable_height
	MaxBlockBytes  int64
	genesis        *GenesisState
	canonical      []byte
	params         *tally.Params
	pubs           []crypto.PubKey
	addrs          [][]byte
	byAddr         map[string]int
	byZiggy        map[string]int
	streams        map[string]int
	genesisAppHash []byte
	epochs         []*epoch // the validator sets, oldest first (govern.go)
}

// New opens the state in cfg.Dir and returns the app. A fresh directory
// waits for InitChain; an existing one resumes at its last committed
// height (CometBFT's handshake then replays what is missing).
func New(cfg Config) (*App, error) {
	if cfg.Scheme == nil {
		return nil, errors.New("app: no signature scheme configured")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st, err := store.Open(cfg.Dir, store.Options{
		Buckets: stateBuckets,
		Advice:  CorruptAdvice,
	})
	if fe := (*store.FormatError)(nil); errors.As(err, &fe) && fe.Found == store.FormatBeforeStateDigest {
		return nil, fmt.Errorf("app: %w. %s", err, NewChainAdvice)
	}
	if errors.Is(err, store.ErrFormat) {
		return nil, fmt.Errorf("app: %w. %s", err, FormatAdvice)
	}
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a := &App{cfg: cfg, log: log, store: st, cache: newVerifyCache(verifyCacheSize), inflight: map[int64]map[wire.ChunkKey]tally.Claim{}}
	a.last.Store(&committed{})
	if err := a.discardUnfinishedRestore(); err != nil {
		st.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	if err := a.load(); err != nil {
		st.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, fmt.Errorf("app: %w", err)
		}
		return nil, fmt.Errorf("app: loading state from %s: %w", st.Path(), err)
	}
	// Nothing is served, attested or replayed from a damaged file.
	rep, err := a.Scrub(context.Background())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	log.Info("state verified", "file", st.Path(), "bytes", rep.FileBytes, "values", rep.Keys, "blocks", rep.Blocks, "records", rep.Records, "took", rep.Took)
	return a, nil
}

// ZiggyKey returns the Ziggy public key registered for the validator
// with CometBFT address addr — a genesis validator or one governance
// added — and whether there is one.
func (a *App) ZiggyKey(addr []byte) ([]byte, bool) {
	c := a.chain.Load()
	if c == nil {
		return nil, false
	}
	i, ok := c.byAddr[string(addr)]
	if !ok {
		return nil, false
	}
	return c.genesis.Validators[i].ZiggyPubKey, true
}

// StoreUsedBytes is what the state file's pages hold (store.UsedBytes).
func (a *App) StoreUsedBytes() int64 { return a.store.UsedBytes() }

// Close closes the store. Call it after CometBFT has stopped.
func (a *App) Close() error {
	a.snapWG.Wait()
	return a.store.Close()
}

func (a *App) load() error {
	var chainB, genB, hB, ahB []byte
	err := a.store.View(func(tx store.Tx) error {
		m := []byte(bucketMeta)
		chainB, genB, hB, ahB = tx.Get(m, keyChain), tx.Get(m, keyGenesis), tx.Get(m, keyHeight), tx.Get(m, keyAppHash)
		return nil
	})
	if err != nil {
		return err
	}
	if chainB == nil {
		return nil
	}
	var meta chainMeta
	if err := json.Unmarshal(chainB, &meta); err != nil {
		return fmt.Errorf("chain parameters: %w", err)
	}
	g, err := ParseGenesisState(genB)
	if err != nil {
		return err
	}
	c, err := a.buildChain(meta, g)
	if err != nil {
		return err
	}
	a.chain.Store(c)
	cm := &committed{appHash: ahB}
	if len(hB) == 8 {
		cm.height = int64(binary.BigEndian.Uint64(hB))
	}
	a.last.Store(cm)
	return nil
}

type chainMeta struct {
	ChainID       string `json:"chain_id"`
	InitialHeight int64  `json:"initial_height"`
	VoteExtHeight int64  `json:"vote_extensions_enable_height"`
	MaxBlockBytes int64  `json:"max_block_bytes"`
}

func (a *App) buildChain(m chainMeta, g *GenesisState) (*chain, error) {
	c := &chain{ChainID: m.ChainID, InitialHeight: m.InitialHeight, VoteExtHeight: m.VoteExtHeight,
		MaxBlockBytes: m.MaxBlockBytes, genesis: g,
		byAddr: map[string]int{}, byZiggy: map[string]int{}, streams: map[string]int{}}
	powers := make([]int64, len(g.Validators))
	for i := range g.Validators {
		v := &g.Validators[i]
		pk, err := v.PubKey.key()
		if err != nil {
			return nil, err
		}
		if err := a.cfg.Scheme.CheckPublicKey(v.ZiggyPubKey); err != nil {
			return nil, fmt.Errorf("genesis: validator %d (%s): ziggy_pub_key: %w", i, v.Name, err)
		}
		c.pubs = append(c.pubs, pk)
		c.addrs = append(c.addrs, []byte(pk.Address()))
		c.byAddr[string(pk.Address())] = i
		c.byZiggy[string(v.ZiggyPubKey)] = i
		powers[i] = v.Power
	}
	for i, s := range g.Streams {
		if err := s.Validate(a.cfg.Scheme); err != nil {
			return nil, fmt.Errorf("genesis: stream %q: %w", s.ID, err)
		}
		c.streams[s.ID] = i
	}
	p, err := tally.NewParams(powers, g.Threshold.Numerator, g.Threshold.Denominator, g.DisputeWindow)
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	c.params = p
	if c.canonical, err = g.Canonical(); err != nil {
		return nil, err
	}
	c.genesisAppHash = GenesisAppHash(c.ChainID, c.canonical)
	if err := a.loadGovernance(c); err != nil {
		return nil, err
	}
	return c, nil
}

// extensionsExpected reports whether block h must carry the injected
// commit: vote extensions were enabled at h−1 and h−1 is a real height.
func (c *chain) extensionsExpected(h int64) bool {
	return c.VoteExtHeight > 0 && h-1 >= c.VoteExtHeight && h-1 >= c.InitialHeight
}

func (a *App) mustChain() (*chain, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, errors.New("app: the chain is not initialised (no InitChain yet)")
	}
	return c, nil
}

// Info reports the last committed height and app hash, so CometBFT's
// handshake resumes from there after a restart.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	cm := a.last.Load()
	resp := &abci.InfoResponse{Data: "datadragon", Version: "datadragon-app/1", AppVersion: AppVersion,
		LastBlockHeight: cm.height}
	if cm.height > 0 {
		resp.LastBlockAppHash = bytes.Clone(cm.appHash)
	}
	return resp, nil
}

// InitChain reads and validates the genesis app state, checks it against
// CometBFT's validators and consensus parameters, stores it and returns
// the genesis app hash.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last.Load().height > 0 {
		return nil, fmt.Errorf("app: InitChain at height %d: the state already holds blocks", a.last.Load().height)
	}
	if req.ChainId == "" || len(req.ChainId) > MaxChainIDLen {
		return nil, fmt.Errorf("app: chain id %q must have 1 to %d characters", req.ChainId, MaxChainIDLen)
	}
	g, err := ParseGenesisState(req.AppStateBytes)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	meta := chainMeta{ChainID: req.ChainId, InitialHeight: max(req.InitialHeight, 1), MaxBlockBytes: 4 << 20}
	if cp := req.ConsensusParams; cp != nil {
		if cp.Feature != nil && cp.Feature.VoteExtensionsEnableHeight != nil {
			meta.VoteExtHeight = cp.Feature.VoteExtensionsEnableHeight.GetValue()
		}
		if cp.Block != nil && cp.Block.MaxBytes != 0 {
			meta.MaxBlockBytes = cp.Block.MaxBytes
			if meta.MaxBlockBytes < 0 {
				meta.MaxBlockBytes = 100 << 20
			}
		}
	}
	if meta.VoteExtHeight <= 0 {
		return nil, errors.New("app: vote extensions are off; DataDragon's attestations travel in them: set consensus_params.feature.vote_extensions_enable_height in the genesis (to the initial height)")
	}
	c, err := a.buildChain(meta, g)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	// Worst case: every validator's extension at the limit.
	need := int64(len(g.Validators))*int64(wire.MaxExtensionBytes+wire.MaxAddressLen+wire.MaxExtensionSignatureLen+32) + 1024
	if need > meta.MaxBlockBytes {
		return nil, fmt.Errorf("app: %d validators may inject up to %d bytes of vote extensions per block, more than the block limit of %d bytes: raise consensus_params.block.max_bytes", len(g.Validators), need, meta.MaxBlockBytes)
	}
	resp := &abci.InitChainResponse{AppHash: c.genesisAppHash}
	if len(req.Validators) == 0 {
		for i := range g.Validators {
			v := &g.Validators[i]
			resp.Validators = append(resp.Validators, abci.ValidatorUpdate{Power: v.Power, PubKeyType: v.PubKey.Type, PubKeyBytes: v.PubKey.Value})
		}
	} else if err := matchValidators(g, req.Validators); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	metaB, _ := json.Marshal(meta)
	b := a.store.NewBatch()
	b.Put([]byte(bucketMeta), keyChain, metaB)
	b.Put([]byte(bucketMeta), keyGenesis, c.canonical)
	b.Put([]byte(bucketMeta), keyHeight, u64(0))
	b.Put([]byte(bucketMeta), keyAppHash, c.genesisAppHash)
	digest, err := digestAfter(b)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	b.Put([]byte(bucketMeta), keyStateDigest, digest.Marshal())
	if err := b.Commit(); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.chain.Store(c)
	a.last.Store(&committed{height: 0, appHash: c.genesisAppHash})
	a.log.Info("chain initialised", "chain_id", c.ChainID, "validators", len(g.Validators),
		"streams", len(g.Streams), "threshold", fmt.Sprintf("%d/%d", g.Threshold.Numerator, g.Threshold.Denominator),
		"dispute_window", g.DisputeWindow)
	return resp, nil
}

// matchValidators checks that CometBFT's genesis validators are exactly
// the app state's, with the same powers.
func matchValidators(g *GenesisState, vals []abci.ValidatorUpdate) error {
	want := map[string]int64{}
	for _, v := range g.Validators {
		want[v.PubKey.Type+"/"+string(v.PubKey.Value)] = v.Power
	}
	seen := map[string]bool{}
	for _, v := range vals {
		t, ok := keyTypeAliases[v.PubKeyType]
		if !ok {
			t = v.PubKeyType
		}
		k := t + "/" + string(v.PubKeyBytes)
		p, ok := want[k]
		if !ok {
			return fmt.Errorf("CometBFT genesis validator %s:%X is not in the app_state validators", v.PubKeyType, v.PubKeyBytes)
		}
		if p != v.Power {
			return fmt.Errorf("CometBFT genesis validator %s:%X has power %d, the app_state says %d", v.PubKeyType, v.PubKeyBytes, v.Power, p)
		}
		seen[k] = true
	}
	if len(seen) != len(want) {
		return fmt.Errorf("the app_state lists %d validators, CometBFT's genesis %d: they must be the same set", len(want), len(seen))
	}
	return nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func deadlineKey(h int64, k wire.ChunkKey) []byte {
	return append(u64(uint64(h)), k.Bytes()...)
}

// blockInfo is stored per height in the blocks bucket.
type blockInfo struct {
	Height        int64
	TimeMs        int64
	PrevAppHash   []byte
	RecordRoot    [32]byte
	ChangesetHash [32]byte
	AppHash       []byte
	Accepted      []wire.ChunkKey // in record-root order
	Disputed      []wire.ChunkKey
	Attestations  uint32 // attestations applied (any effect)
	Extensions    uint32 // non-empty extensions counted
}

func (b *blockInfo) marshal() []byte {
	w := codec.Writer{}
	w.U8(1)
	w.I64(b.Height)
	w.I64(b.TimeMs)
	w.Bytes8(b.PrevAppHash)
	w.Raw(b.RecordRoot[:])
	w.Raw(b.ChangesetHash[:])
	w.Bytes8(b.AppHash)
	for _, ks := range [][]wire.ChunkKey{b.Accepted, b.Disputed} {
		w.U32(uint32(len(ks)))
		for _, k := range ks {
			w.Bytes8([]byte(k.Stream))
			w.U64(k.Index)
		}
	}
	w.U32(b.Attestations)
	w.U32(b.Extensions)
	return w.B
}

func unmarshalBlockInfo(data []byte) (*blockInfo, error) {
	r := codec.NewReader(data)
	if v := r.U8(); r.Err() == nil && v != 1 {
		return nil, fmt.Errorf("block info version %d", v)
	}
	b := &blockInfo{}
	b.Height = r.I64()
	b.TimeMs = r.I64()
	b.PrevAppHash = r.Bytes8(64, "previous app hash")
	r.Fixed(b.RecordRoot[:])
	r.Fixed(b.ChangesetHash[:])
	b.AppHash = r.Bytes8(64, "app hash")
	for _, ks := range []*[]wire.ChunkKey{&b.Accepted, &b.Disputed} {
		n := r.U32()
		if uint64(n) > uint64(r.Remaining()/9) {
			r.Fail(codec.ErrShort)
		}
		for i := uint32(0); i < n && r.Err() == nil; i++ {
			s := r.Bytes8(wire.MaxStreamIDLen, "stream id")
			*ks = append(*ks, wire.ChunkKey{Stream: string(s), Index: r.U64()})
		}
	}
	b.Attestations = r.U32()
	b.Extensions = r.U32()
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("block info: %w", err)
	}
	return b, nil
}
