package node

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// TestRulesAndRegisteredObserveStream: every validator evaluates a
// stream's rules on what it observed, so a violation is the accepted
// verdict; a stream registered by its owner's transaction is followed by
// every node once the registration is committed.
func TestRulesAndRegisteredObserveStream(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	_, sURL := startSourceOf(t, gen.NewSensor(7), 400)
	_, tURL := startSourceOf(t, gen.NewTicker(3), 400)
	net := startStreams(t, 4, 29900, []app.Stream{
		{ID: "sensors", Source: sURL, Chunk: app.ChunkPolicy{Messages: 20},
			Rules: json.RawMessage(`{"fields":[{"path":"temperature_c","type":"number","min":-100,"max":100,"required":true}],"monotonic":"seq"}`)},
		{ID: "strict", Source: sURL, Chunk: app.ChunkPolicy{Messages: 20}, Rules: json.RawMessage(`{"max_message_bytes":10}`)},
	}, 5, nil)
	verdictOf := func(stream string) string {
		rv, err := net.nodes[1].App().Record(stream, 1)
		if err != nil || rv.Status != "accepted" {
			return ""
		}
		return rv.Verdict
	}
	net.waitFor("records of both genesis streams", func() bool { return verdictOf("sensors") != "" && verdictOf("strict") != "" })
	if v := verdictOf("sensors"); v != "ok" {
		t.Fatalf("sensors verdict %q, want ok", v)
	}
	if v := verdictOf("strict"); v != wire.Violation(1).String() {
		t.Fatalf("strict verdict %q, want %s (a message over max_message_bytes)", v, wire.Violation(1))
	}

	// Register an observed stream by transaction.
	_, owner, _ := ziggy.GenerateKey(rand.Reader)
	spec, _ := json.Marshal(app.Stream{ID: "ticks", Source: tURL, Chunk: app.ChunkPolicy{Messages: 20},
		Rules: json.RawMessage(`{"fields":[{"path":"no_such_field","required":true}]}`)})
	sig, err := ziggy.Sign(owner, wire.RegisterSignBytes("dd-test", owner.Public().Bytes(), 1, spec))
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := (&wire.RegisterTx{Spec: spec, Owner: owner.Public().Bytes(), Nonce: 1, Signature: sig}).Marshal()
	gc := &gatewayChain{app: net.nodes[0].App(), rpc: local.New(net.nodes[0].cmt)}
	net.waitFor("the registration in the mempool", func() bool {
		code, _, err := gc.Submit(tx)
		if err == nil && code != app.CodeOK {
			t.Fatalf("registration refused: code %d", code)
		}
		return err == nil
	})
	net.waitFor("records of the registered stream", func() bool { return verdictOf("ticks") != "" })
	if v := verdictOf("ticks"); v != wire.Violation(4).String() {
		t.Fatalf("ticks verdict %q, want %s (a required field missing)", v, wire.Violation(4))
	}
	// A second registration with the same nonce is refused.
	if code, _, _ := gc.Submit(tx); code != app.CodeStaleNonce {
		t.Fatalf("replayed registration: code %d, want %d", code, app.CodeStaleNonce)
	}
}
