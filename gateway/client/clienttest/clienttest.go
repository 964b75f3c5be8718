// Package clienttest is a fake DataDragon node for tests of the gateway
// client and of the commands built on it: the push API (uploads with
// durable acknowledgements, 409 on a gap, skipping of acknowledged
// prefixes; producer-signed chunks, checked like the chain checks them),
// streams, records, receipts and POST /v1/tx, all in memory. Faults can be
// injected: connections dropped in the middle of a request after part of
// it was made durable, 503 answers, an upload forgotten, an index taken by
// another producer.
//
// Chunks advance one state per poll of GET /v1/push/{stream}/chunks
// (logged, submitted, on_chain, accepted), and signed chunks' records one
// per GET /v1/records/{stream}/{index} (missing, pending, accepted), so
// clients see every state without waiting.
package clienttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/zk/ziggy"
)

// Stream is a push stream of the fake.
type Stream struct {
	ID        string
	Messages  int      // chunk size in messages; 0: 16
	Producers [][]byte // public keys; any: only signed chunks
	Experts   [][]byte
	// Token, if not empty, is the write token unsigned pushes need.
	Token     string
	NextIndex uint64 // the first index on chain
	Owner     []byte
}

// Gateway is the fake node.
type Gateway struct {
	URL     string
	ChainID string
	// ReceiptMisses is how many times a receipt is answered 404 before it
	// is served.
	ReceiptMisses int

	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	streams   map[string]*stream
	uploads   map[string]*upload
	received  uint64 // upload body bytes received, resends included
	dropNext  int
	failNext  int
	failChunk int
	failTx    int
	dropChunk int
	taken     map[uint64]bool // indexes another producer holds (409)
	receipts  map[string]int
	held      bool
	verdicts  map[uint64]wire.Verdict
}

// SetVerdict makes the records at index carry verdict v (default ok).
func (g *Gateway) SetVerdict(index uint64, v wire.Verdict) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.verdicts == nil {
		g.verdicts = map[uint64]wire.Verdict{}
	}
	g.verdicts[index] = v
}

type stream struct {
	Stream
	nextSeq   uint64
	nextIndex uint64
	records   map[uint64]*record
	signed    []*wire.ChunkTx
	nonce     uint64
	spec      map[string]any // registered streams: the spec as sent
}

type record struct {
	digest  wire.Digest
	gets    int // signed chunks: GETs so far (0: not attested yet)
	signed  bool
	push    map[string]any
	experts []map[string]any
}

type upload struct {
	stream   *stream
	data     []byte
	ended    bool
	firstSeq uint64
	started  bool
	chunks   []*chunk
	open     *chunk
}

type chunk struct {
	firstSeq uint64
	msgs     [][]byte
	offset   uint64
	bytes    uint64
	state    int // 0 logged, 1 submitted, 2 on_chain, 3 accepted
	index    uint64
}

var states = []string{"logged", "submitted", "on_chain", "accepted"}

