package node

import (
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
)

// TestOneSkewedClockDoesNotMoveTimestamps: a validator whose clock is an
// hour fast still agrees on digests, but the record's timestamp (the
// power-weighted median of the majority's times) stays with the honest
// clocks.
func TestOneSkewedClockDoesNotMoveTimestamps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	_, url := startSource(t, 400)
	members, err := InitHomes(InitOptions{
		Dir: t.TempDir(), Validators: 4, ChainID: "dd-skew", Host: "127.0.0.1", BasePort: 29400, Power: 10,
		CommitTimeout: 100 * time.Millisecond,
		AppState:      AppState([]app.Stream{{ID: "sensors", Source: url, Chunk: app.ChunkPolicy{Messages: 20}}}, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	const skew = time.Hour
	cfg, err := LoadConfig(members[3].Home)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClockSkewMs = skew.Milliseconds()
	if err := cfg.Save(members[3].Home); err != nil {
		t.Fatal(err)
	}
	net := &testNet{t: t, members: members, nodes: make([]*Node, 4)}
	for i := range members {
		net.start(i)
	}
	t.Cleanup(func() {
		for _, nd := range net.nodes {
			if nd != nil {
				nd.Stop()
			}
		}
	})
	// A settled record that the skewed validator agreed with.
	var rv *app.RecordView
	net.waitFor("a settled record with all four attestations", func() bool {
		recs, _, err := net.nodes[0].App().Records("sensors", 0, 100)
		if err != nil {
			return false
		}
		for _, r := range recs {
			if r.Settled && len(r.Attestations) == 4 && r.Attestations[3].Outcome == "agreed" {
				rv = r
				return true
			}
		}
		return false
	})
	now := time.Now()
	if d := now.Sub(rv.Timestamp); d < 0 || d > time.Minute {
		t.Fatalf("record timestamp %v is %v from now: the skewed clock moved it", rv.Timestamp, d)
	}
	skewed := rv.Attestations[3].Time
	if d := skewed.Sub(rv.Timestamp); d < skew-time.Minute || d > skew+time.Minute {
		t.Fatalf("the skewed validator's time is %v from the record's, want about %v", d, skew)
	}
	t.Logf("record %d: timestamp %v; the skewed validator said %v", rv.Index, rv.Timestamp.Format(time.RFC3339Nano), skewed.Format(time.RFC3339Nano))
}
