package receipt

import (
	"bytes"
	"encoding/json"

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

// checkRawData recomputes a raw record's digest from the captured
// messages with the stream's declared normalisation (from the genesis).
func checkRawData(gs *genesisSet, rec *wire.Record, data []byte) error {
	norm, ok := gs.Raw[rec.Stream]
	if !ok {
		return broken("data", "stream %s is not a raw stream of the genesis: its normalisation is not known here", rec.Stream)
	}
	msgs, err := ParseCaptured(data)
	if err != nil {
		return broken("data", "want the messages as a JSON array or one per line: %v", err)
	}
	d, err := digest.ComputeRaw(rec.Stream, norm, digest.Digest(rec.Raw.ID), digest.Digest(rec.Raw.Close), msgs)
	if err != nil {
		return broken("data", "%v", err)
	}
	if wire.Digest(d) != rec.Digest {
		return broken("data", "the messages digest to %s, the record's is %s (were all messages from chunk %s up to the next chunk's first captured?)", d, rec.Digest, rec.Raw.ID)
	}
	return nil
}