// New starts a fake node serving streams; it stops when the test ends.
func New(t testing.TB, chainID string, streams ...Stream) *Gateway {
	g := &Gateway{t: t, ChainID: chainID, streams: map[string]*stream{}, uploads: map[string]*upload{},
		taken: map[uint64]bool{}, receipts: map[string]int{}}
	for _, s := range streams {
		if s.Messages == 0 {
			s.Messages = 16
		}
		g.streams[s.ID] = &stream{Stream: s, nextIndex: s.NextIndex, records: map[uint64]*record{}}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", g.status)
	mux.HandleFunc("GET /v1/streams/{id}", g.streamInfo)
	mux.HandleFunc("GET /v1/records/{stream}/{index}", g.record)
	mux.HandleFunc("GET /v1/receipts/{stream}/{index}", g.receipt)
	mux.HandleFunc("POST /v1/push/{stream}", g.upload)
	mux.HandleFunc("GET /v1/push/{stream}", g.pushStatus)
	mux.HandleFunc("GET /v1/push/{stream}/uploads/{upload}", g.uploadStatus)
	mux.HandleFunc("GET /v1/push/{stream}/chunks", g.chunks)
	mux.HandleFunc("POST /v1/push/{stream}/chunk", g.signedChunk)
	mux.HandleFunc("POST /v1/tx", g.tx)
	g.srv = httptest.NewServer(mux)
	g.URL = g.srv.URL
	t.Cleanup(g.srv.Close)
	return g
}

// DropUploads makes the next n upload requests make the whole pieces of
// the first half of their body durable and then drop the connection
// without an answer.
func (g *Gateway) DropUploads(n int) { g.mu.Lock(); g.dropNext += n; g.mu.Unlock() }

// FailUploads answers the next n upload requests 503, doing nothing.
func (g *Gateway) FailUploads(n int) { g.mu.Lock(); g.failNext += n; g.mu.Unlock() }

// FailChunks answers the next n signed chunks 503, doing nothing.
func (g *Gateway) FailChunks(n int) { g.mu.Lock(); g.failChunk += n; g.mu.Unlock() }

// FailTxs makes the next n POST /v1/tx answer 503, as a node still
// catching up with its peers does.
func (g *Gateway) FailTxs(n int) { g.mu.Lock(); g.failTx += n; g.mu.Unlock() }

// DropChunks logs the next n signed chunks and then drops the connection.
func (g *Gateway) DropChunks(n int) { g.mu.Lock(); g.dropChunk += n; g.mu.Unlock() }

// Take marks index as held by another producer's chunk: a signed chunk
// for it is refused with 409.
func (g *Gateway) Take(index uint64) { g.mu.Lock(); g.taken[index] = true; g.mu.Unlock() }

// Hold stops (true) or restarts (false) the chain: while held, chunks
// keep their state.
func (g *Gateway) Hold(held bool) { g.mu.Lock(); g.held = held; g.mu.Unlock() }

// Forget drops everything the gateway holds of an upload, as a node that
// lost its data would.
func (g *Gateway) Forget(upload string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.uploads[upload]; u != nil {
		u.data, u.ended, u.chunks, u.open = nil, false, nil, nil
	}
}

// Upload returns the bytes the gateway holds of an upload, and whether
// it ended.
func (g *Gateway) Upload(id string) ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.uploads[id]
	if u == nil {
		return nil, false
	}
	return bytes.Clone(u.data), u.ended
}

// Uploads returns the ids of the uploads the gateway knows.
func (g *Gateway) Uploads() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ids []string
	for id := range g.uploads {
		ids = append(ids, id)
	}
	return ids
}

// Received returns the upload body bytes received, resends included.
func (g *Gateway) Received() uint64 { g.mu.Lock(); defer g.mu.Unlock(); return g.received }

// Signed returns the signed chunks logged for a stream, in order.
func (g *Gateway) Signed(id string) []*wire.ChunkTx {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*wire.ChunkTx(nil), g.streams[id].signed...)
}

// Judgements returns the expert judgements of a record.
func (g *Gateway) Judgements(id string, index uint64) []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.streams[id].records[index]; r != nil {
		return r.experts
	}
	return nil
}

// AddRecord puts an accepted record with the given digest.
func (g *Gateway) AddRecord(id string, index uint64, d wire.Digest) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.streams[id].records[index] = &record{digest: d, gets: 2}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, format string, a ...any) {
	writeJSON(w, status, map[string]any{"error": fmt.Sprintf(format, a...)})
}

func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func (g *Gateway) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"initialised": true, "chain_id": g.ChainID, "height": 7})
}

func hexes(keys [][]byte) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, hex.EncodeToString(k))
	}
	return out
}

func (g *Gateway) streamInfo(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streams[r.PathValue("id")]
	if s == nil {
		fail(w, http.StatusNotFound, "no stream %q", r.PathValue("id"))
		return
	}
	m := map[string]any{"id": s.ID, "mode": "push", "chunk": map[string]any{"messages": s.Messages},
		"accepted": len(s.records), "disputed": 0, "next_index": s.nextIndex}
	for k, v := range s.spec {
		m[k] = v
	}
	if len(s.Producers) > 0 {
		m["producers"] = hexes(s.Producers)
	}
	if len(s.Experts) > 0 {
		m["experts"] = hexes(s.Experts)
	}
	if s.Token != "" {
		sum := sha256.Sum256([]byte(s.Token))
		m["write_tokens"] = []string{hex.EncodeToString(sum[:])}
	}
	if len(s.Owner) > 0 {
		m["owner"] = hex.EncodeToString(s.Owner)
	}
	writeJSON(w, http.StatusOK, m)
}

func (g *Gateway) lookup(w http.ResponseWriter, r *http.Request) (*stream, uint64, bool) {
	s := g.streams[r.PathValue("stream")]
	if s == nil {
		fail(w, http.StatusNotFound, "no stream %q", r.PathValue("stream"))
		return nil, 0, false
	}
	i, err := strconv.ParseUint(r.PathValue("index"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "index must be a number")
		return nil, 0, false
	}
	return s, i, true
}

