package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// fakeChain is a chain that admits every well-formed transaction and
// puts submitted chunks "on chain" when the test says so.
type fakeChain struct {
	mu        sync.Mutex
	streams   map[string]app.StreamInfo
	submitted [][]byte
	onChain   map[string]wire.ChunkKey // origin ‖ first seq → key
	next      uint64
	refuse    uint32                   // CheckTx code for every transaction, if not 0
	decided   map[wire.ChunkKey]string // "accepted" or "disputed"
	submits   map[string]int           // origin/first seq → Submit calls
}

func newFakeChain(streams ...app.Stream) *fakeChain {
	c := &fakeChain{streams: map[string]app.StreamInfo{}, onChain: map[string]wire.ChunkKey{}, decided: map[wire.ChunkKey]string{}, submits: map[string]int{}}
	for _, s := range streams {
		c.streams[s.ID] = app.StreamInfo{Stream: s}
	}
	return c
}

func (c *fakeChain) ChainID() string { return "fake" }
func (c *fakeChain) Stream(id string) (app.StreamInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[id]
	if !ok {
		return s, app.ErrNotFound
	}
	return s, nil
}
func (c *fakeChain) Check(tx []byte) (uint32, string) {
	if _, err := wire.UnmarshalTx(tx); err != nil {
		return app.CodeMalformed, err.Error()
	}
	return c.refuse, "refused"
}
func (c *fakeChain) Submit(tx []byte) (uint32, string, error) {
	if code, lg := c.Check(tx); code != 0 {
		return code, lg, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.submitted = append(c.submitted, tx)
	if t, err := wire.UnmarshalTx(tx); err == nil && t.Chunk != nil {
		c.submits[fmt.Sprintf("%x/%d", t.Chunk.Origin, t.Chunk.FirstSeq)]++
	}
	return 0, "", nil
}
func (c *fakeChain) PushedKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) (wire.ChunkKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.onChain[fmt.Sprintf("%x/%d", origin, firstSeq)]
	return k, ok
}
func (c *fakeChain) RecordStatus(k wire.ChunkKey) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.decided[k]
}

// decideAll decides every chunk on chain not yet decided (accepted) and
// tells the gateway, as a block's records would.
func (c *fakeChain) decideAll(g *Gateway) {
	c.mu.Lock()
	var sum app.CommitSummary
	for _, k := range c.onChain {
		if _, ok := c.decided[k]; !ok {
			c.decided[k] = "accepted"
			sum.Records = append(sum.Records, &wire.Record{Stream: k.Stream, Index: k.Index, Status: wire.StatusAccepted})
		}
	}
	c.mu.Unlock()
	g.Committed(app.CommitSummary{Records: sum.Records})
}

// commitAll puts every submitted chunk on chain and tells the gateway.
func (c *fakeChain) commitAll(g *Gateway) []*wire.ChunkTx {
	c.mu.Lock()
	var out []*wire.ChunkTx
	var sum app.CommitSummary
	for _, raw := range c.submitted {
		tx, _ := wire.UnmarshalTx(raw)
		ct := tx.Chunk
		key := fmt.Sprintf("%x/%d", ct.Origin, ct.FirstSeq)
		k, dup := c.onChain[key]
		code := app.CodeDuplicate
		if !dup {
			k = wire.ChunkKey{Stream: ct.Stream, Index: c.next}
			c.next++
			c.onChain[key] = k
			code = app.CodeOK
			out = append(out, ct)
		}
		sum.Txs = append(sum.Txs, app.TxOutcome{TxHash: sha256.Sum256(raw), Kind: wire.KindChunk, Code: code, Key: k})
	}
	c.submitted = nil
	c.mu.Unlock()
	g.Committed(sum)
	return out
}

func uploadsStream() app.Stream {
	return app.Stream{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4}, OpenLoopback: true}
}

