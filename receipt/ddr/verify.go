package ddr

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/app/ziggysig"
	"github.com/datadragon/datadragon/receipt"
)

// Report is what a verified file receipt proves.
type Report struct {
	ChainID string
	Records []Checked
	// DataBytes is the size of the data checked, -1 if none was given.
	DataBytes int64
	// Whole: the data was given and the records' chunks tile it, every
	// byte in exactly one chunk.
	Whole bool
}

// Checked is one verified record.
type Checked struct {
	Stream    string
	Index     uint64
	Digest    wire.Digest
	Verdict   wire.Verdict
	TimeMs    int64     // the majority's observation time
	Height    int64     // the block that accepted it
	BlockTime time.Time // the time of the next block's header, which commits it
	Pushed    bool
	Offset    uint64 // of a pushed chunk, in the pushed file
	Bytes     uint64
	Producer  []byte // a signed chunk's producer key
	Attesters []string
	Data      bool // the data was checked against the digest
	// Judgements are the experts' verified endorsements and disputes.
	Judgements []CheckedJudgement
}

// CheckedJudgement is an expert's judgement whose signature holds.
type CheckedJudgement struct {
	Expert  []byte
	Dispute bool
	Note    string
	// InGenesis: the key is one of the stream's experts in the genesis.
	// For a stream registered later the receipt cannot show that the key
	// was one of its experts, only that the key signed.
	InGenesis bool
}

func judgementKind(dispute bool) string {
	if dispute {
		return "dispute"
	}
	return "endorsement"
}

// genesisExperts reads the experts of the genesis's streams: stream id
// → expert key → true. A genesis it cannot read has none.
func genesisExperts(appState []byte) map[string]map[string]bool {
	var st struct {
		Streams []struct {
			ID      string   `json:"id"`
			Experts []string `json:"experts"`
		} `json:"streams"`
	}
	out := map[string]map[string]bool{}
	if json.Unmarshal(appState, &st) != nil {
		return out
	}
	for _, s := range st.Streams {
		for _, e := range s.Experts {
			k, err := hex.DecodeString(strings.TrimPrefix(e, "0x"))
			if err != nil {
				continue
			}
			if out[s.ID] == nil {
				out[s.ID] = map[string]bool{}
			}
			out[s.ID][string(k)] = true
		}
	}
	return out
}

