package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// testFile is upload u's content: n bytes no other upload shares.
func testFile(u, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(u*131 + i*7 + i/977)
	}
	return b
}

const testSegment = 64 << 10

func openRel(t *testing.T, dir string, c *fakeChain, mod func(*Config)) *Gateway {
	t.Helper()
	cfg := Config{Dir: dir, Chain: c, FlushAfter: time.Hour, LogSegmentBytes: testSegment}
	if mod != nil {
		mod(&cfg)
	}
	g, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// chainedChunk is a chunk the fake chain holds, with the digest a record
// would carry.
type chainedChunk struct {
	tx     *wire.ChunkTx
	index  uint64
	digest digest.Digest
	data   []byte
}

// settle puts everything submitted on chain and decides it (accepted)
// until cond holds, and returns the chunks that reached the chain.
func settle(t *testing.T, g *Gateway, c *fakeChain, cond func() bool) []chainedChunk {
	t.Helper()
	var out []chainedChunk
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("the gateway did not settle in 15 s")
		}
		for _, tx := range c.commitAll(g) {
			k, _ := c.PushedKey(tx.Stream, tx.Origin, tx.FirstSeq)
			h, err := digest.NewHasher(tx.Stream, k.Index)
			if err != nil {
				t.Fatal(err)
			}
			var data []byte
			for i, m := range tx.Messages {
				h.Add(tx.FirstSeq+uint64(i), m)
				data = append(data, m...)
			}
			d, err := h.Sum()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, chainedChunk{tx: tx, index: k.Index, digest: d, data: data})
		}
		c.decideAll(g)
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

func streamStats(t *testing.T, g *Gateway) map[string]any {
	t.Helper()
	w, m := do(t, g.Handler(), "GET", "/v1/push/uploads", nil, "")
	if w.Code != 200 {
		t.Fatalf("status: %d %v", w.Code, m)
	}
	return m
}

func statNum(t *testing.T, g *Gateway, key string) int {
	return int(streamStats(t, g)[key].(float64))
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	fs, err := filepath.Glob(filepath.Join(dir, "uploads", logDir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(fs)
	return fs
}

// uploadChunks returns an upload's chunk list.
func uploadChunks(t *testing.T, g *Gateway, id string) []ChunkView {
	t.Helper()
	w, _ := do(t, g.Handler(), "GET", "/v1/push/uploads/chunks?upload="+id, nil, "")
	var v struct{ Chunks []ChunkView }
	if w.Code != 200 {
		t.Fatalf("chunks: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Chunks
}

// checkUploadChunks checks that an upload's chunks are all accepted and
// released, cover the file exactly and have consecutive indexes from
// first.
func checkUploadChunks(t *testing.T, g *Gateway, id string, size int, first uint64) {
	t.Helper()
	var off uint64
	for i, ch := range uploadChunks(t, g, id) {
		if ch.Status != "accepted" || !ch.Released || ch.Index == nil || *ch.Index != first+uint64(i) || ch.Offset != off {
			t.Fatalf("chunk %d of upload %s: %+v (index %v), want accepted, released, index %d, offset %d", i, id, ch, ch.Index, first+uint64(i), off)
		}
		off += ch.Bytes
	}
	if off != uint64(size) {
		t.Fatalf("upload %s: chunks cover %d bytes, want %d", id, off, size)
	}
}

// TestReleasedSegmentsAreDeleted: once every chunk cut from a log's
// segments is accepted and stored, the segment files are gone from disk;
// the objects still serve every chunk, the upload still lists its chunks
// with their indexes, and after a restart nothing is submitted again and
// the stream takes a new upload with the next indexes and right offsets.
func TestReleasedSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openRel(t, dir, c, nil)
	id := newSession(t)
	const size = 600 << 10 // pieces of 10 KiB, 4 a chunk: 15 chunks of 40 KiB
	file := testFile(1, size)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&end=1&piece=10240", file, ""); w.Code != 200 {
		t.Fatal(m)
	}
	before := segmentFiles(t, dir)
	if len(before) < 9 {
		t.Fatalf("%d segment files for %d bytes in segments of %d: the test needs several", len(before), size, testSegment)
	}
	chunks := settle(t, g, c, func() bool { return statNum(t, g, "released_chunks") == 15 })
	after := segmentFiles(t, dir)
	if len(after) != 1 || after[0] != before[len(before)-1] {
		t.Fatalf("segment files after the release: %v, want only the active one %s", after, filepath.Base(before[len(before)-1]))
	}
	for _, f := range before[:len(before)-1] {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("released segment %s: stat says %v, want it gone", f, err)
		}
	}
	if len(chunks) != 15 {
		t.Fatalf("%d chunks on chain, want 15", len(chunks))
	}
	var got []byte
	for _, ch := range chunks {
		w := httpGet(t, g, "/v1/data/"+hex.EncodeToString(ch.digest[:]))
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), ch.data) {
			t.Fatalf("object of chunk %d: %d, %d bytes, want 200 with its %d bytes", ch.index, w.Code, w.Body.Len(), len(ch.data))
		}
		got = append(got, ch.data...)
	}
	if !bytes.Equal(got, file) {
		t.Fatal("the chunks on chain are not the file")
	}
	checkUploadChunks(t, g, id, size, 0)
	g.Close()

	g = openRel(t, dir, c, nil)
	defer g.Close()
	time.Sleep(300 * time.Millisecond) // three submitter rounds
	c.mu.Lock()
	resub := len(c.submitted)
	c.mu.Unlock()
	if resub != 0 {
		t.Fatalf("after a restart the gateway submitted %d chunks again; every one was released", resub)
	}
	checkUploadChunks(t, g, id, size, 0)
	if w, m := do(t, g.Handler(), "GET", "/v1/push/uploads/uploads/"+id, nil, ""); w.Code != 200 || m["acked"] != float64(size) || m["ended"] != true {
		t.Fatalf("upload status after the restart: %d %v", w.Code, m)
	}
	id2 := newSession(t)
	file2 := testFile(2, 200<<10)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id2+"&end=1&piece=10240", file2, ""); w.Code != 200 || m["acked"] != float64(len(file2)) {
		t.Fatalf("a new upload after the restart: %d %v", w.Code, m)
	}
	chunks2 := settle(t, g, c, func() bool { return statNum(t, g, "released_chunks") == 20 })
	if len(chunks2) != 5 || chunks2[0].tx.FirstSeq != 60 {
		t.Fatalf("%d new chunks on chain, the first at seq %d; want 5 from seq 60", len(chunks2), chunks2[0].tx.FirstSeq)
	}
	checkUploadChunks(t, g, id2, len(file2), 15)
	for k, n := range c.submits {
		if n != 1 {
			t.Errorf("chunk %s submitted %d times", k, n)
		}
	}
}

