// Package verifier is what the browser verifier runs: Check verifies a
// file receipt or a chunk's receipt against a genesis and optionally the data,
// answering in the words a page shows. It is ordinary Go, tested natively;
// package receipt/wasm compiles it for the browser.
package verifier

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/app/wire"
	"github.com/datadragon/datadragon/receipt"
	"github.com/datadragon/datadragon/receipt/ddr"
)

// Result is Check's answer, as the page shows it.
type Result struct {
	Valid bool   `json:"valid"`
	Link  string `json:"link,omitempty"` // the broken link when not valid
	Error string `json:"error,omitempty"`
	// Kind is "file receipt" (.ddr) or "receipt" (a chunk's JSON).
	Kind string `json:"kind,omitempty"`
	// The genesis trusted: its chain and the SHA-256 of its bytes.
	ChainID       string   `json:"chain_id,omitempty"`
	GenesisSHA256 string   `json:"genesis_sha256,omitempty"`
	Records       []Record `json:"records,omitempty"`
	// DataBytes is the size of the data checked, -1 if none.
	DataBytes int64 `json:"data_bytes"`
	// Whole: every byte of the data lies in exactly one chunk.
	Whole bool `json:"whole"`
	// VerdictsOK: every record's verdict is ok.
	VerdictsOK bool `json:"verdicts_ok"`
}

// Record is one verified record.
type Record struct {
	Stream    string   `json:"stream"`
	Index     uint64   `json:"index"`
	Digest    string   `json:"digest"`
	Verdict   string   `json:"verdict"`
	OK        bool     `json:"ok"`
	Observed  string   `json:"observed"`
	Height    int64    `json:"height"`
	Committed string   `json:"committed"`
	Pushed    bool     `json:"pushed"`
	Offset    uint64   `json:"offset"`
	Bytes     uint64   `json:"bytes"`
	Attesters []string `json:"attested_by"`
	Data      bool     `json:"data_checked"`
	// Judgements are experts' endorsements and disputes whose signatures hold.
	Judgements []Judgement `json:"judgements,omitempty"`
}

// Judgement is an expert's verified endorsement or dispute.
type Judgement struct {
	Expert    string `json:"expert"`
	Dispute   bool   `json:"dispute"`
	Note      string `json:"note,omitempty"`
	InGenesis bool   `json:"in_genesis"`
}

