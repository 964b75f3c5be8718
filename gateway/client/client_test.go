package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/gateway/client"
	"github.com/datadragon/datadragon/gateway/client/clienttest"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// fast are options that keep retries and polls in the milliseconds.
func fast(o client.UploadOptions) client.UploadOptions {
	o.Backoff, o.MaxBackoff, o.Poll, o.Stall = time.Millisecond, 5*time.Millisecond, time.Millisecond, 5*time.Second
	return o
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// progressLog keeps the reports of a push.
type progressLog struct {
	mu   sync.Mutex
	last client.Progress
	n    int
	hook func(client.Progress)
}

func (l *progressLog) report(p client.Progress) {
	l.mu.Lock()
	if p.BytesAcked < l.last.BytesAcked || p.BytesSent < l.last.BytesSent {
		panic("progress went backwards")
	}
	l.last, l.n = p, l.n+1
	hook := l.hook
	l.mu.Unlock()
	if hook != nil {
		hook(p)
	}
}

// A dropped connection (after part of a request was made durable) and a
// 503 in the middle of an upload: the client resumes from the gateway's
// offset, and the gateway holds every byte exactly once, in order. Parts
// are not multiples of the piece, so every part leaves a partial piece
// for the next; the input arrives in small reads.
func TestPushUploadSurvivesDropsAndFailures(t *testing.T) {
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Messages: 4, Token: "secret", NextIndex: 40})
	data := randomBytes(200_003, 1)
	var once1, once2 sync.Once
	log := &progressLog{hook: func(p client.Progress) {
		if p.BytesAcked > 50_000 {
			once1.Do(func() { g.DropUploads(1) })
		}
		if p.BytesAcked > 120_000 {
			once2.Do(func() { g.FailUploads(1) })
		}
	}}
	c := &client.Client{Base: g.URL, Token: "secret"}
	res, err := c.PushUpload(context.Background(), "files", iotest.HalfReader(bytes.NewReader(data)),
		fast(client.UploadOptions{Piece: 1000, Part: 8500}), log.report)
	if err != nil {
		t.Fatal(err)
	}
	got, ended := g.Upload(res.Upload)
	if !ended || !bytes.Equal(got, data) {
		t.Fatalf("the gateway holds %d bytes (ended %v), want the %d bytes of the input exactly", len(got), ended, len(data))
	}
	// Resends are bounded: the dropped and the failed part, and the
	// partial piece at the head of each part.
	if rx, max := g.Received(), uint64(len(data))+2*8500+uint64(len(data)/8000+1)*1000; rx > max {
		t.Errorf("the gateway received %d bytes for a %d-byte input, more than %d", rx, len(data), max)
	}
	// 201 pieces in chunks of 4: 51 chunks, indexes from 40.
	if len(res.Chunks) != 51 || res.Bytes != uint64(len(data)) {
		t.Fatalf("%d chunks of %d bytes, want 51 of %d", len(res.Chunks), res.Bytes, len(data))
	}
	var off uint64
	for i, ch := range res.Chunks {
		if ch.Status != "accepted" || !ch.HasIndex || ch.Index != uint64(40+i) || ch.Offset != off {
			t.Fatalf("chunk %d: %+v, want accepted at index %d, offset %d", i, ch, 40+i, off)
		}
		off += ch.Bytes
	}
	if off != uint64(len(data)) || res.Count("accepted") != 51 {
		t.Errorf("chunks cover %d bytes, %d accepted", off, res.Count("accepted"))
	}
	p := log.last
	if !p.Done || !p.InputDone || p.BytesAcked != uint64(len(data)) || p.BytesSent != uint64(len(data)) ||
		p.ChunksAccepted != 51 || p.ChunksLogged != 51 || p.ChunksTotal != 51 || p.Upload != res.Upload {
		t.Errorf("last progress %+v", p)
	}
}

// A gateway that lost the bytes it acknowledged answers 409; the client
// cannot resend what it let go of and says to start again.
func TestPushUploadGapIsAnError(t *testing.T) {
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files"})
	var once sync.Once
	log := &progressLog{hook: func(p client.Progress) {
		if p.BytesAcked > 0 {
			once.Do(func() { g.Forget(p.Upload) })
		}
	}}
	c := &client.Client{Base: g.URL}
	_, err := c.PushUpload(context.Background(), "files", bytes.NewReader(randomBytes(50_000, 2)),
		fast(client.UploadOptions{Piece: 1000, Part: 10_000}), log.report)
	if err == nil || !strings.Contains(err.Error(), "new upload") {
		t.Fatalf("err %v, want one that says to push again as a new upload", err)
	}
}

