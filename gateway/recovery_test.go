package gateway

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datadragon/datadragon/app"
)

// copyTree copies the directory tree src into a new temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// logBuffer collects a gateway's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func openLogged(t *testing.T, dir string, c *fakeChain) (*Gateway, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	g, err := Open(Config{Dir: dir, Chain: c, FlushAfter: time.Hour, Logger: slog.New(slog.NewTextHandler(lb, nil))})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return g, lb
}

// pushedLog writes a gateway directory holding one upload of 70 bytes in
// two batches (pieces of 10 bytes: messages 0–3, then 4–6) and returns
// the directory, the upload id, the file, the stream log's last segment
// and where the second batch's first record starts in it.
func pushedLog(t *testing.T) (dir, id string, file []byte, seg string, batchStart int) {
	t.Helper()
	dir = t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openGateway(t, dir, c)
	file = make([]byte, 100)
	rand.Read(file)
	id = newSession(t)
	for _, p := range [][2]int{{0, 40}, {40, 70}} {
		if w, m := do(t, g.Handler(), "POST", fmt.Sprintf("/v1/push/uploads?upload=%s&offset=%d&piece=10", id, p[0]), file[p[0]:p[1]], ""); w.Code != 200 || m["acked"] != float64(p[1]) {
			t.Fatalf("part %v: %d %v", p, w.Code, m)
		}
	}
	g.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "uploads", logDir, "*.wal"))
	if len(segs) != 1 {
		t.Fatalf("%d log segments, want 1", len(segs))
	}
	seg = segs[0]
	const header, record = 36, 24 + 10 + 4
	if st, _ := os.Stat(seg); st.Size() != header+7*record {
		t.Fatalf("the log segment is %d bytes, want %d", st.Size(), header+7*record)
	}
	return dir, id, file, seg, header + 4*record
}

// logBytes reads every message of a stream's log, concatenated.
func logBytes(t *testing.T, g *Gateway, stream string) []byte {
	t.Helper()
	ps, err := g.stream(stream, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, _ := ps.log.Next()
	ents, err := ps.log.Read(0, int(next)+1, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for i, e := range ents {
		if e.Seq != uint64(i) {
			t.Fatalf("message %d has seq %d", i, e.Seq)
		}
		out = append(out, e.Data...)
	}
	return out
}

// TestLogCutAtEveryByteOfTheLastBatch simulates a crash at every byte of
// the log append of an upload's last batch (its record synced, its
// messages partly written): the stream must open, say what it repaired,
// acknowledge exactly the messages the log kept, and the upload must
// resume from there into the file, every byte once.
func TestLogCutAtEveryByteOfTheLastBatch(t *testing.T) {
	base, id, file, seg, batchStart := pushedLog(t)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	const record = 38
	cuts := 0
	for cut := batchStart; cut <= len(full); cut++ {
		dir := copyTree(t, base)
		rel, _ := filepath.Rel(base, seg)
		if err := os.Truncate(filepath.Join(dir, rel), int64(cut)); err != nil {
			t.Fatal(err)
		}
		cuts++
		c := newFakeChain(uploadsStream())
		g, lb := openLogged(t, dir, c)
		if errs := g.StreamErrors(); len(errs) != 0 {
			t.Fatalf("cut at %d: the stream did not open: %v", cut, errs)
		}
		held := (cut - batchStart) / record
		want := 40 + 10*held
		w, m := do(t, g.Handler(), "GET", "/v1/push/uploads/uploads/"+id, nil, "")
		if w.Code != 200 || m["acked"] != float64(want) {
			t.Fatalf("cut at %d: %d %v, want %d bytes acknowledged", cut, w.Code, m, want)
		}
		logged := lb.String()
		if (cut-batchStart)%record != 0 && !strings.Contains(logged, "cut "+filepath.Join(dir, rel)+" at byte "+strconv.Itoa(batchStart+held*record)) {
			t.Fatalf("cut at %d: the log does not say what was cut:\n%s", cut, logged)
		}
		if held < 3 && !strings.Contains(logged, fmt.Sprintf("the log holds %d of its 3 messages", held)) {
			t.Fatalf("cut at %d: the log does not say the last batch was shrunk:\n%s", cut, logged)
		}
		if cut == len(full) && strings.Contains(logged, "recovered") {
			t.Fatalf("an intact log reported repairs:\n%s", logged)
		}
		if w, m := do(t, g.Handler(), "POST", fmt.Sprintf("/v1/push/uploads?upload=%s&offset=%d&end=1&piece=10", id, want), file[want:], ""); w.Code != 200 || m["acked"] != float64(len(file)) {
			t.Fatalf("cut at %d: resuming: %d %v", cut, w.Code, m)
		}
		g.Close()
		g, lb = openLogged(t, dir, c)
		if got := logBytes(t, g, "uploads"); !bytes.Equal(got, file) {
			t.Fatalf("cut at %d: the log holds %d bytes that are not the file", cut, len(got))
		}
		if strings.Contains(lb.String(), "recovered") {
			t.Fatalf("cut at %d: a second open repaired again:\n%s", cut, lb.String())
		}
		g.Close()
	}
	if cuts != len(full)-batchStart+1 {
		t.Fatalf("%d cuts delivered, want %d", cuts, len(full)-batchStart+1)
	}
}

// TestLogBitFlipInTheLastRecord flips a bit in every byte of the log's
// last record, an acknowledged message: the gateway must open and keep
// serving other streams, refuse this one with the file and the byte,
// list it in StreamErrors, and change none of its files.
func TestLogBitFlipInTheLastRecord(t *testing.T) {
	base, id, _, seg, batchStart := pushedLog(t)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := os.ReadFile(filepath.Join(base, "uploads", sessionsFile))
	if err != nil {
		t.Fatal(err)
	}
	const record = 38
	start := batchStart + 2*record
	rel, _ := filepath.Rel(base, seg)
	other := app.Stream{ID: "other", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true}
	flips := 0
	for i := start; i < len(full); i++ {
		dir := copyTree(t, base)
		b := bytes.Clone(full)
		b[i] ^= 1 << (i % 8)
		if err := os.WriteFile(filepath.Join(dir, rel), b, 0o600); err != nil {
			t.Fatal(err)
		}
		flips++
		g, lb := openLogged(t, dir, newFakeChain(uploadsStream(), other))
		msg := g.StreamErrors()["uploads"]
		wantAt := filepath.Join(dir, rel) + " is corrupt at byte " + strconv.Itoa(start)
		if !strings.Contains(msg, wantAt) || !strings.Contains(msg, "restart the node") {
			t.Fatalf("flip at %d: StreamErrors says %q; want it to say %q and what to do", i, msg, wantAt)
		}
		if !strings.Contains(lb.String(), "cannot be opened") {
			t.Fatalf("flip at %d: nothing logged:\n%s", i, lb.String())
		}
		for _, target := range []string{"/v1/push/uploads/uploads/" + id, "/v1/push/uploads"} {
			if w, m := do(t, g.Handler(), "GET", target, nil, ""); w.Code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(m["error"]), wantAt) {
				t.Fatalf("flip at %d: GET %s: %d %v", i, target, w.Code, m)
			}
		}
		if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&offset=70&piece=10", make([]byte, 10), ""); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("flip at %d: a push to the damaged stream: %d %v", i, w.Code, m)
		}
		if w, m := do(t, g.Handler(), "POST", "/v1/push/other?upload="+newSession(t)+"&end=1", []byte("still works"), ""); w.Code != 200 || m["acked"] != float64(11) {
			t.Fatalf("flip at %d: a push to another stream: %d %v", i, w.Code, m)
		}
		g.Close()
		if got, _ := os.ReadFile(filepath.Join(dir, rel)); !bytes.Equal(got, b) {
			t.Fatalf("flip at %d: the damaged log segment was changed", i)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "uploads", sessionsFile)); !bytes.Equal(got, sessions) {
			t.Fatalf("flip at %d: the sessions file was changed", i)
		}
	}
	if flips != record {
		t.Fatalf("%d flips delivered, want %d", flips, record)
	}
}

