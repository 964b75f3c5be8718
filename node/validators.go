package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// SetHistory gives receipts the validator set's history (receipt.HistorySource):
// the genesis validators and every change the chain made since.
func (s receiptSource) SetHistory() ([]app.GenesisValidator, []app.SetChange, error) {
	return s.n.app.SetHistory()
}

// HomeKeys are the public keys of a node's home: what a proposal to add
// it as a validator names.
type HomeKeys struct {
	KeyType  string // CometBFT key type, "ed25519"
	CometKey []byte
	ZiggyKey []byte
	Moniker  string
}

// ReadHomeKeys reads the CometBFT and Ziggy public keys of a home (a
// validator's or a follower's, `datadragon join`).
func ReadHomeKeys(home string) (*HomeKeys, error) {
	cfg, err := LoadConfig(home)
	if err != nil {
		return nil, err
	}
	cc := cfg.comet(home)
	if _, err := os.Stat(cc.PrivValidatorKeyFile()); err != nil {
		return nil, fmt.Errorf("node: %s has no CometBFT key (%v): give the home of a node made with 'datadragon init' or 'datadragon join'", home, err)
	}
	pv := privval.LoadFilePVEmptyState(cc.PrivValidatorKeyFile(), cc.PrivValidatorStateFile())
	pub, err := ziggy.LoadPublicKey(filepath.Join(home, ZiggyPubFile))
	if err != nil {
		return nil, fmt.Errorf("node: %s: %w", home, err)
	}
	pk := pv.Key.PubKey
	return &HomeKeys{KeyType: pk.Type(), CometKey: pk.Bytes(), ZiggyKey: pub.Bytes(), Moniker: cfg.Moniker}, nil
}

// SignGovernance makes the governance transaction of a validator's
// approval of p: signed with the Ziggy key of home, as validator index
// approver with its next nonce.
func SignGovernance(home, chainID string, approver int, nonce uint64, p wire.Proposal) ([]byte, error) {
	if approver < 0 || approver >= wire.MaxVotes {
		return nil, fmt.Errorf("node: validator index %d out of range", approver)
	}
	priv, err := ziggy.LoadPrivateKey(filepath.Join(home, ZiggyKeyFile))
	if err != nil {
		return nil, fmt.Errorf("node: the Ziggy key of %s: %w", home, err)
	}
	sig, err := ziggy.Sign(priv, wire.GovSignBytes(chainID, p.ID(chainID), uint16(approver), nonce))
	if err != nil {
		return nil, err
	}
	return (&wire.GovernTx{Proposal: p, Approver: uint16(approver), Nonce: nonce, Signature: sig}).Marshal()
}

// SubmitTx checks a transaction with the app and hands it to this node's
// mempool; it answers the app's result code and log.
func (n *Node) SubmitTx(tx []byte) (uint32, string, error) {
	if n.cmt == nil {
		return 0, "", errors.New("node: not started")
	}
	return (&gatewayChain{app: n.app, rpc: local.New(n.cmt)}).Submit(tx)
}

// setChangedAt reports whether block h ran a validator-set change, when
// the block infos can say: the header after it is archived for receipts.
func setChangedAt(infos blockInfos, h int64) bool {
	sc, ok := infos.(interface{ SetChangedAt(int64) bool })
	return ok && sc.SetChangedAt(h)
}
