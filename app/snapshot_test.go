package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// snapNet is a network whose validator 0 takes a snapshot every 5
// heights in chunks of about 1 KiB, run to height 16 with records decided
// all along.
func snapNet(t *testing.T) *testNet {
	n := newNet(t, netOpts{streams: []string{"sensors"}})
	n.vals[0].app.cfg.Snapshots = SnapshotConfig{Interval: 5, Keep: 2, ChunkBytes: 1024}
	for h := 1; h <= 16; h++ {
		n.observe("sensors", uint64(h-1))
		n.step()
	}
	n.vals[0].app.snapWG.Wait()
	return n
}

// offered is the snapshot of height h as validator 0 lists it.
func offered(t *testing.T, a *App, h int64) *abci.Snapshot {
	t.Helper()
	ls, err := a.ListSnapshots(ctx, &abci.ListSnapshotsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ls.Snapshots {
		if int64(s.Height) == h {
			return s
		}
	}
	t.Fatalf("no snapshot of height %d listed", h)
	return nil
}

func chunksOf(t *testing.T, a *App, s *abci.Snapshot) [][]byte {
	t.Helper()
	var out [][]byte
	for i := uint32(0); i < s.Chunks; i++ {
		r, err := a.LoadSnapshotChunk(ctx, &abci.LoadSnapshotChunkRequest{Height: s.Height, Format: s.Format, Chunk: i})
		if err != nil || len(r.Chunk) == 0 {
			t.Fatalf("chunk %d: %v", i, err)
		}
		out = append(out, r.Chunk)
	}
	return out
}

func newRestorer(t *testing.T, n *testNet) *App {
	a, err := New(Config{Dir: t.TempDir(), Scheme: n.scheme})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// apply offers a snapshot and feeds it its chunks, returning the result
// of the last chunk applied.
func apply(t *testing.T, a *App, s *abci.Snapshot, appHash []byte, chunks [][]byte) abci.ApplySnapshotChunkResult {
	t.Helper()
	or, err := a.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: appHash})
	if err != nil || or.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer: %v %v", or, err)
	}
	var last abci.ApplySnapshotChunkResult
	for i, c := range chunks {
		r, err := a.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: uint32(i), Chunk: c, Sender: "peer"})
		if err != nil {
			t.Fatal(err)
		}
		last = r.Result
		if last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			return last
		}
	}
	return last
}

