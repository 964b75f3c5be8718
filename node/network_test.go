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
	return startSourceOf(t, gen.NewSensor(7), rate)
}

// startSourceOf serves generator g's stream on a test server.
func startSourceOf(t *testing.T, g gen.Generator, rate float64) (*source.Server, string) {
	t.Helper()
	srv, err := source.New(source.Config{Generator: g, Rate: rate})
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
	return expectedDigestOf(t, gen.NewSensor(7), stream, index, per, rate)
}

func expectedDigestOf(t *testing.T, g gen.Generator, stream string, index, per uint64, rate float64) wire.Digest {
	t.Helper()
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

// testNet is an in-process network of validators observing one source.
type testNet struct {
	t       *testing.T
	members []Member
	nodes   []*Node
}

// startNet initialises and starts n validators on one sensor stream cut
// every per messages, with a dispute window of 5 blocks so counters
// settle quickly; faults[i] is validator i's fault rate.
func startNet(t *testing.T, n int, basePort int, per uint64, rate float64, faults map[int]float64) *testNet {
	t.Helper()
	_, url := startSource(t, rate)
	return startStreams(t, n, basePort, []app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: per}}}, 5, faults)
}

// startStreams initialises and starts n validators observing streams.
func startStreams(t *testing.T, n int, basePort int, streams []app.Stream, window int64, faults map[int]float64) *testNet {
	t.Helper()
	return startStreamsWith(t, n, basePort, streams, window, func(i int, c *Config) {
		if f, ok := faults[i]; ok {
			c.FaultRate = f
		}
	})
}

// startStreamsWith is startStreams with node i's node.json changed by
// tweak before it starts.
func startStreamsWith(t *testing.T, n int, basePort int, streams []app.Stream, window int64, tweak func(i int, c *Config)) *testNet {
	t.Helper()
	dir := t.TempDir()
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: n, ChainID: "dd-test", Host: "127.0.0.1",
		BasePort: basePort, Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState(streams, window),
	})
	if err != nil {
		t.Fatal(err)
	}
	net := &testNet{t: t, members: members, nodes: make([]*Node, n)}
	for i, m := range members {
		if tweak != nil {
			cfg, err := LoadConfig(m.Home)
			if err != nil {
				t.Fatal(err)
			}
			tweak(i, cfg)
			if err := cfg.Save(m.Home); err != nil {
				t.Fatal(err)
			}
		}
		net.start(i)
	}
	t.Cleanup(func() {
		for _, nd := range net.nodes {
			if nd != nil {
				if err := nd.Stop(); err != nil {
					t.Error(err)
				}
			}
		}
	})
	return net
}

func (net *testNet) start(i int) {
	net.t.Helper()
	nd, err := Open(net.members[i].Home, Options{})
	if err != nil {
		net.t.Fatal(err)
	}
	if err := nd.Start(); err != nil {
		net.t.Fatal(err)
	}
	net.nodes[i] = nd
}

func (net *testNet) stop(i int) {
	net.t.Helper()
	if err := net.nodes[i].Stop(); err != nil {
		net.t.Fatal(err)
	}
	net.nodes[i] = nil
}

// waitFor polls cond until it holds or a minute passes.
func (net *testNet) waitFor(what string, cond func() bool) {
	net.t.Helper()
	net.waitForIn(what, time.Minute, cond)
}

// waitForIn polls cond until it holds or d passes. Waits that include a
// validator restarted in this process take longer: CometBFT may still
// hold the old connection's peer for a while and refuse the new one as a
// duplicate, and under the race detector on a loaded machine a block can
// take seconds.
func (net *testNet) waitForIn(what string, d time.Duration, cond func() bool) {
	net.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	net.t.Fatalf("timed out waiting for %s", what)
}

// accepted returns how many records node i has accepted.
func (net *testNet) accepted(i int) uint64 {
	ss, err := net.nodes[i].App().Streams()
	if err != nil || len(ss) == 0 {
		return 0
	}
	return ss[0].Accepted
}

