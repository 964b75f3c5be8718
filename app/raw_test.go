package app

import (
	"fmt"
	"testing"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/rawchunk"
)

var rawTestSpec = RawSpec{ExpectedMessages: 8, Normalize: digest.Normalize{IgnoreField: "type", IgnoreValues: []string{"heartbeat"}, DropFields: []string{"conn"}}}

func rawStream() Stream {
	spec := rawTestSpec
	return Stream{ID: "raw-ticks", Mode: ModeRaw, Source: "ws://127.0.0.1:7900/feed", Raw: &spec}
}

// rawChunks cuts a synthetic ticker feed (as subscriber conn sees it) with
// the stream's spec; tamper, if set, changes message i.
func rawChunks(t *testing.T, n, conn int, tamper func(i int, m []byte) []byte) []rawchunk.Chunk {
	t.Helper()
	c, err := rawchunk.New("raw-ticks", rawTestSpec.Policy(), rawTestSpec.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawchunk.Chunk
	for i := range n {
		if i%5 == 0 {
			c.Add(fmt.Appendf(nil, `{"type":"heartbeat","conn":%d}`, conn))
		}
		m := fmt.Appendf(nil, `{"type":"ticker","conn":%d,"px":%d}`, conn, (i*7919)%1000)
		if tamper != nil {
			m = tamper(i, m)
		}
		out = append(out, c.Add(m)...)
	}
	return out
}

func rawAttestation(ch rawchunk.Chunk, v int) wire.Attestation {
	at := wire.Attestation{Stream: ch.Stream, Index: wire.RawIndex(wire.Digest(ch.ID)), TimeMs: 1_700_000_000_000 + int64(v), Raw: &wire.RawLink{ID: wire.Digest(ch.ID)}}
	if ch.Status == rawchunk.Complete {
		at.Verdict, at.Digest = wire.OK, wire.Digest(ch.Digest)
		at.Raw = &wire.RawLink{ID: wire.Digest(ch.ID), Close: wire.Digest(ch.Close), Content: wire.Digest(ch.Content), Count: uint32(ch.Count)}
	} else {
		at.Verdict = wire.Gap
	}
	return at
}

// TestRawChunksAcceptedInOrderWithLinks: four validators attest the same
// raw chunks (one of them a gap, one of them lied about by validator 3);
// the chain accepts them, gives positions in link order, and the records
// link; the liar is outvoted and counted faulty, the gap is a gap.
func TestRawChunksAcceptedInOrderWithLinks(t *testing.T) {
	n := newNet(t, netOpts{extra: []Stream{rawStream()}})
	ref := rawChunks(t, 400, 0, nil)
	if len(ref) < 20 {
		t.Fatalf("%d chunks", len(ref))
	}
	const lied, gapped = 7, 11
	views := make([][]rawchunk.Chunk, 4)
	for v := range 4 {
		views[v] = rawChunks(t, 400, v, nil) // each validator has its own connection id
	}
	// Validator 3's source sends it other prices inside chunk `lied`
	// (boundaries kept, so it names the same chunk).
	views[3] = nil
	for _, ch := range rawChunks(t, 400, 3, nil) {
		views[3] = append(views[3], ch)
	}
	bad := ref[lied]
	bad.Messages = append([][]byte{bad.Messages[0]}, []byte(`{"type":"ticker","px":-1}`))
	h := digest.NewRawHasher()
	for _, m := range bad.Messages {
		h.Add(m)
	}
	bad.Content, bad.Count = h.Sum(), len(bad.Messages)
	bad.Digest, _ = digest.RawDigest(bad.Stream, bad.ID, bad.Close, uint32(bad.Count), bad.Content)
	views[3][lied] = bad
	views[2][gapped].Status = rawchunk.Gap

	// Validators attest chunk by chunk, newest last, a few per block.
	for i := range ref {
		for v := range 4 {
			if views[v][i].Digest != ref[i].Digest && v != 3 && i != gapped {
				t.Fatalf("validator %d disagrees on chunk %d despite normalisation", v, i)
			}
			n.vals[v].att.add(rawAttestation(views[v][i], v))
		}
		if i%3 == 2 {
			n.step()
		}
	}
	for range 12 {
		n.step()
	}
	var prev *RecordView
	for i, ch := range ref {
		r := n.record(0, "raw-ticks", wire.RawIndex(wire.Digest(ch.ID)))
		if r.Status != "accepted" || r.Raw == nil {
			t.Fatalf("chunk %d: %s, raw %v", i, r.Status, r.Raw)
		}
		if r.Digest != ch.Digest.String() || r.Raw.ChunkID != ch.ID.String() || r.Raw.Close != ch.Close.String() {
			t.Fatalf("chunk %d: record %+v does not carry the observed chunk", i, r.Raw)
		}
		if r.Raw.Position != uint64(i) {
			t.Fatalf("chunk %d got position %d", i, r.Raw.Position)
		}
		if prev != nil && prev.Raw.Close != r.Raw.ChunkID {
			t.Fatalf("records %d and %d do not link", i-1, i)
		}
		prev = r
		outcome := map[string]string{}
		for _, a := range r.Attestations {
			outcome[a.Name] = a.Outcome
		}
		switch i {
		case lied:
			if outcome["node3"] != "faulty" {
				t.Fatalf("the outvoted validator's outcome is %q", outcome["node3"])
			}
		case gapped:
			if outcome["node2"] != "gap" {
				t.Fatalf("the gap validator's outcome is %q", outcome["node2"])
			}
		}
	}
	for range 6 {
		n.step()
	}
	if vs := n.counters(0); vs[3].Faulty != 1 || vs[2].Gaps != 1 || vs[0].Faulty != 0 {
		t.Fatalf("counters: node3 faulty %d, node2 gaps %d, node0 faulty %d", vs[3].Faulty, vs[2].Gaps, vs[0].Faulty)
	}
	// Every validator's state agrees.
	for v := 1; v < 4; v++ {
		if a, b := n.record(v, "raw-ticks", wire.RawIndex(wire.Digest(ref[5].ID))), n.record(0, "raw-ticks", wire.RawIndex(wire.Digest(ref[5].ID))); a.Raw.Position != b.Raw.Position || a.Digest != b.Digest {
			t.Fatal("validators disagree")
		}
	}
}

// A framed attestation for a raw stream, and a raw one for a framed
// stream, are not counted.
func TestRawAttestationsMustFitTheStream(t *testing.T) {
	n := newNet(t, netOpts{extra: []Stream{rawStream()}})
	ch := rawChunks(t, 100, 0, nil)[2]
	framedOnRaw := wire.Attestation{Stream: "raw-ticks", Index: 5, Digest: digestOf("raw-ticks", 5), TimeMs: 1, Verdict: wire.OK}
	rawOnFramed := rawAttestation(ch, 0)
	rawOnFramed.Stream = "ticks"
	rawOnFramed.Digest, _ = rawOnFramed.Raw.RawDigest("ticks")
	for v := range 4 {
		n.vals[v].att.add(framedOnRaw)
		n.vals[v].att.add(rawOnFramed)
	}
	for range 5 {
		n.step()
	}
	for _, k := range []wire.ChunkKey{framedOnRaw.Key(), rawOnFramed.Key()} {
		if _, err := n.vals[0].app.Record(k.Stream, k.Index); err == nil {
			t.Fatalf("%s was counted", k)
		}
	}
}

func TestRawSpecValidation(t *testing.T) {
	ok := rawStream()
	if err := ok.Validate(nil); err != nil {
		t.Fatal(err)
	}
	bad := []func(s *Stream){
		func(s *Stream) { s.Raw = nil },
		func(s *Stream) { s.Chunk = ChunkPolicy{Messages: 10} },
		func(s *Stream) { s.Raw.ExpectedMessages = 0 },
		func(s *Stream) { s.Raw.TimeField = "ts" },
		func(s *Stream) { s.Raw.Subscribe = []string{string(make([]byte, MaxRawSubscribeBytes+1))} },
		func(s *Stream) { s.Raw.Subscribe = make([]string, MaxRawSubscribe+1) },
		func(s *Stream) { s.Raw.Header = map[string]string{"X": "a\nb"} },
		func(s *Stream) { s.Raw.MaxMessageBytes = MaxRawMessageBytes + 1 },
		func(s *Stream) { s.Raw.Normalize.IgnoreField = "type"; s.Raw.Normalize.IgnoreValues = nil },
		func(s *Stream) { s.Source = "http://x/" },
		func(s *Stream) { s.Mode = ModeObserve; s.Chunk = ChunkPolicy{Messages: 3} },
	}
	for i, f := range bad {
		s := rawStream()
		spec := *s.Raw
		s.Raw = &spec
		f(&s)
		if s.Validate(nil) == nil {
			t.Errorf("spec %d accepted", i)
		}
	}
	tf := rawStream()
	tf.Raw = &RawSpec{TimeField: "ts", WindowMs: 1000}
	if err := tf.Validate(nil); err != nil {
		t.Fatal(err)
	}
}
