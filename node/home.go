package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	BasePort   int    // validator i's P2P port is BasePort+10·i
	// APIBasePort, if set, gives validator i the HTTP API port APIBasePort+i.
	APIBasePort int
	Power       int64
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
		nc := &Config{
			Moniker:       name,
			P2PListen:     fmt.Sprintf("%s:%d", o.Host, port),
			CommitTimeout: Duration(o.CommitTimeout),
		}
		if o.APIBasePort > 0 {
			nc.API = fmt.Sprintf("%s:%d", o.Host, o.APIBasePort+i)
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
			P2PAddr:  fmt.Sprintf("%s:%d", o.Host, port),
			CometPub: cometPub, ZiggyPub: pub, Power: o.Power,
		}
		configs[i] = nc
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