// Verify checks every record of f against the trusted genesis, as
// receipt.Verify checks a chunk's receipt, each shared commit and
// signature once. With data (size bytes; nil for none) a pushed chunk's
// bytes are read from it at the record's offset, an observed chunk's
// messages are the whole of it; every chunk's digest must hold, and for
// pushed chunks the report says whether they cover the data exactly. The
// error is a *receipt.LinkError naming the first broken link.
func Verify(f *File, genesis *cmttypes.GenesisDoc, data io.ReaderAt, size int64) (*Report, error) {
	if len(f.Records) == 0 {
		return nil, &receipt.LinkError{Link: "record", Err: errors.New("the file receipt holds no record")}
	}
	// Every block and extension must serve a record: bytes nothing checks
	// have no place in a receipt.
	usedB, usedE := make([]bool, len(f.Blocks)), make([]bool, len(f.Extensions))
	for i, rc := range f.Records {
		if rc.Block < 0 || rc.Block >= len(f.Blocks) {
			return nil, &receipt.LinkError{Link: "block", Err: fmt.Errorf("record %d names block %d of %d", i, rc.Block, len(f.Blocks))}
		}
		usedB[rc.Block] = true
		for _, a := range rc.Attestations {
			if a.Extension < 0 || a.Extension >= len(f.Extensions) {
				return nil, &receipt.LinkError{Link: "attestations", Err: fmt.Errorf("record %d names extension %d of %d", i, a.Extension, len(f.Extensions))}
			}
			usedE[a.Extension] = true
		}
	}
	if i := slices.Index(usedB, false); i >= 0 {
		return nil, &receipt.LinkError{Link: "block", Err: fmt.Errorf("block %d (height %d) serves no record", i, f.Blocks[i].Height)}
	}
	if i := slices.Index(usedE, false); i >= 0 {
		return nil, &receipt.LinkError{Link: "attestations", Err: fmt.Errorf("the extension of validator %d at height %d serves no record", f.Extensions[i].Validator, f.Extensions[i].Height)}
	}
	if ch := f.changes(); len(ch) > 0 {
		var top int64
		for _, b := range f.Blocks {
			top = max(top, b.Height)
		}
		if last := ch[len(ch)-1].From; last > top+1 {
			return nil, &receipt.LinkError{Link: "history", Err: fmt.Errorf("the last validator-set change is in force from height %d, after every record's block (the last is %d): it serves no record", last, top)}
		}
	}
	if err := checkSummaries(f); err != nil {
		return nil, err
	}
	rep := &Report{ChainID: f.ChainID, DataBytes: -1}
	if data != nil {
		rep.DataBytes = size
	}
	cache := receipt.NewCache()
	var observed []byte // an observed chunk's messages: the whole data, read once
	for i, r := range f.Receipts() {
		rec, err := wire.UnmarshalRecord(r.Record)
		if err != nil {
			return rep, &receipt.LinkError{Link: "record", Err: fmt.Errorf("record %d: %v", i, err)}
		}
		var chunk []byte
		if data != nil {
			if rec.Push != nil {
				n, off := rec.Push.Bytes(), rec.Push.Offset
				if n > maxRecordChunk || uint64(size) < off+n {
					return rep, &receipt.LinkError{Link: "data", Err: fmt.Errorf("%s/%d: the data is %d bytes; the chunk is bytes %d to %d of the pushed file", rec.Stream, rec.Index, size, off, off+n)}
				}
				chunk = make([]byte, n)
				if _, err := data.ReadAt(chunk, int64(off)); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
					return rep, fmt.Errorf("reading the data at byte %d: %w", off, err)
				}
			} else {
				if observed == nil {
					if size > MaxFileBytes {
						return rep, &receipt.LinkError{Link: "data", Err: fmt.Errorf("an observed chunk's messages (JSON) of %d bytes: larger than %d MiB", size, MaxFileBytes>>20)}
					}
					observed = make([]byte, size)
					if _, err := data.ReadAt(observed, 0); err != nil && !errors.Is(err, io.EOF) {
						return rep, fmt.Errorf("reading the data: %w", err)
					}
				}
				chunk = observed
			}
		}
		if err := receipt.VerifyCached(r, genesis, chunk, cache); err != nil {
			var le *receipt.LinkError
			if errors.As(err, &le) {
				where := ""
				if rec.Push != nil {
					where = fmt.Sprintf(" (bytes %d to %d of the file)", rec.Push.Offset, rec.Push.Offset+rec.Push.Bytes())
				}
				return rep, &receipt.LinkError{Link: le.Link, Err: fmt.Errorf("%s/%d%s: %w", rec.Stream, rec.Index, where, le.Err)}
			}
			return rep, err
		}
		c := Checked{Stream: rec.Stream, Index: rec.Index, Digest: rec.Digest, Verdict: rec.Verdict, TimeMs: rec.TimeMs,
			Height: rec.DecidedHeight, BlockTime: r.Header.Time, Data: chunk != nil}
		if p := rec.Push; p != nil {
			c.Pushed, c.Offset, c.Bytes, c.Producer = true, p.Offset, p.Bytes(), p.Producer
		}
		for _, a := range r.Attestations {
			for _, v := range f.Validators {
				if string(v.Address) == string(a.Validator) {
					c.Attesters = append(c.Attesters, validatorName(v))
				}
			}
		}
		rep.Records = append(rep.Records, c)
	}
	if data != nil {
		rep.Whole = tiles(rep.Records, uint64(size))
	}
	experts := genesisExperts(genesis.AppState)
	for _, j := range f.Judgements {
		if j.Record < 0 || j.Record >= len(rep.Records) {
			return rep, &receipt.LinkError{Link: "judgements", Err: fmt.Errorf("a judgement names record %d of %d", j.Record, len(rep.Records))}
		}
		c := &rep.Records[j.Record]
		msg := wire.ExpertSignBytes(f.ChainID, c.Stream, c.Index, c.Digest, j.Dispute, j.Note)
		if err := (ziggysig.Scheme{}).Verify(j.Expert, msg, j.Signature); err != nil {
			return rep, &receipt.LinkError{Link: "judgements", Err: fmt.Errorf("%s/%d: the %s of expert %x does not verify against its key: it was forged or altered (%v)",
				c.Stream, c.Index, judgementKind(j.Dispute), j.Expert, err)}
		}
		c.Judgements = append(c.Judgements, CheckedJudgement{Expert: j.Expert, Dispute: j.Dispute, Note: j.Note, InGenesis: experts[c.Stream][string(j.Expert)]})
	}
	return rep, nil
}

// maxRecordChunk bounds the chunk Verify reads for one record.
const maxRecordChunk = 1 << 31

// tiles reports whether the pushed chunks cover [0, size) exactly.
func tiles(cs []Checked, size uint64) bool {
	var spans [][2]uint64
	for _, c := range cs {
		if !c.Pushed {
			return false
		}
		spans = append(spans, [2]uint64{c.Offset, c.Bytes})
	}
	slices.SortFunc(spans, func(a, b [2]uint64) int {
		if a[0] < b[0] {
			return -1
		} else if a[0] > b[0] {
			return 1
		}
		return 0
	})
	var at uint64
	for _, s := range spans {
		if s[0] != at {
			return false
		}
		at += s[1]
	}
	return at == size
}

func validatorName(v receipt.Validator) string {
	if v.Name != "" {
		return v.Name
	}
	return v.Address.String()
}
