package node

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest"
	"github.com/datadragon/datadragon/ingest/chunk"
)

// maxPending bounds the attestations a node keeps waiting for a decision;
// past it the oldest are dropped (they are re-attested from the source's
// replay buffer if the node restarts, and otherwise end as absent).
const maxPending = 1 << 16

// maxDone bounds the decided chunks the attestor remembers, so that a chunk
// this node closes after the chain decided it is not attested again. Such
// a late close comes from a node behind its peers by at most its source's
// replay buffer — seconds to minutes, a few hundred chunks at the demo
// load — and a restart forgets them all anyway, so 8,192 (over an hour of
// the demo's chunks) is ample. It was maxPending: 65,536 keys filled over
// nine hours, memory that grew with the chain's age.
const maxDone = 1 << 13

// Attestor turns the chunks ingest closes into this validator's
// attestations and holds them until the chain has counted or decided
// them, so a height without this node's extension loses nothing. It
// implements app.Attestor and is safe for concurrent use.
type Attestor struct {
	mu      sync.Mutex
	pending map[wire.ChunkKey]wire.Attestation
	order   []wire.ChunkKey // arrival order, for dropping the oldest
	// counted holds attestations a block counted while their chunk is
	// still undecided: if the app drops the chunk, they are offered again.
	counted map[wire.ChunkKey]wire.Attestation
	done    map[wire.ChunkKey]bool
	doneFIF []wire.ChunkKey
	// faultRate is the fraction of chunks this node attests with a wrong
	// digest: fault injection for tests and demos, 0 in production.
	faultRate float64
	// skewMs shifts this node's observation times: fault injection for
	// tests and demos, 0 in production.
	skewMs int64
	// pushed looks up a pushed chunk this node hashed, for a chunk the
	// app dropped that the attestor no longer remembers (after a
	// restart). Nil: none.
	pushed func(wire.ChunkKey) (app.PushedChunk, bool)
	// fetch takes a pushed chunk whose bytes this node must fetch before
	// it can attest (it must not block). Nil: such chunks are ignored.
	fetch func(app.PushedChunk)
}

// NewAttestor returns an attestor; faultRate (0 ≤ f ≤ 1) makes it lie
// about that fraction of chunks, chosen by a hash of the chunk key.
func NewAttestor(faultRate float64) *Attestor {
	return &Attestor{
		pending:   map[wire.ChunkKey]wire.Attestation{},
		counted:   map[wire.ChunkKey]wire.Attestation{},
		done:      map[wire.ChunkKey]bool{},
		faultRate: faultRate,
	}
}

// Add records a closed chunk that passed the stream's rules (or has none).
func (a *Attestor) Add(o ingest.Observed) { a.AddVerdict(o, wire.OK) }

// AddVerdict records a closed chunk with the verdict of the stream's
// rules on its messages (used only if the chunk is complete).
func (a *Attestor) AddVerdict(o ingest.Observed, v wire.Verdict) {
	at := wire.Attestation{
		Stream: o.Stream,
		Index:  o.Index,
		TimeMs: o.ObservedAt.UnixMilli() + a.skewMs,
	}
	if o.Status == chunk.Complete {
		at.Digest = wire.Digest(o.Digest)
		at.Verdict = v
		if a.lies(at.Key()) {
			at.Digest[0] ^= 0xff
		}
	} else {
		// A node that missed frames says so; it never guesses a digest.
		at.Verdict = wire.Verdict{Kind: wire.VerdictGap}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k := at.Key()
	if a.done[k] {
		return
	}
	if _, ok := a.pending[k]; !ok {
		a.order = append(a.order, k)
	}
	a.pending[k] = at
	for len(a.pending) > maxPending && len(a.order) > 0 {
		delete(a.pending, a.order[0])
		a.order = a.order[1:]
	}
}

// AddPushed attests pushed chunks this node hashed: at start, those the
// app holds without a record.
func (a *Attestor) AddPushed(ps []app.PushedChunk) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now().UnixMilli()
	for _, p := range ps {
		a.addPushed(p, now)
	}
}

func (a *Attestor) addPushed(p app.PushedChunk, now int64) {
	k := p.Key
	if a.done[k] {
		return
	}
	if p.Fetch != nil {
		if a.fetch != nil {
			a.fetch(p)
		}
		return
	}
	at := wire.Attestation{Stream: k.Stream, Index: k.Index, Digest: p.Digest, Verdict: p.Verdict, TimeMs: now + a.skewMs}
	if a.lies(k) {
		at.Digest[0] ^= 0xff
	}
	if _, ok := a.pending[k]; !ok {
		a.order = append(a.order, k)
	}
	a.pending[k] = at
}

// lies reports whether fault injection makes this node attest a wrong
// digest for k.
func (a *Attestor) lies(k wire.ChunkKey) bool {
	if a.faultRate <= 0 {
		return false
	}
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(k.Stream), k.Index))
	return float64(binary.BigEndian.Uint64(h[:8]))/float64(^uint64(0)) < a.faultRate
}

// Attestations returns every attestation still waiting (app.Attestor).
func (a *Attestor) Attestations(int64) []wire.Attestation {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]wire.Attestation, 0, len(a.pending))
	seen := make(map[wire.ChunkKey]bool, len(a.pending))
	for _, k := range a.order {
		if at, ok := a.pending[k]; ok && !seen[k] {
			seen[k] = true
			out = append(out, at)
		}
	}
	return out
}

// Committed forgets what a block counted or decided, offers again what it
// dropped, and forgets what is too late to count (app.Attestor).
func (a *Attestor) Committed(n app.CommitNotice) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range n.Included {
		k := at.Key()
		delete(a.pending, k)
		if len(a.counted) < maxPending {
			a.counted[k] = at
		}
	}
	for _, k := range n.Dropped {
		if at, ok := a.counted[k]; ok && !a.done[k] {
			delete(a.counted, k)
			a.pending[k] = at
			a.order = append(a.order, k)
		} else if _, ok := a.pending[k]; !ok && a.pushed != nil && !a.done[k] {
			if p, ok := a.pushed(k); ok {
				a.addPushed(p, time.Now().UnixMilli())
			}
		}
	}
	forget := func(k wire.ChunkKey) {
		delete(a.pending, k)
		delete(a.counted, k)
		if !a.done[k] {
			a.done[k] = true
			a.doneFIF = append(a.doneFIF, k)
			if len(a.doneFIF) > maxDone {
				delete(a.done, a.doneFIF[0])
				a.doneFIF = a.doneFIF[1:]
			}
		}
	}
	for _, d := range n.Decided {
		forget(d.Key)
	}
	// Pushed chunks: this node hashed the bytes (or read the producer's
	// digest) in FinalizeBlock; it attests now, with its own clock.
	now := time.Now().UnixMilli()
	for _, p := range n.Pushed {
		a.addPushed(p, now)
	}
	for _, k := range n.Stale {
		forget(k)
	}
	// Compact the arrival order now and then.
	if len(a.order) > 2*len(a.pending)+1024 {
		kept := a.order[:0]
		for _, k := range a.order {
			if _, ok := a.pending[k]; ok {
				kept = append(kept, k)
			}
		}
		a.order = kept
	}
}