// Check verifies a receipt — a file receipt (.ddr) or a chunk's JSON
// receipt — against the genesis (CometBFT's genesis.json bytes) and, if
// data is not nil, the data: the pushed file, or an observed chunk's
// messages. It never panics on any input.
func Check(rcpt, genesis, data []byte) (res Result) {
	res.DataBytes = -1
	defer func() {
		if p := recover(); p != nil {
			res = Result{DataBytes: -1, Link: "receipt", Error: fmt.Sprintf("the verifier failed on this input: %v", p)}
		}
	}()
	g, err := readGenesis(genesis)
	if err != nil {
		res.Link, res.Error = "genesis", err.Error()
		return res
	}
	sum := sha256.Sum256(genesis)
	res.ChainID, res.GenesisSHA256 = g.ChainID, hex.EncodeToString(sum[:])
	if data != nil {
		res.DataBytes = int64(len(data))
	}
	fail := func(err error) Result {
		res.Link = receipt.BrokenLink(err)
		if res.Link == "" {
			res.Link = "receipt"
		}
		res.Error = err.Error()
		return res
	}
	if ddr.IsDDR(rcpt) {
		res.Kind = "file receipt"
		f, err := ddr.Decode(rcpt)
		if err != nil {
			return fail(err)
		}
		var rep *ddr.Report
		if data != nil {
			rep, err = ddr.Verify(f, g, bytes.NewReader(data), int64(len(data)))
		} else {
			rep, err = ddr.Verify(f, g, nil, 0)
		}
		if err != nil {
			return fail(err)
		}
		for _, c := range rep.Records {
			res.Records = append(res.Records, Record{Stream: c.Stream, Index: c.Index, Digest: c.Digest.String(), Verdict: ddr.Verdict(c.Verdict),
				OK: c.Verdict == wire.OK, Observed: ms(c.TimeMs), Height: c.Height, Committed: c.BlockTime.UTC().Format(time.RFC3339),
				Pushed: c.Pushed, Offset: c.Offset, Bytes: c.Bytes, Attesters: c.Attesters, Data: c.Data})
			for _, j := range c.Judgements {
				last := &res.Records[len(res.Records)-1]
				last.Judgements = append(last.Judgements, Judgement{Expert: hex.EncodeToString(j.Expert), Dispute: j.Dispute, Note: j.Note, InGenesis: j.InGenesis})
			}
		}
		res.Whole = rep.Whole
	} else {
		res.Kind = "receipt"
		r, err := receipt.Parse(rcpt)
		if err != nil {
			if b := bytes.TrimSpace(rcpt); len(b) > 0 && b[0] == '[' {
				return fail(errors.New("this is a bundle of receipts (a JSON array): check them one at a time, or use the file receipt (.ddr)"))
			}
			return fail(fmt.Errorf("this is not a receipt: %s", trimNotReceipt(err)))
		}
		if err := receipt.Verify(r, g, data); err != nil {
			return fail(err)
		}
		rec, _ := wire.UnmarshalRecord(r.Record)
		c := Record{Stream: rec.Stream, Index: rec.Index, Digest: rec.Digest.String(), Verdict: ddr.Verdict(rec.Verdict), OK: rec.Verdict == wire.OK,
			Observed: ms(rec.TimeMs), Height: rec.DecidedHeight, Committed: r.Header.Time.UTC().Format(time.RFC3339), Data: data != nil}
		if p := rec.Push; p != nil {
			c.Pushed, c.Offset, c.Bytes = true, p.Offset, p.Bytes()
			res.Whole = data != nil && p.Offset == 0 && p.Bytes() == uint64(len(data))
		}
		for _, a := range r.Attestations {
			for _, v := range r.Validators {
				if bytes.Equal(v.Address, a.Validator) {
					n := v.Name
					if n == "" {
						n = v.Address.String()
					}
					c.Attesters = append(c.Attesters, n)
				}
			}
		}
		res.Records = []Record{c}
	}
	res.Valid, res.VerdictsOK = true, true
	for _, c := range res.Records {
		res.VerdictsOK = res.VerdictsOK && c.OK
	}
	return res
}

func trimNotReceipt(err error) string {
	s := err.Error()
	for _, p := range []string{"receipt: ", "not a receipt: "} {
		s = string(bytes.TrimPrefix([]byte(s), []byte(p)))
	}
	return s
}

// readGenesis reads the trusted genesis, saying what a file given as one
// is when it is not.
func readGenesis(b []byte) (*cmttypes.GenesisDoc, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errors.New("no genesis: give the network's genesis.json (the trusted file receipts are checked against)")
	}
	g, err := cmttypes.GenesisDocFromJSON(b)
	if err == nil {
		return g, nil
	}
	if ddr.IsDDR(b) {
		return nil, errors.New("the genesis given is a file receipt (.ddr): give the network's genesis.json as the genesis")
	}
	if _, perr := receipt.Parse(b); perr == nil {
		return nil, errors.New("the genesis given is a receipt: give the network's genesis.json as the genesis")
	}
	return nil, fmt.Errorf("the genesis given is not a genesis.json CometBFT reads: %v", err)
}

func ms(t int64) string { return time.UnixMilli(t).UTC().Format("2006-01-02T15:04:05.000Z") }

// Build assembles the file receipt (.ddr bytes) of bundle, a JSON array
// of chunks' receipts as the explorer's upload page collects them, keeping
// the fewest signatures above the threshold num/den (0/0 keeps all).
func Build(bundle []byte, num, den uint64) ([]byte, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(bundle, &items); err != nil {
		return nil, fmt.Errorf("want a JSON array of receipts: %v", err)
	}
	var rs []*receipt.Receipt
	for i, it := range items {
		r, err := receipt.Parse(it)
		if err != nil {
			return nil, fmt.Errorf("receipt %d: %v", i, err)
		}
		rs = append(rs, r)
	}
	f, err := ddr.From(rs, ddr.Threshold{Numerator: num, Denominator: den})
	if err != nil {
		return nil, err
	}
	return ddr.Encode(f)
}