func (g *Gateway) record(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, i, ok := g.lookup(w, r)
	if !ok {
		return
	}
	rec := s.records[i]
	if rec == nil || rec.signed && rec.gets == 0 {
		if rec != nil {
			rec.gets++
		}
		fail(w, http.StatusNotFound, "no record of %s/%d", s.ID, i)
		return
	}
	rec.gets++
	m := map[string]any{"stream": s.ID, "index": i, "status": "pending", "digest": "", "experts": rec.experts, "push": rec.push}
	if rec.gets > 2 || !rec.signed {
		m["status"], m["digest"] = "accepted", rec.digest.String()
	}
	writeJSON(w, http.StatusOK, m)
}

func (g *Gateway) receipt(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, i, ok := g.lookup(w, r)
	if !ok {
		return
	}
	key := fmt.Sprintf("%s/%d", s.ID, i)
	if rec := s.records[i]; rec == nil || g.receipts[key] < g.ReceiptMisses {
		g.receipts[key]++
		fail(w, http.StatusNotFound, "no receipt for %s yet", key)
		return
	}
	writeJSON(w, http.StatusOK, fakeReceipt(g.ChainID, s.ID, i, s.records[i].digest, g.verdicts[i]))
}

func (g *Gateway) pushStatus(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streams[r.PathValue("stream")]
	if s == nil {
		fail(w, http.StatusNotFound, "no stream %q", r.PathValue("stream"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"stream": s.ID, "signed_next_index": s.nextIndex})
}

func (u *upload) status(id string) map[string]any {
	return map[string]any{"upload": id, "acked": len(u.data), "ended": u.ended, "first_seq": u.firstSeq, "next_seq": u.stream.nextSeq}
}

// add appends one durable message of an upload.
func (u *upload) add(msg []byte) {
	s := u.stream
	if !u.started {
		u.started, u.firstSeq = true, s.nextSeq
	}
	if u.open != nil && u.open.bytes+uint64(len(msg)) > wire.MaxChunkDataBytes {
		u.close()
	}
	if u.open == nil {
		u.open = &chunk{firstSeq: s.nextSeq, offset: uint64(len(u.data))}
	}
	u.open.msgs = append(u.open.msgs, msg)
	u.open.bytes += uint64(len(msg))
	u.data = append(u.data, msg...)
	s.nextSeq++
	if len(u.open.msgs) == s.Messages {
		u.close()
	}
}

func (u *upload) close() {
	if u.open != nil {
		u.chunks = append(u.chunks, u.open)
		u.open = nil
	}
}

func (g *Gateway) upload(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streams[r.PathValue("stream")]
	if s == nil {
		fail(w, http.StatusNotFound, "no stream %q is registered (datadragon stream register)", r.PathValue("stream"))
		return
	}
	if len(s.Producers) > 0 {
		fail(w, http.StatusForbidden, "stream %q takes only chunks signed by its producers: push with datadragon stream --key", s.ID)
		return
	}
	if s.Token != "" {
		switch h := r.Header.Get("Authorization"); h {
		case "":
			fail(w, http.StatusUnauthorized, "stream %q needs a write token: send 'Authorization: Bearer <token>' (datadragon stream --token)", s.ID)
			return
		case "Bearer " + s.Token:
		default:
			fail(w, http.StatusForbidden, "the token is not one of stream %q's write tokens", s.ID)
			return
		}
	}
	q := r.URL.Query()
	id := q.Get("upload")
	if b, err := hex.DecodeString(id); err != nil || len(b) != 16 {
		fail(w, http.StatusBadRequest, "upload/session id must be 32 hex characters (16 random bytes)")
		return
	}
	offset, err := strconv.ParseUint(q.Get("offset"), 10, 63)
	if err != nil {
		fail(w, http.StatusBadRequest, "offset must be a byte count")
		return
	}
	end := q.Get("end") == "1"
	piece, err := strconv.ParseUint(q.Get("piece"), 10, 32)
	if err != nil || piece == 0 || piece > wire.MaxChunkDataBytes {
		fail(w, http.StatusBadRequest, "piece must be 1 to %d bytes", wire.MaxChunkDataBytes)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	g.received += uint64(len(body))
	if g.failNext > 0 {
		g.failNext--
		fail(w, http.StatusServiceUnavailable, "the node is restarting")
		return
	}
	dropping := g.dropNext > 0
	if dropping {
		g.dropNext--
		body, end = body[:len(body)/2], false
	}
	u := g.uploads[id]
	if u == nil {
		u = &upload{stream: s}
		g.uploads[id] = u
	}
	acked := uint64(len(u.data))
	switch {
	case u.ended:
	case offset > acked:
		writeJSON(w, http.StatusConflict, u.status(id))
		return
	case acked-offset <= uint64(len(body)):
		data := body[acked-offset:]
		pos := acked
		for len(data) > 0 {
			n := piece - pos%piece
			if n > uint64(len(data)) {
				if !end {
					break
				}
				n = uint64(len(data))
			}
			u.add(bytes.Clone(data[:n]))
			data, pos = data[n:], pos+n
		}
		if end && len(data) == 0 {
			u.ended = true
			u.close()
		}
	}
	if dropping {
		drop(w)
		return
	}
	writeJSON(w, http.StatusOK, u.status(id))
}

func (g *Gateway) uploadStatus(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := r.PathValue("upload")
	u := g.uploads[id]
	if u == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"upload": id, "acked": 0, "ended": false, "error": "no such upload"})
		return
	}
	writeJSON(w, http.StatusOK, u.status(id))
}

