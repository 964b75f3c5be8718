package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/datadragon/datadragon/app/store"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// The read API: what the node's HTTP API serves. Every method reads
// committed state only and is safe to call concurrently with consensus.

// ErrNotFound is returned for a record, block or stream that does not
// exist.
var ErrNotFound = errors.New("not found")

// ErrNotInitialised is returned before InitChain.
var ErrNotInitialised = errors.New("the chain is not initialised yet")

// ErrCorrupt is matched (errors.Is) by every error of a damaged state
// file: once the store has found damage, every read and every consensus
// call fails with its *store.CorruptError, whose message names the file
// and ends with CorruptAdvice.
var ErrCorrupt = store.ErrCorrupt

// FormatAdvice is what the error for a state file of another store format
// tells the operator: the state is rebuilt from the chain as after damage.
const FormatAdvice = "Stop the node, move the file aside, and start the node again: it replays the chain from its block store into a new file (a node that prunes its blocks, retain_blocks in node.json, can do so only while it still holds block 1; otherwise put back a backup of this node's own file no older than its oldest kept block)"

// NewChainAdvice is what the error for a state file of store format 2
// tells the operator: its chain's app hashes are not the ones this
// version computes, so no block of it can be replayed here.
const NewChainAdvice = "Keep running the DataDragon version that wrote it for that chain, or start a new chain with this version: a new genesis (datadragon init, or datadragon devnet with a new --dir) and new homes for every node; the receipts already issued keep verifying offline"

// CorruptAdvice is what a damaged state file's error tells the operator.
// The app's state is a function of the chain, so CometBFT rebuilds it:
// with no app.db its handshake replays every block of the node's block
// store into a new one; with an older copy, the blocks after it. A copy
// from another validator is usually ahead of this node's block store,
// which the handshake refuses, so it is not offered.
const CorruptAdvice = "Stop the node, move the file aside (keep it to diagnose the disk), and start the node again: it replays the chain from its block store into a new file. A backup of this node's own file may be put back instead: the node replays the blocks after it. A node that prunes its blocks (retain_blocks in node.json) replays only from its oldest kept block: it needs such a backup, no older than that block"

// MaxPageSize bounds Records' limit.
const MaxPageSize = 1000

// Status is the app's view of the chain.
type Status struct {
	ChainID       string    `json:"chain_id"`
	Height        int64     `json:"height"`
	AppHash       HexBytes  `json:"app_hash"`
	Time          time.Time `json:"time"`       // block time of Height (zero before the first block)
	Validators    int       `json:"validators"` // in the set in force: a removed validator is not counted
	TotalPower    int64     `json:"total_power"`
	Threshold     Threshold `json:"threshold"`
	DisputeWindow int64     `json:"dispute_window"`
	Streams       int       `json:"streams"`
}

// inForce counts the validators holding power: removed ones keep their
// index (their records and counters still name them) but hold none.
func inForce(p *tally.Params) int {
	n := 0
	for _, w := range p.Powers {
		if w > 0 {
			n++
		}
	}
	return n
}

// Status returns the chain id, last committed height and app hash, and the
// consensus parameters.
func (a *App) Status() (Status, error) {
	c := a.chain.Load()
	if c == nil {
		return Status{}, ErrNotInitialised
	}
	last := a.last.Load()
	s := Status{ChainID: c.ChainID, Height: last.height, AppHash: HexBytes(last.appHash),
		Validators: inForce(c.params), TotalPower: c.params.Total, Threshold: c.genesis.Threshold,
		DisputeWindow: c.genesis.DisputeWindow, Streams: len(c.genesis.Streams)}
	err := a.store.View(func(tx store.Tx) error {
		if b := tx.Get([]byte(bucketMeta), keyRegistered); len(b) == 8 {
			s.Streams += int(binary.BigEndian.Uint64(b))
		}
		return nil
	})
	if err != nil {
		return Status{}, err
	}
	if last.height > 0 {
		bi, err := a.Block(last.height)
		switch {
		case err == nil:
			s.Time = bi.Time
		case !errors.Is(err, ErrNotFound):
			return Status{}, err
		}
	}
	return s, nil
}

