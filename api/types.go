package api

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/datadragon/datadragon/app"
	"github.com/datadragon/datadragon/app/wire"
)

// The JSON the API answers with. These types, not the app's, are the
// API's contract: the app's read types are mapped onto them field by
// field, so a change in the app cannot silently rename an API field.

// Status is GET /v1/status.
type Status struct {
	// Initialised is false until the chain has started (InitChain); the
	// chain fields are then empty.
	Initialised   bool       `json:"initialised"`
	ChainID       string     `json:"chain_id"`
	Height        int64      `json:"height"`   // last block the app committed
	AppHash       string     `json:"app_hash"` // hex, after Height
	Time          *time.Time `json:"time"`     // block time of Height; null before the first block
	Validators    int        `json:"validators"`
	TotalPower    int64      `json:"total_power"`
	Threshold     Threshold  `json:"threshold"`
	DisputeWindow int64      `json:"dispute_window"`
	Streams       int        `json:"streams"`
	Node          NodeStatus `json:"node"`
}

// Threshold is the acceptance threshold: a digest is accepted when it holds
// strictly more than Numerator/Denominator of the total voting power.
type Threshold struct {
	Numerator   uint64 `json:"numerator"`
	Denominator uint64 `json:"denominator"`
}

// NodeStatus is the serving node.
type NodeStatus struct {
	Moniker string `json:"moniker,omitempty"`
	Version string `json:"version,omitempty"`
	// ConsensusHeight is CometBFT's block-store height (may run one block
	// ahead of the app's committed height).
	ConsensusHeight *int64 `json:"consensus_height,omitempty"`
}

// Validator is one entry of GET /v1/validators. The counters count
// settled chunks.
type Validator struct {
	Index         int    `json:"index"`
	Name          string `json:"name,omitempty"`
	Address       string `json:"address"` // CometBFT address, hex
	PubKey        PubKey `json:"pub_key"`
	ZiggyPubKey   string `json:"ziggy_pub_key"` // 32 bytes, hex
	Power         int64  `json:"power"`
	Attested      uint64 `json:"attested"`
	Agreed        uint64 `json:"agreed"`
	Faulty        uint64 `json:"faulty"`
	Equivocations uint64 `json:"equivocations"`
	Gaps          uint64 `json:"gaps"`
	Absent        uint64 `json:"absent"`
	Late          uint64 `json:"late"`
	// LastAttestation is the validator's last counted attestation seen by
	// this node since it started; null before.
	LastAttestation *app.LastAttestation `json:"last_attestation"`
}

// PubKey is a CometBFT consensus key.
type PubKey struct {
	Type  string `json:"type"`
	Value []byte `json:"value"` // base64
}

// ValidatorList is GET /v1/validators.
type ValidatorList struct {
	Validators []Validator `json:"validators"`
}

// ChunkPolicy is a stream's deterministic chunk rule: every Messages
// messages by seq, or source-time windows of WindowMs.
type ChunkPolicy struct {
	Messages uint64 `json:"messages,omitempty"`
	WindowMs uint64 `json:"window_ms,omitempty"`
}