// An interrupted upload resumes by id from the same input, seekable or
// not; the gateway ends up with every byte once.
func TestPushUploadResume(t *testing.T) {
	for _, seekable := range []bool{true, false} {
		g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Messages: 8})
		data := randomBytes(100_000, 3)
		ctx, cancel := context.WithCancel(context.Background())
		log := &progressLog{hook: func(p client.Progress) {
			if p.BytesAcked >= 30_000 {
				cancel()
			}
		}}
		c := &client.Client{Base: g.URL}
		opt := fast(client.UploadOptions{Piece: 1000, Part: 10_000})
		res, err := c.PushUpload(ctx, "files", bytes.NewReader(data), opt, log.report)
		if !errors.Is(err, context.Canceled) || res == nil || res.Upload == "" {
			t.Fatalf("interrupted push: %v, %+v", err, res)
		}
		if got, _ := g.Upload(res.Upload); len(got) < 30_000 || len(got) >= len(data) {
			t.Fatalf("the gateway holds %d bytes after the interruption", len(got))
		}
		var in io.Reader = bytes.NewReader(data)
		if !seekable {
			in = io.MultiReader(in)
		}
		opt.Upload = strings.ToUpper(res.Upload)
		res2, err := c.PushUpload(context.Background(), "files", in, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, ended := g.Upload(res.Upload); res2.Upload != res.Upload || !ended || !bytes.Equal(got, data) {
			t.Fatalf("seekable %v: resumed upload %s holds %d bytes (ended %v)", seekable, res2.Upload, len(got), ended)
		}
		if res2.Count("accepted") != 13 {
			t.Errorf("%d chunks accepted, want 13", res2.Count("accepted"))
		}
		// Resuming a finished upload only waits, and a shorter input is
		// refused.
		if _, err := c.PushUpload(context.Background(), "files", bytes.NewReader(nil), opt, nil); err != nil {
			t.Errorf("resuming a finished upload: %v", err)
		}
		if len(g.Uploads()) != 1 {
			t.Errorf("uploads %v", g.Uploads())
		}
	}
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files"})
	c := &client.Client{Base: g.URL}
	opt := fast(client.UploadOptions{Piece: 100, Part: 1000, NoWait: true})
	res, err := c.PushUpload(context.Background(), "files", bytes.NewReader(randomBytes(5000, 4)), opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Forget(res.Upload)
	g.DropUploads(0)
	opt.Upload = res.Upload
	// The gateway forgot it: it starts at 0 again, from the input given.
	if _, err := c.PushUpload(context.Background(), "files", bytes.NewReader(randomBytes(300, 4)), opt, nil); err != nil {
		t.Errorf("resuming a forgotten upload: %v", err)
	}
}

func TestPushUploadShortInputOnResume(t *testing.T) {
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files"})
	c := &client.Client{Base: g.URL}
	ctx, cancel := context.WithCancel(context.Background())
	log := &progressLog{hook: func(p client.Progress) {
		if p.BytesAcked >= 3000 {
			cancel()
		}
	}}
	opt := fast(client.UploadOptions{Piece: 100, Part: 1000})
	res, _ := c.PushUpload(ctx, "files", bytes.NewReader(randomBytes(10_000, 5)), opt, log.report)
	opt.Upload = res.Upload
	for _, in := range []io.Reader{bytes.NewReader(make([]byte, 100)), io.MultiReader(bytes.NewReader(make([]byte, 100)))} {
		_, err := c.PushUpload(context.Background(), "files", in, opt, nil)
		if err == nil || !strings.Contains(err.Error(), "same input") {
			t.Errorf("resume with a short input: %v", err)
		}
	}
}

