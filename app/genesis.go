package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cometbft/cometbft/crypto"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/rules"
	"github.com/datadragon/datadragon/app/tally"
	"github.com/datadragon/datadragon/app/wire"
)

// Defaults applied to a genesis app state that leaves a field out.
const (
	// DefaultDisputeWindow is W when the genesis gives none: 30 blocks,
	// about five seconds at six blocks a second.
	DefaultDisputeWindow = 30
	// MaxDisputeWindow bounds W.
	MaxDisputeWindow = 1_000_000
	// MaxChunkMessages bounds a message-count chunk policy.
	MaxChunkMessages = 1_000_000
	// MaxChunkWindowMs bounds a source-time chunk policy (one day).
	MaxChunkWindowMs = 86_400_000
	// MaxStreams bounds the stream registry.
	MaxStreams = 10_000
	// MaxChainIDLen is CometBFT's limit on chain ids.
	MaxChainIDLen = 50
)

// HexBytes is a byte string written in JSON as lowercase hex (reading
// accepts upper case and a 0x prefix).
type HexBytes []byte

// MarshalText writes lowercase hex.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText reads hex, with or without 0x.
func (h *HexBytes) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(b), "0x"), "0X")
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not hex: %w", err)
	}
	*h = d
	return nil
}

// String returns lowercase hex.
func (h HexBytes) String() string { return hex.EncodeToString(h) }

// PubKey is a CometBFT consensus public key as the genesis app state
// writes it: {"type": "ed25519", "value": "<base64>"}. The type may also be
// given in CometBFT's genesis.json spelling, "tendermint/PubKeyEd25519"
// (and …Secp256k1); it is stored in the ABCI spelling.
type PubKey struct {
	Type  string `json:"type"`
	Value []byte `json:"value"` // base64 in JSON
}

var keyTypeAliases = map[string]string{
	"ed25519":                    "ed25519",
	"tendermint/PubKeyEd25519":   "ed25519",
	"secp256k1":                  "secp256k1",
	"tendermint/PubKeySecp256k1": "secp256k1",
	"bls12_381":                  "bls12_381",
	"cometbft/PubKeyBls12_381":   "bls12_381",
}

// GenesisState is the DataDragon part of CometBFT's genesis, its
// "app_state". Example:
//
//	{
//	  "threshold": {"numerator": 1, "denominator": 2},
//	  "dispute_window": 30,
//	  "validators": [{
//	    "name": "node0",
//	    "pub_key": {"type": "ed25519", "value": "<base64 of 32 bytes>"},
//	    "ziggy_pub_key": "<hex of the 32-byte Ziggy public key>",
//	    "power": 10
//	  }],
//	  "streams": [{
//	    "id": "sensors",
//	    "source": "ws://127.0.0.1:7001/stream",
//	    "chunk": {"messages": 100}
//	  }]
//	}
type GenesisState struct {
	// Threshold: a claim is accepted when it holds MORE than
	// numerator/denominator of the total voting power. Default 1/2 (so
	// exactly half is not enough); it must lie in [1/2, 1).
	Threshold Threshold `json:"threshold"`
	// DisputeWindow is W: a chunk not accepted within W blocks of its
	// first counted attestation is disputed, and a decided chunk takes W
	// more blocks to settle (late attestations). Default 30.
	DisputeWindow int64              `json:"dispute_window"`
	Validators    []GenesisValidator `json:"validators"`
	Streams       []Stream           `json:"streams"`
}

// Threshold is a fraction of total voting power.
type Threshold struct {
	Numerator   uint64 `json:"numerator"`
	Denominator uint64 `json:"denominator"`
}

// GenesisValidator binds a CometBFT validator to its Ziggy key.
type GenesisValidator struct {
	Name string `json:"name,omitempty"`
	// Address is optional; if given it must equal the address derived
	// from PubKey. It is always filled in after validation.
	Address     HexBytes `json:"address,omitempty"`
	PubKey      PubKey   `json:"pub_key"`
	ZiggyPubKey HexBytes `json:"ziggy_pub_key"`
	Power       int64    `json:"power"`
}

