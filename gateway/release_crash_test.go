package gateway

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// The release crash test runs a gateway in a child process (this test
// binary, started again with crashChildEnv set), which uploads files one
// after another against a chain kept in a file, until it is SIGKILLed: at
// a named point of a log release or a retention pass, or at a random
// moment. The parent checks after every kill that the stream opens, that
// no acknowledged byte is lost and that no released chunk is submitted
// again, and at the end that the chain holds every upload exactly, each
// chunk once with consecutive indexes, and that the released segment
// files are gone.
const crashChildEnv = "DD_GATEWAY_RELEASE_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(releaseChild(dir))
	}
	os.Exit(m.Run())
}

// chainLine is one submission the file-backed chain saw.
type chainLine struct {
	New      bool   `json:"new"` // false: a duplicate
	FirstSeq uint64 `json:"first_seq"`
	Index    uint64 `json:"index"`
	Offset   uint64 `json:"offset"`
	Lens     []int  `json:"lens,omitempty"` // the messages' lengths
	Sum      string `json:"sum,omitempty"`  // SHA-256 of their bytes, hex
}

func (l chainLine) size() int {
	n := 0
	for _, m := range l.Lens {
		n += m
	}
	return n
}

// diskChain is a chain whose state survives the process: every
// submission is appended to a file and synced before Submit returns, and
// every new chunk is at once on chain and accepted (a block's outcome and
// records handed to the gateway).
type diskChain struct {
	path string
	g    atomic.Pointer[Gateway]

	mu    sync.Mutex
	keys  map[uint64]wire.ChunkKey // by first seq (one origin: one stream directory)
	lines []chainLine
}

func openDiskChain(path string) (*diskChain, error) {
	c := &diskChain{path: path, keys: map[uint64]wire.ChunkKey{}}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for i, ln := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		if len(ln) == 0 {
			continue
		}
		var l chainLine
		if err := json.Unmarshal(ln, &l); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", path, i+1, err)
		}
		c.lines = append(c.lines, l)
		if l.New {
			c.keys[l.FirstSeq] = wire.ChunkKey{Stream: "uploads", Index: l.Index}
		}
	}
	return c, nil
}

func (c *diskChain) ChainID() string { return "fake" }
func (c *diskChain) Stream(id string) (app.StreamInfo, error) {
	if id != "uploads" {
		return app.StreamInfo{}, app.ErrNotFound
	}
	return app.StreamInfo{Stream: uploadsStream()}, nil
}
func (c *diskChain) Check(tx []byte) (uint32, string) { return 0, "" }
func (c *diskChain) PushedKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) (wire.ChunkKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[firstSeq]
	return k, ok
}
func (c *diskChain) RecordStatus(k wire.ChunkKey) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k.Index < uint64(len(c.keys)) {
		return "accepted"
	}
	return ""
}

func (c *diskChain) Submit(raw []byte) (uint32, string, error) {
	g := c.g.Load()
	if g == nil {
		return 0, "", errors.New("the chain is not ready")
	}
	tx, err := wire.UnmarshalTx(raw)
	if err != nil || tx.Chunk == nil {
		return app.CodeMalformed, "not a chunk", nil
	}
	ct := tx.Chunk
	c.mu.Lock()
	k, dup := c.keys[ct.FirstSeq]
	l := chainLine{New: !dup, FirstSeq: ct.FirstSeq, Index: k.Index, Offset: ct.Offset}
	if !dup {
		k = wire.ChunkKey{Stream: ct.Stream, Index: uint64(len(c.keys))}
		l.Index = k.Index
		h := sha256.New()
		for _, m := range ct.Messages {
			l.Lens = append(l.Lens, len(m))
			h.Write(m)
		}
		l.Sum = hex.EncodeToString(h.Sum(nil))
	}
	if err := c.appendLine(l); err != nil {
		c.mu.Unlock()
		return 0, "", err
	}
	if dup {
		c.mu.Unlock()
		return app.CodeDuplicate, "duplicate", nil
	}
	c.keys[ct.FirstSeq] = k
	c.mu.Unlock()
	g.Committed(app.CommitSummary{
		Txs:     []app.TxOutcome{{TxHash: sha256.Sum256(raw), Kind: wire.KindChunk, Code: app.CodeOK, Key: k}},
		Records: []*wire.Record{{Stream: k.Stream, Index: k.Index, Status: wire.StatusAccepted}},
	})
	return app.CodeOK, "", nil
}

func (c *diskChain) appendLine(l chainLine) error {
	b, _ := json.Marshal(l)
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	// One write, not synced: a SIGKILL keeps what reached the page cache,
	// which is all a chain that outlives the gateway's process needs.
	if _, err := f.Write(append(b, '\n')); err != nil {
		return err
	}
	c.lines = append(c.lines, l)
	return nil
}