func TestPushUploadAuthAndErrors(t *testing.T) {
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "files", Token: "secret"})
	for token, want := range map[string]string{"": "401", "wrong": "403"} {
		c := &client.Client{Base: g.URL, Token: token}
		_, err := c.PushUpload(context.Background(), "files", strings.NewReader("hello"), fast(client.UploadOptions{}), nil)
		var e *client.Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "token") {
			t.Errorf("token %q: %v", token, err)
		}
	}
	c := &client.Client{Base: g.URL, Token: "secret"}
	if _, err := c.PushUpload(context.Background(), "nope", strings.NewReader("x"), fast(client.UploadOptions{}), nil); !client.IsNotFound(err) {
		t.Errorf("unknown stream: %v", err)
	}
	if _, err := c.PushUpload(context.Background(), "bad id!", strings.NewReader("x"), client.UploadOptions{}, nil); err == nil {
		t.Error("a bad stream id was accepted")
	}
	for _, o := range []client.UploadOptions{{Piece: -1}, {Piece: 1 << 21}, {Part: 1 << 27}, {Upload: "xyz"}} {
		if _, err := c.PushUpload(context.Background(), "files", strings.NewReader("x"), o, nil); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	// An empty input is an empty upload.
	res, err := c.PushUpload(context.Background(), "files", strings.NewReader(""), fast(client.UploadOptions{}), nil)
	if err != nil || len(res.Chunks) != 0 || res.Bytes != 0 {
		t.Errorf("empty upload: %+v, %v", res, err)
	}
	if _, ended := g.Upload(res.Upload); !ended {
		t.Error("the empty upload did not end")
	}
	// Nothing listening: the error says where it looked, after the
	// retries.
	dead := &client.Client{Base: "http://127.0.0.1:1"}
	_, err = dead.PushUpload(context.Background(), "files", strings.NewReader("x"), fast(client.UploadOptions{Retries: 2}), nil)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("no node: %v", err)
	}
}

// producerChunks reads the chunks the fake logged and checks each
// against the input: its bytes (public) or its digest (private), and its
// signature over ProducerSignBytes.
func checkSigned(t *testing.T, g *clienttest.Gateway, stream string, pub ziggy.PublicKey, data []byte, private bool) []*wire.ChunkTx {
	t.Helper()
	txs := g.Signed(stream)
	var seq, off uint64
	for _, c := range txs {
		if c.FirstSeq != seq || c.Offset != off || c.Private != private || !bytes.Equal(c.Producer, pub.Bytes()) {
			t.Fatalf("chunk %d: first seq %d offset %d private %v, want %d %d %v", c.Index, c.FirstSeq, c.Offset, c.Private, seq, off, private)
		}
		var msgs []digest.Message
		pos := off
		for i := 0; i < c.Count(); i++ {
			n := uint64(0)
			if private {
				n = uint64(c.Lengths[i])
			} else {
				n = uint64(len(c.Messages[i]))
				if !bytes.Equal(c.Messages[i], data[pos:pos+n]) {
					t.Fatalf("chunk %d message %d differs from the input", c.Index, i)
				}
			}
			msgs = append(msgs, digest.Message{Seq: seq + uint64(i), Data: data[pos : pos+n]})
			pos += n
		}
		d, err := digest.Compute(stream, c.Index, msgs)
		if err != nil {
			t.Fatal(err)
		}
		if private && wire.Digest(d) != c.Digest {
			t.Fatalf("chunk %d: digest %s, the input's is %s", c.Index, c.Digest, d)
		}
		raw, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := wire.UnmarshalTx(raw)
		if err != nil || back.Chunk == nil {
			t.Fatalf("chunk %d does not decode: %v", c.Index, err)
		}
		if err := ziggy.Verify(pub, wire.ProducerSignBytes("test-chain", stream, c.Index, c.Offset, wire.Digest(d)), c.Signature); err != nil {
			t.Fatalf("chunk %d: signature: %v", c.Index, err)
		}
		seq += uint64(c.Count())
		off = pos
	}
	if off != uint64(len(data)) {
		t.Fatalf("signed chunks cover %d bytes of %d", off, len(data))
	}
	return txs
}

