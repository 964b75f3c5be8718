package node

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// startPushNet starts n validators with APIs on apiBase+i and the given
// streams.
func startPushNet(t *testing.T, n, basePort, apiBase int, streams []app.Stream) *testNet {
	t.Helper()
	dir := t.TempDir()
	members, err := InitHomes(InitOptions{
		Dir: dir, Validators: n, ChainID: "dd-push", Host: "127.0.0.1",
		BasePort: basePort, APIBasePort: apiBase, Power: 10, CommitTimeout: 100 * time.Millisecond,
		AppState: AppState(streams, 5),
	})
	if err != nil {
		t.Fatal(err)
	}
	net := &testNet{t: t, members: members, nodes: make([]*Node, n)}
	for i := range members {
		net.start(i)
	}
	t.Cleanup(func() {
		for _, nd := range net.nodes {
			if nd != nil {
				nd.Stop()
			}
		}
	})
	return net
}

// postTx posts a transaction to /v1/tx as a user's client does: a node
// still catching up with its peers after its start answers 503 for a
// while, so that is retried for up to a minute. It returns the final
// status.
func postTx(t *testing.T, base string, tx []byte, out *map[string]any) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c := httpJSON(t, "POST", base+"/v1/tx", tx, nil, out)
		if c != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return c
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpJSON(t *testing.T, method, url string, body []byte, hdr map[string]string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m, ok := out.(*map[string]any); ok {
		*m = nil
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type uploadChunks struct {
	Chunks []struct {
		FirstSeq uint64  `json:"first_seq"`
		Messages int     `json:"messages"`
		Offset   uint64  `json:"offset"`
		Bytes    uint64  `json:"bytes"`
		Status   string  `json:"status"`
		Index    *uint64 `json:"index"`
		Error    string  `json:"error"`
	} `json:"chunks"`
	Ended bool `json:"ended"`
}

// TestPushUploadReceipts pushes a file through one node's gateway in two
// parts, waits until every chunk is accepted, and verifies each chunk's
// receipt offline against the whole file with the network stopped.
func TestPushUploadReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	net := startPushNet(t, 4, 29100, 29150, []app.Stream{
		{ID: "uploads", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 16}, OpenLoopback: true},
	})
	base := "http://127.0.0.1:29150"
	file := make([]byte, 3<<20+12345) // 3 full chunks of 16 × 64 KiB and a short one
	rand.Read(file)
	var id [16]byte
	rand.Read(id[:])
	up := hex.EncodeToString(id[:])

	// Part one ends mid-piece: only whole pieces are acknowledged.
	var st struct {
		Acked uint64 `json:"acked"`
		Ended bool   `json:"ended"`
	}
	half := 1<<20 + 1000
	if c := httpJSON(t, "POST", fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=0", base, up), file[:half], nil, &st); c != 200 {
		t.Fatalf("part one: %d", c)
	}
	if st.Acked != 1<<20 {
		t.Fatalf("acked %d after part one, want %d (whole pieces only)", st.Acked, 1<<20)
	}
	// A gap is refused; resending from an earlier offset skips what is
	// acknowledged.
	if c := httpJSON(t, "POST", fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=%d", base, up, 2<<20), file[2<<20:], nil, &st); c != http.StatusConflict {
		t.Fatalf("gap: status %d, want 409", c)
	}
	if c := httpJSON(t, "POST", fmt.Sprintf("%s/v1/push/uploads?upload=%s&offset=%d&end=1", base, up, 1<<19), file[1<<19:], nil, &st); c != 200 {
		t.Fatalf("part two: %d", c)
	}
	if st.Acked != uint64(len(file)) || !st.Ended {
		t.Fatalf("after the last part: %+v, want %d bytes and ended", st, len(file))
	}

	var ch uploadChunks
	net.waitFor("every chunk accepted", func() bool {
		httpJSON(t, "GET", fmt.Sprintf("%s/v1/push/uploads/chunks?upload=%s", base, up), nil, nil, &ch)
		if len(ch.Chunks) == 0 {
			return false
		}
		for _, c := range ch.Chunks {
			if c.Status == "rejected" {
				t.Fatalf("chunk rejected: %+v", c)
			}
			if c.Status != "accepted" {
				return false
			}
		}
		return true
	})
	if len(ch.Chunks) != 4 {
		t.Fatalf("%d chunks, want 4: %+v", len(ch.Chunks), ch.Chunks)
	}
	var total uint64
	var receipts [][]byte
	for _, c := range ch.Chunks {
		if c.Offset != total {
			t.Fatalf("chunk at offset %d, want %d", c.Offset, total)
		}
		total += c.Bytes
		var r *receipt.Receipt
		net.waitFor("receipt", func() bool {
			var err error
			r, err = net.nodes[1].Receipt("uploads", *c.Index)
			return err == nil
		})
		raw, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, raw)
		// Every validator hashed the bytes and shows the push section.
		rv, err := net.nodes[2].App().Record("uploads", *c.Index)
		if err != nil || rv.Push == nil || rv.Push.Offset != c.Offset || rv.Push.Bytes != c.Bytes {
			t.Fatalf("record of chunk %d: %+v %v", *c.Index, rv, err)
		}
		// The gateway serves the chunk's bytes by the record's digest.
		var data []byte
		net.waitFor("the chunk's bytes by digest", func() bool {
			resp, err := http.Get(base + "/v1/data/" + rv.Digest)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			data, _ = io.ReadAll(resp.Body)
			return resp.StatusCode == 200
		})
		if !bytes.Equal(data, file[c.Offset:c.Offset+c.Bytes]) {
			t.Fatalf("GET /v1/data/%s returned %d bytes that are not the chunk", rv.Digest, len(data))
		}
	}
	if total != uint64(len(file)) {
		t.Fatalf("chunks hold %d bytes, the file %d", total, len(file))
	}

	gdoc, err := cmttypes.GenesisDocFromFile(net.members[0].Home + "/config/genesis.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range net.nodes {
		net.stop(i)
	}
	for i, raw := range receipts {
		r, err := receipt.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := receipt.Verify(r, gdoc, file); err != nil {
			t.Fatalf("receipt %d against the whole file: %v", i, err)
		}
		c := ch.Chunks[i]
		if err := receipt.Verify(r, gdoc, file[c.Offset:c.Offset+c.Bytes]); err != nil {
			t.Fatalf("receipt %d against the chunk's bytes: %v", i, err)
		}
		bad := bytes.Clone(file)
		bad[c.Offset+c.Bytes/2] ^= 1
		err = receipt.Verify(r, gdoc, bad)
		if le, ok := err.(*receipt.LinkError); !ok || le.Link != "data" {
			t.Fatalf("receipt %d against a file with one byte changed: %v, want a broken data link", i, err)
		}
	}
}