func openGateway(t *testing.T, dir string, c *fakeChain) *Gateway {
	t.Helper()
	g, err := Open(Config{Dir: dir, Chain: c, FlushAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func newSession(t *testing.T) string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func do(t *testing.T, h http.Handler, method, target string, body []byte, remote string, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	r.RemoteAddr = "127.0.0.1:50000"
	if remote != "" {
		r.RemoteAddr = remote
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	json.Unmarshal(w.Body.Bytes(), &m)
	return w, m
}

// TestUploadChunksAndRecovery uploads a file in uneven parts, checks the
// chunks the gateway submits hold exactly the file in order, then
// reopens the gateway and finds the same chunks, submitting again only
// those not on chain.
func TestUploadChunksAndRecovery(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openGateway(t, dir, c)
	h := g.Handler()
	file := make([]byte, 23*1000+17) // pieces of 1000 bytes: 24 messages, chunks of 4
	rand.Read(file)
	id := newSession(t)
	for _, p := range [][2]int{{0, 2500}, {2000, 9000}, {9000, len(file)}} {
		end := 0
		if p[1] == len(file) {
			end = 1
		}
		w, m := do(t, h, "POST", fmt.Sprintf("/v1/push/uploads?upload=%s&offset=%d&end=%d&piece=1000", id, p[0], end), file[p[0]:p[1]], "")
		if w.Code != 200 {
			t.Fatalf("part %v: %d %v", p, w.Code, m)
		}
		want := float64(p[1] / 1000 * 1000)
		if end == 1 {
			want = float64(len(file))
		}
		if m["acked"] != want {
			t.Fatalf("part %v: acked %v, want %v (whole pieces only until the end)", p, m["acked"], want)
		}
	}
	// Let the submitter run.
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.submitted) == 6 })
	got := c.commitAll(g)
	var joined []byte
	for i, ct := range got {
		if len(ct.Messages) != 4 {
			t.Fatalf("chunk %d has %d messages, want 4", i, len(ct.Messages))
		}
		if ct.Offset != uint64(len(joined)) {
			t.Fatalf("chunk %d at offset %d, want %d", i, ct.Offset, len(joined))
		}
		for j, m := range ct.Messages {
			if ct.FirstSeq+uint64(j) != uint64(i*4+j) {
				t.Fatalf("seq of message %d of chunk %d", j, i)
			}
			joined = append(joined, m...)
		}
	}
	if !bytes.Equal(joined, file) {
		t.Fatal("the submitted chunks are not the file")
	}
	w, m := do(t, h, "GET", "/v1/push/uploads/chunks?upload="+id, nil, "")
	before := w.Body.String()
	if w.Code != 200 || !strings.Contains(before, `"on_chain"`) || m["ended"] != true {
		t.Fatalf("chunks: %d %s", w.Code, before)
	}
	g.Close()

	// Reopen: same chunks, all on chain, nothing submitted again.
	g = openGateway(t, dir, c)
	defer g.Close()
	w, _ = do(t, g.Handler(), "GET", "/v1/push/uploads/chunks?upload="+id, nil, "")
	if w.Body.String() != before {
		t.Fatalf("after reopening:\n%s\nbefore:\n%s", w.Body.String(), before)
	}
	time.Sleep(300 * time.Millisecond)
	c.mu.Lock()
	n := len(c.submitted)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d chunks submitted again though all are on chain", n)
	}
}

// TestRecoverySubmitsWhatTheChainLacks: chunks logged and acknowledged
// but never on chain (the node died) are submitted after reopening.
func TestRecoverySubmitsWhatTheChainLacks(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	c.refuse = app.CodeMalformed // nothing gets into the "mempool"
	g := openGateway(t, dir, c)
	id := newSession(t)
	data := bytes.Repeat([]byte("x"), 8*100)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&end=1&piece=100", data, ""); w.Code != 200 {
		t.Fatal(m)
	}
	g.Close()
	c.refuse = 0
	g = openGateway(t, dir, c)
	defer g.Close()
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.submitted) == 2 })
}

