package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/datadragon/datadragon/api"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway"
)

// Config is a node's own settings, kept in HOME/node.json. CometBFT's
// configuration is derived from it in code, so one small file says
// everything an operator may change.
type Config struct {
	Moniker string `json:"moniker"`
	// P2PListen is where CometBFT's peer-to-peer layer listens (host:port).
	P2PListen string `json:"p2p_listen"`
	// P2PExternal is the host:port the other nodes reach this node's
	// peer-to-peer layer at, when that is not P2PListen (a node listening
	// on 0.0.0.0 in a container, behind NAT). CometBFT tells peers this
	// address, and a peer that lost a connection this node had opened
	// redials it: with 0.0.0.0 there, only this node could ever reconnect,
	// and a partition that moved its address would never heal.
	P2PExternal string `json:"p2p_external,omitempty"`
	// RPCListen is CometBFT's own RPC (host:port); empty disables it.
	RPCListen string `json:"rpc_listen,omitempty"`
	// Peers are the other validators, as node-id@host:port.
	Peers []string `json:"peers"`
	// CommitTimeout is CometBFT's pause after each commit; it sets the
	// block rate (about 6 blocks/s at 100ms on a small machine).
	CommitTimeout Duration `json:"commit_timeout"`
	// API is where the HTTP API listens (host:port); empty disables it.
	API string `json:"api_listen,omitempty"`
	// FaultRate makes this validator attest a wrong digest for that
	// fraction of chunks: fault injection for tests and demos only.
	FaultRate float64 `json:"fault_rate,omitempty"`
	// ClockSkewMs shifts this validator's observation times by that many
	// milliseconds: fault injection for tests and demos only (a record's
	// timestamp is the power-weighted median of the majority's times, so
	// one skewed clock cannot move it).
	ClockSkewMs int64 `json:"clock_skew_ms,omitempty"`
	// TLSCertFile and TLSKeyFile, set together, make the API (with the
	// explorer and the push endpoint) serve HTTPS only: a PEM certificate
	// chain, leaf first, and its private key. Relative paths are relative
	// to the home.
	TLSCertFile string `json:"tls_cert_file,omitempty"`
	TLSKeyFile  string `json:"tls_key_file,omitempty"`
	// SourceCAFile is a PEM bundle of CA certificates trusted, besides the
	// system's, when observers dial wss:// sources; empty: the system's
	// only. Relative to the home unless absolute.
	SourceCAFile string `json:"source_ca_file,omitempty"`
	// RateLimit tunes the API's per-client limits; absent fields keep the
	// defaults (reads 100/s in bursts of 400, writes 20/s in bursts of
	// 100, the node's own machine exempt). A negative rate or burst lifts
	// that class's limit.
	RateLimit *RateLimitConfig `json:"rate_limit,omitempty"`
	// ScrubInterval is how often the node verifies its state file in the
	// background (app.App.Scrub: every value's checksum, bbolt's page
	// structure, every block's app hash and record root); absent or 0
	// means DefaultScrubInterval. The node also verifies it at every
	// start, and every read verifies what it reads.
	ScrubInterval Duration `json:"scrub_interval,omitempty"`
	// RetainBlocks is how many of the latest blocks CometBFT keeps whole;
	// older ones are pruned once the receipt archive (data/receipts.db)
	// holds what their receipts need. Absent: DefaultRetainBlocks; 0 keeps
	// every block (and archives nothing). Peers that fall further behind
	// than this cannot catch up by block sync from this node.
	RetainBlocks *int64 `json:"retain_blocks,omitempty"`
	// SummaryInterval is how many heights one epoch summary of this
	// validator's extension signatures covers (archive_summary.go).
	// Absent: DefaultSummaryInterval; 0 signs none and drops no
	// signature for other validators' summaries either.
	SummaryInterval *int64 `json:"summary_interval,omitempty"`
	// GatewayRetention is the gateway's object retention policy by pushed
	// stream id, "*" standing for every stream without an entry of its
	// own: the stored chunk bytes it may delete, by age and by total
	// size. Absent: every object is kept (gateway.Retention says why).
	GatewayRetention map[string]RetentionConfig `json:"gateway_retention,omitempty"`

	// State sync (statesync.go). SnapshotInterval: a snapshot of the
	// app's state, with the receipt archive, every that many heights
	// (absent: DefaultSnapshotInterval; 0 takes none); SnapshotKeep: how
	// many of the newest are kept and served (absent: 2). StateSync, set
	// on a node with an empty home, makes it join from a peer's snapshot.
	SnapshotInterval *int64           `json:"snapshot_interval,omitempty"`
	SnapshotKeep     int              `json:"snapshot_keep,omitempty"`
	StateSync        *StateSyncConfig `json:"state_sync,omitempty"`
	// APIURL is the base URL at which the other validators reach this
	// node's API ("https://node1.example:8443"). Chunks pushed through
	// this node's gateway go on chain without their bytes, which every
	// validator fetches from here or from a peer. Absent: derived from
	// api_listen when that names a host (http, or https with TLS); with no
	// URL (api_listen on all interfaces, or no API) every pushed chunk's
	// transaction carries its bytes, at most 1 MiB a chunk.
	APIURL string `json:"api_url,omitempty"`
	// PeerAPIs are the other validators' API base URLs, where this node
	// fetches a pushed chunk's bytes when the gateway that took them does
	// not answer.
	PeerAPIs []string `json:"peer_apis,omitempty"`
	// FetchWindow is how long this validator tries to fetch a pushed
	// chunk's bytes before it attests a gap (absent: DefaultFetchWindow).
	FetchWindow Duration `json:"fetch_window,omitempty"`
	// FetchBlocked are API URLs this node's fetcher never contacts: fault
	// injection for tests and demos only (a validator cut off from a
	// gateway).
	FetchBlocked []string `json:"fetch_blocked,omitempty"`
}