// Stream is one registered stream: in the genesis, or registered later
// by its owner's signed transaction (wire.RegisterTx, whose spec is this
// JSON).
type Stream struct {
	ID string `json:"id"`
	// Mode is "observe" (validators subscribe to Source; the default) or
	// "push" (producers push to any node's gateway).
	Mode        string      `json:"mode,omitempty"`
	Source      string      `json:"source,omitempty"` // observe: ws:// or wss:// URL of the source
	Chunk       ChunkPolicy `json:"chunk"`
	Description string      `json:"description,omitempty"`
	// Rules are the stream's validation rules (package app/rules); every
	// validator evaluates them, on observed chunks in ingest and on public
	// pushed chunks in the app. A violation is the chunk's verdict.
	Rules json.RawMessage `json:"rules,omitempty"`
	// Owner is the public key that registered the stream (set by the
	// chain; empty for genesis streams).
	Owner HexBytes `json:"owner,omitempty"`
	// Producers: if any, every pushed chunk must be signed by one of these
	// keys (the producer chunks and signs; public or private push).
	Producers []HexBytes `json:"producers,omitempty"`
	// Experts may endorse or dispute the stream's records.
	Experts []HexBytes `json:"experts,omitempty"`
	// WriteTokens are SHA-256 hashes of bearer tokens a gateway accepts
	// for unsigned pushes; the tokens themselves never go on chain.
	WriteTokens []HexBytes `json:"write_tokens,omitempty"`
	// OpenLoopback lets a gateway take unsigned pushes from its own
	// machine (loopback) without a token: the devnet's "uploads".
	OpenLoopback bool `json:"open_loopback,omitempty"`
	// Raw is how a raw stream ("mode": "raw") is read, cut and
	// normalised (raw.go).
	Raw *RawSpec `json:"raw,omitempty"`
}

// Stream modes.
const (
	ModeObserve = "observe"
	ModePush    = "push"
)

// IsPush reports whether producers push the stream.
func (s *Stream) IsPush() bool { return s.Mode == ModePush }

// Limits of a stream's key lists.
const (
	MaxStreamKeys = 64
	// DefaultPushMessages is a push stream's chunk size in messages when
	// its policy gives none: 256 uploaded pieces of 64 KiB make one chunk
	// of 16 MiB (wire.MaxFetchedChunkBytes) when validators fetch the
	// bytes; a chunk whose transaction carries its bytes closes at 1 MiB.
	DefaultPushMessages = 256
)

// Validate checks the stream's fields and limits; errors name the field.
func (s *Stream) Validate(scheme interface{ CheckPublicKey([]byte) error }) error {
	if err := wire.ValidateStreamID(s.ID); err != nil {
		return err
	}
	c := s.Chunk
	switch s.Mode {
	case "", ModeObserve, ModeRaw:
		u, err := url.Parse(s.Source)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		if u.Scheme != "ws" && u.Scheme != "wss" || u.Host == "" {
			return fmt.Errorf("source %q must be a ws:// or wss:// URL with a host", s.Source)
		}
		if s.IsRaw() {
			if err := s.validateRaw(); err != nil {
				return err
			}
			break
		}
		if s.Raw != nil {
			return errors.New("\"raw\" is for raw streams (\"mode\": \"raw\")")
		}
		switch {
		case c.Messages == 0 && c.WindowMs == 0:
			return errors.New("chunk policy needs \"messages\" (every M messages) or \"window_ms\" (source-time window)")
		case c.Messages != 0 && c.WindowMs != 0:
			return errors.New("chunk policy sets both \"messages\" and \"window_ms\"; choose one")
		}
		if len(s.Producers) > 0 || len(s.WriteTokens) > 0 || s.OpenLoopback {
			return errors.New("producers, write_tokens and open_loopback are for push streams (\"mode\": \"push\")")
		}
	case ModePush:
		if s.Source != "" {
			return errors.New("a push stream has no source: producers push to the gateways")
		}
		if c.WindowMs != 0 {
			return errors.New("a push stream is chunked by \"messages\" (the gateway or producer closes chunks), not \"window_ms\"")
		}
		if c.Messages > wire.MaxChunkMessages {
			return fmt.Errorf("a pushed chunk holds at most %d messages, the policy says %d", wire.MaxChunkMessages, c.Messages)
		}
	default:
		return fmt.Errorf("mode %q: want \"observe\", \"raw\" or \"push\"", s.Mode)
	}
	switch {
	case c.Messages > MaxChunkMessages:
		return fmt.Errorf("chunk of %d messages, the limit is %d", c.Messages, MaxChunkMessages)
	case c.WindowMs > MaxChunkWindowMs:
		return fmt.Errorf("chunk window of %d ms, the limit is %d (a day)", c.WindowMs, MaxChunkWindowMs)
	}
	if len(s.Rules) > 0 {
		if len(s.Rules) > 64<<10 {
			return fmt.Errorf("rules of %d bytes, the limit is 64 KiB", len(s.Rules))
		}
		if _, err := rules.Parse(s.Rules); err != nil {
			return err
		}
	}
	if len(s.Description) > 1024 {
		return errors.New("description over 1024 bytes")
	}
	for name, keys := range map[string][]HexBytes{"producers": s.Producers, "experts": s.Experts} {
		if len(keys) > MaxStreamKeys {
			return fmt.Errorf("%d %s, the limit is %d", len(keys), name, MaxStreamKeys)
		}
		for i, k := range keys {
			if scheme == nil {
				continue
			}
			if err := scheme.CheckPublicKey(k); err != nil {
				return fmt.Errorf("%s[%d]: %w", name, i, err)
			}
		}
	}
	if len(s.WriteTokens) > MaxStreamKeys {
		return fmt.Errorf("%d write_tokens, the limit is %d", len(s.WriteTokens), MaxStreamKeys)
	}
	for i, t := range s.WriteTokens {
		if len(t) != sha256.Size {
			return fmt.Errorf("write_tokens[%d]: want the 32-byte SHA-256 of a token (datadragon stream token prints one)", i)
		}
	}
	return nil
}

