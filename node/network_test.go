package node

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/gen"
	"github.com/datadragon/datadragon/ingest/source"
)

// startSource serves a deterministic sensor stream on a test server.
func startSource(t *testing.T, rate float64) (*source.Server, string) {
	t.Helper()
	srv, err := source.New(source.Config{Generator: gen.NewSensor(7), Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go srv.Run(ctx)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { cancel(); hs.Close() })
	return srv, "ws" + strings.TrimPrefix(hs.URL, "http") + "/stream"
}

// expectedDigest recomputes chunk index of a stream independently, from
// the generator alone.
func expectedDigest(t *testing.T, stream string, index, per uint64, rate float64) wire.Digest {
	t.Helper()
	g := gen.NewSensor(7)
	clock, err := gen.NewClock(gen.DefaultEpoch, rate)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []digest.Message
	for seq := index * per; seq < (index+1)*per; seq++ {
		f, err := gen.Frame(g, clock, seq)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, digest.Message{Seq: f.Seq, Data: f.Payload})
	}
	d, err := digest.Compute(stream, index, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return wire.Digest(d)
}

func TestFourValidatorsAcceptChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	const rate, per = 400.0, 40
	_, url := startSource(t, rate)
	dir := t.TempDir()
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: 4, ChainID: "dd-test", Host: "127.0.0.1",
		BasePort: 37100, Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState([]app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*Node
	for _, m := range members {
		n, err := Open(m.Home, Options{})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, n := range nodes {
			if err := n.Stop(); err != nil {
				t.Error(err)
			}
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		recs, _, err := nodes[0].App().Records("sensors", 0, 10)
		var accepted []*app.RecordView
		for _, r := range recs {
			if r.Status == "accepted" {
				accepted = append(accepted, r)
			}
		}
		if err == nil && len(accepted) >= 3 {
			for _, r := range accepted {
				t.Logf("record %d: %s digest %s height %d", r.Index, r.Status, r.Digest, r.Height)
				if want := expectedDigest(t, "sensors", r.Index, per, rate); r.Digest != want.String() {
					t.Fatalf("record %d digest %s, independently computed %s", r.Index, r.Digest, want)
				}
			}
			r := accepted[0]
			if want := expectedDigest(t, "sensors", r.Index, per, rate); r.Digest != want.String() {
				t.Fatalf("record %d digest %x, independently computed %x", r.Index, r.Digest, want)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no records accepted within a minute (height %d)", nodes[0].Height())
}