func httpGet(t *testing.T, g *Gateway, path string) *httptest.ResponseRecorder {
	t.Helper()
	w, _ := do(t, g.Handler(), "GET", path, nil, "")
	return w
}

// TestRetentionBySize: with a size limit, the oldest objects are released
// first, a bounded number per pass, until the rest fit; each released
// digest answers 410 with the date, a digest never stored 404, and a
// restart stores none of them again.
func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	var passes atomic.Int64
	mod := func(cfg *Config) {
		cfg.Retention = map[string]Retention{"uploads": {MaxBytes: 100 << 10}}
		cfg.RetentionEvery, cfg.RetentionBatch = time.Millisecond, 4
		cfg.clock = func() time.Time { passes.Add(1); return time.Now() }
	}
	g := openRel(t, dir, c, mod)
	id := newSession(t)
	file := testFile(3, 600<<10)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&end=1&piece=10240", file, ""); w.Code != 200 {
		t.Fatal(m)
	}
	chunks := settle(t, g, c, func() bool { return statNum(t, g, "objects_released") == 13 })
	time.Sleep(100 * time.Millisecond) // more passes: they must release nothing more
	if n := statNum(t, g, "objects_released"); n != 13 {
		t.Fatalf("%d objects released, want 13 (15 of 40 KiB, at most 100 KiB kept)", n)
	}
	if kept := statNum(t, g, "objects_kept_bytes"); kept != 80<<10 {
		t.Fatalf("%d bytes of objects kept, want %d", kept, 80<<10)
	}
	checkGone(t, g, dir, chunks[:13], chunks[13:])
	g.Close()

	g = openRel(t, dir, c, mod)
	defer g.Close()
	time.Sleep(300 * time.Millisecond)
	checkGone(t, g, dir, chunks[:13], chunks[13:])
	if w, _ := do(t, g.Handler(), "GET", "/v1/data/"+strings.Repeat("ab", 32), nil, ""); w.Code != http.StatusNotFound {
		t.Fatalf("a digest never stored: %d, want 404", w.Code)
	}
}

// checkGone checks that the objects of gone answer 410 with the policy's
// message and are not on disk, and those of kept are served.
func checkGone(t *testing.T, g *Gateway, dir string, gone, kept []chainedChunk) {
	t.Helper()
	for _, ch := range gone {
		w := httpGet(t, g, "/v1/data/"+hex.EncodeToString(ch.digest[:]))
		day := time.Now().UTC().Format("2006-01-02")
		if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "released by this node's retention policy on "+day) ||
			!strings.Contains(w.Body.String(), "the receipt still verifies") {
			t.Fatalf("released object of chunk %d: %d %s, want 410 naming the policy and the date", ch.index, w.Code, w.Body)
		}
		if _, err := os.Stat(g.objects.path(ch.digest)); !os.IsNotExist(err) {
			t.Fatalf("released object of chunk %d is still on disk (%v)", ch.index, err)
		}
	}
	for _, ch := range kept {
		if w := httpGet(t, g, "/v1/data/"+hex.EncodeToString(ch.digest[:])); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), ch.data) {
			t.Fatalf("kept object of chunk %d: %d", ch.index, w.Code)
		}
	}
}