// A snapshot restores the state of its height exactly: the restored app
// reports the verified app hash, serves the same records, blocks and
// counters, and goes on from there in step with the validators.
func TestSnapshotRestoresTheStateAndFollowsTheChain(t *testing.T) {
	n := snapNet(t)
	src := n.vals[0].app
	ls, _ := src.ListSnapshots(ctx, &abci.ListSnapshotsRequest{})
	var heights []uint64
	for _, s := range ls.Snapshots {
		heights = append(heights, s.Height)
	}
	if !slices.Equal(heights, []uint64{15, 10}) {
		t.Fatalf("snapshots listed at heights %v, want the newest two, [15 10]", heights)
	}
	s := offered(t, src, 15)
	if s.Chunks < 3 {
		t.Fatalf("a snapshot of %d chunks: the chunk size bound was not applied", s.Chunks)
	}
	chunks := chunksOf(t, src, s)
	for i, c := range chunks {
		if len(c) > 1024+600 {
			t.Fatalf("chunk %d has %d bytes", i, len(c))
		}
	}
	r := newRestorer(t, n)
	if res := apply(t, r, s, n.hashes[14], chunks); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("the honest snapshot: %v", res)
	}
	info, _ := r.Info(ctx, &abci.InfoRequest{})
	if info.LastBlockHeight != 15 || !bytes.Equal(info.LastBlockAppHash, n.hashes[14]) {
		t.Fatalf("restored app at height %d, app hash %X; want 15, %X", info.LastBlockHeight, info.LastBlockAppHash, n.hashes[14])
	}
	for i := uint64(0); i < 12; i++ {
		want, _ := n.vals[1].app.Record("sensors", i)
		got, err := r.Record("sensors", i)
		if err != nil || want == nil || got.Status != "accepted" || got.Digest != want.Digest || got.Height != want.Height {
			t.Fatalf("record sensors/%d: %+v %v, validator has %+v", i, got, err, want)
		}
		wb, _ := n.vals[1].app.RecordBytes("sensors", i)
		gb, _ := r.RecordBytes("sensors", i)
		if !bytes.Equal(wb, gb) {
			t.Fatalf("record sensors/%d: other bytes", i)
		}
	}
	for h := int64(1); h <= 15; h++ {
		want, _ := n.vals[1].app.Block(h)
		got, err := r.Block(h)
		if err != nil || !bytes.Equal(got.AppHash, want.AppHash) || !bytes.Equal(got.ChangesetHash, want.ChangesetHash) {
			t.Fatalf("block %d: %+v %v", h, got, err)
		}
	}
	if _, err := r.Scrub(ctx); err != nil {
		t.Fatalf("the restored state does not pass the scrub: %v", err)
	}
	// Height 16 was decided after the snapshot; then the chain goes on.
	for h := 16; h <= 20; h++ {
		if h > 16 {
			n.observe("sensors", uint64(h-1))
			n.step()
		}
		req := n.blocks[h-1]
		fr, err := r.FinalizeBlock(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fr.AppHash, n.hashes[h-1]) {
			t.Fatalf("height %d: the restored app computed another app hash", h)
		}
		if _, err := r.Commit(ctx, &abci.CommitRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// A state that exists is never overwritten.
	or, _ := r.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: n.hashes[14]})
	if or.Result != abci.OFFER_SNAPSHOT_RESULT_ABORT {
		t.Fatalf("a snapshot offered to an app with a state: %v", or.Result)
	}
}

// A chunk that does not hash to its listed hash is fetched again from
// another peer and its sender refused; the restore then goes on.
func TestTamperedChunkIsRefetched(t *testing.T) {
	n := snapNet(t)
	src := n.vals[0].app
	s := offered(t, src, 15)
	chunks := chunksOf(t, src, s)
	r := newRestorer(t, n)
	if or, _ := r.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: n.hashes[14]}); or.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatal(or.Result)
	}
	for i, c := range chunks {
		if i == 1 {
			bad := bytes.Clone(c)
			bad[len(bad)/2] ^= 1
			res, _ := r.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: 1, Chunk: bad, Sender: "liar"})
			if res.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY || !slices.Equal(res.RefetchChunks, []uint32{1}) || !slices.Equal(res.RejectSenders, []string{"liar"}) {
				t.Fatalf("a tampered chunk: %+v", res)
			}
		}
		res, _ := r.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: uint32(i), Chunk: c, Sender: "honest"})
		if res.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatalf("chunk %d: %v", i, res.Result)
		}
	}
	if info, _ := r.Info(ctx, &abci.InfoRequest{}); info.LastBlockHeight != 15 {
		t.Fatalf("restored to height %d", info.LastBlockHeight)
	}
}

