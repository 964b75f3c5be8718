package node

import (
	"context"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest"
	"github.com/datadragon/datadragon/ingest/raw"
	"github.com/datadragon/datadragon/ingest/rawchunk"
)

// followRaw reads a raw stream's feed until ctx ends, restarting after
// failures, and attests every chunk it closes: complete ones with their
// link and the rules' verdict on their normalised messages, the chunk a
// disconnect broke (and one over its byte bound) as a gap.
func (n *Node) followRaw(ctx context.Context, s app.Stream) {
	rs, err := rules.Parse(s.Rules)
	if err != nil {
		n.log.Error("stream rules do not parse; chunks are attested without them", "stream", s.ID, "err", err)
	}
	spec := s.Raw
	var lastErr string
	onEvent := func(ev raw.Event) {
		switch ev := ev.(type) {
		case raw.Gap:
			if msg := ev.Err.Error(); msg != lastErr {
				lastErr = msg
				n.log.Warn("raw feed disconnected; reconnecting (the chunk it was in is a gap)", "stream", s.ID, "err", ev.Err, "retry", ev.Retry)
				n.setSourceStatus(s.ID, "feed disconnected, reconnecting: "+msg)
			}
		case raw.Connected:
			if lastErr != "" {
				n.log.Info("raw feed reconnected", "stream", s.ID, "attempt", ev.Attempt)
				lastErr = ""
				n.setSourceStatus(s.ID, "")
			}
		}
	}
	cfg := ingest.RawConfig{
		Stream:    s.ID,
		Policy:    spec.Policy(),
		Normalize: spec.Normalize,
		Source:    raw.Config{URL: s.Source, Header: spec.Header, Subscribe: spec.Subscribe, TLS: n.srcTLS, MaxMessageBytes: spec.MaxMessageBytes},
		OnEvent:   onEvent,
	}
	for ctx.Err() == nil {
		err := ingest.FollowRaw(ctx, cfg, func(o ingest.RawObserved) error {
			v := wire.OK
			if rs != nil && o.Status == rawchunk.Complete {
				v = rs.Check(o.Messages)
			}
			n.att.addRaw(rawAttestation(o, v))
			return nil
		})
		if ctx.Err() != nil {
			return
		}
		n.log.Warn("raw stream follower stopped; restarting", "stream", s.ID, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// rawAttestation is this validator's attestation of a closed raw chunk.
func rawAttestation(o ingest.RawObserved, v wire.Verdict) wire.Attestation {
	id := wire.Digest(o.ID)
	at := wire.Attestation{Stream: o.Stream, Index: wire.RawIndex(id), TimeMs: o.ObservedAt.UnixMilli(), Raw: &wire.RawLink{ID: id}}
	if o.Status == rawchunk.Complete {
		at.Raw = &wire.RawLink{ID: id, Close: wire.Digest(o.Close), Content: wire.Digest(o.Content), Count: uint32(o.Count)}
		at.Digest, at.Verdict = wire.Digest(o.Digest), v
	} else {
		at.Verdict = wire.Gap // a node that missed messages says so; it never guesses
	}
	return at
}

// addRaw holds a raw attestation until the chain counts or decides it.
// Fault injection changes the content hash, so the lie is a different,
// well-formed claim about the same chunk.
func (a *Attestor) addRaw(at wire.Attestation) {
	at.TimeMs += a.skewMs
	if at.Verdict.Kind != wire.VerdictGap && a.lies(at.Key()) {
		l := *at.Raw
		l.Content[0] ^= 0xff
		at.Raw = &l
		at.Digest, _ = l.RawDigest(at.Stream)
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