func TestTamperingValidatorIsFlaggedAndOutvoted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	net := startNet(t, 4, 27300, 20, 400, map[int]float64{3: 1})
	net.waitFor("the liar to be flagged faulty", func() bool {
		vs, err := net.nodes[0].App().Validators()
		return err == nil && vs[3].Faulty >= 3 && net.accepted(0) >= 5
	})
	vs, _ := net.nodes[0].App().Validators()
	for i, v := range vs[:3] {
		if v.Faulty != 0 {
			t.Errorf("honest validator %d flagged faulty %d times", i, v.Faulty)
		}
	}
	recs, _, err := net.nodes[0].App().Records("sensors", 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Status == "accepted" {
			if want := expectedDigest(t, "sensors", r.Index, 20, 400); r.Digest != want.String() {
				t.Fatalf("record %d accepted the liar's digest %s", r.Index, r.Digest)
			}
		}
	}
}

func TestStoppedValidatorCatchesUpWithTheSameAppHash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	net := startNet(t, 4, 27500, 20, 400, nil)
	net.waitFor("first records", func() bool { return net.accepted(0) >= 3 })
	net.stop(3)
	before := net.accepted(0)
	net.waitFor("records accepted by 3 of 4 validators", func() bool { return net.accepted(0) >= before+5 })
	net.start(3)
	target := net.nodes[0].Height()
	net.waitForIn("the restarted validator to catch up", 3*time.Minute, func() bool { return net.nodes[3].Height() > target })
	net.waitFor("the restarted app to commit the target height", func() bool {
		st, err := net.nodes[3].App().Status()
		return err == nil && st.Height >= target
	})
	a, err := net.nodes[0].App().Block(target)
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.nodes[3].App().Block(target)
	if err != nil {
		t.Fatal(err)
	}
	if a.AppHash.String() != b.AppHash.String() {
		t.Fatalf("app hash at height %d: %s vs %s after restart", target, a.AppHash, b.AppHash)
	}
}

func TestFourValidatorsAcceptEveryChunkOfTwoStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	const rate, per, chunks = 1000.0, 50, 40 // 2,000 messages per stream
	sensors, ticks := gen.NewSensor(7), gen.NewTicker(3)
	_, sURL := startSourceOf(t, sensors, rate)
	_, tURL := startSourceOf(t, ticks, rate)
	net := startStreams(t, 4, 27100, []app.Stream{
		{ID: "sensors", Source: sURL, Chunk: app.ChunkPolicy{Messages: per}},
		{ID: "ticks", Source: tURL, Chunk: app.ChunkPolicy{Messages: per}},
	}, 0, nil)
	nodes := net.nodes
	for _, s := range []struct {
		id string
		g  gen.Generator
	}{{"sensors", sensors}, {"ticks", ticks}} {
		// Nodes commit at slightly different moments: wait for both nodes
		// this test reads.
		// Every one of the first chunks, not merely as many: a later
		// chunk can be accepted while an earlier one still waits.
		firstAccepted := func(n *Node) bool {
			recs, _, err := n.App().Records(s.id, 0, chunks)
			if err != nil || len(recs) != chunks {
				return false
			}
			for i, r := range recs {
				if r.Index != uint64(i) || r.Status != "accepted" {
					return false
				}
			}
			return true
		}
		net.waitForIn(s.id+" chunks accepted on nodes 1 and 2", 3*time.Minute, func() bool {
			return firstAccepted(nodes[1]) && firstAccepted(nodes[2])
		})
		recs, _, err := nodes[2].App().Records(s.id, 0, chunks)
		other, _, _ := nodes[1].App().Records(s.id, 0, chunks)
		for i := range min(len(recs), len(other)) {
			if recs[i].Digest != other[i].Digest || recs[i].Height != other[i].Height {
				t.Fatalf("%s record %d differs between nodes: %+v vs %+v", s.id, i, recs[i], other[i])
			}
		}
		if err != nil || len(recs) != chunks {
			t.Fatalf("%s: %d records, %v", s.id, len(recs), err)
		}
		for i, r := range recs {
			if r.Index != uint64(i) || r.Status != "accepted" {
				t.Fatalf("%s: record %d is %d/%s", s.id, i, r.Index, r.Status)
			}
			if want := expectedDigestOf(t, s.g, s.id, r.Index, per, rate); r.Digest != want.String() {
				t.Fatalf("%s record %d: digest %s, independently computed %s", s.id, r.Index, r.Digest, want)
			}
		}
	}
}