// reforge rebuilds a snapshot's chunks and metadata after change edits
// its entries, so every chunk hashes to its listed hash: a snapshot
// forged whole by a peer.
func reforge(t *testing.T, s *abci.Snapshot, chunks [][]byte, change func(i int, es []snapshotEntry) []snapshotEntry) (*abci.Snapshot, [][]byte) {
	t.Helper()
	m, err := decodeSnapshotMeta(s.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	m.Chunks, m.Total = nil, 0
	for i, c := range chunks {
		_, es, err := decodeSnapshotChunk(c)
		if err != nil {
			t.Fatal(err)
		}
		es = change(i, es)
		b := binary.BigEndian.AppendUint32([]byte{1}, uint32(i))
		for _, e := range es {
			b = appendEntry(b, e)
		}
		out = append(out, b)
		m.Chunks = append(m.Chunks, sha256.Sum256(b))
		m.Total += uint64(len(b))
	}
	same := true
	for i := range out {
		same = same && bytes.Equal(out[i], chunks[i])
	}
	if same {
		t.Fatal("the forgery changed nothing")
	}
	return &abci.Snapshot{Height: s.Height, Format: s.Format, Chunks: s.Chunks, Hash: m.hash(), Metadata: m.marshal()}, out
}

// A snapshot whose chunks match its own metadata but whose state is not
// the one the verified app hash commits to is refused at its last chunk,
// and nothing of it stays.
func TestForgedSnapshotIsRefused(t *testing.T) {
	n := snapNet(t)
	src := n.vals[0].app
	s := offered(t, src, 15)
	chunks := chunksOf(t, src, s)

	cases := map[string]func(i int, es []snapshotEntry) []snapshotEntry{
		"a changed record": func(_ int, es []snapshotEntry) []snapshotEntry {
			for j := range es {
				if es[j].Bucket == bucketRecords {
					es[j].Value = bytes.Clone(es[j].Value)
					es[j].Value[len(es[j].Value)-1] ^= 1
					break
				}
			}
			return es
		},
		"a dropped counter": func(_ int, es []snapshotEntry) []snapshotEntry {
			return slices.DeleteFunc(es, func(e snapshotEntry) bool { return e.Bucket == bucketCounters && e.Key[1] == 2 })
		},
		"a changed block info": func(_ int, es []snapshotEntry) []snapshotEntry {
			for j := range es {
				if es[j].Bucket == bucketBlocks && binary.BigEndian.Uint64(es[j].Key) == 7 {
					bi, _ := unmarshalBlockInfo(es[j].Value)
					bi.RecordRoot[0] ^= 1
					es[j].Value = bi.marshal()
				}
			}
			return es
		},
		"a value given twice": func(i int, es []snapshotEntry) []snapshotEntry {
			if i == 0 {
				return append(es[:1:1], es...)
			}
			return es
		},
		"a derived value set": func(i int, es []snapshotEntry) []snapshotEntry {
			if i == 0 {
				return append([]snapshotEntry{{Bucket: bucketBlocks, Key: u64(99), Value: []byte{1}}, {Bucket: bucketMeta, Key: keyHeight, Value: u64(15)}}, es...)
			}
			return es
		},
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			fs, fc := reforge(t, s, chunks, change)
			r := newRestorer(t, n)
			if res := apply(t, r, fs, n.hashes[14], fc); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
				t.Fatalf("the forged snapshot: %v", res)
			}
			if info, _ := r.Info(ctx, &abci.InfoRequest{}); info.LastBlockHeight != 0 {
				t.Fatalf("the refused snapshot left height %d", info.LastBlockHeight)
			}
			if _, err := r.Record("sensors", 0); err == nil {
				t.Fatal("the refused snapshot left a record served")
			}
			// The honest one is restored afterwards.
			if res := apply(t, r, s, n.hashes[14], chunks); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
				t.Fatalf("the honest snapshot after a forged one: %v", res)
			}
		})
	}
	// A snapshot of another app hash than the verified one is refused
	// before a chunk is read.
	r := newRestorer(t, n)
	or, _ := r.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: n.hashes[13]})
	if or.Result != abci.OFFER_SNAPSHOT_RESULT_REJECT {
		t.Fatalf("a snapshot of another app hash: %v", or.Result)
	}
	bad := *s
	bad.Hash = bytes.Clone(s.Hash)
	bad.Hash[0] ^= 1
	if or, _ := r.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: &bad, AppHash: n.hashes[14]}); or.Result != abci.OFFER_SNAPSHOT_RESULT_REJECT {
		t.Fatalf("a snapshot whose hash is not its metadata's: %v", or.Result)
	}
}