// Signed pushes, public and private: chunks of the stream's message
// count from its next index, one index taken by another producer (the
// chunk is signed again for the next), a 503 and a dropped connection
// (resent, idempotent).
func TestPushSigned(t *testing.T) {
	pub, priv, err := ziggy.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []bool{false, true} {
		g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "lab", Messages: 3, NextIndex: 5, Producers: [][]byte{pub.Bytes()}})
		g.Take(7)
		data := randomBytes(10_500, 6) // 11 messages of 1000 bytes or less: 4 chunks
		var once sync.Once
		log := &progressLog{hook: func(p client.Progress) {
			if p.ChunksLogged == 1 {
				once.Do(func() { g.FailChunks(1); g.DropChunks(1) })
			}
		}}
		c := &client.Client{Base: g.URL}
		res, err := c.PushSigned(context.Background(), "lab", bytes.NewReader(data), priv, private, fast(client.UploadOptions{Piece: 1000}), log.report)
		if err != nil {
			t.Fatal(err)
		}
		txs := checkSigned(t, g, "lab", pub, data, private)
		wantIndex := []uint64{5, 6, 8, 9}
		if len(res.Chunks) != 4 || len(txs) != 4 {
			t.Fatalf("private %v: %d chunks, %d logged, want 4", private, len(res.Chunks), len(txs))
		}
		for i, ch := range res.Chunks {
			if ch.Index != wantIndex[i] || txs[i].Index != wantIndex[i] || ch.Status != "accepted" || ch.FirstSeq != uint64(3*i) ||
				ch.Offset != uint64(3000*i) || ch.Digest == "" {
				t.Errorf("private %v: chunk %d %+v, want index %d accepted", private, i, ch, wantIndex[i])
			}
		}
		if p := log.last; !p.Done || p.ChunksAccepted != 4 || p.ChunksTotal != 4 || p.BytesAcked != uint64(len(data)) {
			t.Errorf("last progress %+v", p)
		}
	}
}

// A record accepted with another digest at one of the push's indexes is
// reported as a conflict, not as accepted.
func TestPushSignedLostIndex(t *testing.T) {
	pub, priv, _ := ziggy.GenerateKey(nil)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "lab", Messages: 2, Producers: [][]byte{pub.Bytes()}})
	var once sync.Once
	log := &progressLog{hook: func(p client.Progress) {
		if p.ChunksLogged == 1 {
			once.Do(func() { g.AddRecord("lab", 0, wire.Digest{1}) })
		}
	}}
	c := &client.Client{Base: g.URL}
	res, err := c.PushSigned(context.Background(), "lab", bytes.NewReader(randomBytes(4000, 7)), priv, true, fast(client.UploadOptions{Piece: 1000}), log.report)
	if err == nil || !strings.Contains(err.Error(), "another producer") {
		t.Fatalf("err %v", err)
	}
	if res.Count("conflict") != 1 || res.Count("accepted") != 1 {
		t.Errorf("chunks %+v", res.Chunks)
	}
}

func TestPushSignedRefusals(t *testing.T) {
	pub, priv, _ := ziggy.GenerateKey(nil)
	other, _, _ := ziggy.GenerateKey(nil)
	g := clienttest.New(t, "test-chain",
		clienttest.Stream{ID: "theirs", Producers: [][]byte{other.Bytes()}},
		clienttest.Stream{ID: "open"},
		clienttest.Stream{ID: "mine", Producers: [][]byte{pub.Bytes()}})
	c := &client.Client{Base: g.URL}
	for stream, want := range map[string]string{"theirs": "not a producer", "open": "no registered producers", "nope": "not registered"} {
		_, err := c.PushSigned(context.Background(), stream, strings.NewReader("x"), priv, false, fast(client.UploadOptions{}), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", stream, err, want)
		}
	}
	if _, err := c.PushSigned(context.Background(), "mine", strings.NewReader("x"), priv, false, client.UploadOptions{Upload: client.NewUploadID()}, nil); err == nil {
		t.Error("a signed push took an upload id")
	}
	// An unsigned upload to a producers' stream is refused by the gateway.
	_, err := c.PushUpload(context.Background(), "mine", strings.NewReader("x"), fast(client.UploadOptions{}), nil)
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || !strings.Contains(err.Error(), "--key") {
		t.Errorf("unsigned push to a signed stream: %v", err)
	}
	res, err := c.PushSigned(context.Background(), "mine", strings.NewReader(""), priv, false, fast(client.UploadOptions{}), nil)
	if err != nil || len(res.Chunks) != 0 {
		t.Errorf("empty signed push: %+v %v", res, err)
	}
}