// Stream is one registered stream.
type Stream struct {
	ID          string          `json:"id"`
	Mode        string          `json:"mode"`             // observe or push
	Source      string          `json:"source,omitempty"` // observe mode
	Chunk       ChunkPolicy     `json:"chunk"`
	Description string          `json:"description,omitempty"`
	Rules       json.RawMessage `json:"rules,omitempty"`
	Owner       string          `json:"owner,omitempty"`     // hex public key of the registering owner
	Producers   []string        `json:"producers,omitempty"` // hex keys that must sign pushed chunks
	Experts     []string        `json:"experts,omitempty"`   // hex keys that may endorse or dispute records
	// WriteTokens are SHA-256 hashes (hex) of the tokens gateways accept.
	WriteTokens  []string `json:"write_tokens,omitempty"`
	OpenLoopback bool     `json:"open_loopback,omitempty"`
	// Raw: a raw stream's feed, cutting and normalisation, as registered
	// ('datadragon verify --spec' reads it); header values are shown as
	// "(hidden)", since feeds take API keys there.
	Raw       *app.RawSpec `json:"raw,omitempty"`
	Accepted  uint64       `json:"accepted"`
	Disputed  uint64       `json:"disputed"`
	LastIndex *uint64      `json:"last_index"`           // highest accepted index; null before the first
	NextIndex *uint64      `json:"next_index,omitempty"` // push streams: the next chunk index on chain; raw streams: the next position
	// SourceStatus: why this node's observer of the stream is not
	// delivering, when it is not (its source is unreachable, or restarted
	// and is behind the seq the node waits for).
	SourceStatus string `json:"source_status,omitempty"`
	// GatewayError: why this node's gateway takes no pushes for the
	// stream, and what to do (Config.PushErrors); empty when it does.
	GatewayError string `json:"gateway_error,omitempty"`
}

// StreamList is GET /v1/streams.
type StreamList struct {
	Streams []Stream `json:"streams"`
}

// Record is a chunk's record: GET /v1/records/{stream}/{index}, the
// entries of GET /v1/streams/{id}/records and the feed's messages.
type Record struct {
	Stream string `json:"stream"`
	Index  uint64 `json:"index"` // from 0
	// Status is pending (attested, not decided), accepted or disputed.
	Status string `json:"status"`
	// Digest is the accepted SHA-256 chunk digest in hex; "" unless
	// accepted.
	Digest  string `json:"digest"`
	Verdict string `json:"verdict,omitempty"` // the accepted verdict: ok, gap, rule-violation:CODE
	// Timestamp is the power-weighted median of the majority's
	// observation times; null unless accepted.
	Timestamp   *time.Time `json:"timestamp"`
	TimestampMs int64      `json:"timestamp_ms,omitempty"`
	// Height is the block that decided the chunk (0 while pending).
	Height      int64 `json:"height"`
	FirstHeight int64 `json:"first_height"`
	Power       int64 `json:"power"` // power behind the accepted digest
	TotalPower  int64 `json:"total_power"`
	// Settled: the window for late attestations has passed; absent
	// validators are listed from then on.
	Settled      bool          `json:"settled"`
	LeafHash     string        `json:"leaf_hash,omitempty"` // the record's leaf in its block's record root, hex
	Attestations []Attestation `json:"attestations"`
	// Push: for a pushed chunk, where it lies in the pushed data and the
	// producer whose signature every validator verified.
	Push *app.PushView `json:"push,omitempty"`
	// Raw: for a raw stream's chunk, its id (the boundary hash of its
	// first message), the next chunk's id and the chain's position.
	Raw *app.RawView `json:"raw,omitempty"`
	// Experts: registered experts' signed endorsements and disputes.
	Experts []app.ExpertJudgement `json:"experts,omitempty"`
	// LocalFetch: for a pushed chunk whose bytes the validators fetched,
	// what the validator of the node answering found. It is this node's
	// own account, not the chain's: a validator that got bytes whose
	// content id is not the one on chain attests a gap (it has no bytes
	// the chain names), and only here says which bytes it was served and
	// the chunk digest it computed from them.
	LocalFetch *FetchFinding `json:"local_fetch,omitempty"`
}

// FetchFinding is what a validator found fetching a pushed chunk's bytes.
type FetchFinding struct {
	Validator string `json:"validator,omitempty"` // this node's validator name
	// Outcome: "fetched" (bytes of the content id on chain, hashed and
	// attested), "content-mismatch" (bytes were served, but their content
	// id is not the chain's: attested as a gap) or "unavailable" (no
	// source served them within the fetch window: a gap).
	Outcome string `json:"outcome"`
	// ContentNamed is the content id on chain, the gateway's claim.
	ContentNamed string `json:"content_named"`
	// Content and Digest are the content id and the chunk digest of the
	// bytes this validator checked (the attested digest when fetched; for
	// a mismatch, those of the bytes it was served).
	Content string `json:"content,omitempty"`
	Digest  string `json:"digest,omitempty"`
	Source  string `json:"source,omitempty"` // where it got the bytes
	Error   string `json:"error,omitempty"`  // why not, when unavailable
}

