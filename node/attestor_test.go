package node

import (
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest"
	"github.com/datadragon/datadragon/ingest/chunk"
	"github.com/datadragon/datadragon/ingest/digest"
)

func observed(index uint64, status chunk.Status) ingest.Observed {
	return ingest.Observed{
		Chunk:      chunk.Chunk{Stream: "s", Index: index, Status: status, Digest: digest.Digest{byte(index + 1)}},
		ObservedAt: time.UnixMilli(1000 + int64(index)),
	}
}

func TestAttestorKeepsAttestingUntilDecided(t *testing.T) {
	a := NewAttestor(0)
	a.Add(observed(0, chunk.Complete))
	a.Add(observed(1, chunk.Gap))
	got := a.Attestations(1)
	if len(got) != 2 || got[0].Verdict.Kind != wire.VerdictOK || got[0].Digest[0] != 1 ||
		got[1].Verdict.Kind != wire.VerdictGap || got[1].Digest != (wire.Digest{}) {
		t.Fatalf("attestations %+v", got)
	}
	// A height without this node's extension: nothing was committed, so
	// both are offered again.
	if len(a.Attestations(2)) != 2 {
		t.Fatal("pending attestations lost")
	}
	// Chunk 0 counted, chunk 1 still pending.
	a.Committed(app.CommitNotice{Included: got[:1]})
	if got := a.Attestations(3); len(got) != 1 || got[0].Index != 1 {
		t.Fatalf("after inclusion: %+v", got)
	}
	// The app drops chunk 0 (too little power saw it): offer it again.
	a.Committed(app.CommitNotice{Dropped: []wire.ChunkKey{{Stream: "s", Index: 0}}})
	if len(a.Attestations(4)) != 2 {
		t.Fatal("dropped chunk not offered again")
	}
	// Decided and stale chunks are forgotten for good, even if ingest
	// reports them again (a replay after reconnecting).
	a.Committed(app.CommitNotice{
		Decided: []app.Decision{{Key: wire.ChunkKey{Stream: "s", Index: 0}}},
		Stale:   []wire.ChunkKey{{Stream: "s", Index: 1}},
	})
	a.Add(observed(0, chunk.Complete))
	if got := a.Attestations(5); len(got) != 0 {
		t.Fatalf("decided chunks attested again: %+v", got)
	}
}

func TestAttestorFaultInjection(t *testing.T) {
	honest, liar := NewAttestor(0), NewAttestor(0.5)
	lies := 0
	for i := range uint64(400) {
		honest.Add(observed(i, chunk.Complete))
		liar.Add(observed(i, chunk.Complete))
	}
	h, l := honest.Attestations(1), liar.Attestations(1)
	for i := range h {
		if h[i].Digest != l[i].Digest {
			lies++
		}
	}
	if lies < 150 || lies > 250 {
		t.Fatalf("a 50%% liar lied about %d of 400 chunks", lies)
	}
}

// TestAttestorForgetsOldDecisions: the decided chunks the attestor
// remembers are bounded by maxDone, the newest kept, so its memory does
// not grow with the chain's age; a recent decision still blocks a late
// close of its chunk.
func TestAttestorForgetsOldDecisions(t *testing.T) {
	a := NewAttestor(0)
	total := maxDone + 100
	for i := range total {
		a.Committed(app.CommitNotice{Decided: []app.Decision{{Key: wire.ChunkKey{Stream: "s", Index: uint64(i)}}}})
	}
	a.mu.Lock()
	n, fif := len(a.done), len(a.doneFIF)
	a.mu.Unlock()
	if n != maxDone || fif != maxDone {
		t.Fatalf("remembers %d decided chunks (%d in order) after %d decisions, want %d", n, fif, total, maxDone)
	}
	a.Add(observed(uint64(total-1), chunk.Complete))
	if got := a.Attestations(1); len(got) != 0 {
		t.Fatalf("a recently decided chunk attested again: %+v", got)
	}
	// The oldest are forgotten: a close of one is attested (the app's
	// selection then leaves it out as settled).
	a.Add(observed(0, chunk.Complete))
	if got := a.Attestations(2); len(got) != 1 || got[0].Index != 0 {
		t.Fatalf("after forgetting the oldest decisions: %+v", got)
	}
}