// Genesis returns the validated genesis app state (defaults filled in).
func (a *App) Genesis() (*GenesisState, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, ErrNotInitialised
	}
	var g GenesisState
	if err := json.Unmarshal(c.canonical, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// ChainID returns the chain id ("" before InitChain).
func (a *App) ChainID() string {
	if c := a.chain.Load(); c != nil {
		return c.ChainID
	}
	return ""
}

// ValidatorInfo is a validator with its counters.
type ValidatorInfo struct {
	Index       int      `json:"index"`
	Name        string   `json:"name,omitempty"`
	Address     HexBytes `json:"address"`
	PubKey      PubKey   `json:"pub_key"`
	ZiggyPubKey HexBytes `json:"ziggy_pub_key"`
	Power       int64    `json:"power"`
	// Counters over settled chunks.
	Attested      uint64 `json:"attested"`
	Agreed        uint64 `json:"agreed"`
	Faulty        uint64 `json:"faulty"`
	Equivocations uint64 `json:"equivocations"`
	Gaps          uint64 `json:"gaps"`
	Absent        uint64 `json:"absent"`
	Late          uint64 `json:"late"`
	// LastAttestation is the last attestation of this validator counted
	// since this node started (nil before): the chunk, its block and the
	// validator's observation time.
	LastAttestation *LastAttestation `json:"last_attestation,omitempty"`
}

// LastAttestation is a validator's most recent counted attestation.
type LastAttestation struct {
	Stream string `json:"stream"`
	Index  uint64 `json:"index"`
	Height int64  `json:"height"`
	TimeMs int64  `json:"time_ms"`
}

// Validators returns every validator in genesis order with its counters.
func (a *App) Validators() ([]ValidatorInfo, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, ErrNotInitialised
	}
	out := make([]ValidatorInfo, len(c.addrs))
	err := a.store.View(func(tx store.Tx) error {
		for i := range out {
			v := c.genesis.Validators[i]
			out[i] = ValidatorInfo{Index: i, Name: v.Name, Address: HexBytes(c.addrs[i]), PubKey: v.PubKey,
				ZiggyPubKey: v.ZiggyPubKey, Power: v.Power}
			if la, ok := a.lastAtt.Load(i); ok {
				l := la.(LastAttestation)
				out[i].LastAttestation = &l
			}
			if b := tx.Get([]byte(bucketCounters), u16(uint16(i))); b != nil {
				k, err := tally.UnmarshalCounters(b)
				if err != nil {
					return err
				}
				o := &out[i]
				o.Attested, o.Agreed, o.Faulty, o.Equivocations, o.Gaps, o.Absent, o.Late =
					k.Attested, k.Agreed, k.Faulty, k.Equivocations, k.Gaps, k.Absent, k.Late
			}
		}
		return nil
	})
	return out, err
}

// StreamInfo is a registered stream with its counts.
type StreamInfo struct {
	Stream
	Accepted  uint64  `json:"accepted"`
	Disputed  uint64  `json:"disputed"`
	LastIndex *uint64 `json:"last_index,omitempty"` // highest accepted index
	NextIndex *uint64 `json:"next_index,omitempty"` // push streams: the next chunk index on chain; raw streams: the next position
}