// Attestation is one validator's part in a chunk (the seed's "Validation
// Results").
type Attestation struct {
	Validator string `json:"validator"` // CometBFT address, hex
	Name      string `json:"name,omitempty"`
	Power     int64  `json:"power"`
	// Digest is what the validator attested, hex; "" when it was absent.
	Digest string     `json:"digest"`
	Time   *time.Time `json:"time"` // its observation time; null when absent
	// Verdict is ok, gap or rule-violation:CODE; "" when absent.
	Verdict string `json:"verdict"`
	// SignatureOK: the Ziggy signature over the vote extension that
	// carried this attestation verified (the app counts no other).
	SignatureOK bool `json:"signature_ok"`
	// Outcome is agreed, faulty, gap, equivocated, attested (the chunk was
	// disputed), absent or none (not heard yet).
	Outcome string `json:"outcome"`
	Late    bool   `json:"late,omitempty"`
	// IncludedHeight is the block whose injected commit carried the
	// attestation; Vote and Leaf locate it there (for receipts).
	IncludedHeight int64 `json:"included_height,omitempty"`
	Vote           int   `json:"vote"`
	Leaf           int   `json:"leaf"`
}

// RecordPage is GET /v1/streams/{id}/records.
type RecordPage struct {
	Stream  string   `json:"stream"`
	Records []Record `json:"records"`
	// Next is the from of the next page; null at the end.
	Next *uint64 `json:"next"`
}