// chunks lists an upload's chunks, and advances each closed chunk one
// state towards accepted.
func (g *Gateway) chunks(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.uploads[r.URL.Query().Get("upload")]
	if u == nil {
		writeJSON(w, http.StatusOK, map[string]any{"chunks": []any{}, "ended": false})
		return
	}
	out := []map[string]any{}
	for _, c := range u.chunks {
		if c.state < 3 && !g.held {
			c.state++
			s := u.stream
			if c.state == 2 {
				c.index = s.nextIndex
				s.nextIndex++
			}
			if c.state == 3 {
				msgs := make([]digest.Message, len(c.msgs))
				for i, m := range c.msgs {
					msgs[i] = digest.Message{Seq: c.firstSeq + uint64(i), Data: m}
				}
				d, err := digest.Compute(s.ID, c.index, msgs)
				if err != nil {
					g.t.Errorf("clienttest: digest: %v", err)
				}
				s.records[c.index] = &record{digest: wire.Digest(d), push: map[string]any{"first_seq": c.firstSeq,
					"messages": len(c.msgs), "offset": c.offset, "bytes": c.bytes}}
			}
		}
		m := map[string]any{"first_seq": c.firstSeq, "messages": len(c.msgs), "offset": c.offset, "bytes": c.bytes, "status": states[c.state]}
		if c.state >= 2 {
			m["index"] = c.index
		}
		out = append(out, m)
	}
	if c := u.open; c != nil {
		out = append(out, map[string]any{"first_seq": c.firstSeq, "messages": len(c.msgs), "offset": c.offset, "bytes": c.bytes, "status": "open"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"chunks": out, "ended": u.ended})
}

// signedChunk checks a producer-signed chunk as the chain would: form,
// producer, signature over ProducerSignBytes with the digest it carries or
// that its messages have.
func (g *Gateway) signedChunk(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxTxBytes+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.streams[r.PathValue("stream")]
	if s == nil {
		fail(w, http.StatusNotFound, "no stream %q", r.PathValue("stream"))
		return
	}
	if g.failChunk > 0 {
		g.failChunk--
		fail(w, http.StatusServiceUnavailable, "the node is restarting")
		return
	}
	tx, err := wire.UnmarshalTx(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	c := tx.Chunk
	if c == nil || c.Stream != s.ID || len(c.Signature) == 0 {
		fail(w, http.StatusBadRequest, "the body must be a signed chunk transaction for stream %q", s.ID)
		return
	}
	if c.Origin != ([wire.OriginSize]byte{}) {
		fail(w, http.StatusBadRequest, "a producer-chunked push carries no gateway origin")
		return
	}
	known := false
	for _, p := range s.Producers {
		known = known || bytes.Equal(p, c.Producer)
	}
	if !known {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf("key %x is not a producer of stream %q", c.Producer, s.ID), "code": 6})
		return
	}
	d := c.Digest
	if !c.Private {
		h, _ := digest.NewHasher(s.ID, c.Index)
		for i, m := range c.Messages {
			h.Add(c.FirstSeq+uint64(i), m)
		}
		dd, _ := h.Sum()
		d = wire.Digest(dd)
	}
	pub, err := ziggy.PublicKeyFromBytes(c.Producer)
	if err == nil {
		err = ziggy.Verify(pub, wire.ProducerSignBytes(g.ChainID, s.ID, c.Index, c.Offset, d), c.Signature)
	}
	if err != nil {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf("producer signature of chunk %s/%d does not verify: %v", s.ID, c.Index, err), "code": 5})
		return
	}
	if old := s.records[c.Index]; old != nil || g.taken[c.Index] {
		if old != nil && old.digest == d {
			writeJSON(w, http.StatusOK, map[string]any{"index": c.Index, "status": "duplicate"})
			return
		}
		writeJSON(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("chunk %s/%d already holds other data; the next free index is above it", s.ID, c.Index), "code": 8})
		return
	}
	s.records[c.Index] = &record{digest: d, signed: true, push: map[string]any{"first_seq": c.FirstSeq, "messages": c.Count(),
		"offset": c.Offset, "bytes": c.DataBytes(), "lengths": c.Lengths, "private": c.Private, "producer": hex.EncodeToString(c.Producer)}}
	s.signed = append(s.signed, c)
	s.nextIndex = max(s.nextIndex, c.Index+1)
	for g.taken[s.nextIndex] {
		s.nextIndex++
	}
	if g.dropChunk > 0 {
		g.dropChunk--
		drop(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"index": c.Index, "status": "logged"})
}

