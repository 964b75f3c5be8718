package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/zk/ziggy"
)

// Files inside a node home, beside CometBFT's own config/ and data/.
const (
	ZiggyKeyFile = "ziggy.key"
	ZiggyPubFile = "ziggy.pub"
	// NodeFile holds the DataDragon side of a node's settings (node.json).
	NodeFile = "node.json"
)

// Member describes one validator of a network being initialised: what the
// genesis needs to know about it.
type Member struct {
	Name     string
	Home     string
	NodeID   string
	P2PAddr  string // host:port other validators dial
	CometPub crypto.PubKey
	ZiggyPub ziggy.PublicKey
	Power    int64
}

// InitOptions say how to lay out a network's homes.
type InitOptions struct {
	Dir        string // parent directory: one home per validator below it
	Validators int
	ChainID    string
	Host       string // address the validators listen on and dial
	// Hosts, if set, names each validator's own host, one per validator:
	// where the others dial it (containers, several machines). Without it
	// every validator is at Host.
	Hosts []string
	// ListenHost, if set, is where every validator listens, P2P and API
	// (0.0.0.0 inside containers); without it a validator listens on the
	// host it is dialled at.
	ListenHost string
	BasePort   int // validator i's P2P port is BasePort+10·i
	// APIBasePort, if set, gives validator i the HTTP API port APIBasePort+i.
	APIBasePort int
	// MaxBlockBytes bounds a block (0: DefaultMaxBlockBytes).
	MaxBlockBytes int64
	Power         int64
	// CommitTimeout is CometBFT's pause after a commit; it sets the block rate.
	CommitTimeout time.Duration
	// AppState builds the genesis app state once every member is known.
	AppState func(members []Member) (json.RawMessage, error)
}

// MaxValidators bounds the size of a network init writes.
const MaxValidators = 64

// InitHomes writes one home per validator under o.Dir — CometBFT config,
// node and validator keys, a Ziggy key pair — and one genesis shared by all,
// copied into every home and into o.Dir/genesis.json. It refuses to touch
// homes that already exist.
// DefaultMaxBlockBytes is the block size limit of a new network: room for
// the injected commit and several pushed chunks of 1 MiB.
const DefaultMaxBlockBytes = 8 << 20

// The evidence age of a new network: CometBFT's evidence of a double sign
// expires once it is older than both, and until then every node keeps the
// pruned blocks' headers and commits and the validator sets to check it.
const (
	EvidenceMaxAgeBlocks = 1000
	EvidenceMaxAge       = 5 * time.Minute
)

