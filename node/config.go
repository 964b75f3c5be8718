package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/datadragon/datadragon/app/wire"
)

// Config is a node's own settings, kept in HOME/node.json. CometBFT's
// configuration is derived from it in code, so one small file says
// everything an operator may change.
type Config struct {
	Moniker string `json:"moniker"`
	// P2PListen is where CometBFT's peer-to-peer layer listens (host:port).
	P2PListen string `json:"p2p_listen"`
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
	case c.CommitTimeout < 0 || time.Duration(c.CommitTimeout) > time.Minute:
		return errors.New("commit_timeout must lie between 0 and 1m")
	case c.FaultRate < 0 || c.FaultRate > 1:
		return errors.New("fault_rate must lie between 0 and 1")
	}
	return nil
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
	// Pushed chunks carry up to 1 MiB of data in one transaction, and a
	// push keeps a gateway's worth of them in flight.
	cfg.Mempool.MaxTxBytes = wire.MaxTxBytes
	cfg.Mempool.MaxTxsBytes = 256 << 20
	cfg.P2P.SendRate = 200 << 20
	cfg.P2P.RecvRate = 200 << 20
	return cfg
}