// tx takes registrations and expert judgements, checking their
// signatures; they apply at once.
func (g *Gateway) tx(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxTxBytes+1))
	if err != nil {
		fail(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failTx > 0 {
		g.failTx--
		fail(w, http.StatusServiceUnavailable, "the node could not take the transaction now (endpoint is closed while node is catching up); retry in a moment")
		return
	}
	tx, err := wire.UnmarshalTx(raw)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 2, "log": err.Error(), "error": err.Error()})
		return
	}
	refuse := func(code int, format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": code, "log": msg, "error": msg})
	}
	verify := func(key, msg, sig []byte) error {
		pub, err := ziggy.PublicKeyFromBytes(key)
		if err != nil {
			return err
		}
		return ziggy.Verify(pub, msg, sig)
	}
	switch {
	case tx.Register != nil:
		t := tx.Register
		var spec map[string]any
		if err := json.Unmarshal(t.Spec, &spec); err != nil {
			refuse(11, "stream spec is not one JSON object of a stream: %v", err)
			return
		}
		id, _ := spec["id"].(string)
		if err := wire.ValidateStreamID(id); err != nil {
			refuse(11, "%v", err)
			return
		}
		if err := verify(t.Owner, wire.RegisterSignBytes(g.ChainID, t.Owner, t.Nonce, t.Spec), t.Signature); err != nil {
			refuse(5, "owner signature does not verify: %v", err)
			return
		}
		s := g.streams[id]
		if s != nil && s.nonce >= t.Nonce {
			refuse(9, "registration nonce %d is not above the current %d", t.Nonce, s.nonce)
			return
		}
		if s == nil {
			s = &stream{Stream: Stream{ID: id, Messages: 16}, records: map[uint64]*record{}}
			g.streams[id] = s
		}
		s.Owner, s.nonce, s.spec = t.Owner, t.Nonce, spec
	case tx.Expert != nil:
		t := tx.Expert
		s := g.streams[t.Stream]
		if s == nil {
			refuse(3, "stream %q is not registered", t.Stream)
			return
		}
		known := false
		for _, e := range s.Experts {
			known = known || bytes.Equal(e, t.Expert)
		}
		if !known {
			refuse(6, "key %x is not an expert of stream %q", t.Expert, t.Stream)
			return
		}
		rec := s.records[t.Index]
		if rec == nil || rec.digest != t.Digest {
			refuse(10, "chunk %s/%d was not accepted with digest %s", t.Stream, t.Index, t.Digest)
			return
		}
		if err := verify(t.Expert, wire.ExpertSignBytes(g.ChainID, t.Stream, t.Index, t.Digest, t.Dispute, t.Note), t.Signature); err != nil {
			refuse(5, "expert signature does not verify: %v", err)
			return
		}
		rec.experts = append(rec.experts, map[string]any{"expert": hex.EncodeToString(t.Expert), "dispute": t.Dispute,
			"note": t.Note, "digest": t.Digest.String(), "height": 9, "signature": hex.EncodeToString(t.Signature)})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "chunks go to /v1/push/{stream}/chunk"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": 0, "log": "", "hash": fmt.Sprintf("%x", sha256.Sum256(raw))})
}