func InitHomes(o InitOptions) ([]Member, error) {
	if o.Validators < 1 || o.Validators > MaxValidators {
		return nil, fmt.Errorf("node: %d validators; choose 1 to %d", o.Validators, MaxValidators)
	}
	if o.ChainID == "" || o.AppState == nil {
		return nil, errors.New("node: init needs a chain id and an app state builder")
	}
	if o.BasePort < 1024 || o.BasePort+10*o.Validators > 65535 {
		return nil, fmt.Errorf("node: base port %d leaves no room for %d validators", o.BasePort, o.Validators)
	}
	if o.Hosts != nil && len(o.Hosts) != o.Validators {
		return nil, fmt.Errorf("node: %d hosts for %d validators; give one host per validator", len(o.Hosts), o.Validators)
	}
	for _, h := range o.Hosts {
		if h == "" || strings.ContainsAny(h, "@,/ \t") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
			return nil, fmt.Errorf("node: host %q: give a host name or address without a port", h)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	members := make([]Member, o.Validators)
	configs := make([]*Config, o.Validators)
	for i := range members {
		name := fmt.Sprintf("node%d", i)
		home := filepath.Join(o.Dir, name)
		if _, err := os.Stat(home); err == nil {
			return nil, fmt.Errorf("node: %s already exists; remove it or choose another --out directory", home)
		}
		port := o.BasePort + 10*i
		host := o.Host
		if o.Hosts != nil {
			host = o.Hosts[i]
		}
		listen := host
		if o.ListenHost != "" {
			listen = o.ListenHost
		}
		nc := &Config{
			Moniker:       name,
			P2PListen:     net.JoinHostPort(listen, strconv.Itoa(port)),
			CommitTimeout: Duration(o.CommitTimeout),
		}
		if listen != host {
			nc.P2PExternal = net.JoinHostPort(host, strconv.Itoa(port))
		}
		if o.APIBasePort > 0 {
			nc.API = net.JoinHostPort(listen, strconv.Itoa(o.APIBasePort+i))
			// Where the others fetch chunks pushed through this node: the
			// listen address says it unless the node listens on another
			// host than the one it is reached at.
			if listen != host {
				nc.APIURL = "http://" + net.JoinHostPort(host, strconv.Itoa(o.APIBasePort+i))
			}
		}
		cfg := nc.comet(home)
		for _, d := range []string{"config", "data"} {
			if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
				return nil, err
			}
		}
		pv, err := privval.GenFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile(), func() (crypto.PrivKey, error) {
			return ed25519.GenPrivKey(), nil
		})
		if err != nil {
			return nil, err
		}
		pv.Save()
		nk, err := p2p.LoadOrGenNodeKey(cfg.NodeKeyFile())
		if err != nil {
			return nil, err
		}
		pub, priv, err := ziggy.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		if err := ziggy.SavePrivateKey(filepath.Join(home, ZiggyKeyFile), priv); err != nil {
			return nil, err
		}
		if err := ziggy.SavePublicKey(filepath.Join(home, ZiggyPubFile), pub); err != nil {
			return nil, err
		}
		cometPub, err := pv.GetPubKey()
		if err != nil {
			return nil, err
		}
		members[i] = Member{
			Name: name, Home: home, NodeID: string(nk.ID()),
			P2PAddr:  net.JoinHostPort(host, strconv.Itoa(port)),
			CometPub: cometPub, ZiggyPub: pub, Power: o.Power,
		}
		configs[i] = nc
	}
	for i, nc := range configs {
		for j, oc := range configs {
			if u := oc.publicURL(); j != i && u != "" {
				nc.PeerAPIs = append(nc.PeerAPIs, u)
			}
		}
	}
	appState, err := o.AppState(members)
	if err != nil {
		return nil, err
	}
	gen := &cmttypes.GenesisDoc{
		GenesisTime:     time.Now().UTC().Truncate(time.Second),
		ChainID:         o.ChainID,
		InitialHeight:   1,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		AppState:        appState,
	}
	// Attestations travel in vote extensions from the first height on.
	gen.ConsensusParams.Feature.VoteExtensionsEnableHeight = 1
	// Room for the injected commit and several pushed chunks of 1 MiB.
	gen.ConsensusParams.Block.MaxBytes = DefaultMaxBlockBytes
	if o.MaxBlockBytes > 0 {
		gen.ConsensusParams.Block.MaxBytes = o.MaxBlockBytes
	}
	// CometBFT keeps the header and commit of every pruned block younger
	// than the evidence age — both its blocks and its duration — and the
	// validator sets to check evidence against, so its defaults (100,000
	// blocks and 48 h, about a million blocks at the demo's rate) kept
	// ~1.2 KB a block for two days: over a gigabyte a node. Evidence is
	// gossiped and committed within a few blocks, and the app counts a
	// validator's equivocation from its attestations, not from CometBFT's
	// evidence (SECURITY.md), so a short age loses nothing it reads.
	gen.ConsensusParams.Evidence.MaxAgeNumBlocks = EvidenceMaxAgeBlocks
	gen.ConsensusParams.Evidence.MaxAgeDuration = EvidenceMaxAge
	for _, m := range members {
		gen.Validators = append(gen.Validators, cmttypes.GenesisValidator{
			Address: m.CometPub.Address(), PubKey: m.CometPub, Power: m.Power, Name: m.Name,
		})
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("node: genesis: %w", err)
	}
	if err := gen.SaveAs(filepath.Join(o.Dir, "genesis.json")); err != nil {
		return nil, err
	}
	for i, nc := range configs {
		for j, m := range members {
			if j != i {
				nc.Peers = append(nc.Peers, m.NodeID+"@"+m.P2PAddr)
			}
		}
		home := members[i].Home
		if err := gen.SaveAs(nc.comet(home).GenesisFile()); err != nil {
			return nil, err
		}
		if err := nc.Save(home); err != nil {
			return nil, err
		}
	}
	return members, nil
}

// HomesExist reports whether dir already holds a complete network of n
// validators written by InitHomes: dir/genesis.json and every
// dir/nodeI/node.json. It is false with no error when none of them exists
// yet, and an error when only some do (an interrupted or different init).
func HomesExist(dir string, n int) (bool, error) {
	paths := []string{filepath.Join(dir, "genesis.json")}
	for i := range n {
		paths = append(paths, filepath.Join(dir, fmt.Sprintf("node%d", i), NodeFile))
	}
	var have, missing []string
	for _, p := range paths {
		switch _, err := os.Stat(p); {
		case err == nil:
			have = append(have, p)
		case errors.Is(err, os.ErrNotExist):
			missing = append(missing, p)
		default:
			return false, err
		}
	}
	switch {
	case len(missing) == 0:
		return true, nil
	case len(have) == 0:
		return false, nil
	}
	return false, fmt.Errorf("node: %s holds part of a network (%s exists, %s does not); remove it or choose another directory", dir, have[0], missing[0])
}