// TestTornBatchRecord: a batch record written without its messages (a
// crash between the two syncs) is not acknowledged after reopening, so
// the producer resends those bytes and nothing is logged twice.
func TestTornBatchRecord(t *testing.T) {
	dir := t.TempDir()
	c := newFakeChain(uploadsStream())
	g := openGateway(t, dir, c)
	id := newSession(t)
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&piece=10", make([]byte, 30), ""); w.Code != 200 {
		t.Fatal(m)
	}
	g.Close()
	var sid SessionID
	b, _ := hex.DecodeString(id)
	copy(sid[:], b)
	f, err := os.OpenFile(filepath.Join(dir, "uploads", sessionsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write((&batch{ID: sid, Before: 30, After: 60, FirstSeq: 3, N: 3}).encode())
	f.Write([]byte{1, 2, 3}) // and a torn record after it
	f.Close()
	g = openGateway(t, dir, c)
	defer g.Close()
	w, m := do(t, g.Handler(), "GET", "/v1/push/uploads/uploads/"+id, nil, "")
	if w.Code != 200 || m["acked"] != float64(30) {
		t.Fatalf("after a torn batch: %d %v, want 30 bytes acknowledged", w.Code, m)
	}
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+id+"&offset=30&end=1&piece=10", make([]byte, 30), ""); w.Code != 200 || m["acked"] != float64(60) {
		t.Fatalf("resending: %d %v", w.Code, m)
	}
}

// TestIdleChunkIsFlushed: a chunk short of its message count closes after
// FlushAfter without new messages.
func TestIdleChunkIsFlushed(t *testing.T) {
	c := newFakeChain(uploadsStream())
	g, err := Open(Config{Dir: t.TempDir(), Chain: c, FlushAfter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if w, m := do(t, g.Handler(), "POST", "/v1/push/uploads?upload="+newSession(t)+"&piece=10", make([]byte, 20), ""); w.Code != 200 {
		t.Fatal(m)
	}
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.submitted) == 1 })
}

// TestHostileRequests: every bad request gets a clear 4xx and logs
// nothing.
func TestHostileRequests(t *testing.T) {
	token := "s3cret-token"
	sum := sha256.Sum256([]byte(token))
	c := newFakeChain(uploadsStream(),
		app.Stream{ID: "guarded", Mode: app.ModePush, WriteTokens: []app.HexBytes{sum[:]}},
		app.Stream{ID: "closed", Mode: app.ModePush},
		app.Stream{ID: "signed", Mode: app.ModePush, Producers: []app.HexBytes{make([]byte, 32)}},
		app.Stream{ID: "sensors", Source: "ws://127.0.0.1:1/x", Chunk: app.ChunkPolicy{Messages: 10}})
	g := openGateway(t, t.TempDir(), c)
	defer g.Close()
	h := g.Handler()
	id := newSession(t)
	remote := "203.0.113.7:5555"
	cases := []struct {
		name, method, target string
		body                 []byte
		remote               string
		hdr                  []string
		status               int
		mention              string
	}{
		{"unknown stream", "POST", "/v1/push/nope?upload=" + id, []byte("x"), "", nil, 404, "no stream"},
		{"bad stream id", "POST", "/v1/push/" + strings.Repeat("a", 100) + "?upload=" + id, []byte("x"), "", nil, 400, "stream id"},
		{"observed stream", "POST", "/v1/push/sensors?upload=" + id, []byte("x"), "", nil, 400, "observed"},
		{"producer stream unsigned", "POST", "/v1/push/signed?upload=" + id, []byte("x"), "", nil, 403, "signed"},
		{"bad session id", "POST", "/v1/push/uploads?upload=xyz", []byte("x"), "", nil, 400, "32 hex"},
		{"bad offset", "POST", "/v1/push/uploads?upload=" + id + "&offset=-1", []byte("x"), "", nil, 400, "offset"},
		{"zero piece", "POST", "/v1/push/uploads?upload=" + id + "&piece=0", []byte("x"), "", nil, 400, "piece"},
		{"huge piece", "POST", "/v1/push/uploads?upload=" + id + "&piece=99999999", []byte("x"), "", nil, 400, "piece"},
		{"gap", "POST", "/v1/push/uploads?upload=" + id + "&offset=10", []byte("x"), "", nil, 409, ""},
		{"not loopback, no token", "POST", "/v1/push/uploads?upload=" + id, []byte("x"), remote, nil, 401, "token"},
		{"no token", "POST", "/v1/push/guarded?upload=" + id, []byte("x"), remote, nil, 401, "token"},
		{"wrong token", "POST", "/v1/push/guarded?upload=" + id, []byte("x"), remote, []string{"Authorization", "Bearer nope"}, 403, "not one of"},
		{"no tokens registered", "POST", "/v1/push/closed?upload=" + id, []byte("x"), remote, nil, 403, "no write tokens"},
		{"garbage chunk", "POST", "/v1/push/signed/chunk", []byte("garbage"), "", nil, 400, "magic"},
		{"tx endpoint takes no chunks", "POST", "/v1/tx", mustChunkTx(t), "", nil, 400, "/chunk"},
		{"garbage tx", "POST", "/v1/tx", []byte("DDtx\x01\x09"), "", nil, 400, "kind"},
	}
	for _, tc := range cases {
		w, m := do(t, h, tc.method, tc.target, tc.body, tc.remote, tc.hdr...)
		if w.Code != tc.status || !strings.Contains(fmt.Sprint(m["error"]), tc.mention) {
			t.Errorf("%s: %d %v, want %d mentioning %q", tc.name, w.Code, m, tc.status, tc.mention)
		}
	}
	// Oversized: refused from the declared length, before reading.
	r := httptest.NewRequest("POST", "/v1/push/uploads?upload="+id, strings.NewReader("x"))
	r.ContentLength = MaxUploadPart + 1
	r.RemoteAddr = "127.0.0.1:50000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized part: %d", w.Code)
	}
	// The right token is accepted; nothing else was logged.
	if w, m := do(t, h, "POST", "/v1/push/guarded?upload="+id+"&end=1", []byte("hello"), remote, "Authorization", "Bearer "+token); w.Code != 200 || m["acked"] != float64(5) {
		t.Errorf("with the token: %d %v", w.Code, m)
	}
	if w, m := do(t, h, "GET", "/v1/push/uploads/uploads/"+id, nil, ""); w.Code != 404 || m["acked"] != float64(0) {
		t.Errorf("the refused uploads logged something: %d %v", w.Code, m)
	}
}