// The child's uploads: upload u has crashUploadSize(u) bytes, sent in
// parts of crashPart bytes cut into pieces of crashPiece (chunks of 4
// pieces, 32 KiB, so a part is 8 chunks and a release after it spans
// several 64 KiB segments).
const (
	crashPart    = 256 << 10
	crashPiece   = 8 << 10
	crashUploads = 60 // a child that gets this far without being killed fails
)

func crashUploadSize(u int) int { return 600<<10 + (u%5)*37_000 }

func crashSession(u int) string {
	h := sha256.Sum256([]byte("upload " + strconv.Itoa(u)))
	return hex.EncodeToString(h[:16])
}

func crashConfig(dir string, c Chain) Config {
	lf, err := os.OpenFile(filepath.Join(dir, "gateway.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	return Config{Dir: filepath.Join(dir, "gw"), Chain: c, FlushAfter: time.Hour, LogSegmentBytes: testSegment,
		Logger:         slog.New(slog.NewTextHandler(lf, nil)),
		Retention:      map[string]Retention{"uploads": {MaxBytes: 256 << 10}},
		RetentionEvery: 20 * time.Millisecond, RetentionBatch: 64}
}

// request runs one request against the gateway's handler.
func request(g *Gateway, method, target string, body []byte) (int, map[string]any) {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:50000"
	w := httptest.NewRecorder()
	g.Handler().ServeHTTP(w, r)
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w.Code, m
}

// uploadState returns an upload's acknowledged bytes and whether it ended.
func uploadState(g *Gateway, u int) (uint64, bool, error) {
	code, m := request(g, "GET", "/v1/push/uploads/uploads/"+crashSession(u), nil)
	switch code {
	case 404:
		return 0, false, nil
	case 200:
		acked, _ := m["acked"].(float64)
		ended, _ := m["ended"].(bool)
		return uint64(acked), ended, nil
	}
	return 0, false, fmt.Errorf("upload %d status: %d %v", u, code, m)
}

// pushRest sends the rest of upload u, recording each acknowledgement in
// progress (synced) before the next part.
func pushRest(g *Gateway, u int, progress *os.File) error {
	acked, ended, err := uploadState(g, u)
	if err != nil || ended {
		return err
	}
	file := testFile(u, crashUploadSize(u))
	for acked < uint64(len(file)) {
		end := min(acked+crashPart, uint64(len(file)))
		last := 0
		if end == uint64(len(file)) {
			last = 1
		}
		code, m := request(g, "POST", fmt.Sprintf("/v1/push/uploads?upload=%s&offset=%d&end=%d&piece=%d", crashSession(u), acked, last, crashPiece), file[acked:end])
		if code != 200 || m["acked"] != float64(end) {
			return fmt.Errorf("upload %d at %d: %d %v", u, acked, code, m)
		}
		acked = end
		if progress != nil {
			if _, err := fmt.Fprintf(progress, "%d %d\n", u, acked); err != nil {
				return err
			}
			if err := progress.Sync(); err != nil {
				return err
			}
		}
	}
	return nil
}

// releaseChild is the child process: it uploads until it is killed.
func releaseChild(dir string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 2 }
	c, err := openDiskChain(filepath.Join(dir, "chain"))
	if err != nil {
		return fail(err)
	}
	g, err := Open(crashConfig(dir, c))
	if err != nil {
		return fail(err)
	}
	c.g.Store(g)
	if errs := g.StreamErrors(); len(errs) > 0 {
		return fail(fmt.Errorf("stream errors: %v", errs))
	}
	progress, err := os.OpenFile(filepath.Join(dir, "progress"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fail(err)
	}
	start, _ := readProgress(dir)
	for u := start.last; u < start.last+crashUploads; u++ {
		if err := pushRest(g, u, progress); err != nil {
			return fail(err)
		}
		// Let the chain keep up, as a producer waiting for its
		// receipts would: every chunk released before the next upload.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, m := request(g, "GET", "/v1/push/uploads", nil); len(m["chunks"].(map[string]any)) == 0 {
				break
			}
		}
	}
	return 3
}

// progressLog is what the children recorded: the highest acknowledged
// offset of each upload, and the last upload begun.
type progressLog struct {
	acked map[int]uint64
	last  int
}