// Block is GET /v1/blocks/{height}.
type Block struct {
	Height        int64     `json:"height"`
	Time          time.Time `json:"time"`
	PrevAppHash   string    `json:"prev_app_hash"`
	RecordRoot    string    `json:"record_root"`
	ChangesetHash string    `json:"changeset_hash"`
	AppHash       string    `json:"app_hash"` // in the header of Height+1
	Accepted      []string  `json:"accepted"` // "stream/index", in record-root order
	Disputed      []string  `json:"disputed"`
	Attestations  int       `json:"attestations"`
	Extensions    int       `json:"extensions"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func statusFrom(s app.Status) Status {
	return Status{Initialised: true, ChainID: s.ChainID, Height: s.Height, AppHash: hex.EncodeToString(s.AppHash),
		Time: timePtr(s.Time), Validators: s.Validators, TotalPower: s.TotalPower,
		Threshold:     Threshold{Numerator: s.Threshold.Numerator, Denominator: s.Threshold.Denominator},
		DisputeWindow: s.DisputeWindow, Streams: s.Streams}
}

func validatorFrom(v app.ValidatorInfo) Validator {
	return Validator{Index: v.Index, Name: v.Name, Address: hex.EncodeToString(v.Address),
		PubKey: PubKey{Type: v.PubKey.Type, Value: v.PubKey.Value}, ZiggyPubKey: hex.EncodeToString(v.ZiggyPubKey),
		Power: v.Power, Attested: v.Attested, Agreed: v.Agreed, Faulty: v.Faulty, Equivocations: v.Equivocations,
		Gaps: v.Gaps, Absent: v.Absent, Late: v.Late, LastAttestation: v.LastAttestation}
}

func hexKeys(ks []app.HexBytes) []string {
	var out []string
	for _, k := range ks {
		out = append(out, hex.EncodeToString(k))
	}
	return out
}

func streamFrom(s app.StreamInfo) Stream {
	mode := s.Mode
	if mode == "" {
		mode = app.ModeObserve
	}
	out := Stream{ID: s.ID, Mode: mode, Source: s.Source, Chunk: ChunkPolicy{Messages: s.Chunk.Messages, WindowMs: s.Chunk.WindowMs},
		Description: s.Description, Accepted: s.Accepted, Disputed: s.Disputed, Owner: hex.EncodeToString(s.Owner),
		Producers: hexKeys(s.Producers), Experts: hexKeys(s.Experts), WriteTokens: hexKeys(s.WriteTokens),
		OpenLoopback: s.OpenLoopback, NextIndex: s.NextIndex}
	if s.Raw != nil {
		r := *s.Raw
		if len(r.Header) > 0 {
			r.Header = make(map[string]string, len(s.Raw.Header))
			for k := range s.Raw.Header {
				r.Header[k] = "(hidden)"
			}
		}
		out.Raw = &r
	}
	if len(s.Rules) > 0 && json.Valid(s.Rules) {
		out.Rules = s.Rules
	}
	if s.LastIndex != nil {
		li := *s.LastIndex
		out.LastIndex = &li
	}
	return out
}

func recordFromView(v *app.RecordView) Record {
	r := Record{Stream: v.Stream, Index: v.Index, Status: v.Status, Digest: v.Digest, Verdict: v.Verdict,
		Height: v.Height, FirstHeight: v.FirstHeight, Power: v.Power, TotalPower: v.TotalPower, Settled: v.Settled,
		LeafHash: hex.EncodeToString(v.LeafHash), Attestations: make([]Attestation, 0, len(v.Attestations)),
		Push: v.Push, Raw: v.Raw, Experts: v.Experts}
	if v.Status == wire.StatusAccepted.String() {
		r.Timestamp, r.TimestampMs = timePtr(v.Timestamp), v.TimestampMs
	}
	for _, a := range v.Attestations {
		at := Attestation{Validator: hex.EncodeToString(a.Validator), Name: a.Name, Power: a.Power, Digest: a.Digest,
			Verdict: a.Verdict, SignatureOK: a.SignatureOK, Outcome: a.Outcome, Late: a.Late,
			IncludedHeight: a.Height, Vote: a.Vote, Leaf: a.Leaf}
		at.Time = timePtr(a.Time)
		r.Attestations = append(r.Attestations, at)
	}
	return r
}

// recordFromWire maps a record as the app commits it (what the feed
// receives) onto the same shape. names maps hex addresses to validator
// names (nil: none).
func recordFromWire(w *wire.Record, names map[string]string) Record {
	r := Record{Stream: w.Stream, Index: w.Index, Status: w.Status.String(), Height: w.DecidedHeight,
		FirstHeight: w.FirstHeight, Power: w.Power, TotalPower: w.TotalPower, Attestations: make([]Attestation, 0, len(w.Attestations))}
	if w.Status == wire.StatusAccepted {
		r.Digest, r.Verdict = w.Digest.String(), w.Verdict.String()
		r.Timestamp, r.TimestampMs = timePtr(time.UnixMilli(w.TimeMs)), w.TimeMs
	}
	lh := w.LeafHash()
	r.LeafHash = hex.EncodeToString(lh[:])
	r.Raw = app.RawViewOf(w.Raw)
	for _, a := range w.Attestations {
		addr := hex.EncodeToString(a.Validator)
		r.Attestations = append(r.Attestations, Attestation{Validator: addr, Name: names[addr], Power: a.Power,
			Digest: a.Digest.String(), Time: timePtr(time.UnixMilli(a.TimeMs)), Verdict: a.Verdict.String(),
			SignatureOK: true, Outcome: a.Outcome.String(), IncludedHeight: a.Height, Vote: int(a.Vote), Leaf: int(a.Leaf)})
	}
	return r
}

func blockFrom(b *app.BlockInfo) Block {
	out := Block{Height: b.Height, Time: b.Time.UTC(), PrevAppHash: hex.EncodeToString(b.PrevAppHash),
		RecordRoot: hex.EncodeToString(b.RecordRoot), ChangesetHash: hex.EncodeToString(b.ChangesetHash),
		AppHash: hex.EncodeToString(b.AppHash), Accepted: append([]string{}, b.Accepted...),
		Disputed: append([]string{}, b.Disputed...), Attestations: b.Attestations, Extensions: b.Extensions}
	return out
}