// TestPushSignedPrivateAndExperts registers a stream by a signed
// transaction, pushes a private chunk signed by its producer (accepted)
// and one with a forged signature (refused), and has an expert endorse
// the record.
func TestPushSignedPrivateAndExperts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	net := startPushNet(t, 4, 29300, 29350, nil)
	base := "http://127.0.0.1:29351"
	_, owner, _ := ziggy.GenerateKey(rand.Reader)
	_, producer, _ := ziggy.GenerateKey(rand.Reader)
	_, expert, _ := ziggy.GenerateKey(rand.Reader)
	_, stranger, _ := ziggy.GenerateKey(rand.Reader)
	spec, _ := json.Marshal(app.Stream{ID: "lab", Mode: app.ModePush, Chunk: app.ChunkPolicy{Messages: 4},
		Producers: []app.HexBytes{producer.Public().Bytes()}, Experts: []app.HexBytes{expert.Public().Bytes()}})
	sig, err := ziggy.Sign(owner, wire.RegisterSignBytes("dd-push", owner.Public().Bytes(), 1, spec))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := (&wire.RegisterTx{Spec: spec, Owner: owner.Public().Bytes(), Nonce: 1, Signature: sig}).Marshal()
	var res map[string]any
	net.waitFor("the chain running", func() bool { return net.nodes[1].Height() >= 2 })
	if c := postTx(t, base, reg, &res); c != 200 {
		t.Fatalf("register: %d %v", c, res)
	}
	net.waitFor("stream registered", func() bool {
		s, err := net.nodes[3].App().Stream("lab")
		return err == nil && s.IsPush() && len(s.Owner) > 0
	})

	// Private chunk 0: only the digest and lengths travel.
	msgs := [][]byte{[]byte(`{"t":1}`), []byte(`{"t":2}`), []byte(`{"t":3}`)}
	dm := make([]digest.Message, len(msgs))
	lens := make([]uint32, len(msgs))
	for i, m := range msgs {
		dm[i], lens[i] = digest.Message{Seq: uint64(i), Data: m}, uint32(len(m))
	}
	d, _ := digest.Compute("lab", 0, dm)
	signChunk := func(key *ziggy.PrivateKey, idx uint64, d digest.Digest) []byte {
		s, err := ziggy.Sign(key, wire.ProducerSignBytes("dd-push", "lab", idx, 0, wire.Digest(d)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := &wire.ChunkTx{Stream: "lab", Index: 0, Private: true, Digest: wire.Digest(d), Lengths: lens,
		Producer: producer.Public().Bytes(), Signature: signChunk(producer, 0, d)}
	raw, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Forged: a stranger's signature under the producer's key, and the
	// stranger signing as itself.
	forged := *good
	forged.Index = 1
	forged.Signature = signChunk(stranger, 1, d)
	fraw, _ := forged.Marshal()
	if c := httpJSON(t, "POST", base+"/v1/push/lab/chunk", fraw, nil, &res); c != http.StatusForbidden {
		t.Fatalf("forged signature: %d %v, want 403", c, res)
	}
	notProducer := forged
	notProducer.Producer = stranger.Public().Bytes()
	nraw, _ := notProducer.Marshal()
	if c := httpJSON(t, "POST", base+"/v1/push/lab/chunk", nraw, nil, &res); c != http.StatusForbidden {
		t.Fatalf("a key that is not a producer: %d %v, want 403", c, res)
	}
	// Unsigned uploads are refused on a producer stream.
	if c := httpJSON(t, "POST", base+"/v1/push/lab?upload=00112233445566778899aabbccddeeff&end=1", []byte("x"), nil, &res); c != http.StatusForbidden {
		t.Fatalf("unsigned upload to a producer stream: %d %v, want 403", c, res)
	}
	if c := httpJSON(t, "POST", base+"/v1/push/lab/chunk", raw, nil, &res); c != 200 {
		t.Fatalf("signed private chunk: %d %v", c, res)
	}
	// Resending is idempotent.
	if c := httpJSON(t, "POST", base+"/v1/push/lab/chunk", raw, nil, &res); c != 200 {
		t.Fatalf("resent chunk: %d %v", c, res)
	}
	var rv *app.RecordView
	net.waitFor("private chunk accepted", func() bool {
		var err error
		rv, err = net.nodes[0].App().Record("lab", 0)
		return err == nil && rv.Status == "accepted"
	})
	// Resending an accepted chunk answers with its record.
	if c := httpJSON(t, "POST", base+"/v1/push/lab/chunk", raw, nil, &res); c != 200 || res["status"] != "duplicate" ||
		res["record_status"] != "accepted" || res["record"] != "/v1/records/lab/0" {
		t.Fatalf("resending the accepted chunk: %d %v", c, res)
	}
	if rv.Digest != d.String() || rv.Push == nil || !rv.Push.Private || !bytes.Equal(rv.Push.Producer, producer.Public().Bytes()) {
		t.Fatalf("record: %+v push %+v", rv, rv.Push)
	}

	// The expert endorses; a stranger cannot.
	note := "calibrated instrument"
	esig, _ := ziggy.Sign(expert, wire.ExpertSignBytes("dd-push", "lab", 0, wire.Digest(d), false, note))
	etx, _ := (&wire.ExpertTx{Stream: "lab", Index: 0, Digest: wire.Digest(d), Note: note, Expert: expert.Public().Bytes(), Signature: esig}).Marshal()
	ssig, _ := ziggy.Sign(stranger, wire.ExpertSignBytes("dd-push", "lab", 0, wire.Digest(d), true, ""))
	stx, _ := (&wire.ExpertTx{Stream: "lab", Index: 0, Digest: wire.Digest(d), Dispute: true, Expert: stranger.Public().Bytes(), Signature: ssig}).Marshal()
	if c := httpJSON(t, "POST", base+"/v1/tx", stx, nil, &res); c != http.StatusBadRequest || !strings.Contains(fmt.Sprint(res["log"]), "not an expert") {
		t.Fatalf("stranger's dispute: %d %v", c, res)
	}
	if c := postTx(t, base, etx, &res); c != 200 {
		t.Fatalf("endorsement: %d %v", c, res)
	}
	net.waitFor("endorsement on the record", func() bool {
		rv, err := net.nodes[2].App().Record("lab", 0)
		return err == nil && len(rv.Experts) == 1 && !rv.Experts[0].Dispute && rv.Experts[0].Note == note
	})

	// The receipt carries the producer's signature and verifies offline
	// with the chunk's bytes.
	var r *receipt.Receipt
	net.waitFor("receipt", func() bool {
		r, err = net.nodes[0].Receipt("lab", 0)
		return err == nil
	})
	gdoc, _ := cmttypes.GenesisDocFromFile(net.members[0].Home + "/config/genesis.json")
	if err := receipt.Verify(r, gdoc, bytes.Join(msgs, nil)); err != nil {
		t.Fatal(err)
	}
	r.ProducerSignature = r.ProducerSignature[:len(r.ProducerSignature)-1]
	if le, ok := receipt.Verify(r, gdoc, nil).(*receipt.LinkError); !ok || le.Link != "producer_signature" {
		t.Fatalf("receipt with a cut producer signature: %v", le)
	}
}
