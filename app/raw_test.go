package app

import (
	"bytes"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

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

// TestRawRecordsListedInStreamOrder: a raw stream's records are listed by
// the chain's position, not by their tally key (the first 8 bytes of the
// chunk id, which is no order), page by page; each record names its
// neighbours; and a state restored from a snapshot has the index, then
// keeps it up as it follows the chain.
func TestRawRecordsListedInStreamOrder(t *testing.T) {
	n := newNet(t, netOpts{extra: []Stream{rawStream()}})
	n.vals[0].app.cfg.Snapshots = SnapshotConfig{Interval: 5, Keep: 100, ChunkBytes: 4096}
	// Prices that never repeat, so no chunk does either.
	ref := rawChunks(t, 1200, 0, func(i int, _ []byte) []byte { return fmt.Appendf(nil, `{"type":"ticker","px":%d}`, i) })
	if len(ref) < 80 {
		t.Fatalf("%d chunks", len(ref))
	}
	for i := range ref {
		for v := range 4 {
			at := rawAttestation(ref[i], v)
			at.TimeMs += int64(i) * 100 // the feed's chunks close one after the other
			n.vals[v].att.add(at)
		}
		if i%4 == 3 {
			n.step()
		}
	}
	for range 12 {
		n.step()
	}
	n.vals[0].app.snapWG.Wait()
	keySorted := true
	for i := 1; i < len(ref); i++ {
		if wire.RawIndex(wire.Digest(ref[i].ID)) < wire.RawIndex(wire.Digest(ref[i-1].ID)) {
			keySorted = false
		}
	}
	if keySorted {
		t.Fatal("the chunk ids happen to be in stream order: the test shows nothing")
	}

	list := func(a *App, limit int) []*RecordView {
		t.Helper()
		var all []*RecordView
		from, pages := uint64(0), 0
		for {
			recs, next, err := a.Records("raw-ticks", from, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > limit {
				t.Fatalf("a page of %d records, limit %d", len(recs), limit)
			}
			all = append(all, recs...)
			pages++
			if next == nil {
				break
			}
			if *next != from+uint64(len(recs)) {
				t.Fatalf("next page from %d after %d records from %d", *next, len(recs), from)
			}
			from = *next
		}
		if want := (len(all) + limit - 1) / limit; pages != want && !(len(all)%limit == 0 && pages == want+1) {
			t.Fatalf("%d pages for %d records of %d", pages, len(all), limit)
		}
		return all
	}
	check := func(name string, all []*RecordView, upTo int) {
		t.Helper()
		if len(all) != upTo {
			t.Fatalf("%s: %d records listed, want %d", name, len(all), upTo)
		}
		for i, r := range all {
			ch := ref[i]
			if r.Raw == nil || r.Raw.Position != uint64(i) || r.Raw.ChunkID != ch.ID.String() || r.Index != wire.RawIndex(wire.Digest(ch.ID)) {
				t.Fatalf("%s: listed record %d is %d %+v, want the chunk at position %d (%s)", name, i, r.Index, r.Raw, i, ch.ID)
			}
			if i > 0 && (r.Raw.PrevIndex == nil || *r.Raw.PrevIndex != all[i-1].Index || r.Raw.PrevID != all[i-1].Raw.ChunkID) {
				t.Fatalf("%s: record %d names %v/%s as previous, want %d", name, i, r.Raw.PrevIndex, r.Raw.PrevID, all[i-1].Index)
			}
			if i == 0 && r.Raw.PrevIndex != nil {
				t.Fatalf("%s: the first record names a previous one", name)
			}
			if i+1 < len(all) && (r.Raw.NextIndex == nil || *r.Raw.NextIndex != all[i+1].Index || r.Raw.NextID != all[i+1].Raw.ChunkID) {
				t.Fatalf("%s: record %d names %v as next, want %d", name, i, r.Raw.NextIndex, all[i+1].Index)
			}
		}
		if last := all[len(all)-1]; last.Raw.NextIndex != nil {
			t.Fatalf("%s: the last record names a next one", name)
		}
	}
	all := list(n.vals[1].app, 7)
	check("validator", all, len(ref))
	if again := list(n.vals[1].app, MaxPageSize); len(again) != len(all) {
		t.Fatalf("one page lists %d records, pages of 7 list %d", len(again), len(all))
	}
	si, err := n.vals[1].app.Stream("raw-ticks")
	if err != nil || si.NextIndex == nil || *si.NextIndex != uint64(len(ref)) {
		t.Fatalf("stream next position %v (%v), want %d", si.NextIndex, err, len(ref))
	}

	// A snapshot taken mid-way restores the index; the restored app then
	// follows the chain and lists what the validators list. (A due
	// snapshot is skipped while another is written: take the first one
	// from height 10 on, whichever was taken.)
	ls, _ := n.vals[0].app.ListSnapshots(ctx, &abci.ListSnapshotsRequest{})
	var s *abci.Snapshot
	for _, x := range ls.Snapshots {
		if x.Height >= 10 && x.Height <= 25 && (s == nil || x.Height < s.Height) {
			s = x
		}
	}
	if s == nil {
		t.Fatalf("no snapshot of heights 10 to 25 among %d", len(ls.Snapshots))
	}
	h := int64(s.Height)
	r := newRestorer(t, n)
	if res := apply(t, r, s, n.hashes[h-1], chunksOf(t, n.vals[0].app, s)); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restoring the snapshot of height %d: %v", h, res)
	}
	mid := list(r, 5)
	if len(mid) == 0 || len(mid) >= len(ref) {
		t.Fatalf("the snapshot of height %d lists %d of %d records: take it mid-way", h, len(mid), len(ref))
	}
	check("restored", mid, len(mid))
	for hh := h + 1; hh <= int64(len(n.blocks)); hh++ {
		fr, err := r.FinalizeBlock(ctx, n.blocks[hh-1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fr.AppHash, n.hashes[hh-1]) {
			t.Fatalf("height %d: the restored app computed another app hash", hh)
		}
		if _, err := r.Commit(ctx, &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	check("restored and caught up", list(r, 11), len(ref))
}
