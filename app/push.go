package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// Buckets of pushed chunks, registered streams and expert judgements.
const (
	bucketRegistry = "registry" // stream id → registration (JSON of Stream ‖ nonce)
	bucketPushed   = "pushed"   // chunk key → pushInfo encoding
	bucketPushSigs = "pushsigs" // chunk key → producer signature
	bucketOrigins  = "origins"  // u8 len ‖ stream ‖ origin ‖ u64 first seq → u64 index
	bucketPushNext = "pushnext" // stream id → u64 next chain-assigned index
	bucketExperts  = "experts"  // chunk key ‖ u8 len ‖ expert key → expert judgement
	// bucketPushPending indexes pushed chunks without a record yet, so a
	// restarted node attests again what its attestor lost.
	bucketPushPending = "pushpending" // chunk key → empty
)

// Transaction result codes (CheckTx and FinalizeBlock). 0 is success.
const (
	CodeOK            uint32 = 0
	CodeMalformed     uint32 = 2  // the transaction does not decode or breaks a limit
	CodeUnknownStream uint32 = 3  // no such stream
	CodeWrongMode     uint32 = 4  // a chunk for an observe stream, or the wrong form for the stream
	CodeBadSignature  uint32 = 5  // a signature does not verify
	CodeNotAllowed    uint32 = 6  // the key is not a producer, the owner or an expert of the stream
	CodeDuplicate     uint32 = 7  // already on chain; Log says where (idempotent resend)
	CodeConflict      uint32 = 8  // the chunk index holds other data
	CodeStaleNonce    uint32 = 9  // a registration with a nonce not above the current one
	CodeNoRecord      uint32 = 10 // an expert judges a record that is not accepted with that digest
	CodeBadSpec       uint32 = 11 // the stream spec is invalid
)

// pushedChunk is what the chain keeps of a pushed chunk until and after
// its record: the record's push section, the digest every validator
// attests and the verdict of the stream's rules.
type pushedChunk struct {
	Info    wire.PushInfo
	Digest  wire.Digest
	Verdict wire.Verdict
}

func (p *pushedChunk) marshal() []byte {
	r := wire.Record{Stream: "x", Status: wire.StatusAccepted, Push: &p.Info}
	w := codec.Writer{}
	w.Raw(p.Digest[:])
	w.U8(uint8(p.Verdict.Kind))
	w.U32(p.Verdict.Code)
	w.Bytes32(r.Marshal())
	return w.B
}

func unmarshalPushed(b []byte) (*pushedChunk, error) {
	r := codec.NewReader(b)
	p := &pushedChunk{}
	r.Fixed(p.Digest[:])
	p.Verdict.Kind = wire.VerdictKind(r.U8())
	p.Verdict.Code = r.U32()
	rb := r.Bytes32(1<<20, "push info")
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("pushed chunk: %w", err)
	}
	rec, err := wire.UnmarshalRecord(rb)
	if err != nil || rec.Push == nil {
		return nil, fmt.Errorf("pushed chunk: %v", err)
	}
	p.Info = *rec.Push
	return p, nil
}

// PushedChunk tells the attestor what this node found in a pushed chunk:
// it attests Digest and Verdict with its own time.
//
// A chunk whose bytes the chain does not carry has Fetch set instead: the
// node fetches and hashes them, then attests.
type PushedChunk struct {
	Key     wire.ChunkKey
	Digest  wire.Digest
	Verdict wire.Verdict
	Fetch   *FetchOrder
}

// TxOutcome is the result of one mempool transaction in a block, for the
// gateway: which chunk it became (or why not).
type TxOutcome struct {
	TxHash [32]byte
	Kind   wire.TxKind
	Code   uint32
	Log    string
	Key    wire.ChunkKey // chunks: the chunk it is (also for CodeDuplicate)
}

// getter reads committed or pending state.
type getter func(bucket string, key []byte) ([]byte, error)

func batchGetter(b *store.Batch) getter {
	return func(bucket string, key []byte) ([]byte, error) { return b.Get([]byte(bucket), key) }
}