func FuzzDecodeSnapshotChunk(f *testing.F) {
	f.Add(appendEntry(binary.BigEndian.AppendUint32([]byte{1}, 3), snapshotEntry{Bucket: "records", Key: []byte("k"), Value: []byte("v")}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		idx, es, err := decodeSnapshotChunk(b)
		if err != nil {
			return
		}
		out := binary.BigEndian.AppendUint32([]byte{1}, idx)
		for _, e := range es {
			out = appendEntry(out, e)
		}
		if !bytes.Equal(out, b) {
			t.Fatal("a chunk read does not encode back to its bytes")
		}
	})
}

func FuzzDecodeSnapshotMeta(f *testing.F) {
	m := &snapshotMeta{Height: 5, AppHash: make([]byte, 32), Total: 10, Chunks: make([][32]byte, 2)}
	f.Add(m.marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeSnapshotMeta(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.marshal(), b) {
			t.Fatal("metadata read does not encode back to its bytes")
		}
	})
}

// fakeExtra is node material of 300 entries of 100 bytes, taken back
// into got.
type fakeExtra struct {
	salt  byte
	got   map[string][]byte
	begun int
	done  int
}

func (x *fakeExtra) ExportSnapshot(h int64, from *ExtraKey, emit func(string, []byte, []byte) error) error {
	for i := range 300 {
		k := u64(uint64(i))
		if from != nil && bytes.Compare(k, from.Key) < 0 {
			continue
		}
		if err := emit("~fake", k, bytes.Repeat([]byte{byte(i), x.salt}, 50)); err != nil {
			return err
		}
	}
	return nil
}

func (x *fakeExtra) BeginImport(int64) error { x.begun++; x.got = map[string][]byte{}; return nil }

func (x *fakeExtra) ImportEntry(b string, k, v []byte) error {
	x.got[b+"/"+string(k)] = bytes.Clone(v)
	return nil
}

func (x *fakeExtra) FinishImport(int64) error { x.done++; return nil }

// The node's material travels with a snapshot without being copied into
// its files: its chunks are made again from it when asked, byte for byte
// as listed, and a chunk the material no longer makes is not served.
func TestExtraMaterialIsServedFromItsSource(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"sensors"}})
	x := &fakeExtra{}
	src := n.vals[0].app
	src.cfg.Snapshots = SnapshotConfig{Interval: 5, Keep: 1, ChunkBytes: 2048, Extra: x}
	for h := 1; h <= 6; h++ {
		n.observe("sensors", uint64(h-1))
		n.step()
	}
	src.snapWG.Wait()
	s := offered(t, src, 5)
	files, _ := os.ReadDir(src.snapshotPath(5))
	onDisk := 0
	for _, f := range files {
		if strings.HasPrefix(f.Name(), chunkPrefix) {
			onDisk++
		}
	}
	if onDisk == 0 || onDisk >= int(s.Chunks)-10 {
		t.Fatalf("%d of %d chunks on disk: the node's 30 KB should be in about 15 chunks not written", onDisk, s.Chunks)
	}
	chunks := chunksOf(t, src, s)
	rx := &fakeExtra{}
	r, err := New(Config{Dir: t.TempDir(), Scheme: n.scheme, Snapshots: SnapshotConfig{Extra: rx}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res := apply(t, r, s, n.hashes[4], chunks); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("restore with node material: %v", res)
	}
	if len(rx.got) != 300 || rx.begun != 1 || rx.done != 1 || !bytes.Equal(rx.got["~fake/"+string(u64(7))], bytes.Repeat([]byte{7, 0}, 50)) {
		t.Fatalf("the node material taken back: %d entries, begun %d, finished %d", len(rx.got), rx.begun, rx.done)
	}
	// The material changed under the snapshot: its chunks are not served.
	x.salt = 1
	last, _ := src.LoadSnapshotChunk(ctx, &abci.LoadSnapshotChunkRequest{Height: 5, Format: SnapshotFormat, Chunk: s.Chunks - 1})
	if len(last.Chunk) != 0 {
		t.Fatal("a chunk the node's material no longer makes was served")
	}
}