// TestFailedStartChangesNoSessions: a stream whose start fails after its
// sessions file needed repairs (a torn last record, a last batch whose
// messages the log holds in part) leaves that file as it was; once the
// other damage is undone, the stream opens and repairs it.
func TestFailedStartChangesNoSessions(t *testing.T) {
	dir, id, _, seg, batchStart := pushedLog(t)
	// The log lost the last message of the second batch (a crash mid-append)…
	if err := os.Truncate(seg, int64(batchStart+2*38)); err != nil {
		t.Fatal(err)
	}
	// …the sessions file ends in a torn record…
	sp := filepath.Join(dir, "uploads", sessionsFile)
	f, err := os.OpenFile(sp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{7, 7, 7})
	f.Close()
	sessions, _ := os.ReadFile(sp)
	// …and the signed-chunk log is damaged where no crash writes.
	signed := filepath.Join(dir, "uploads", signedDir, "00000000000000000000.wal")
	orig, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	bad := append(bytes.Clone(orig), make([]byte, 40)...)
	bad[3] ^= 1
	if err := os.WriteFile(signed, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newFakeChain(uploadsStream())
	g, _ := openLogged(t, dir, c)
	if msg := g.StreamErrors()["uploads"]; !strings.Contains(msg, signed) {
		t.Fatalf("StreamErrors: %q; want it to name %s", msg, signed)
	}
	g.Close()
	if got, _ := os.ReadFile(sp); !bytes.Equal(got, sessions) {
		t.Fatalf("the failed start rewrote the sessions file: %d bytes, was %d", len(got), len(sessions))
	}
	if err := os.WriteFile(signed, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	g, lb := openLogged(t, dir, c)
	defer g.Close()
	if w, m := do(t, g.Handler(), "GET", "/v1/push/uploads/uploads/"+id, nil, ""); w.Code != 200 || m["acked"] != float64(60) {
		t.Fatalf("after the repair: %d %v, want 60 bytes acknowledged", w.Code, m)
	}
	if !strings.Contains(lb.String(), "cut "+sp+" at byte "+strconv.Itoa(2*batchRecordSize)) || !strings.Contains(lb.String(), "the log holds 2 of its 3 messages") {
		t.Fatalf("the repair of the sessions file is not logged:\n%s", lb.String())
	}
	if got, _ := os.ReadFile(sp); len(got) != 2*batchRecordSize {
		t.Fatalf("the sessions file is %d bytes after the repair, want %d", len(got), 2*batchRecordSize)
	}
}