func txGetter(tx store.Tx) getter {
	return func(bucket string, key []byte) ([]byte, error) { return tx.Get([]byte(bucket), key), nil }
}

// lookupStream finds a stream in the genesis or the registry.
func lookupStream(c *chain, get getter, id string) (*Stream, uint64, error) {
	if i, ok := c.streams[id]; ok {
		s := c.genesis.Streams[i]
		return &s, 0, nil
	}
	b, err := get(bucketRegistry, []byte(id))
	if err != nil || b == nil {
		return nil, 0, err
	}
	return unmarshalRegistration(b)
}

// streamKnown reports whether a stream is in the genesis or the
// committed registry.
func (a *App) streamKnown(c *chain, id string) bool {
	if _, ok := c.streams[id]; ok {
		return true
	}
	known := false
	err := a.store.View(func(tx store.Tx) error {
		known = tx.Get([]byte(bucketRegistry), []byte(id)) != nil
		return nil
	})
	return err == nil && known
}

func marshalRegistration(s *Stream, nonce uint64) []byte {
	js, _ := json.Marshal(s)
	return append(u64(nonce), js...)
}

func unmarshalRegistration(b []byte) (*Stream, uint64, error) {
	if len(b) < 8 {
		return nil, 0, errors.New("registration: short")
	}
	var s Stream
	if err := json.Unmarshal(b[8:], &s); err != nil {
		return nil, 0, fmt.Errorf("registration: %w", err)
	}
	return &s, binary.BigEndian.Uint64(b[:8]), nil
}

func originKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) []byte {
	k := append([]byte{byte(len(stream))}, stream...)
	k = append(k, origin[:]...)
	return binary.BigEndian.AppendUint64(k, firstSeq)
}

func expertKey(k wire.ChunkKey, expert []byte) []byte {
	b := k.Bytes()
	b = append(b, byte(len(expert)))
	return append(b, expert...)
}

// txError is a transaction's failure with its code.
type txError struct {
	code uint32
	msg  string
}

func (e *txError) Error() string { return e.msg }

func txErr(code uint32, format string, args ...any) *txError {
	return &txError{code: code, msg: fmt.Sprintf(format, args...)}
}

// checkTx is the stateless part of a mempool transaction's checks plus
// the signature, shared by CheckTx and FinalizeBlock. It returns the
// decoded transaction.
func (a *App) checkTx(c *chain, raw []byte) (*wire.Tx, *txError) {
	tx, err := wire.UnmarshalTx(raw)
	if err != nil {
		return nil, txErr(CodeMalformed, "%v", err)
	}
	return tx, nil
}

