package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// AppHashDomain starts each block's app hash.
const AppHashDomain = "datadragon/apphash/v1"

// AppHash chains one block onto the previous app hash:
//
//	SHA-256("datadragon/apphash/v1" ‖ previous app hash ‖ u64 height ‖
//	        record root ‖ changeset hash)
//
// The previous app hash of the first block is the genesis app hash; the
// changeset hash is the Sum of the digest of the whole state after the
// block (statedigest.go), kept up to date with the block's writes, so the
// app hash of one block commits to the whole state — what state sync
// checks a restored state against — and the record root lets a receipt
// prove a record with two extra hashes.
func AppHash(prev []byte, height int64, recordRoot, changeset [32]byte) []byte {
	h := sha256.New()
	h.Write([]byte(AppHashDomain))
	h.Write(prev)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(height))
	h.Write(b[:])
	h.Write(recordRoot[:])
	h.Write(changeset[:])
	return h.Sum(nil)
}

// blockResult is what FinalizeBlock leaves for Commit.
type blockResult struct {
	height    int64
	appHash   []byte
	batch     *store.Batch
	included  []wire.Attestation
	decided   []Decision
	dropped   []wire.ChunkKey
	records   []*wire.Record
	pushed    []PushedChunk
	outcomes  []TxOutcome
	txResults []*abci.ExecTxResult
	lastAtt   map[int]LastAttestation
	gov       *govBlock
}

// streamStats are per-stream counters (bucket streams).
type streamStats struct {
	Accepted, Disputed uint64
	LastIndex          uint64 // highest accepted index
	HasLast            bool
}

func (s *streamStats) marshal() []byte {
	w := codec.Writer{}
	w.U64(s.Accepted)
	w.U64(s.Disputed)
	w.U64(s.LastIndex)
	w.Bool(s.HasLast)
	return w.B
}

func unmarshalStreamStats(b []byte) (streamStats, error) {
	r := codec.NewReader(b)
	s := streamStats{Accepted: r.U64(), Disputed: r.U64(), LastIndex: r.U64(), HasLast: r.Bool()}
	return s, r.Done()
}

// FinalizeBlock tallies the attestations of the block's injected commit,
// decides chunks, settles old ones, and returns the new app hash. Nothing
// is written until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, err := a.mustChain()
	if err != nil {
		return nil, err
	}
	last := a.last.Load()
	if want := max(last.height+1, c.InitialHeight); req.Height != want {
		return nil, fmt.Errorf("app: FinalizeBlock for height %d, the state is at height %d", req.Height, last.height)
	}
	res, events, err := a.finalize(c, last.appHash, req)
	if err != nil {
		return nil, fmt.Errorf("app: height %d: %w", req.Height, err)
	}
	a.pending = res
	return &abci.FinalizeBlockResponse{Events: events, TxResults: res.txResults, AppHash: res.appHash, ValidatorUpdates: res.gov.updates}, nil
}