// TestRetentionByAge: with an age limit, objects older than it are
// released, oldest first, and younger ones kept.
func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	var skew atomic.Int64 // what the test adds to the clock
	g := openRel(t, dir, c, func(cfg *Config) {
		cfg.Retention = map[string]Retention{"*": {MaxAge: time.Hour}}
		cfg.RetentionEvery = time.Millisecond
		cfg.clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	defer g.Close()
	push := func(u int) []chainedChunk {
		id := newSession(t)
		if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&end=1&piece=10240", testFile(u, 160<<10), ""); w.Code != 200 {
			t.Fatal(m)
		}
		want := statNum(t, g, "released_chunks") + 4
		return settle(t, g, c, func() bool { return statNum(t, g, "released_chunks") == want })
	}
	a := push(4)
	skew.Store(int64(50 * time.Minute))
	b := push(5)
	time.Sleep(100 * time.Millisecond)
	if n := statNum(t, g, "objects_released"); n != 0 {
		t.Fatalf("%d objects released at 50 minutes, want none (limit 1 h)", n)
	}
	skew.Store(int64(70 * time.Minute)) // a is 70 minutes old, b 20
	settle(t, g, c, func() bool { return statNum(t, g, "objects_released") == 4 })
	time.Sleep(100 * time.Millisecond)
	if n := statNum(t, g, "objects_released"); n != 4 {
		t.Fatalf("%d objects released, want the 4 older than an hour", n)
	}
	checkGone(t, g, dir, a, b)
}

// TestRetentionSettingsRefused: a policy that cannot mean what it says is
// refused when the gateway opens, naming the setting and what to do.
func TestRetentionSettingsRefused(t *testing.T) {
	for _, tc := range []struct {
		ret  map[string]Retention
		seg  int64
		want string
	}{
		{map[string]Retention{"uploads": {MaxAge: -time.Hour}}, 0, "max_age -1h0m0s is negative"},
		{map[string]Retention{"uploads": {MaxBytes: -1}}, 0, "max_bytes -1 is negative"},
		{map[string]Retention{"uploads": {MaxAge: 200 * 365 * 24 * time.Hour}}, 0, "more than 100 years"},
		{map[string]Retention{"../etc": {MaxBytes: 1}}, 0, "the stream id is not valid"},
		{nil, 100, "LogSegmentBytes 100 is out of range"},
		{nil, 4 << 30, "is out of range: use 64 KiB to 1 GiB"},
	} {
		_, err := Open(Config{Dir: t.TempDir(), Chain: newFakeChain(), Retention: tc.ret, LogSegmentBytes: tc.seg})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, segments %d: %v, want an error saying %q", tc.ret, tc.seg, err, tc.want)
		}
	}
}

// TestDamagedReleasedFileIsRefused: a whole release record failing its
// checksum is damage, not a torn write: the stream refuses to open, naming
// the file, and its files stay as they were.
func TestDamagedReleasedFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openRel(t, dir, c, nil)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+newSession(t)+"&end=1&piece=10240", testFile(6, 200<<10), ""); w.Code != 200 {
		t.Fatal(m)
	}
	settle(t, g, c, func() bool { return statNum(t, g, "released_chunks") == 5 })
	g.Close()
	p := filepath.Join(dir, "uploads", releasedFileName)
	b, err := os.ReadFile(p)
	if err != nil || len(b) != 5*releasedRecordSize {
		t.Fatalf("released file: %d bytes, %v; want 5 records", len(b), err)
	}
	b[releasedRecordSize+30] ^= 4
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	g = openRel(t, dir, c, nil)
	defer g.Close()
	errs := g.StreamErrors()
	if !strings.Contains(errs["uploads"], p+" is corrupt at byte 115") {
		t.Fatalf("stream errors %v, want the released file named as corrupt at byte 115", errs)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
		t.Fatal("the damaged released file was changed")
	}
}

// TestRefusedInBlockIsReleased: a chunk the chain refused in a block is
// decided and released with the accepted ones (listed as rejected, with
// no index); one only the mempool's admission check refused stays in the
// log (TestRecoverySubmitsWhatTheChainLacks submits it after a restart).
func TestRefusedInBlockIsReleased(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openRel(t, dir, c, nil)
	defer g.Close()
	id := newSession(t)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&end=1&piece=10", make([]byte, 80), ""); w.Code != 200 {
		t.Fatal(m)
	}
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.submitted) == 2 })
	c.mu.Lock()
	first, rest := c.submitted[0], c.submitted[1:]
	c.submitted = rest
	c.mu.Unlock()
	g.Committed(app.CommitSummary{Txs: []app.TxOutcome{{TxHash: sha256.Sum256(first), Kind: wire.KindChunk, Code: app.CodeUnknownStream, Log: "no such stream"}}})
	settle(t, g, c, func() bool { return statNum(t, g, "released_chunks") == 2 })
	cs := uploadChunks(t, g, id)
	if len(cs) != 2 || cs[0].Status != "rejected" || cs[0].Index != nil || !cs[0].Released || cs[1].Status != "accepted" || cs[1].Index == nil || *cs[1].Index != 0 {
		t.Fatalf("chunks %+v, want the first rejected and released without an index, the second accepted at index 0", cs)
	}
}