// Streams returns the genesis streams in genesis order, then the
// registered streams in id order.
func (a *App) Streams() ([]StreamInfo, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, ErrNotInitialised
	}
	out := make([]StreamInfo, 0, len(c.genesis.Streams))
	err := a.store.View(func(tx store.Tx) error {
		for _, s := range c.genesis.Streams {
			out = append(out, StreamInfo{Stream: s})
		}
		var regErr error
		tx.Scan([]byte(bucketRegistry), nil, nil, func(_, v []byte) bool {
			s, _, err := unmarshalRegistration(v)
			if err != nil {
				regErr = err
				return false
			}
			out = append(out, StreamInfo{Stream: *s})
			return true
		})
		if regErr != nil {
			return regErr
		}
		for i := range out {
			if err := a.fillStreamInfo(tx, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (a *App) fillStreamInfo(tx store.Tx, si *StreamInfo) error {
	if b := tx.Get([]byte(bucketStreams), []byte(si.ID)); b != nil {
		st, err := unmarshalStreamStats(b)
		if err != nil {
			return err
		}
		si.Accepted, si.Disputed = st.Accepted, st.Disputed
		if st.HasLast {
			li := st.LastIndex
			si.LastIndex = &li
		}
	}
	if si.IsPush() {
		n := uint64(0)
		if b := tx.Get([]byte(bucketPushNext), []byte(si.ID)); len(b) == 8 {
			n = binary.BigEndian.Uint64(b)
		}
		si.NextIndex = &n
	}
	if si.IsRaw() {
		n := uint64(0)
		if b := tx.Get([]byte(bucketRawNext), []byte(si.ID)); len(b) >= 8 {
			n = binary.BigEndian.Uint64(b)
		}
		si.NextIndex = &n
	}
	return nil
}

// Stream returns one stream.
func (a *App) Stream(id string) (StreamInfo, error) {
	c := a.chain.Load()
	if c == nil {
		return StreamInfo{}, ErrNotInitialised
	}
	var si StreamInfo
	err := a.store.View(func(tx store.Tx) error {
		s, _, err := lookupStream(c, txGetter(tx), id)
		if err != nil {
			return err
		}
		if s == nil {
			return fmt.Errorf("stream %q: %w", id, ErrNotFound)
		}
		si = StreamInfo{Stream: *s}
		return a.fillStreamInfo(tx, &si)
	})
	return si, err
}

// ProducerSignature returns the producer's signature of a pushed chunk
// (nil if the chunk was unsigned or not pushed), for receipts.
func (a *App) ProducerSignature(k wire.ChunkKey) []byte {
	var sig []byte
	if a.store.View(func(tx store.Tx) error {
		sig = bytes.Clone(tx.Get([]byte(bucketPushSigs), k.Bytes()))
		return nil
	}) != nil {
		return nil // the receipt's next read reports the damage
	}
	return sig
}

// PushedKey returns the chunk a gateway chunk became: the index the chain
// gave the chunk that gateway log origin started at firstSeq.
func (a *App) PushedKey(stream string, origin [wire.OriginSize]byte, firstSeq uint64) (wire.ChunkKey, bool) {
	var k wire.ChunkKey
	ok := false
	err := a.store.View(func(tx store.Tx) error {
		if v := tx.Get([]byte(bucketOrigins), originKey(stream, origin, firstSeq)); len(v) == 8 {
			k, ok = wire.ChunkKey{Stream: stream, Index: binary.BigEndian.Uint64(v)}, true
		}
		return nil
	})
	return k, ok && err == nil
}

// AttestationView is one validator's attestation of a chunk as the API
// shows it.
type AttestationView struct {
	Validator   HexBytes  `json:"validator"` // CometBFT address
	Name        string    `json:"name,omitempty"`
	Power       int64     `json:"power"`
	Digest      string    `json:"digest"` // hex; "" when the validator was absent
	Time        time.Time `json:"time"`
	TimeMs      int64     `json:"time_ms"`
	Verdict     string    `json:"verdict"` // ok, gap, rule-violation:CODE ("" when absent)
	SignatureOK bool      `json:"signature_ok"`
	Outcome     string    `json:"outcome"` // agreed, faulty, gap, equivocated, attested, absent, none
	Late        bool      `json:"late"`
	Height      int64     `json:"included_height"` // block whose injected commit carried it
	Vote        int       `json:"vote"`            // the vote's position in that commit
	Leaf        int       `json:"leaf"`            // the attestation's position in the extension
}

// RecordView is a chunk's record (or its tally while pending) as the API
// shows it.
type RecordView struct {
	Stream      string    `json:"stream"`
	Index       uint64    `json:"index"`
	Status      string    `json:"status"` // pending, accepted, disputed
	Digest      string    `json:"digest"` // hex; "" unless accepted
	Verdict     string    `json:"verdict,omitempty"`
	Timestamp   time.Time `json:"timestamp"` // weighted median of the majority's observation times
	TimestampMs int64     `json:"timestamp_ms"`
	Height      int64     `json:"height"` // block that decided it (0 while pending)
	FirstHeight int64     `json:"first_height"`
	Power       int64     `json:"power"`
	TotalPower  int64     `json:"total_power"`
	Settled     bool      `json:"settled"`
	// LeafHash is the record's leaf in the block's record root (decided
	// records only).
	LeafHash     HexBytes          `json:"leaf_hash,omitempty"`
	Attestations []AttestationView `json:"attestations"`
	// Push says where a pushed chunk lies in the pushed data and who
	// signed it (pushed chunks only, once their transaction is on chain).
	Push *PushView `json:"push,omitempty"`
	// Experts are the endorsements and disputes of registered experts.
	Experts []ExpertJudgement `json:"experts,omitempty"`
	// Raw is an accepted raw chunk's id, link and position (raw.go).
	Raw *RawView `json:"raw,omitempty"`
}

// PushView is a pushed chunk's push section as the API shows it.
type PushView struct {
	FirstSeq uint64   `json:"first_seq"`
	Count    int      `json:"messages"`
	Offset   uint64   `json:"offset"`
	Bytes    uint64   `json:"bytes"`
	Lengths  []uint32 `json:"lengths"`
	Private  bool     `json:"private"`
	Origin   HexBytes `json:"origin,omitempty"`
	// Producer is the key whose signature every validator verified
	// ("authentic: signed by …"); empty if the chunk was unsigned.
	Producer HexBytes `json:"producer,omitempty"`
	TxHeight int64    `json:"tx_height"`
	// Digest and Verdict are what the chain computed from the bytes (or
	// the producer's digest of a private chunk), before any vote.
	Digest  string `json:"digest"`
	Verdict string `json:"verdict"`
}

// Record returns the chunk's record with every validator's attestation
// and outcome (absent validators included once the chunk is settled), or
// its tally so far while pending. ErrNotFound if no attestation for it
// was ever counted.
func (a *App) Record(stream string, index uint64) (*RecordView, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, ErrNotInitialised
	}
	var rv *RecordView
	err := a.store.View(func(tx store.Tx) error {
		var err error
		rv, err = a.recordView(c, tx, wire.ChunkKey{Stream: stream, Index: index})
		return err
	})
	return rv, err
}

func (a *App) recordView(c *chain, tx store.Tx, k wire.ChunkKey) (*RecordView, error) {
	var pv *PushView
	if pb := tx.Get([]byte(bucketPushed), k.Bytes()); pb != nil {
		if p, err := unmarshalPushed(pb); err == nil {
			pv = &PushView{FirstSeq: p.Info.FirstSeq, Count: len(p.Info.Lengths), Offset: p.Info.Offset, Bytes: p.Info.Bytes(),
				Lengths: p.Info.Lengths, Private: p.Info.Private, Producer: HexBytes(p.Info.Producer), TxHeight: p.Info.TxHeight,
				Digest: p.Digest.String(), Verdict: p.Verdict.String()}
			if p.Info.Origin != ([wire.OriginSize]byte{}) {
				pv.Origin = HexBytes(p.Info.Origin[:])
			}
		}
	}
	cb := tx.Get([]byte(bucketChunks), k.Bytes())
	if cb == nil {
		if pv != nil {
			// On chain, not yet attested: pending.
			return &RecordView{Stream: k.Stream, Index: k.Index, Status: wire.StatusPending.String(), TotalPower: c.params.Total,
				Attestations: []AttestationView{}, Push: pv}, nil
		}
		return nil, fmt.Errorf("chunk %s: %w", k, ErrNotFound)
	}
	ch, err := tally.UnmarshalChunk(cb)
	if err != nil {
		return nil, err
	}
	vp := c.viewParams(ch.DecidedHeight) // the set that decided it (govern.go)
	rv := &RecordView{Stream: k.Stream, Index: k.Index, Status: ch.Status.String(), FirstHeight: ch.FirstHeight,
		Height: ch.DecidedHeight, TotalPower: vp.Total, Settled: ch.Settled, Attestations: []AttestationView{}, Push: pv}
	tx.Scan([]byte(bucketExperts), k.Bytes(), nil, func(key, v []byte) bool {
		if !bytes.HasPrefix(key, k.Bytes()) || len(key) == len(k.Bytes()) {
			return false
		}
		var j ExpertJudgement
		if json.Unmarshal(v, &j) == nil {
			rv.Experts = append(rv.Experts, j)
		}
		return true
	})
	if ch.Status == wire.StatusAccepted {
		rv.Digest, rv.Verdict = ch.Claim.Digest.String(), ch.Claim.Verdict.String()
		rv.TimestampMs, rv.Timestamp = ch.TimeMs, time.UnixMilli(ch.TimeMs).UTC()
		rv.Power = ch.Power
	}
	if rb := tx.Get([]byte(bucketRecords), k.Bytes()); rb != nil {
		rec, err := wire.UnmarshalRecord(rb)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", k, err)
		}
		// What is served comes from the tally; the record is what the
		// chain committed to (Scrub checks it against the record roots).
		// They must agree on the decision.
		if rec.Status != ch.Status || rec.DecidedHeight != ch.DecidedHeight || ch.Status == wire.StatusAccepted &&
			(rec.Digest != ch.Claim.Digest || rec.Verdict != ch.Claim.Verdict || rec.TimeMs != ch.TimeMs || rec.Power != ch.Power) {
			return nil, a.store.MarkCorrupt(fmt.Sprintf("chunk %s", k), "its tally and its committed record disagree on the decision")
		}
		lh := rec.LeafHash()
		rv.LeafHash = lh[:]
		rv.Raw = RawViewOf(rec.Raw)
		if err := linkRawView(tx, k.Stream, rv.Raw); err != nil {
			return nil, err
		}
	}
	for v := range c.addrs {
		gv := c.genesis.Validators[v]
		av := AttestationView{Validator: HexBytes(c.addrs[v]), Name: gv.Name, Power: powerIn(vp, v), Outcome: ch.Outcome(v).String()}
		e, ok := ch.Entry(v)
		if !ok && av.Power == 0 {
			continue // not in the set that decided it
		}
		if !ok {
			if !ch.Settled {
				continue
			}
			rv.Attestations = append(rv.Attestations, av)
			continue
		}
		av.Digest = hex.EncodeToString(e.Claim.Digest[:])
		av.TimeMs, av.Time = e.TimeMs, time.UnixMilli(e.TimeMs).UTC()
		av.Verdict = e.Claim.Verdict.String()
		av.SignatureOK = true // only attestations whose extension signature verified are counted
		av.Late, av.Height, av.Vote, av.Leaf = e.Late, e.Height, int(e.Vote), int(e.Leaf)
		rv.Attestations = append(rv.Attestations, av)
	}
	return rv, nil
}

// Records returns up to limit decided records of a stream with index ≥
// from, in index order, and the index to ask for next (nil at the end).
// A raw stream's are its accepted chunks in stream order: from and the
// next are positions (see rawRecords).
func (a *App) Records(stream string, from uint64, limit int) ([]*RecordView, *uint64, error) {
	c := a.chain.Load()
	if c == nil {
		return nil, nil, ErrNotInitialised
	}
	if !a.streamKnown(c, stream) {
		if err := a.store.Corrupted(); err != nil {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("stream %q: %w", stream, ErrNotFound)
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = MaxPageSize
	}
	var out []*RecordView
	var next *uint64
	err := a.store.View(func(tx store.Tx) error {
		if s, _, err := lookupStream(c, txGetter(tx), stream); err == nil && s != nil && s.IsRaw() {
			var err error
			out, next, err = a.rawRecords(c, tx, stream, from, limit)
			return err
		}
		prefix := wire.StreamPrefix(stream)
		start := wire.ChunkKey{Stream: stream, Index: from}.Bytes()
		var keys []wire.ChunkKey
		tx.Scan([]byte(bucketRecords), start, nil, func(k, _ []byte) bool {
			if !strings.HasPrefix(string(k), string(prefix)) {
				return false
			}
			ck, err := wire.ParseChunkKey(k)
			if err != nil {
				return false
			}
			if len(keys) == limit {
				n := ck.Index
				next = &n
				return false
			}
			keys = append(keys, ck)
			return true
		})
		for _, k := range keys {
			rv, err := a.recordView(c, tx, k)
			if err != nil {
				return err
			}
			out = append(out, rv)
		}
		return nil
	})
	return out, next, err
}

// BlockInfo is what the app recorded for one block.
type BlockInfo struct {
	Height        int64     `json:"height"`
	Time          time.Time `json:"time"`
	PrevAppHash   HexBytes  `json:"prev_app_hash"`
	RecordRoot    HexBytes  `json:"record_root"`
	ChangesetHash HexBytes  `json:"changeset_hash"`
	AppHash       HexBytes  `json:"app_hash"` // appears in the header of Height+1
	Accepted      []string  `json:"accepted"` // "stream/index", in record-root order
	Disputed      []string  `json:"disputed"`
	Attestations  int       `json:"attestations"`
	Extensions    int       `json:"extensions"`
}

// Block returns the app's information about a committed block.
func (a *App) Block(height int64) (*BlockInfo, error) {
	if height < 1 || height > a.last.Load().height {
		return nil, fmt.Errorf("block %d: %w", height, ErrNotFound)
	}
	var raw []byte
	if err := a.store.View(func(tx store.Tx) error { raw = tx.Get([]byte(bucketBlocks), u64(uint64(height))); return nil }); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("block %d: %w", height, ErrNotFound)
	}
	bi, err := unmarshalBlockInfo(raw)
	if err != nil {
		return nil, err
	}
	out := &BlockInfo{Height: bi.Height, Time: time.UnixMilli(bi.TimeMs).UTC(), PrevAppHash: bi.PrevAppHash,
		RecordRoot: bi.RecordRoot[:], ChangesetHash: bi.ChangesetHash[:], AppHash: bi.AppHash,
		Accepted: []string{}, Disputed: []string{}, Attestations: int(bi.Attestations), Extensions: int(bi.Extensions)}
	for _, k := range bi.Accepted {
		out.Accepted = append(out.Accepted, k.String())
	}
	for _, k := range bi.Disputed {
		out.Disputed = append(out.Disputed, k.String())
	}
	return out, nil
}

// RecordBytes returns the canonical encoding of a decided chunk's record
// (the leaf of its block's record root), for receipts.
func (a *App) RecordBytes(stream string, index uint64) ([]byte, error) {
	var raw []byte
	if err := a.store.View(func(tx store.Tx) error {
		raw = tx.Get([]byte(bucketRecords), wire.ChunkKey{Stream: stream, Index: index}.Bytes())
		return nil
	}); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("record %s/%d: %w", stream, index, ErrNotFound)
	}
	return raw, nil
}

// Query serves the read API over ABCI as JSON: paths /status,
// /validators, /streams, /records/STREAM?from=N&limit=N (Data ignored),
// /record/STREAM/INDEX and /block/HEIGHT.
func (a *App) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	v, err := a.query(req.Path)
	if err != nil {
		code := uint32(1)
		if errors.Is(err, ErrNotFound) {
			code = 2
		}
		return &abci.QueryResponse{Code: code, Log: err.Error(), Height: a.last.Load().height}, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return &abci.QueryResponse{Code: 1, Log: err.Error()}, nil
	}
	return &abci.QueryResponse{Value: b, Height: a.last.Load().height}, nil
}

func (a *App) query(path string) (any, error) {
	path, rawQuery, _ := strings.Cut(path, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "status":
		return a.Status()
	case len(parts) == 1 && parts[0] == "validators":
		return a.Validators()
	case len(parts) == 1 && parts[0] == "streams":
		return a.Streams()
	case len(parts) == 2 && parts[0] == "records":
		var from uint64
		limit := 100
		for _, kv := range strings.Split(rawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "from":
				from, _ = strconv.ParseUint(v, 10, 64)
			case "limit":
				limit, _ = strconv.Atoi(v)
			}
		}
		recs, next, err := a.Records(parts[1], from, limit)
		return map[string]any{"records": recs, "next": next}, err
	case len(parts) == 3 && parts[0] == "record":
		i, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("record index %q is not a number", parts[2])
		}
		return a.Record(parts[1], i)
	case len(parts) == 2 && parts[0] == "block":
		h, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("block height %q is not a number", parts[1])
		}
		return a.Block(h)
	}
	return nil, fmt.Errorf("unknown query path %q", path)
}