func mustChunkTx(t *testing.T) []byte {
	b, err := (&wire.ChunkTx{Stream: "uploads", Origin: [16]byte{1}, Messages: [][]byte{{1}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebSocketPushResumes pushes messages over the WebSocket, drops the
// connection, reconnects with the same session and finds the
// acknowledged count where it stopped.
func TestWebSocketPushResumes(t *testing.T) {
	c := newFakeChain(uploadsStream())
	g := openGateway(t, t.TempDir(), c)
	defer g.Close()
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	id := newSession(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/push/uploads/ws?session=" + id
	ctx := context.Background()
	read := func(conn *websocket.Conn) wsMessage {
		t.Helper()
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := read(conn); m.Type != "hello" || m.Acked != 0 {
		t.Fatalf("hello: %+v", m)
	}
	var acked uint64
	for i := range 6 {
		if err := conn.Write(ctx, websocket.MessageBinary, []byte(fmt.Sprintf("message %d", i))); err != nil {
			t.Fatal(err)
		}
		for acked < uint64(9*(i+1)) {
			m := read(conn)
			if m.Type != "ack" {
				t.Fatalf("want an ack, got %+v", m)
			}
			acked = m.Acked
		}
	}
	conn.CloseNow()
	conn, _, err = websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if m := read(conn); m.Type != "hello" || m.Acked != 54 {
		t.Fatalf("hello after reconnecting: %+v, want 54 bytes acknowledged", m)
	}
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"end"}`))
	if m := read(conn); m.Type != "ack" || m.Acked != 54 {
		t.Fatalf("end: %+v", m)
	}
	// Six messages, chunks of four: two chunks, the second closed by the end.
	waitFor(t, func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.submitted) == 2 })
	// A control frame that is not one is refused.
	conn2, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/push/uploads/ws?session="+newSession(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	read(conn2)
	conn2.Write(ctx, websocket.MessageText, []byte(`{"type":"delete everything"}`))
	if _, _, err := conn2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("bad control frame: %v, want a policy-violation close", err)
	}
}
