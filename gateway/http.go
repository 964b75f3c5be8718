package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// httpError is an error with its HTTP status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errForbidden(f string, a ...any) error {
	return &httpError{http.StatusForbidden, fmt.Sprintf(f, a...)}
}
func errUnauthorized(f string, a ...any) error {
	return &httpError{http.StatusUnauthorized, fmt.Sprintf(f, a...)}
}
func errBad(f string, a ...any) error { return &httpError{http.StatusBadRequest, fmt.Sprintf(f, a...)} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// Handler serves the push API:
//
//	POST /v1/push/{stream}?upload=ID&offset=N&end=0|1&piece=BYTES   upload bytes (durable before the answer)
//	GET  /v1/push/{stream}/uploads/{upload}                           an upload's acknowledged bytes
//	GET  /v1/push/{stream}/chunks?upload=ID                           an upload's chunks and their status
//	GET  /v1/push/{stream}/ws?session=ID                              WebSocket push, one message per frame
//	POST /v1/push/{stream}/chunk                                      a producer-signed chunk transaction
//	GET  /v1/push/{stream}                                            the stream's gateway log
//	POST /v1/tx                                                       a registration or expert transaction
//	GET  /v1/data/{digest}                                            a pushed chunk's bytes, by its digest (410 once the retention policy released them)
//	GET  /v1/fetch/{content}                                          a pushed chunk's bytes by content id, for validators (before and after its decision)
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/push/{stream}", g.handleUpload)
	mux.HandleFunc("GET /v1/push/{stream}/uploads/{upload}", g.handleUploadStatus)
	mux.HandleFunc("GET /v1/push/{stream}/chunks", g.handleChunks)
	mux.HandleFunc("GET /v1/push/{stream}/ws", g.handleWS)
	mux.HandleFunc("POST /v1/push/{stream}/chunk", g.handleSignedChunk)
	mux.HandleFunc("GET /v1/push/{stream}", g.handleStatus)
	mux.HandleFunc("POST /v1/tx", g.handleTx)
	mux.HandleFunc("GET /v1/data/{digest}", g.handleData)
	mux.HandleFunc("GET /v1/fetch/{content}", g.handleFetch)
	return mux
}

// pushStreamFor checks that the stream exists and takes pushes, and
// opens its log.
func (g *Gateway) pushStreamFor(id string, unsigned bool) (*pushStream, *app.StreamInfo, error) {
	if err := wire.ValidateStreamID(id); err != nil {
		return nil, nil, errBad("stream id: %v", err)
	}
	s, err := g.cfg.Chain.Stream(id)
	if errors.Is(err, app.ErrNotFound) {
		return nil, nil, &httpError{http.StatusNotFound, fmt.Sprintf("no stream %q is registered (datadragon stream register)", id)}
	}
	if err != nil {
		return nil, nil, &httpError{http.StatusServiceUnavailable, err.Error()}
	}
	if !s.IsPush() {
		return nil, nil, errBad("stream %q is observed from its source; it takes no pushes", id)
	}
	if unsigned && len(s.Producers) > 0 {
		return nil, nil, errForbidden("stream %q takes only chunks signed by its producers: push with datadragon stream --key", id)
	}
	ps, err := g.stream(id, &s)
	if err != nil {
		return nil, nil, err
	}
	return ps, &s, nil
}

func parseSession(s string) (SessionID, error) {
	var id SessionID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, errBad("upload/session id must be 32 hex characters (16 random bytes)")
	}
	copy(id[:], b)
	return id, nil
}

// UploadStatus is the answer of the upload endpoints.
type UploadStatus struct {
	Upload   string `json:"upload"`
	Acked    uint64 `json:"acked"`
	Ended    bool   `json:"ended"`
	FirstSeq uint64 `json:"first_seq"`
	NextSeq  uint64 `json:"next_seq"`
}

func (ps *pushStream) uploadStatus(id SessionID) UploadStatus {
	s, _ := ps.session(id)
	next, _ := ps.log.Next()
	return UploadStatus{Upload: hex.EncodeToString(id[:]), Acked: s.acked, Ended: s.ended, FirstSeq: s.firstSeq, NextSeq: next}
}

