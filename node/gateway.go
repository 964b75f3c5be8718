package node

import (
	"context"
	"errors"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway"
)

// gatewayChain is what the gateway sees of its node: the app's state and
// admission checks, and CometBFT's mempool.
type gatewayChain struct {
	app *app.App
	rpc *local.Local
}

var _ gateway.Chain = (*gatewayChain)(nil)

func (c *gatewayChain) ChainID() string { return c.app.ChainID() }

func (c *gatewayChain) Stream(id string) (app.StreamInfo, error) { return c.app.Stream(id) }

func (c *gatewayChain) Check(tx []byte) (uint32, string) {
	r, err := c.app.CheckTx(context.Background(), &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil {
		return app.CodeMalformed, err.Error()
	}
	return r.Code, r.Log
}

// Submit hands tx to the mempool. A transaction the mempool already holds
// counts as submitted.
func (c *gatewayChain) Submit(tx []byte) (uint32, string, error) {
	// The app's verdict first: the mempool reports a refusal only as an
	// error string.
	if code, log := c.Check(tx); code != app.CodeOK {
		return code, log, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := c.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		if strings.Contains(err.Error(), "already exists in cache") {
			return app.CodeOK, "", nil
		}
		return 0, "", err
	}
	return r.Code, r.Log, nil
}

func (c *gatewayChain) PushedKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) (wire.ChunkKey, bool) {
	return c.app.PushedKey(stream, origin, firstSeq)
}

func (c *gatewayChain) RecordStatus(k wire.ChunkKey) string {
	rv, err := c.app.Record(k.Stream, k.Index)
	if errors.Is(err, app.ErrNotFound) || err != nil {
		return ""
	}
	return rv.Status
}