func TestReadsAndTx(t *testing.T) {
	pub, priv, _ := ziggy.GenerateKey(nil)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "s", Experts: [][]byte{pub.Bytes()}})
	g.ReceiptMisses = 2
	g.AddRecord("s", 3, wire.Digest{3})
	c := &client.Client{Base: g.URL + "/"}
	ctx := context.Background()
	if st, err := c.Status(ctx); err != nil || st.ChainID != "test-chain" {
		t.Fatalf("status %+v %v", st, err)
	}
	si, err := c.Stream(ctx, "s")
	if err != nil || si.ID != "s" || si.Mode != "push" || !si.HasExpert(pub.Bytes()) || si.Messages() != 16 || len(si.Raw) == 0 {
		t.Fatalf("stream %+v %v", si, err)
	}
	if _, err := c.Stream(ctx, "none"); !client.IsNotFound(err) {
		t.Errorf("unknown stream: %v", err)
	}
	rec, err := c.Record(ctx, "s", 3)
	if err != nil || rec.Status != "accepted" || rec.Digest != (wire.Digest{3}).String() {
		t.Fatalf("record %+v %v", rec, err)
	}
	if _, err := c.Record(ctx, "s", 4); !client.IsNotFound(err) {
		t.Errorf("missing record: %v", err)
	}
	if _, err := c.Receipt(ctx, "s", 3); !client.IsNotFound(err) {
		t.Errorf("receipt before it exists: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := c.WaitReceipt(wctx, "s", 3)
	if err != nil || !bytes.Contains(r, []byte(`"index":3`)) {
		t.Fatalf("receipt %s %v", r, err)
	}
	// An expert judgement, and one the chain refuses (wrong digest).
	for _, d := range []wire.Digest{{3}, {4}} {
		sig, err := ziggy.Sign(priv, wire.ExpertSignBytes("test-chain", "s", 3, d, false, "ok"))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := (&wire.ExpertTx{Stream: "s", Index: 3, Digest: d, Note: "ok", Expert: pub.Bytes(), Signature: sig}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		err = c.SubmitTx(ctx, tx)
		var e *client.Error
		switch {
		case d == wire.Digest{3} && err != nil:
			t.Errorf("judgement: %v", err)
		case d == wire.Digest{4} && (!errors.As(err, &e) || e.Code != 10 || !strings.Contains(e.Message, "not accepted")):
			t.Errorf("judgement of a wrong digest: %v", err)
		}
	}
	if j := g.Judgements("s", 3); len(j) != 1 {
		t.Errorf("judgements %v", j)
	}
}

func TestParseBase(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080":          "http://127.0.0.1:8080",
		"http://node:8080/":       "http://node:8080",
		"https://node.example/dd": "https://node.example/dd",
	} {
		if got, err := client.ParseBase(in); err != nil || got != want {
			t.Errorf("ParseBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ftp://x", "http://", "http://x?y=1"} {
		if _, err := client.ParseBase(in); err == nil {
			t.Errorf("ParseBase(%q) accepted", in)
		}
	}
}

// TestSubmitTxWaitsForACatchingUpNode: a node answers 503 while it catches
// up with its peers. SubmitTx keeps retrying for its time budget — more
// attempts than its retries of an unreachable node — then gives up saying
// for how long it tried.
func TestSubmitTxWaitsForACatchingUpNode(t *testing.T) {
	defer client.SetTxRetry(time.Millisecond, 5*time.Millisecond, 300*time.Millisecond)()
	pub, priv, _ := ziggy.GenerateKey(nil)
	g := clienttest.New(t, "test-chain", clienttest.Stream{ID: "s", Experts: [][]byte{pub.Bytes()}})
	g.AddRecord("s", 3, wire.Digest{3})
	c := &client.Client{Base: g.URL}
	judge := func(note string) []byte {
		sig, err := ziggy.Sign(priv, wire.ExpertSignBytes("test-chain", "s", 3, wire.Digest{3}, false, note))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := (&wire.ExpertTx{Stream: "s", Index: 3, Digest: wire.Digest{3}, Note: note, Expert: pub.Bytes(), Signature: sig}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	g.FailTxs(20)
	if err := c.SubmitTx(context.Background(), judge("first")); err != nil {
		t.Fatalf("after 20 answers 503: %v", err)
	}
	if j := g.Judgements("s", 3); len(j) != 1 {
		t.Fatalf("judgements %v", j)
	}
	g.FailTxs(1 << 30)
	err := c.SubmitTx(context.Background(), judge("second"))
	if err == nil || !strings.Contains(err.Error(), "could not take the transaction for 300ms") || !strings.Contains(err.Error(), "catching up") {
		t.Fatalf("a node that never takes it: %v", err)
	}
}