// finalize is FinalizeBlock's deterministic core.
func (a *App) finalize(c *chain, prevAppHash []byte, req *abci.FinalizeBlockRequest) (*blockResult, []abci.Event, error) {
	h := req.Height
	p := c.paramsAt(h) // the set in force at this height decides (govern.go)
	b := a.store.NewBatch()
	res := &blockResult{height: h, batch: b, gov: &govBlock{}}
	info := &blockInfo{Height: h, TimeMs: req.Time.UnixMilli(), PrevAppHash: prevAppHash}

	counters := make([]tally.Counters, len(p.Powers))
	for i := range counters {
		v, err := b.Get([]byte(bucketCounters), u16(uint16(i)))
		if err != nil {
			return nil, nil, err
		}
		if v != nil {
			if counters[i], err = tally.UnmarshalCounters(v); err != nil {
				return nil, nil, err
			}
		}
	}
	before := slices.Clone(counters)

	chunks := map[wire.ChunkKey]*tally.Chunk{}
	origDeadline := map[wire.ChunkKey]int64{} // 0 for chunks new in this block
	load := func(k wire.ChunkKey) (*tally.Chunk, error) {
		if ch, ok := chunks[k]; ok {
			return ch, nil
		}
		v, err := b.Get([]byte(bucketChunks), k.Bytes())
		if err != nil || v == nil {
			return nil, err
		}
		ch, err := tally.UnmarshalChunk(v)
		if err != nil {
			return nil, fmt.Errorf("chunk %s: %w", k, err)
		}
		chunks[k] = ch
		if !ch.Settled {
			origDeadline[k] = ch.Deadline
		}
		return ch, nil
	}

	// Mempool transactions (pushed chunks, registrations, experts) follow
	// the injected commit.
	first := 0
	if c.extensionsExpected(h) && len(req.Txs) > 0 {
		first = 1
	}
	if err := a.runQueued(c, b, h, res.gov); err != nil {
		return nil, nil, err
	}
	res.txResults = a.applyBlockTxs(c, b, h, req.Txs, first, res)

	me := a.self(c)
	modes := &rawModes{c: c, get: batchGetter(b), mode: map[string]bool{}}
	if c.extensionsExpected(h) && len(req.Txs) > 0 {
		ct, err := wire.UnmarshalCommitTx(req.Txs[0])
		if err != nil {
			// ProcessProposal rejects this; a decided block with it means
			// more than a third of the power is faulty. Count nothing.
			a.log.Error("decided block carries an unreadable injected commit; counting no attestations", "height", h, "err", err)
			ct = &wire.CommitTx{}
		}
		for vi, v := range ct.Votes {
			if v.Flag != wire.FlagCommit || len(v.Extension) == 0 {
				continue
			}
			val, ok := c.byAddr[string(v.Address)]
			if !ok || p.Powers[val] == 0 {
				continue // not in the set in force: it counts nothing
			}
			ext, err := a.checkExtension(c, val, ct.Height, v.Extension)
			if err != nil {
				a.log.Error("decided block carries an invalid extension; its attestations are not counted", "height", h, "validator", c.genesis.Validators[val].Name, "err", err)
				continue
			}
			info.Extensions++
			for li, at := range ext.Attestations {
				if !modes.fits(&at) {
					continue // a raw attestation for a framed stream, or the other way round
				}
				k := at.Key()
				ch, err := load(k)
				if err != nil {
					return nil, nil, err
				}
				if ch == nil {
					ch = tally.New(p, k, h)
					chunks[k] = ch
				}
				eff := ch.Apply(tally.Vote{Validator: val, Attestation: at, Height: h, Vote: uint16(vi), Leaf: uint16(li)})
				if err := noteRawLink(b, ch.Status == wire.StatusPending, &at); err != nil {
					return nil, nil, err
				}
				info.Attestations++
				if res.lastAtt == nil {
					res.lastAtt = map[int]LastAttestation{}
				}
				res.lastAtt[val] = LastAttestation{Stream: at.Stream, Index: at.Index, Height: h, TimeMs: at.TimeMs}
				if val == me && (eff == tally.Counted || eff == tally.Upgraded || eff == tally.Duplicate) {
					res.included = append(res.included, at)
				}
			}
		}
	}

	// Decide: touched pending chunks first, then every deadline that falls
	// in this block. Both in chunk-key order.
	var decided []*tally.Chunk
	keys := make([]wire.ChunkKey, 0, len(chunks))
	for k := range chunks {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, wire.ChunkKey.Compare)
	for _, k := range keys {
		if ch := chunks[k]; ch.Evaluate(p, h) {
			decided = append(decided, ch)
		}
	}
	due, err := b.Range([]byte(bucketDeadlines), nil, u64(uint64(h)+1))
	if err != nil {
		return nil, nil, err
	}
	dueKeys := map[wire.ChunkKey]bool{}
	for _, kv := range due {
		k, err := wire.ParseChunkKey(kv.Key[8:])
		if err != nil {
			return nil, nil, fmt.Errorf("deadline index: %w", err)
		}
		dueKeys[k] = true
	}
	for k, ch := range chunks {
		if !ch.Settled && ch.Deadline <= h {
			dueKeys[k] = true
		}
	}
	dropped := map[wire.ChunkKey]bool{}
	dk := make([]wire.ChunkKey, 0, len(dueKeys))
	for k := range dueKeys {
		dk = append(dk, k)
	}
	slices.SortFunc(dk, wire.ChunkKey.Compare)
	for _, k := range dk {
		ch, err := load(k)
		if err != nil {
			return nil, nil, err
		}
		if ch == nil || ch.Settled || ch.Deadline > h {
			continue
		}
		if ch.Status == wire.StatusPending {
			if ch.Expire(p, h) {
				dropped[k] = true
				res.dropped = append(res.dropped, k)
				continue
			}
			decided = append(decided, ch)
		} else {
			ch.Settle(p, counters)
		}
	}

	// Records of decided chunks, the record root over the accepted ones.
	slices.SortFunc(decided, func(x, y *tally.Chunk) int { return x.Key.Compare(y.Key) })
	var accepted []*wire.Record
	stats := map[string]*streamStats{}
	for _, ch := range decided {
		rec := ch.Record(p, c.addrs)
		if rec.Push, err = pushInfo(batchGetter(b), ch.Key); err != nil {
			return nil, nil, fmt.Errorf("chunk %s: %w", ch.Key, err)
		}
		b.Put([]byte(bucketRecords), ch.Key.Bytes(), rec.Marshal())
		if rec.Push != nil {
			b.Delete([]byte(bucketPushPending), ch.Key.Bytes())
			b.Delete([]byte(bucketPushFetch), ch.Key.Bytes())
		}
		res.records = append(res.records, rec)
		res.decided = append(res.decided, Decision{Key: ch.Key, Status: rec.Status, Digest: rec.Digest, Verdict: rec.Verdict})
		st, ok := stats[ch.Key.Stream]
		if !ok {
			v, err := b.Get([]byte(bucketStreams), []byte(ch.Key.Stream))
			if err != nil {
				return nil, nil, err
			}
			st = &streamStats{}
			if v != nil {
				if *st, err = unmarshalStreamStats(v); err != nil {
					return nil, nil, fmt.Errorf("stream %s stats: %w", ch.Key.Stream, err)
				}
			}
			stats[ch.Key.Stream] = st
		}
		if rec.Status == wire.StatusAccepted {
			accepted = append(accepted, rec)
			info.Accepted = append(info.Accepted, ch.Key)
			st.Accepted++
			if !st.HasLast || ch.Key.Index > st.LastIndex {
				st.LastIndex, st.HasLast = ch.Key.Index, true
			}
		} else {
			info.Disputed = append(info.Disputed, ch.Key)
			st.Disputed++
		}
	}
	if err := placeRawRecords(b, modes, res.records, res.dropped); err != nil {
		return nil, nil, err
	}
	for id, st := range stats {
		b.Put([]byte(bucketStreams), []byte(id), st.marshal())
	}

	// Write back chunks and their deadlines, and changed counters.
	for k, ch := range chunks {
		kb := k.Bytes()
		old, had := origDeadline[k]
		if dropped[k] {
			b.Delete([]byte(bucketChunks), kb)
			if had {
				b.Delete([]byte(bucketDeadlines), deadlineKey(old, k))
			}
			continue
		}
		b.Put([]byte(bucketChunks), kb, ch.Marshal())
		if had && (ch.Settled || old != ch.Deadline) {
			b.Delete([]byte(bucketDeadlines), deadlineKey(old, k))
		}
		if !ch.Settled && (!had || old != ch.Deadline) {
			b.Put([]byte(bucketDeadlines), deadlineKey(ch.Deadline, k), nil)
		}
	}
	for i := range counters {
		if counters[i] != before[i] {
			b.Put([]byte(bucketCounters), u16(uint16(i)), counters[i].Marshal())
		}
	}

	info.RecordRoot = wire.RecordRoot(accepted)
	digest, err := digestAfter(b)
	if err != nil {
		return nil, nil, err
	}
	info.ChangesetHash = digest.Sum()
	b.Put([]byte(bucketMeta), keyStateDigest, digest.Marshal())
	info.AppHash = AppHash(prevAppHash, h, info.RecordRoot, info.ChangesetHash)
	res.appHash = info.AppHash
	b.Put([]byte(bucketBlocks), u64(uint64(h)), info.marshal())
	b.Put([]byte(bucketMeta), keyHeight, u64(uint64(h)))
	b.Put([]byte(bucketMeta), keyAppHash, info.AppHash)

	events := make([]abci.Event, 0, len(res.records))
	for _, r := range res.records {
		events = append(events, recordEvent(r))
	}
	return res, events, nil
}