// HasProducer reports whether key is one of the stream's producers.
func (s *Stream) HasProducer(key []byte) bool { return hasKey(s.Producers, key) }

// HasExpert reports whether key is one of the stream's experts.
func (s *Stream) HasExpert(key []byte) bool { return hasKey(s.Experts, key) }

func hasKey(keys []HexBytes, k []byte) bool {
	for _, x := range keys {
		if bytes.Equal(x, k) {
			return true
		}
	}
	return false
}

// PushMessages returns the chunk size in messages of a push stream.
func (s *Stream) PushMessages() int {
	if s.Chunk.Messages == 0 {
		return DefaultPushMessages
	}
	return int(s.Chunk.Messages)
}

// ChunkPolicy is the deterministic chunk boundary rule: exactly one of
// Messages (every M messages by seq) or WindowMs (source-time windows of
// this many milliseconds) is set.
type ChunkPolicy struct {
	Messages uint64 `json:"messages,omitempty"`
	WindowMs uint64 `json:"window_ms,omitempty"`
}

// ParseGenesisState reads and validates a genesis app state. Unknown
// fields are errors (they are usually typos).
func ParseGenesisState(b []byte) (*GenesisState, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("genesis app_state is empty: it must hold the DataDragon validators, threshold and streams")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var g GenesisState
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	if dec.More() {
		return nil, errors.New("genesis app_state: trailing data after the JSON object")
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return &g, nil
}

// Validate checks every field, fills in defaults and derived addresses,
// and normalises key type names. Errors name the offending entry.
func (g *GenesisState) Validate() error {
	if g.Threshold == (Threshold{}) {
		g.Threshold = Threshold{1, 2}
	}
	if err := tally.CheckThreshold(g.Threshold.Numerator, g.Threshold.Denominator); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if g.DisputeWindow == 0 {
		g.DisputeWindow = DefaultDisputeWindow
	}
	if g.DisputeWindow < 1 || g.DisputeWindow > MaxDisputeWindow {
		return fmt.Errorf("genesis: dispute_window %d must be between 1 and %d blocks", g.DisputeWindow, MaxDisputeWindow)
	}
	if len(g.Validators) == 0 {
		return errors.New("genesis: no validators")
	}
	if len(g.Validators) > wire.MaxVotes {
		return fmt.Errorf("genesis: %d validators, the limit is %d", len(g.Validators), wire.MaxVotes)
	}
	addrs := map[string]int{}
	zkeys := map[string]int{}
	names := map[string]int{}
	var total int64
	for i := range g.Validators {
		v := &g.Validators[i]
		who := fmt.Sprintf("genesis: validator %d", i)
		if v.Name != "" {
			who += fmt.Sprintf(" (%s)", v.Name)
			if j, dup := names[v.Name]; dup {
				return fmt.Errorf("%s: name also used by validator %d", who, j)
			}
			names[v.Name] = i
		}
		pk, err := v.PubKey.key()
		if err != nil {
			return fmt.Errorf("%s: pub_key: %w", who, err)
		}
		addr := pk.Address()
		if len(v.Address) > 0 && !bytes.Equal(v.Address, addr) {
			return fmt.Errorf("%s: address %s does not match its pub_key, whose address is %X", who, v.Address, []byte(addr))
		}
		v.Address = HexBytes(addr)
		if j, dup := addrs[string(addr)]; dup {
			return fmt.Errorf("%s: same CometBFT key as validator %d", who, j)
		}
		addrs[string(addr)] = i
		if len(v.ZiggyPubKey) == 0 {
			return fmt.Errorf("%s: no ziggy_pub_key", who)
		}
		if len(v.ZiggyPubKey) > 1024 {
			return fmt.Errorf("%s: ziggy_pub_key of %d bytes is too long", who, len(v.ZiggyPubKey))
		}
		if j, dup := zkeys[string(v.ZiggyPubKey)]; dup {
			return fmt.Errorf("%s: same ziggy_pub_key as validator %d", who, j)
		}
		zkeys[string(v.ZiggyPubKey)] = i
		if v.Power <= 0 {
			return fmt.Errorf("%s: power %d must be positive", who, v.Power)
		}
		if total > maxTotalPower-v.Power {
			return fmt.Errorf("%s: total voting power exceeds %d", who, int64(maxTotalPower))
		}
		total += v.Power
	}
	if len(g.Streams) > MaxStreams {
		return fmt.Errorf("genesis: %d streams, the limit is %d", len(g.Streams), MaxStreams)
	}
	ids := map[string]int{}
	for i := range g.Streams {
		s := &g.Streams[i]
		who := fmt.Sprintf("genesis: stream %d (%q)", i, s.ID)
		if j, dup := ids[s.ID]; dup {
			return fmt.Errorf("%s: id also used by stream %d", who, j)
		}
		ids[s.ID] = i
		if err := s.Validate(nil); err != nil {
			return fmt.Errorf("%s: %w", who, err)
		}
		if len(s.Owner) != 0 {
			return fmt.Errorf("%s: owner is set by the chain for registered streams; a genesis stream has none", who)
		}
	}
	return nil
}

// maxTotalPower is CometBFT's limit on total voting power.
const maxTotalPower = int64(^uint64(0)>>1) / 8

func (p *PubKey) key() (crypto.PubKey, error) {
	t, ok := keyTypeAliases[p.Type]
	if !ok {
		return nil, fmt.Errorf("unsupported key type %q (want ed25519 or secp256k1)", p.Type)
	}
	p.Type = t
	pk, err := cryptoenc.PubKeyFromTypeAndBytes(t, p.Value)
	if err != nil {
		return nil, err
	}
	return pk, nil
}

// PubKeyString returns the key as "type:base64", for messages.
func (p PubKey) String() string { return p.Type + ":" + base64.StdEncoding.EncodeToString(p.Value) }

// Canonical returns the validated state's canonical JSON (encoding/json of
// the struct: fixed field order, compacted rules).
func (g *GenesisState) Canonical() ([]byte, error) { return json.Marshal(g) }

// GenesisDomain starts the genesis app hash.
const GenesisDomain = "datadragon/genesis/v1"

// GenesisAppHash is the app hash before the first block:
//
//	SHA-256("datadragon/genesis/v1" ‖ u8 len ‖ chain id ‖ u32 len ‖ canonical genesis JSON)
func GenesisAppHash(chainID string, canonical []byte) []byte {
	w := codec.Writer{}
	w.Raw([]byte(GenesisDomain))
	w.Bytes8([]byte(chainID))
	w.Bytes32(canonical)
	sum := sha256.Sum256(w.B)
	return sum[:]
}
