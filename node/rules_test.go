package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
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

	// Register an observed stream by transaction. Its source starts now,
	// and keeps its frames for minutes: every validator must see chunk 1
	// whole, however long a loaded machine takes to commit the
	// registration and start following it (with the default ten seconds
	// of buffer, slow validators met a gap where fast ones saw data, and
	// the chunk was disputed instead of accepted).
	tSrv, err := source.New(source.Config{Generator: gen.NewTicker(3), Rate: 400, BufferFrames: 400 * 300, BufferBytes: source.MaxBufferBytes})
	if err != nil {
		t.Fatal(err)
	}
	tCtx, tStop := context.WithCancel(context.Background())
	go tSrv.Run(tCtx)
	tHS := httptest.NewServer(tSrv)
	t.Cleanup(func() { tStop(); tHS.Close() })
	tURL := "ws" + strings.TrimPrefix(tHS.URL, "http") + "/stream"
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
	// A bound, not a latency target: under the race detector on a loaded
	// 2-core machine a block can take seconds (every extension is a Ziggy
	// proof), and this waits for a registration, a follow and two chunks.
	const patience = 3 * time.Minute
	deadline := time.Now().Add(patience)
	for verdictOf("ticks") == "" {
		if time.Now().After(deadline) {
			// Say what the chain holds of the stream, to tell a stream
			// never followed from chunks disputed or stuck.
			var got []string
			for i := uint64(0); i < 4; i++ {
				if rv, err := net.nodes[1].App().Record("ticks", i); err == nil {
					got = append(got, fmt.Sprintf("%d:%s/%s", i, rv.Status, rv.Verdict))
				} else {
					got = append(got, fmt.Sprintf("%d:%v", i, err))
				}
			}
			si, err := net.nodes[1].App().Stream("ticks")
			t.Fatalf("no accepted record 1 of the registered stream after %v: records %v; stream %+v (%v); height %d", patience, got, si, err, net.nodes[1].Height())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v := verdictOf("ticks"); v != wire.Violation(4).String() {
		t.Fatalf("ticks verdict %q, want %s (a required field missing)", v, wire.Violation(4))
	}
	// A second registration with the same nonce is refused.
	if code, _, _ := gc.Submit(tx); code != app.CodeStaleNonce {
		t.Fatalf("replayed registration: code %d, want %d", code, app.CodeStaleNonce)
	}
}