// EventRecord is the type of the event FinalizeBlock emits per decided
// record.
const EventRecord = "datadragon.record"

func recordEvent(r *wire.Record) abci.Event {
	attr := func(k, v string, index bool) abci.EventAttribute {
		return abci.EventAttribute{Key: k, Value: v, Index: index}
	}
	return abci.Event{Type: EventRecord, Attributes: []abci.EventAttribute{
		attr("stream", r.Stream, true),
		attr("index", strconv.FormatUint(r.Index, 10), true),
		attr("status", r.Status.String(), true),
		attr("digest", r.Digest.String(), false),
		attr("verdict", r.Verdict.String(), false),
		attr("timestamp_ms", strconv.FormatInt(r.TimeMs, 10), false),
		attr("power", strconv.FormatInt(r.Power, 10), false),
		attr("total_power", strconv.FormatInt(r.TotalPower, 10), false),
	}}
}

// Commit writes the block's state in one transaction, then tells the
// attestor what was included and decided.
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	a.mu.Lock()
	res := a.pending
	a.pending = nil
	if res == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("app: Commit without FinalizeBlock")
	}
	if err := res.batch.Commit(); err != nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("app: height %d: %w", res.height, err)
	}
	if res.gov != nil && res.gov.chain != nil {
		a.chain.Store(res.gov.chain)
	}
	a.last.Store(&committed{height: res.height, appHash: res.appHash})
	for v, la := range res.lastAtt {
		a.lastAtt.Store(v, la)
	}
	delete(a.inflight, res.height-1)
	stale := a.stale
	a.stale = nil
	a.mu.Unlock()

	if a.cfg.Attestor != nil {
		a.cfg.Attestor.Committed(CommitNotice{Height: res.height, Included: res.included, Decided: res.decided, Dropped: res.dropped, Stale: stale, Pushed: res.pushed})
	}
	if a.cfg.OnCommit != nil {
		a.cfg.OnCommit(CommitSummary{Height: res.height, AppHash: bytes.Clone(res.appHash), Records: res.records, Txs: res.outcomes})
	}
	a.maybeSnapshot(res.height)
	var retain int64
	if a.cfg.RetainHeight != nil {
		retain = a.cfg.RetainHeight(res.height)
	}
	return &abci.CommitResponse{RetainHeight: retain}, nil
}
