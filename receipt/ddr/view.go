package ddr

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
)

// JSON is the JSON view of a file receipt ('datadragon receipt show'):
// every part, hashes in hex, signatures in base64, each record decoded,
// and what each part costs in the binary file. It is for reading; the
// .ddr is what verifies.
type JSON struct {
	Format     string              `json:"format"`
	Version    int                 `json:"version"`
	ChainID    string              `json:"chain_id"`
	Validators []receipt.Validator `json:"validators"`
	History    int                 `json:"validator_set_changes"`
	Blocks     []JSONBlock         `json:"blocks"`
	Extensions []JSONExtension     `json:"extensions"`
	Records    []JSONRecord        `json:"records"`
	Judgements []JSONJudgement     `json:"judgements"`
	Sizes      Sizes               `json:"bytes"`
}

// JSONJudgement is an expert's judgement of the view.
type JSONJudgement struct {
	Record    int    `json:"record"` // index in records
	Dispute   bool   `json:"dispute"`
	Note      string `json:"note,omitempty"`
	Expert    string `json:"expert"`
	Signature []byte `json:"signature"`
}

// JSONBlock is a block of the view.
type JSONBlock struct {
	Height        int64     `json:"height"`
	PrevAppHash   string    `json:"prev_app_hash"`
	RecordRoot    string    `json:"record_root"`
	ChangesetHash string    `json:"changeset_hash"`
	NextHeader    string    `json:"next_header_hash"`
	Time          time.Time `json:"next_header_time"`
	AppHash       string    `json:"app_hash"`
	Signatures    int       `json:"commit_signatures"`
}

// JSONExtension is an extension of the view.
type JSONExtension struct {
	Validator string `json:"validator"`
	Height    int64  `json:"height"`
	Root      string `json:"root"`
	Signature []byte `json:"signature"`
}

// JSONRecord is a record of the view.
type JSONRecord struct {
	Stream            string   `json:"stream"`
	Index             uint64   `json:"index"`
	Status            string   `json:"status,omitempty"`
	Digest            string   `json:"digest,omitempty"`
	Verdict           string   `json:"verdict,omitempty"`
	Time              string   `json:"time,omitempty"`
	Offset            *uint64  `json:"offset,omitempty"`
	Bytes             *uint64  `json:"bytes,omitempty"`
	Block             int64    `json:"block_height"`
	Attestations      []string `json:"attested_by"`
	ProducerSignature []byte   `json:"producer_signature,omitempty"`
	Record            string   `json:"record"`
	Error             string   `json:"error,omitempty"`
}

// View returns f's JSON view.
func View(f *File) *JSON {
	s, _ := Measure(f)
	v := &JSON{Format: "datadragon file receipt (.ddr)", Version: Version, ChainID: f.ChainID, Validators: f.Validators,
		History: len(f.History), Sizes: s}
	for _, j := range f.Judgements {
		v.Judgements = append(v.Judgements, JSONJudgement{Record: j.Record, Dispute: j.Dispute, Note: j.Note, Expert: hex.EncodeToString(j.Expert), Signature: j.Signature})
	}
	for _, b := range f.Blocks {
		jb := JSONBlock{Height: b.Height, PrevAppHash: hex.EncodeToString(b.PrevAppHash), RecordRoot: hex.EncodeToString(b.RecordRoot[:]),
			ChangesetHash: hex.EncodeToString(b.ChangesetHash[:])}
		if b.Header != nil {
			jb.NextHeader, jb.Time, jb.AppHash = hex.EncodeToString(b.Header.Hash()), b.Header.Time, hex.EncodeToString(b.Header.AppHash)
		}
		if b.Commit != nil {
			for _, cs := range b.Commit.Signatures {
				if len(cs.Signature) > 0 {
					jb.Signatures++
				}
			}
		}
		v.Blocks = append(v.Blocks, jb)
	}
	name := func(i int) string {
		if i < len(f.Validators) {
			return validatorName(f.Validators[i])
		}
		return "?"
	}
	for _, e := range f.Extensions {
		v.Extensions = append(v.Extensions, JSONExtension{Validator: name(e.Validator), Height: e.Height, Root: hex.EncodeToString(e.Root[:]), Signature: e.Signature})
	}
	for _, rc := range f.Records {
		jr := JSONRecord{Record: hex.EncodeToString(rc.Record), ProducerSignature: rc.ProducerSignature}
		if rc.Block < len(f.Blocks) {
			jr.Block = f.Blocks[rc.Block].Height
		}
		for _, a := range rc.Attestations {
			if a.Extension < len(f.Extensions) {
				e := f.Extensions[a.Extension]
				jr.Attestations = append(jr.Attestations, name(e.Validator))
			}
		}
		rec, err := wire.UnmarshalRecord(rc.Record)
		if err != nil {
			jr.Error = err.Error()
		} else {
			jr.Stream, jr.Index, jr.Status, jr.Digest, jr.Verdict = rec.Stream, rec.Index, rec.Status.String(), rec.Digest.String(), Verdict(rec.Verdict)
			jr.Time = time.UnixMilli(rec.TimeMs).UTC().Format(time.RFC3339Nano)
			if p := rec.Push; p != nil {
				off, n := p.Offset, p.Bytes()
				jr.Offset, jr.Bytes = &off, &n
			}
		}
		v.Records = append(v.Records, jr)
	}
	return v
}

// Verdict says a verdict in words: "ok", or which rule the chunk broke.
func Verdict(v wire.Verdict) string {
	switch v.Kind {
	case wire.VerdictOK:
		return "ok"
	case wire.VerdictViolation:
		return "rule violation (rule " + strconv.FormatUint(uint64(v.Code), 10) + ")"
	case wire.VerdictGap:
		return "gap (frames missed)"
	}
	return v.String()
}