func (g *Gateway) handleUpload(w http.ResponseWriter, r *http.Request) {
	ps, spec, err := g.pushStreamFor(r.PathValue("stream"), true)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := authorize(r, spec); err != nil {
		writeErr(w, err)
		return
	}
	q := r.URL.Query()
	id, err := parseSession(q.Get("upload"))
	if err != nil {
		writeErr(w, err)
		return
	}
	offset, err := strconv.ParseUint(q.Get("offset"), 10, 63)
	if err != nil && q.Get("offset") != "" {
		writeErr(w, errBad("offset must be a byte count"))
		return
	}
	end := q.Get("end") == "1" || q.Get("end") == "true"
	piece := uint64(DefaultPiece)
	if p := q.Get("piece"); p != "" {
		piece, err = strconv.ParseUint(p, 10, 32)
		if err != nil || piece == 0 || piece > wire.MaxChunkDataBytes {
			writeErr(w, errBad("piece must be 1 to %d bytes", wire.MaxChunkDataBytes))
			return
		}
	}
	if r.ContentLength > MaxUploadPart {
		writeErr(w, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("one request carries at most %d bytes; send the upload in parts with offset=", MaxUploadPart)})
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeErr(w, errBad("reading the body: %v", err))
		return
	}
	defer bodyPool.Put(&body)
	if len(body) > MaxUploadPart {
		writeErr(w, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("one request carries at most %d bytes; send the upload in parts with offset=", MaxUploadPart)})
		return
	}
	st, _ := ps.session(id)
	switch {
	case st.ended:
		writeJSON(w, http.StatusOK, ps.uploadStatus(id))
		return
	case offset > st.acked:
		writeJSON(w, http.StatusConflict, ps.uploadStatus(id))
		return
	}
	skip := st.acked - offset
	if skip > uint64(len(body)) {
		writeJSON(w, http.StatusOK, ps.uploadStatus(id))
		return
	}
	data := body[skip:]
	// Cut at absolute upload offsets k·piece; keep a partial last piece
	// for the next request unless this is the end.
	var msgs [][]byte
	pos := st.acked
	for len(data) > 0 {
		n := piece - pos%piece
		if n > uint64(len(data)) {
			if !end {
				break
			}
			n = uint64(len(data))
		}
		msgs = append(msgs, data[:n])
		data, pos = data[n:], pos+n
	}
	if len(msgs) > 0 || end && len(data) == 0 {
		if err := ps.appendSession(id, st.acked, msgs, end && len(data) == 0); err != nil {
			writeErr(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, ps.uploadStatus(id))
}

// bodyPool recycles upload buffers: a 4 MiB part would otherwise cost a
// fresh zeroed allocation and a series of doubling copies.
var bodyPool sync.Pool

// readBody reads an upload part into a pooled buffer, at most
// MaxUploadPart+1 bytes (one more than allowed, to detect an oversized
// body whose length was not declared).
func readBody(r *http.Request) ([]byte, error) {
	var buf []byte
	if p, ok := bodyPool.Get().(*[]byte); ok {
		buf = (*p)[:0]
	}
	if n := r.ContentLength; n > 0 && n <= MaxUploadPart && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1)
	}
	lr := io.LimitReader(r.Body, MaxUploadPart+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (g *Gateway) handleUploadStatus(w http.ResponseWriter, r *http.Request) {
	ps, _, err := g.pushStreamFor(r.PathValue("stream"), false)
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := parseSession(r.PathValue("upload"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if _, ok := ps.session(id); !ok {
		writeJSON(w, http.StatusNotFound, ps.uploadStatus(id))
		return
	}
	writeJSON(w, http.StatusOK, ps.uploadStatus(id))
}

func (g *Gateway) handleChunks(w http.ResponseWriter, r *http.Request) {
	ps, _, err := g.pushStreamFor(r.PathValue("stream"), false)
	if err != nil {
		writeErr(w, err)
		return
	}
	id, err := parseSession(r.URL.Query().Get("upload"))
	if err != nil {
		writeErr(w, err)
		return
	}
	st, _ := ps.session(id)
	writeJSON(w, http.StatusOK, map[string]any{"chunks": ps.sessionChunks(id), "ended": st.ended, "acked": st.acked})
}

func (g *Gateway) handleStatus(w http.ResponseWriter, r *http.Request) {
	ps, spec, err := g.pushStreamFor(r.PathValue("stream"), false)
	if err != nil {
		writeErr(w, err)
		return
	}
	st := ps.stats()
	st["signed_next_index"] = ps.signed.nextIndex()
	if spec.NextIndex != nil {
		st["chain_next_index"] = *spec.NextIndex
	}
	writeJSON(w, http.StatusOK, st)
}

// handleSignedChunk logs a producer-signed chunk once the app's checks
// pass (the signature is the credential), then submits it.
func (g *Gateway) handleSignedChunk(w http.ResponseWriter, r *http.Request) {
	ps, _, err := g.pushStreamFor(r.PathValue("stream"), false)
	if err != nil {
		writeErr(w, err)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxTxBytes+1))
	if err != nil {
		writeErr(w, errBad("reading the body: %v", err))
		return
	}
	tx, err := wire.UnmarshalTx(raw)
	if err != nil {
		writeErr(w, errBad("%v", err))
		return
	}
	if tx.Chunk == nil || tx.Chunk.Stream != ps.id || len(tx.Chunk.Signature) == 0 {
		writeErr(w, errBad("the body must be a signed chunk transaction for stream %q", ps.id))
		return
	}
	k := wire.ChunkKey{Stream: ps.id, Index: tx.Chunk.Index}
	code, lg := g.cfg.Chain.Check(raw)
	switch code {
	case app.CodeOK:
		if err := ps.signed.add(raw, k); err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"index": k.Index, "status": "logged"})
	case app.CodeDuplicate:
		// Already on chain: answer with where its record is, so a resend
		// is harmless and tells the producer what became of the chunk.
		st := g.cfg.Chain.RecordStatus(k)
		if st == "" {
			st = "on_chain"
		}
		writeJSON(w, http.StatusOK, map[string]any{"index": k.Index, "status": "duplicate", "record_status": st,
			"record": fmt.Sprintf("/v1/records/%s/%d", k.Stream, k.Index)})
	default:
		status := http.StatusBadRequest
		if code == app.CodeBadSignature || code == app.CodeNotAllowed {
			status = http.StatusForbidden
		} else if code == app.CodeConflict {
			status = http.StatusConflict
		}
		writeJSON(w, status, map[string]any{"error": lg, "code": code})
	}
}