// publicURL is the API URL this node's gateway names in its chunks, or ""
// (the chunks then carry their bytes).
func (c *Config) publicURL() string {
	if c.APIURL != "" {
		return strings.TrimRight(c.APIURL, "/")
	}
	host, port, err := net.SplitHostPort(c.API)
	if c.API == "" || err != nil || host == "" || port == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return ""
	}
	scheme := "http"
	if c.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// RetentionConfig is one stream's entry in node.json's
// "gateway_retention": at least one of the two limits.
type RetentionConfig struct {
	// MaxAge releases an object this long after the gateway stored it
	// ("720h"); at least 1m.
	MaxAge Duration `json:"max_age,omitempty"`
	// MaxBytes releases the stream's oldest objects while its objects hold
	// more than this many bytes; at least one chunk's data limit (1 MiB).
	MaxBytes int64 `json:"max_bytes,omitempty"`
}

// maxRetentionEntries bounds node.json's gateway_retention.
const maxRetentionEntries = 1000

// validateRetention checks gateway_retention, naming the entry and what to
// write instead.
func (c *Config) validateRetention() error {
	if len(c.GatewayRetention) > maxRetentionEntries {
		return fmt.Errorf("gateway_retention has %d entries, more than %d: use \"*\" for the streams that share a policy", len(c.GatewayRetention), maxRetentionEntries)
	}
	for id, r := range c.GatewayRetention {
		where := fmt.Sprintf("gateway_retention[%q]", id)
		if id != "*" {
			if err := wire.ValidateStreamID(id); err != nil {
				return fmt.Errorf("%s: %v; name a stream, or \"*\" for every stream without an entry", where, err)
			}
		}
		switch {
		case r.MaxAge == 0 && r.MaxBytes == 0:
			return fmt.Errorf("%s sets neither max_age nor max_bytes: give one (\"max_age\": \"720h\", \"max_bytes\": 10737418240), or remove the entry to keep every object", where)
		case r.MaxAge < 0 || r.MaxAge > 0 && time.Duration(r.MaxAge) < time.Minute:
			return fmt.Errorf("%s: max_age %v is below 1m: give a duration such as \"720h\"", where, time.Duration(r.MaxAge))
		case r.MaxBytes < 0 || r.MaxBytes > 0 && r.MaxBytes < wire.MaxChunkDataBytes:
			return fmt.Errorf("%s: max_bytes %d is below %d, one chunk's data: give a size in bytes such as 10737418240 (10 GiB)", where, r.MaxBytes, wire.MaxChunkDataBytes)
		}
		if err := (gateway.Retention{MaxAge: time.Duration(r.MaxAge), MaxBytes: r.MaxBytes}).Validate(); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// gatewayRetention is gateway_retention as the gateway takes it.
func (c *Config) gatewayRetention() map[string]gateway.Retention {
	if len(c.GatewayRetention) == 0 {
		return nil
	}
	out := make(map[string]gateway.Retention, len(c.GatewayRetention))
	for id, r := range c.GatewayRetention {
		out[id] = gateway.Retention{MaxAge: time.Duration(r.MaxAge), MaxBytes: r.MaxBytes}
	}
	return out
}

// DefaultRetainBlocks is how many recent blocks a node keeps unless
// node.json says otherwise: about 20 minutes at the demo's 6 blocks a
// second (100ms commit timeout), so a validator restarted after an
// upgrade or a short outage still catches up from its peers by block sync,
// for about 55 KB a block at the demo load (400 MB, a fixed window that
// does not grow).
const DefaultRetainBlocks = 7200

// retainBlocks is RetainBlocks with the default applied.
func (c *Config) retainBlocks() int64 {
	if c.RetainBlocks == nil {
		return DefaultRetainBlocks
	}
	return *c.RetainBlocks
}

// minRetainBlocks is the least window node.json may ask for: CometBFT
// itself needs the last blocks (the handshake replays up to two of them,
// and the proposer reads the previous height's extended commit), and the
// archive waits two blocks for a height's canonical commit.
const minRetainBlocks = 10

// DefaultScrubInterval is how often a node verifies its state file unless
// node.json says otherwise. A scrub reads the whole file in short
// transactions, 0.15–0.8 ms of one core per MB of app.db when the file is
// in the page cache (go test -bench Scrub ./app/store, on a shared 2-core
// machine), and holds the writer's lock for bbolt's page check, about
// 0.3 ms per MB, during which a commit waits: for a 1 GB state, under a
// second of CPU and a commit delayed by about 0.3 s, once an hour.
const DefaultScrubInterval = time.Hour

// scrubInterval is ScrubInterval with the default applied.
func (c *Config) scrubInterval() time.Duration {
	if c.ScrubInterval == 0 {
		return DefaultScrubInterval
	}
	return time.Duration(c.ScrubInterval)
}

// RateLimitConfig is node.json's "rate_limit" (see api.RateLimit).
type RateLimitConfig struct {
	ReadRate   float64 `json:"read_rate,omitempty"`
	ReadBurst  int     `json:"read_burst,omitempty"`
	WriteRate  float64 `json:"write_rate,omitempty"`
	WriteBurst int     `json:"write_burst,omitempty"`
	// Loopback limits clients on the node's own machine too.
	Loopback bool `json:"loopback,omitempty"`
	// TrustedProxies are reverse proxies ("10.0.0.5", "10.0.0.0/8") whose
	// X-Forwarded-For names the client.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	MaxClients     int      `json:"max_clients,omitempty"`
}

func (r *RateLimitConfig) api() api.RateLimit {
	if r == nil {
		return api.RateLimit{}
	}
	return api.RateLimit{ReadRate: r.ReadRate, ReadBurst: r.ReadBurst, WriteRate: r.WriteRate, WriteBurst: r.WriteBurst,
		Loopback: r.Loopback, TrustedProxies: r.TrustedProxies, MaxClients: r.MaxClients}
}

// Duration is a time.Duration written as a string such as "100ms".
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// maxConfigSize bounds node.json.
const maxConfigSize = 1 << 20

// LoadConfig reads HOME/node.json.
func LoadConfig(home string) (*Config, error) {
	path := filepath.Join(home, NodeFile)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("node: %s: %w (create homes with 'datadragon init')", path, err)
	}
	if st.Size() > maxConfigSize {
		return nil, fmt.Errorf("node: %s is larger than %d bytes", path, maxConfigSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("node: %s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) validate() error {
	switch {
	case c.Moniker == "":
		return errors.New("moniker is empty")
	case c.P2PListen == "":
		return errors.New("p2p_listen is empty")
	case c.P2PExternal != "" && !isHostPort(c.P2PExternal):
		return fmt.Errorf("p2p_external %q must be HOST:PORT, the address other nodes reach this node's p2p_listen at", c.P2PExternal)
	case c.CommitTimeout < 0 || time.Duration(c.CommitTimeout) > time.Minute:
		return errors.New("commit_timeout must lie between 0 and 1m")
	case c.ScrubInterval < 0 || c.ScrubInterval > 0 && time.Duration(c.ScrubInterval) < time.Second:
		return errors.New("scrub_interval must be at least 1s (absent: every hour)")
	case c.RetainBlocks != nil && *c.RetainBlocks != 0 && *c.RetainBlocks < minRetainBlocks:
		return fmt.Errorf("retain_blocks must be 0 (keep every block) or at least %d (absent: %d)", minRetainBlocks, DefaultRetainBlocks)
	case c.FaultRate < 0 || c.FaultRate > 1:
		return errors.New("fault_rate must lie between 0 and 1")
	case c.ClockSkewMs < -86_400_000 || c.ClockSkewMs > 86_400_000:
		return errors.New("clock_skew_ms must lie within a day either way")
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		return errors.New("tls_cert_file is set but tls_key_file is not: give both to serve HTTPS, or neither")
	case c.TLSKeyFile != "" && c.TLSCertFile == "":
		return errors.New("tls_key_file is set but tls_cert_file is not: give both to serve HTTPS, or neither")
	case c.FetchWindow < 0 || c.FetchWindow > 0 && time.Duration(c.FetchWindow) < time.Second || time.Duration(c.FetchWindow) > time.Hour:
		return errors.New("fetch_window must lie between 1s and 1h (absent: 30s)")
	case len(c.PeerAPIs) > 64:
		return errors.New("peer_apis lists more than 64 URLs: list the validators only")
	}
	for _, u := range append([]string{c.APIURL}, c.PeerAPIs...) {
		if u == "" {
			continue
		}
		t := wire.FetchChunkTx{Stream: "x", Origin: [wire.OriginSize]byte{1}, Lengths: []uint32{1}, Content: wire.ContentID{1}, Source: u}
		if err := t.Validate(); err != nil {
			return fmt.Errorf("api_url or peer_apis: %v; write a base URL such as \"https://node1.example:8443\"", err)
		}
	}
	if err := c.validateSnapshots(); err != nil {
		return err
	}
	return c.validateRetention()
}

// TLS says whether the API serves HTTPS (tls_cert_file and tls_key_file
// are set).
func (c *Config) TLS() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// homePath resolves a path of node.json: relative paths are relative to
// the home.
func homePath(home, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(home, p)
}

// ServerTLS loads tls_cert_file and tls_key_file: the API's TLS settings,
// or nil if TLS is off. Errors name the node.json field, the file and what
// is wrong.
func (c *Config) ServerTLS(home string) (*tls.Config, error) {
	if c.TLSCertFile == "" && c.TLSKeyFile == "" {
		return nil, nil
	}
	tc, err := api.LoadTLS(homePath(home, c.TLSCertFile), homePath(home, c.TLSKeyFile))
	if err != nil {
		return nil, fmt.Errorf("%w (tls_cert_file and tls_key_file in %s)", err, filepath.Join(home, NodeFile))
	}
	return tc, nil
}

// pathErr drops the path an fs.PathError repeats: the callers name it.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// SourceTLS returns the TLS settings observers dial wss:// sources with:
// the system roots plus the CA certificates of source_ca_file, TLS 1.2 at
// least. It returns nil if source_ca_file is empty (the system roots
// alone, the default). Errors name the file and what is wrong.
func (c *Config) SourceTLS(home string) (*tls.Config, error) {
	if c.SourceCAFile == "" {
		return nil, nil
	}
	path := homePath(home, c.SourceCAFile)
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("source_ca_file %s: %w", path, pathErr(err))
	}
	if !st.Mode().IsRegular() || st.Size() > maxConfigSize {
		return nil, fmt.Errorf("source_ca_file %s is not a PEM file of at most %d bytes", path, maxConfigSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("source_ca_file %s: %w", path, pathErr(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool() // no system roots on this machine: the bundle alone
	}
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("source_ca_file %s: certificate %d does not parse: %v", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("source_ca_file %s holds no PEM CERTIFICATE block", path)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}, nil
}

// Save writes the config to HOME/node.json.
func (c *Config) Save(home string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(home, NodeFile), append(b, '\n'), 0o644)
}

// comet derives CometBFT's configuration for a node home.
func (c *Config) comet(home string) *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig().SetRoot(home)
	cfg.Moniker = c.Moniker
	cfg.P2P.ListenAddress = "tcp://" + c.P2PListen
	cfg.P2P.ExternalAddress = c.P2PExternal
	cfg.P2P.PersistentPeers = joinComma(c.Peers)
	cfg.P2P.AllowDuplicateIP = true
	cfg.P2P.AddrBookStrict = false
	cfg.P2P.PexReactor = false
	cfg.RPC.ListenAddress = ""
	if c.RPCListen != "" {
		cfg.RPC.ListenAddress = "tcp://" + c.RPCListen
	}
	cfg.GRPC.ListenAddress = ""
	cfg.Consensus.TimeoutCommit = time.Duration(c.CommitTimeout)
	// CometBFT's defaults suit continents: it batches peer messages for up
	// to 100ms and gossips every 100ms. Records wait on consensus, and a
	// validator network here is a LAN or one machine, so both are 10ms.
	cfg.P2P.FlushThrottleTimeout = 10 * time.Millisecond
	cfg.Consensus.PeerGossipSleepDuration = 10 * time.Millisecond
	// Vote extensions carry ~20 KB Ziggy signatures and pushed chunks up
	// to 1 MiB: the P2P rate limits (per peer) must not throttle either.
	// One process may run several nodes (devnet): CometBFT's Prometheus
	// metrics would register into one global registry and collide, so the
	// node exports its own metrics instead.
	cfg.Instrumentation.Prometheus = false
	cfg.TxIndex.Indexer = "null"
	// Nothing reads the ABCI responses CometBFT would keep for every block
	// (no tx indexer, no block_results): keeping them only grows state.db.
	cfg.Storage.DiscardABCIResponses = true
	// Pruning: the app's Commit answers the retain height (Node.retain);
	// CometBFT's pruner deletes blocks below it every interval. The
	// extended commits CometBFT v1.0.1 keeps per height are not deleted by
	// its pruner; the node deletes them itself (pruneExtCommits), which
	// relies on the v1 key layout named here.
	cfg.Storage.ExperimentalKeyLayout = "v1"
	cfg.Storage.Pruning.Interval = pruneInterval
	// Pushed chunks carry up to 1 MiB of data in one transaction, and a
	// push keeps a gateway's worth of them in flight.
	cfg.Mempool.MaxTxBytes = wire.MaxTxBytes
	cfg.Mempool.MaxTxsBytes = 256 << 20
	cfg.P2P.SendRate = 200 << 20
	cfg.P2P.RecvRate = 200 << 20
	c.cometStateSync(cfg)
	return cfg
}

// isHostPort reports whether s is HOST:PORT with a host that is not the
// unspecified address (no peer can dial 0.0.0.0) and a port in 1..65535.
func isHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || strings.ContainsAny(host, "@,/ \t") {
		return false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}