func readProgress(dir string) (progressLog, error) {
	p := progressLog{acked: map[int]uint64{}}
	f, err := os.Open(filepath.Join(dir, "progress"))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var u int
		var a uint64
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &u, &a); err != nil {
			return p, fmt.Errorf("progress line %q: %v", sc.Text(), err)
		}
		if a < p.acked[u] {
			return p, fmt.Errorf("upload %d: acknowledged %d after %d", u, a, p.acked[u])
		}
		p.acked[u], p.last = a, max(p.last, u)
	}
	return p, sc.Err()
}

// releasedSeqs reads the first seqs of the chunks the released file lists.
func releasedSeqs(t *testing.T, dir string) map[uint64]bool {
	t.Helper()
	rr, err := readReleasedFile(filepath.Join(dir, "gw", "uploads", releasedFileName))
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint64]bool{}
	for _, r := range rr.chunks {
		out[r.FirstSeq] = true
	}
	return out
}

// TestReleaseKilledAtEveryStep SIGKILLs a pushing gateway at each named
// point of a log release and of a retention pass (each twice: at its
// first and at its third hit) and three times at a random moment: 15
// kills, each counted (DD_RELEASE_ROUNDS=N delivers them N times).
func TestReleaseKilledAtEveryStep(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type kill struct {
		point string // "" : at a random moment
		hit   int
	}
	var kills []kill
	for _, p := range []string{"release-mid-write", "release-synced", "release-mid-delete", "released", "retain-tombstoned", "retain-deleted"} {
		kills = append(kills, kill{p, 1}, kill{p, 3})
	}
	kills = append(kills, kill{"", 0}, kill{"", 0}, kill{"", 0})
	// DD_RELEASE_ROUNDS=N delivers the list N times (default 1).
	rounds := 1
	if v := os.Getenv("DD_RELEASE_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			t.Fatalf("DD_RELEASE_ROUNDS=%q: give a number of rounds from 1 to 1000", v)
		}
		rounds = n
	}
	one := kills
	for range rounds - 1 {
		kills = append(kills, one...)
	}
	rng := rand.New(rand.NewPCG(13, uint64(time.Now().UnixNano())))
	delivered := map[string]int{}
	for i, k := range kills {
		released := releasedSeqs(t, dir)
		c0, err := openDiskChain(filepath.Join(dir, "chain"))
		if err != nil {
			t.Fatal(err)
		}
		before := len(c0.lines)
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		if k.point != "" {
			cmd.Env = append(cmd.Env, fmt.Sprintf("DD_CRASH_AT=%s:%d", k.point, k.hit))
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if k.point == "" {
			d := time.Duration(100+rng.IntN(700)) * time.Millisecond
			time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
		} else {
			time.AfterFunc(60*time.Second, func() { cmd.Process.Signal(syscall.SIGKILL) })
		}
		start := time.Now()
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill %d (%s:%d): the child ended with %v, not SIGKILL; stderr: %s", i, k.point, k.hit, err, stderr.String())
		}
		if k.point != "" && time.Since(start) > 55*time.Second {
			t.Fatalf("kill %d: %s:%d was not reached in a minute", i, k.point, k.hit)
		}
		name := k.point
		if name == "" {
			name = "random"
		}
		delivered[name]++
		p, _ := readProgress(dir)
		t.Logf("kill %d at %s after %v; uploads begun: %d", i, name, time.Since(start).Round(time.Millisecond), p.last+1)

		// The stream opens, every acknowledged byte is still
		// acknowledged, and no released chunk was submitted again.
		c, err := openDiskChain(filepath.Join(dir, "chain"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range c.lines[before:] {
			if released[l.FirstSeq] {
				t.Fatalf("kill %d (%s): the chunk at seq %d was submitted again after its release", i, name, l.FirstSeq)
			}
		}
		logBefore, _ := os.ReadFile(filepath.Join(dir, "gateway.log"))
		g, err := Open(crashConfig(dir, c))
		if err != nil {
			t.Fatal(err)
		}
		c.g.Store(g)
		if errs := g.StreamErrors(); len(errs) > 0 {
			g.Close()
			t.Fatalf("kill %d (%s): the stream does not open: %v", i, name, errs)
		}
		if k.point == "release-mid-write" {
			// The kill left part of a release's records: recovery must
			// have cut them and said so.
			logAfter, _ := os.ReadFile(filepath.Join(dir, "gateway.log"))
			if !strings.Contains(string(logAfter[len(logBefore):]), "no segment was deleted for it, so its chunks are rebuilt from the log") {
				g.Close()
				t.Fatalf("kill %d (%s): recovery reported no torn release record; its log:\n%s", i, name, logAfter[len(logBefore):])
			}
		}
		prog, err := readProgress(dir)
		if err != nil {
			g.Close()
			t.Fatal(err)
		}
		for u, a := range prog.acked {
			got, _, err := uploadState(g, u)
			if err != nil || got < a {
				g.Close()
				t.Fatalf("kill %d (%s): upload %d acknowledged %d before the kill, %d after (%v)", i, name, u, a, got, err)
			}
		}
		g.Close()
	}

	// Finish the last upload, let everything reach the chain and be
	// released, and check the chain against the uploads.
	c, err := openDiskChain(filepath.Join(dir, "chain"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := Open(crashConfig(dir, c))
	if err != nil {
		t.Fatal(err)
	}
	c.g.Store(g)
	defer g.Close()
	// A kill during the first part of upload last+1 may have left some
	// of its messages durable (never acknowledged, but kept and put on
	// chain): finish that upload too.
	prog, _ := readProgress(dir)
	prog.last++
	for _, u := range []int{prog.last - 1, prog.last} {
		if err := pushRest(g, u, nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := streamStats(t, g)
		chunks := st["chunks"].(map[string]any)
		if len(chunks) == 0 && st["open_messages"] == float64(0) && st["objects_kept_bytes"].(float64) <= 256<<10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not release everything in 20 s: %v\nits errors:\n%s", st, logErrors(dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if segs := segmentFiles(t, filepath.Join(dir, "gw")); len(segs) != 1 {
		t.Fatalf("segment files after every chunk is released: %v, want only the active one", segs)
	}

	c.mu.Lock()
	var news []chainLine
	for _, l := range c.lines {
		if l.New {
			news = append(news, l)
		}
	}
	c.mu.Unlock()
	sort.Slice(news, func(i, j int) bool { return news[i].FirstSeq < news[j].FirstSeq })
	u, off, seq := -1, uint64(0), uint64(0)
	for i, l := range news {
		if l.Index != uint64(i) || l.FirstSeq != seq {
			t.Fatalf("chunk %d on chain: index %d at seq %d, want index %d at seq %d (each chunk once, consecutive)", i, l.Index, l.FirstSeq, i, seq)
		}
		seq += uint64(len(l.Lens))
		if l.Offset == 0 {
			if u >= 0 && off != uint64(crashUploadSize(u)) {
				t.Fatalf("upload %d ends on chain at %d bytes of %d", u, off, crashUploadSize(u))
			}
			u, off = u+1, 0
		}
		want := sha256.Sum256(testFile(u, crashUploadSize(u))[off : off+uint64(l.size())])
		if l.Offset != off || l.Sum != hex.EncodeToString(want[:]) {
			t.Fatalf("chunk %d: upload %d at %d, want the file's bytes at %d", i, u, l.Offset, off)
		}
		// Each object is served, or answered 410 by the retention policy.
		code, m := request(g, "GET", "/v1/data/"+chunkDigest(t, l, testFile(u, crashUploadSize(u))[off:]), nil)
		if code != 200 && (code != 410 || !strings.Contains(fmt.Sprint(m["error"]), "retention policy")) {
			t.Fatalf("object of chunk %d: %d %v", i, code, m)
		}
		off += uint64(l.size())
	}
	if u != prog.last || off != uint64(crashUploadSize(u)) {
		t.Fatalf("the chain holds uploads 0 to %d (the last to %d bytes), want 0 to %d, all whole", u, off, prog.last)
	}
	if errs := logErrors(dir); errs != "" {
		t.Fatalf("the gateways logged errors:\n%s", errs)
	}
	t.Logf("%d kills delivered %v; %d uploads, %d chunks on chain, exactly the files", len(kills), delivered, u+1, len(news))
	for _, k := range kills {
		name := k.point
		if name == "" {
			name = "random"
		}
		if want := rounds * map[bool]int{true: 3, false: 2}[k.point == ""]; delivered[name] != want {
			t.Fatalf("%s: %d kills delivered, want %d", name, delivered[name], want)
		}
	}
}

// chunkDigest recomputes, in hex, the digest of a chunk the chain holds,
// whose bytes begin data.
func chunkDigest(t *testing.T, l chainLine, data []byte) string {
	t.Helper()
	h, err := digest.NewHasher("uploads", l.Index)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range l.Lens {
		h.Add(l.FirstSeq+uint64(i), data[:n])
		data = data[n:]
	}
	d, err := h.Sum()
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(d[:])
}

// logErrors returns the first and last error lines the gateways logged.
func logErrors(dir string) string {
	lg, _ := os.ReadFile(filepath.Join(dir, "gateway.log"))
	var errs []string
	for _, l := range strings.Split(string(lg), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errs = append(errs, l)
		}
	}
	if len(errs) > 10 {
		errs = append(errs[:5], errs[len(errs)-5:]...)
	}
	return strings.Join(errs, "\n")
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