func (g *Gateway) handleTx(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxTxBytes+1))
	if err != nil {
		writeErr(w, errBad("reading the body: %v", err))
		return
	}
	tx, err := wire.UnmarshalTx(raw)
	if err != nil {
		writeErr(w, errBad("%v", err))
		return
	}
	if tx.Chunk != nil {
		writeErr(w, errBad("chunks go to /v1/push/{stream}/chunk, which keeps them durable until they are on chain"))
		return
	}
	code, lg, err := g.cfg.Chain.Submit(raw)
	if err != nil {
		writeErr(w, &httpError{http.StatusServiceUnavailable, "the node could not take the transaction now (" + err.Error() + "); retry in a moment"})
		return
	}
	if code != app.CodeOK {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": code, "log": lg, "error": lg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"code": code, "log": lg})
}

// handleData serves the bytes of a chunk pushed through this node, by the
// chunk digest its record and receipt carry ('datadragon verify --data'
// checks them).
func (g *Gateway) handleData(w http.ResponseWriter, r *http.Request) {
	b, err := hex.DecodeString(r.PathValue("digest"))
	var d [32]byte
	if err != nil || len(b) != len(d) {
		writeErr(w, errBad("the digest is 64 hex digits"))
		return
	}
	copy(d[:], b)
	f, err := g.objects.open(d)
	var rel *releasedError
	switch {
	case errors.As(err, &rel):
		writeErr(w, &httpError{http.StatusGone, rel.Error()})
		return
	case errors.Is(err, os.ErrNotExist):
		writeErr(w, &httpError{http.StatusNotFound, errNoObject.Error() + "; ask the node whose gateway took the push"})
		return
	case err != nil:
		writeErr(w, &httpError{http.StatusInternalServerError, "reading the stored chunk: " + err.Error()})
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, f)
}

func writeWS(ctx context.Context, c *websocket.Conn, m wsMessage) error {
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