func FuzzUnmarshalExtraIndex(f *testing.F) {
	f.Add(marshalExtraIndex(4096, 3, []ExtraKey{{"~a", []byte{1}}, {"~b", []byte{2, 3}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		limit, start, firsts, err := unmarshalExtraIndex(b)
		if err != nil {
			return
		}
		if !bytes.Equal(marshalExtraIndex(limit, start, firsts), b) {
			t.Fatal("an extra index read does not encode back to its bytes")
		}
	})
}

// A restore stopped before its last chunk leaves no state: the next
// start discards what it wrote, and a restore then goes through.
func TestUnfinishedRestoreIsDiscarded(t *testing.T) {
	n := snapNet(t)
	src := n.vals[0].app
	s := offered(t, src, 15)
	chunks := chunksOf(t, src, s)
	dir := t.TempDir()
	r, err := New(Config{Dir: dir, Scheme: n.scheme})
	if err != nil {
		t.Fatal(err)
	}
	if or, _ := r.OfferSnapshot(ctx, &abci.OfferSnapshotRequest{Snapshot: s, AppHash: n.hashes[14]}); or.Result != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatal(or.Result)
	}
	for i := 0; i < len(chunks)-1; i++ {
		if res, _ := r.ApplySnapshotChunk(ctx, &abci.ApplySnapshotChunkRequest{Index: uint32(i), Chunk: chunks[i]}); res.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatal(res.Result)
		}
	}
	r.Close()
	r, err = New(Config{Dir: dir, Scheme: n.scheme})
	if err != nil {
		t.Fatalf("reopening after an unfinished restore: %v", err)
	}
	defer r.Close()
	if info, _ := r.Info(ctx, &abci.InfoRequest{}); info.LastBlockHeight != 0 {
		t.Fatalf("an unfinished restore left height %d", info.LastBlockHeight)
	}
	if _, err := r.Genesis(); err == nil {
		t.Fatal("an unfinished restore left a chain")
	}
	if res := apply(t, r, s, n.hashes[14], chunks); res != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
		t.Fatalf("the restore after an unfinished one: %v", res)
	}
	r.Close()
	if r, err = New(Config{Dir: dir, Scheme: n.scheme}); err != nil {
		t.Fatalf("reopening a restored state: %v", err)
	}
	if info, _ := r.Info(ctx, &abci.InfoRequest{}); info.LastBlockHeight != 15 {
		t.Fatalf("a finished restore reopened at height %d", info.LastBlockHeight)
	}
	r.Close()
}

// A state holding a value written around the state digest is not
// offered as a snapshot: no node could restore it.
func TestDriftedStateIsNotSnapshotted(t *testing.T) {
	n := newNet(t, netOpts{streams: []string{"sensors"}})
	a := n.vals[0].app
	a.cfg.Snapshots = SnapshotConfig{Interval: 5, Keep: 2}
	for h := 1; h <= 4; h++ {
		n.observe("sensors", uint64(h-1))
		n.step()
	}
	b := a.store.NewBatch()
	b.Put([]byte(bucketStreams), []byte("stray"), []byte("written around the digest"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	n.step() // height 5: due, and the digest no longer matches the values
	a.snapWG.Wait()
	if ls, _ := a.ListSnapshots(ctx, &abci.ListSnapshotsRequest{}); len(ls.Snapshots) != 0 {
		t.Fatalf("a drifted state was offered as %d snapshots", len(ls.Snapshots))
	}
	// The test leaves a state the end-of-test scrub need not judge.
	a.Close()
	n.vals[0].app = nil
}