// CheckTx admits well-formed DataDragon transactions for known streams
// with valid signatures into the mempool. FinalizeBlock checks everything
// again against the state of its block.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	c, err := a.mustChain()
	if err != nil {
		return &abci.CheckTxResponse{Code: CodeMalformed, Log: err.Error()}, nil
	}
	if wire.IsSummaryTx(req.Tx) {
		code, log := a.checkSummaryTxCode(c, req.Tx)
		return &abci.CheckTxResponse{Code: code, Log: log}, nil
	}
	tx, terr := a.checkTx(c, req.Tx)
	if terr == nil {
		err := a.store.View(func(st store.Tx) error {
			_, terr = a.applyTx(c, txGetter(st), nil, 0, tx)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if terr != nil {
		return &abci.CheckTxResponse{Code: terr.code, Log: terr.msg}, nil
	}
	if tx.Fetch != nil && req.Type == abci.CHECK_TX_TYPE_CHECK && a.cfg.Prefetch != nil {
		a.cfg.Prefetch(tx.Fetch)
	}
	return &abci.CheckTxResponse{Code: CodeOK}, nil
}

// applyTx checks tx against the state read through get and, if put is
// not nil, writes its effects. It is deterministic. For a pushed chunk it
// returns the chunk that validators attest.
func (a *App) applyTx(c *chain, get getter, put func(bucket string, key, value []byte), height int64, tx *wire.Tx) (*PushedChunk, *txError) {
	switch {
	case tx.Chunk != nil:
		return a.applyChunk(c, get, put, height, tx.Chunk)
	case tx.Fetch != nil:
		return a.applyFetchChunk(c, get, put, height, tx.Fetch)
	case tx.Register != nil:
		return nil, a.applyRegister(c, get, put, tx.Register)
	case tx.Expert != nil:
		return nil, a.applyExpert(c, get, put, height, tx.Expert)
	case tx.Govern != nil:
		return nil, a.applyGovern(c, get, put, height, tx.Govern, nil)
	}
	return nil, txErr(CodeMalformed, "empty transaction")
}

func (a *App) applyChunk(c *chain, get getter, put func(string, []byte, []byte), height int64, t *wire.ChunkTx) (*PushedChunk, *txError) {
	s, _, err := lookupStream(c, get, t.Stream)
	if err != nil {
		return nil, txErr(CodeMalformed, "stream %s: %v", t.Stream, err)
	}
	if s == nil {
		return nil, txErr(CodeUnknownStream, "stream %q is not registered", t.Stream)
	}
	if !s.IsPush() {
		return nil, txErr(CodeWrongMode, "stream %q is observed from its source; it takes no pushed chunks", t.Stream)
	}
	signed := len(s.Producers) > 0
	if signed {
		if len(t.Signature) == 0 {
			return nil, txErr(CodeNotAllowed, "stream %q takes only chunks signed by one of its producers", t.Stream)
		}
		if !s.HasProducer(t.Producer) {
			return nil, txErr(CodeNotAllowed, "key %x is not a producer of stream %q", t.Producer, t.Stream)
		}
	} else {
		if t.Private {
			return nil, txErr(CodeWrongMode, "stream %q has no registered producers, so it takes no private chunks (a private chunk is only as good as its producer's signature)", t.Stream)
		}
		if t.Index != 0 {
			return nil, txErr(CodeWrongMode, "stream %q numbers its chunks itself; send index 0", t.Stream)
		}
	}
	var ok [wire.OriginSize]byte
	if signed && t.Origin != ok {
		return nil, txErr(CodeWrongMode, "a producer-chunked push carries no gateway origin")
	}
	if !signed && t.Origin == ok {
		return nil, txErr(CodeWrongMode, "a gateway-chunked push needs its gateway log's origin")
	}

	// Idempotency: the same gateway chunk, or the same producer chunk.
	index := t.Index
	if !signed {
		v, err := get(bucketOrigins, originKey(t.Stream, t.Origin, t.FirstSeq))
		if err != nil {
			return nil, txErr(CodeMalformed, "%v", err)
		}
		if len(v) == 8 {
			k := wire.ChunkKey{Stream: t.Stream, Index: binary.BigEndian.Uint64(v)}
			return &PushedChunk{Key: k}, txErr(CodeDuplicate, "already on chain as chunk %s", k)
		}
		nb, err := get(bucketPushNext, []byte(t.Stream))
		if err != nil {
			return nil, txErr(CodeMalformed, "%v", err)
		}
		if len(nb) == 8 {
			index = binary.BigEndian.Uint64(nb)
		}
	}
	key := wire.ChunkKey{Stream: t.Stream, Index: index}
	if put == nil && len(t.Signature) == 0 {
		// Admission of an unsigned chunk: its form and stream are known
		// good; hashing and the rules wait for FinalizeBlock, which every
		// validator runs once (CheckTx runs again at every recheck).
		return &PushedChunk{Key: key}, nil
	}

	pc := &pushedChunk{Info: wire.PushInfo{Origin: t.Origin, FirstSeq: t.FirstSeq, Offset: t.Offset,
		Private: t.Private, Producer: bytes.Clone(t.Producer), TxHeight: height}}
	if t.Private {
		pc.Digest = t.Digest
		pc.Info.Lengths = t.Lengths
		pc.Verdict = wire.OK // the rules cannot see private data
	} else {
		h, err := digest.NewHasher(t.Stream, index)
		if err != nil {
			return nil, txErr(CodeMalformed, "%v", err)
		}
		pc.Info.Lengths = make([]uint32, len(t.Messages))
		for i, m := range t.Messages {
			if err := h.Add(t.FirstSeq+uint64(i), m); err != nil {
				return nil, txErr(CodeMalformed, "%v", err)
			}
			pc.Info.Lengths[i] = uint32(len(m))
		}
		d, err := h.Sum()
		if err != nil {
			return nil, txErr(CodeMalformed, "%v", err)
		}
		pc.Digest = wire.Digest(d)
		rs, err := rules.Parse(s.Rules)
		if err != nil {
			return nil, txErr(CodeBadSpec, "stream %q: rules: %v", t.Stream, err)
		}
		pc.Verdict = rs.Check(t.Messages)
	}
	if len(t.Signature) > 0 {
		msg := wire.ProducerSignBytes(c.ChainID, t.Stream, index, t.Offset, pc.Digest)
		if err := a.cfg.Scheme.Verify(t.Producer, msg, t.Signature); err != nil {
			return nil, txErr(CodeBadSignature, "producer signature of chunk %s does not verify: %v", key, err)
		}
		pc.Info.SignatureHash = sha256.Sum256(t.Signature)
	}
	if signed {
		old, err := get(bucketPushed, key.Bytes())
		if err != nil {
			return nil, txErr(CodeMalformed, "%v", err)
		}
		if old != nil {
			prev, err := unmarshalPushed(old)
			if err == nil && prev.Digest == pc.Digest {
				return &PushedChunk{Key: key}, txErr(CodeDuplicate, "already on chain as chunk %s", key)
			}
			return nil, txErr(CodeConflict, "chunk %s already holds other data; the next free index is above it", key)
		}
	}
	if put != nil {
		put(bucketPushed, key.Bytes(), pc.marshal())
		put(bucketPushPending, key.Bytes(), nil)
		if len(t.Signature) > 0 {
			put(bucketPushSigs, key.Bytes(), bytes.Clone(t.Signature))
		}
		if !signed {
			put(bucketOrigins, originKey(t.Stream, t.Origin, t.FirstSeq), u64(index))
			put(bucketPushNext, []byte(t.Stream), u64(index+1))
		} else {
			nb, _ := get(bucketPushNext, []byte(t.Stream))
			if len(nb) != 8 || binary.BigEndian.Uint64(nb) <= index {
				put(bucketPushNext, []byte(t.Stream), u64(index+1))
			}
		}
	}
	return &PushedChunk{Key: key, Digest: pc.Digest, Verdict: pc.Verdict}, nil
}

func (a *App) applyRegister(c *chain, get getter, put func(string, []byte, []byte), t *wire.RegisterTx) *txError {
	dec := json.NewDecoder(bytes.NewReader(t.Spec))
	dec.DisallowUnknownFields()
	var s Stream
	if err := dec.Decode(&s); err != nil || dec.More() {
		return txErr(CodeBadSpec, "stream spec is not one JSON object of a stream: %v", err)
	}
	if len(s.Owner) != 0 && !bytes.Equal(s.Owner, t.Owner) {
		return txErr(CodeBadSpec, "the spec's owner differs from the signing key; leave it out")
	}
	s.Owner = HexBytes(bytes.Clone(t.Owner))
	if err := s.Validate(a.cfg.Scheme); err != nil {
		return txErr(CodeBadSpec, "stream %q: %v", s.ID, err)
	}
	if err := a.cfg.Scheme.CheckPublicKey(t.Owner); err != nil {
		return txErr(CodeBadSignature, "owner key: %v", err)
	}
	if _, ok := c.streams[s.ID]; ok {
		return txErr(CodeNotAllowed, "stream %q is a genesis stream; it cannot be re-registered", s.ID)
	}
	old, nonce, err := lookupStream(c, get, s.ID)
	if err != nil {
		return txErr(CodeMalformed, "%v", err)
	}
	if old != nil {
		if !bytes.Equal(old.Owner, t.Owner) {
			return txErr(CodeNotAllowed, "stream %q belongs to another owner", s.ID)
		}
		if t.Nonce <= nonce {
			return txErr(CodeStaleNonce, "registration nonce %d is not above the current %d", t.Nonce, nonce)
		}
		if old.Mode != s.Mode && !(old.Mode == "" && s.Mode == ModeObserve || old.Mode == ModeObserve && s.Mode == "") {
			return txErr(CodeBadSpec, "stream %q cannot change mode", s.ID)
		}
		if !old.IsPush() && (old.Source != s.Source || old.Chunk != s.Chunk || !sameRaw(old, &s)) {
			return txErr(CodeBadSpec, "an observed stream's source and chunk policy are fixed once registered (nodes chunk it by them); register a new stream id")
		}
	} else if a.countRegistered(get) >= MaxStreams {
		return txErr(CodeNotAllowed, "the registry holds %d streams, the limit", MaxStreams)
	}
	if err := a.cfg.Scheme.Verify(t.Owner, wire.RegisterSignBytes(c.ChainID, t.Owner, t.Nonce, t.Spec), t.Signature); err != nil {
		return txErr(CodeBadSignature, "owner signature does not verify: %v", err)
	}
	if put != nil {
		put(bucketRegistry, []byte(s.ID), marshalRegistration(&s, t.Nonce))
	}
	return nil
}

// countRegistered is bounded by MaxStreams; it only runs for a new
// registration.
func (a *App) countRegistered(get getter) int {
	b, _ := get(bucketMeta, keyRegistered)
	if len(b) == 8 {
		return int(binary.BigEndian.Uint64(b))
	}
	return 0
}

var keyRegistered = []byte("registered")

// ExpertJudgement is an expert's signed endorsement or dispute of a record.
type ExpertJudgement struct {
	Expert    HexBytes `json:"expert"`
	Dispute   bool     `json:"dispute"`
	Note      string   `json:"note,omitempty"`
	Digest    string   `json:"digest"`
	Height    int64    `json:"height"`
	Signature HexBytes `json:"signature"`
}

func (a *App) applyExpert(c *chain, get getter, put func(string, []byte, []byte), height int64, t *wire.ExpertTx) *txError {
	s, _, err := lookupStream(c, get, t.Stream)
	if err != nil {
		return txErr(CodeMalformed, "%v", err)
	}
	if s == nil {
		return txErr(CodeUnknownStream, "stream %q is not registered", t.Stream)
	}
	if !s.HasExpert(t.Expert) {
		return txErr(CodeNotAllowed, "key %x is not an expert of stream %q (its owner registers experts)", t.Expert, t.Stream)
	}
	k := wire.ChunkKey{Stream: t.Stream, Index: t.Index}
	rb, err := get(bucketRecords, k.Bytes())
	if err != nil {
		return txErr(CodeMalformed, "%v", err)
	}
	if rb == nil {
		return txErr(CodeNoRecord, "chunk %s has no record yet", k)
	}
	rec, err := wire.UnmarshalRecord(rb)
	if err != nil {
		return txErr(CodeMalformed, "%v", err)
	}
	if rec.Status != wire.StatusAccepted || rec.Digest != t.Digest {
		return txErr(CodeNoRecord, "chunk %s was not accepted with digest %s", k, t.Digest)
	}
	if err := a.cfg.Scheme.Verify(t.Expert, wire.ExpertSignBytes(c.ChainID, t.Stream, t.Index, t.Digest, t.Dispute, t.Note), t.Signature); err != nil {
		return txErr(CodeBadSignature, "expert signature does not verify: %v", err)
	}
	if put != nil {
		j := ExpertJudgement{Expert: t.Expert, Dispute: t.Dispute, Note: t.Note, Digest: t.Digest.String(), Height: height, Signature: t.Signature}
		js, _ := json.Marshal(j)
		put(bucketExperts, expertKey(k, t.Expert), js)
	}
	return nil
}

// applyBlockTxs runs a block's mempool transactions (those after the
// injected commit) in order.
func (a *App) applyBlockTxs(c *chain, b *store.Batch, height int64, txs [][]byte, first int, res *blockResult) []*abci.ExecTxResult {
	out := make([]*abci.ExecTxResult, len(txs))
	for i := range txs {
		out[i] = &abci.ExecTxResult{Code: CodeOK}
	}
	get := batchGetter(b)
	newStreams := 0
	put := func(bucket string, key, value []byte) {
		if bucket == bucketRegistry {
			if v, _ := b.Get([]byte(bucketRegistry), key); v == nil {
				newStreams++
			}
		}
		b.Put([]byte(bucket), key, value)
	}
	for i := first; i < len(txs); i++ {
		if wire.IsSummaryTx(txs[i]) {
			continue // changes no state (summary.go); ProcessProposal checked it
		}
		o := TxOutcome{TxHash: sha256.Sum256(txs[i])}
		tx, terr := a.checkTx(c, txs[i])
		var pc *PushedChunk
		if terr == nil {
			o.Kind = txKind(tx)
			if tx.Govern != nil {
				terr = a.applyGovern(c, get, put, height, tx.Govern, res.gov)
			} else {
				pc, terr = a.applyTx(c, get, put, height, tx)
			}
		}
		if pc != nil {
			o.Key = pc.Key
		}
		if terr != nil {
			out[i].Code, out[i].Log = terr.code, terr.msg
			o.Code, o.Log = terr.code, terr.msg
		} else if pc != nil {
			res.pushed = append(res.pushed, *pc)
		}
		res.outcomes = append(res.outcomes, o)
	}
	if newStreams > 0 {
		n := a.countRegistered(get) + newStreams
		b.Put([]byte(bucketMeta), keyRegistered, u64(uint64(n)))
	}
	return out
}

func txKind(tx *wire.Tx) wire.TxKind {
	switch {
	case tx.Chunk != nil:
		return wire.KindChunk
	case tx.Fetch != nil:
		return wire.KindFetchChunk
	case tx.Register != nil:
		return wire.KindRegister
	case tx.Govern != nil:
		return wire.KindGovern
	}
	return wire.KindExpert
}

// pushInfo returns the push section of a decided chunk's record, if it
// was pushed.
func pushInfo(get getter, k wire.ChunkKey) (*wire.PushInfo, error) {
	b, err := get(bucketPushed, k.Bytes())
	if err != nil || b == nil {
		return nil, err
	}
	p, err := unmarshalPushed(b)
	if err != nil {
		return nil, err
	}
	return &p.Info, nil
}

// MaxPendingPushed bounds what PendingPushed returns.
const MaxPendingPushed = 1 << 16

// PendingPushed returns pushed chunks that have no record yet, with the
// digest and verdict this node computed: a restarted node attests them
// again (its attestor's memory is gone).
func (a *App) PendingPushed() []PushedChunk {
	var out []PushedChunk
	err := a.store.View(func(tx store.Tx) error {
		tx.Scan([]byte(bucketPushPending), nil, nil, func(k, _ []byte) bool {
			ck, err := wire.ParseChunkKey(k)
			if err != nil {
				return true
			}
			if p, ok := a.pushedChunk(tx, ck); ok {
				out = append(out, p)
			}
			return len(out) < MaxPendingPushed
		})
		return nil
	})
	if err != nil {
		return nil
	}
	return out
}

// PushedChunk returns what this node computed for a pushed chunk.
func (a *App) PushedChunk(k wire.ChunkKey) (PushedChunk, bool) {
	var p PushedChunk
	ok := false
	err := a.store.View(func(tx store.Tx) error {
		p, ok = a.pushedChunk(tx, k)
		return nil
	})
	return p, ok && err == nil
}

func (a *App) pushedChunk(tx store.Tx, k wire.ChunkKey) (PushedChunk, bool) {
	b := tx.Get([]byte(bucketPushed), k.Bytes())
	if b == nil {
		return PushedChunk{}, false
	}
	p, err := unmarshalPushed(b)
	if err != nil {
		return PushedChunk{}, false
	}
	return PushedChunk{Key: k, Digest: p.Digest, Verdict: p.Verdict, Fetch: fetchOrder(tx, k)}, true
}
