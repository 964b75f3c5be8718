package receipt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"

	"github.com/datadragon/datadragon/ingest/digest"
)

// genesisSet is what a receipt is checked against: the genesis validator
// set and the acceptance threshold.
type genesisSet struct {
	Threshold  threshold          `json:"threshold"`
	Validators []genesisValidator `json:"validators"`
	// Raw holds the normalisation of each raw stream the genesis declares:
	// a raw record's data is checked with it. Nil when there is none.
	Raw map[string]digest.Normalize `json:"raw,omitempty"`
}

type threshold struct {
	Numerator   uint64 `json:"numerator"`
	Denominator uint64 `json:"denominator"`
}

type genesisValidator struct {
	Name        string   `json:"name,omitempty"`
	Address     HexBytes `json:"address,omitempty"`
	PubKey      PubKey   `json:"pub_key"`
	ZiggyPubKey HexBytes `json:"ziggy_pub_key"`
	Power       int64    `json:"power"`
}

// The rest of this file is what the browser verifier uses instead of the
// app package (see app_native.go); receipt tests check it agrees with the
// app on every fixture.

// hexBytes is app.HexBytes: lowercase hex in JSON, upper case and 0x read.
type hexBytes []byte

func (h hexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

func (h *hexBytes) UnmarshalText(b []byte) error {
	s := strings.TrimPrefix(strings.TrimPrefix(string(b), "0x"), "0X")
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("not hex: %w", err)
	}
	*h = d
	return nil
}

func (h hexBytes) String() string { return hex.EncodeToString(h) }

// pubKey is app.PubKey.
type pubKey struct {
	Type  string `json:"type"`
	Value []byte `json:"value"`
}

var keyTypes = map[string]string{
	"ed25519": "ed25519", "tendermint/PubKeyEd25519": "ed25519",
	"secp256k1": "secp256k1", "tendermint/PubKeySecp256k1": "secp256k1",
	"bls12_381": "bls12_381", "cometbft/PubKeyBls12_381": "bls12_381",
}

// parseGenesisSet reads the validators and threshold of a genesis
// app_state as app.ParseGenesisState does, and of the streams only the
// normalisation of the raw ones, which checking a raw record's data needs.
func parseGenesisSet(b []byte) (*genesisSet, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("genesis app_state is empty: it must hold the DataDragon validators and threshold")
	}
	var raw struct {
		Threshold  threshold `json:"threshold"`
		Validators []struct {
			Name        string   `json:"name,omitempty"`
			Address     hexBytes `json:"address,omitempty"`
			PubKey      pubKey   `json:"pub_key"`
			ZiggyPubKey hexBytes `json:"ziggy_pub_key"`
			Power       int64    `json:"power"`
		} `json:"validators"`
		Streams []struct {
			ID  string `json:"id"`
			Raw *struct {
				Normalize digest.Normalize `json:"normalize"`
			} `json:"raw,omitempty"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("genesis app_state: %w", err)
	}
	g := &genesisSet{Threshold: raw.Threshold}
	if g.Threshold == (threshold{}) {
		g.Threshold = threshold{1, 2}
	}
	t := g.Threshold
	if t.Denominator == 0 || t.Denominator > 1<<20 || 2*t.Numerator < t.Denominator || t.Numerator >= t.Denominator {
		return nil, fmt.Errorf("genesis: threshold %d/%d must lie in [1/2, 1)", t.Numerator, t.Denominator)
	}
	if len(raw.Validators) == 0 || len(raw.Validators) > 1024 {
		return nil, fmt.Errorf("genesis: %d validators, want 1 to 1024", len(raw.Validators))
	}
	seen := map[string]bool{}
	for i, v := range raw.Validators {
		kt, ok := keyTypes[v.PubKey.Type]
		if !ok {
			return nil, fmt.Errorf("genesis: validator %d: unsupported key type %q", i, v.PubKey.Type)
		}
		pk, err := cryptoenc.PubKeyFromTypeAndBytes(kt, v.PubKey.Value)
		if err != nil {
			return nil, fmt.Errorf("genesis: validator %d: pub_key: %w", i, err)
		}
		if len(v.Address) > 0 && !bytes.Equal(v.Address, pk.Address()) {
			return nil, fmt.Errorf("genesis: validator %d: address does not match its pub_key", i)
		}
		if seen[string(pk.Address())] || len(v.ZiggyPubKey) == 0 || v.Power <= 0 || v.Power > 1<<60 {
			return nil, fmt.Errorf("genesis: validator %d: a repeated key, no ziggy_pub_key or a power out of range", i)
		}
		seen[string(pk.Address())] = true
		g.Validators = append(g.Validators, genesisValidator{Name: v.Name, Address: HexBytes(pk.Address()),
			PubKey: PubKey{Type: kt, Value: v.PubKey.Value}, ZiggyPubKey: HexBytes(v.ZiggyPubKey), Power: v.Power})
	}
	if len(raw.Streams) > maxGenesisStreams {
		return nil, fmt.Errorf("genesis: %d streams, at most %d", len(raw.Streams), maxGenesisStreams)
	}
	for _, st := range raw.Streams {
		if st.Raw == nil {
			continue
		}
		if err := st.Raw.Normalize.Validate(); err != nil {
			return nil, fmt.Errorf("genesis: stream %s: %w", st.ID, err)
		}
		if g.Raw == nil {
			g.Raw = map[string]digest.Normalize{}
		}
		g.Raw[st.ID] = st.Raw.Normalize
	}
	return g, nil
}

// maxGenesisStreams is app.MaxStreams.
const maxGenesisStreams = 10_000

// appHashCopy is app.AppHash.
func appHashCopy(prev []byte, height int64, recordRoot, changeset [32]byte) []byte {
	h := sha256.New()
	h.Write([]byte("datadragon/apphash/v1"))
	h.Write(prev)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(height))
	h.Write(b[:])
	h.Write(recordRoot[:])
	h.Write(changeset[:])
	return h.Sum(nil)
}
