package receipt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/ingest/digest"
)

// MaxRawDataMessages bounds the messages of captured raw data.
const MaxRawDataMessages = 1 << 16

// ParseCaptured reads raw messages as a user captured them: a JSON array
// (an element that is a JSON string stands for its text; any other element
// for its JSON text, byte for byte as it appears in the array), or
// otherwise one message per line (a trailing "\r" is part of no message;
// empty lines are skipped).
func ParseCaptured(data []byte) ([][]byte, error) {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '[' && json.Valid(t) {
		var elems []json.RawMessage
		if err := json.Unmarshal(t, &elems); err != nil {
			return nil, err
		}
		if len(elems) > MaxRawDataMessages {
			return nil, broken("data", "%d messages, the limit is %d", len(elems), MaxRawDataMessages)
		}
		out := make([][]byte, 0, len(elems))
		for _, e := range elems {
			if e[0] == '"' {
				var s string
				if err := json.Unmarshal(e, &s); err != nil {
					return nil, err
				}
				out = append(out, []byte(s))
				continue
			}
			out = append(out, []byte(e))
		}
		return out, nil
	}
	var out [][]byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) == 0 {
			continue
		}
		if len(out) == MaxRawDataMessages {
			return nil, broken("data", "more than %d messages", MaxRawDataMessages)
		}
		out = append(out, l)
	}
	return out, nil
}

// RawStreamSpec is what checking a raw record's data needs from its
// stream's spec: the stream id and its declared normalisation.
type RawStreamSpec struct {
	ID        string
	Normalize digest.Normalize
}

// MaxSpecBytes bounds a stream spec file.
const MaxSpecBytes = 1 << 20

// ParseRawSpec reads a raw stream's spec as its owner registered it
// ('datadragon stream register --spec') or as GET /v1/streams/ID shows
// it: a JSON object with "id", "mode": "raw" and "raw": {"normalize": …}.
func ParseRawSpec(b []byte) (*RawStreamSpec, error) {
	if len(b) > MaxSpecBytes {
		return nil, fmt.Errorf("a stream spec of %d bytes: the limit is %d", len(b), MaxSpecBytes)
	}
	var s struct {
		ID   string `json:"id"`
		Mode string `json:"mode"`
		Raw  *struct {
			Normalize *digest.Normalize `json:"normalize"`
		} `json:"raw"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("not a stream spec (a JSON object with \"id\", \"mode\" and \"raw\"): %w", err)
	}
	switch {
	case s.ID == "":
		return nil, errors.New("the stream spec has no \"id\"")
	case s.Mode != "raw" || s.Raw == nil:
		return nil, fmt.Errorf("stream %q's spec is not a raw stream's (mode %q): only a raw stream's data is normalised", s.ID, s.Mode)
	case s.Raw.Normalize == nil:
		return nil, fmt.Errorf("stream %q's spec has no \"raw\".\"normalize\" (write {} for none)", s.ID)
	}
	if err := s.Raw.Normalize.Validate(); err != nil {
		return nil, fmt.Errorf("stream %q's spec: %w", s.ID, err)
	}
	return &RawStreamSpec{ID: s.ID, Normalize: *s.Raw.Normalize}, nil
}

// VerifyWithSpec is VerifyCached for a raw record of a stream registered
// by transaction, whose normalisation the genesis does not hold: spec's is
// applied to data. Every other link is checked as by Verify. The spec is
// taken on the caller's word — a receipt does not prove which spec the
// chain registered — but a wrong one cannot make wrong data pass: the
// digest still has to equal the one the validators agreed on.
func VerifyWithSpec(r *Receipt, genesis *cmttypes.GenesisDoc, data []byte, spec *RawStreamSpec, cache *Cache) error {
	if spec == nil {
		return VerifyCached(r, genesis, data, cache)
	}
	return verify(r, genesis, data, cache, spec)
}

// GenesisDeclaresRaw reports whether the genesis declares stream as a raw
// stream (so its normalisation comes from there, not from a spec).
func GenesisDeclaresRaw(genesis *cmttypes.GenesisDoc, stream string) bool {
	if genesis == nil {
		return false
	}
	gs, err := trustedGenesis(genesis.AppState)
	if err != nil {
		return false
	}
	_, ok := gs.Raw[stream]
	return ok
}

func sameNormalize(a, b digest.Normalize) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// checkRawData recomputes a raw record's digest from the captured
// messages with the stream's declared normalisation: the genesis's, or
// for a stream registered by transaction the given spec's.
func checkRawData(gs *genesisSet, rec *wire.Record, data []byte, spec *RawStreamSpec) error {
	norm, ok := gs.Raw[rec.Stream]
	from := "the genesis's normalisation"
	if spec != nil {
		switch {
		case spec.ID != rec.Stream:
			return broken("data", "the given spec is stream %q's, the record is of stream %q", spec.ID, rec.Stream)
		case ok && !sameNormalize(norm, spec.Normalize):
			return broken("data", "the genesis declares raw stream %s with another normalisation than the given spec's; the genesis's is the one its validators apply: leave the spec out", rec.Stream)
		case !ok:
			norm, from = spec.Normalize, "the normalisation of the given spec (not from the genesis)"
		}
	} else if !ok {
		return broken("data", "stream %s is not a raw stream of the genesis (it was registered by transaction), so its normalisation is not known here: give its spec, the JSON its owner registered or GET /v1/streams/%s, with --spec", rec.Stream, rec.Stream)
	}
	msgs, err := ParseCaptured(data)
	if err != nil {
		return broken("data", "want the messages as a JSON array or one per line: %v", err)
	}
	hint := "were all messages from chunk " + rec.Raw.ID.String() + " up to the next chunk's first captured?"
	if spec != nil && !ok {
		hint = "either the spec is not the one stream " + rec.Stream + " was registered with (GET /v1/streams/" + rec.Stream + " shows it), or not all messages from chunk " + rec.Raw.ID.String() + " up to the next chunk's first were captured"
	}
	d, err := digest.ComputeRaw(rec.Stream, norm, digest.Digest(rec.Raw.ID), digest.Digest(rec.Raw.Close), msgs)
	if err != nil {
		return broken("data", "with %s: %v; %s", from, err, hint)
	}
	if wire.Digest(d) != rec.Digest {
		return broken("data", "with %s the messages digest to %s, the record's is %s: %s", from, d, rec.Digest, hint)
	}
	return nil
}
