package ddr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	cmtproto "github.com/cometbft/cometbft/api/cometbft/types/v1"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/datadragon/datadragon/receipt"
)

// Magic opens every .ddr file: a byte that is not text (so a .ddr is never
// taken for JSON or mangled silently by a text transfer, as PNG's magic
// does), "DDR", and line-ending bytes a text conversion would change.
const Magic = "\x89DDR\r\n\x1a\n"

// Version is the format version this package writes and reads.
const Version = 1

// Ext is the file name extension of file receipts.
const Ext = ".ddr"

// Limits of the decoder: every length is checked against them before
// anything is allocated.
const (
	MaxFileBytes      = 64 << 20 // a whole .ddr
	maxString         = 256      // chain id, names, key types
	maxKey            = 256      // addresses and public keys
	maxValidators     = 1024     // wire.MaxVotes
	maxHashBytes      = 64       // prev app hash
	maxHeaderBytes    = 64 << 10
	maxCommitBytes    = 1 << 20
	maxSignatureBytes = 48 << 10 // wire.MaxSignatureBytes
	maxRecordBytes    = 1 << 20
	maxPath           = 64
	maxPower          = 1 << 62
	maxNoteBytes      = 1024 // wire.MaxNoteBytes
	// Item counts, so that no small hostile file makes the decoder hold
	// much more than its own size: 65,536 chunks are 64 GiB in 1 MiB
	// chunks, 1 TiB in 16 MiB ones.
	maxBlocks         = 1 << 16
	maxExtensions     = 1 << 18
	maxRecords        = 1 << 16
	maxAttestations   = 1 << 20 // in all records together
	maxJudgements     = 1 << 16
	maxJudgementBytes = 64 << 10
)

// File is a decoded file receipt.
type File struct {
	ChainID    string
	Validators []receipt.Validator
	// History is reserved for validator-set changes between the genesis
	// and the records' blocks; version 1 writes none and Verify refuses a
	// file that has any, so adding them later does not change the format.
	History    [][]byte
	Blocks     []Block
	Extensions []Extension
	Records    []Record
	// Judgements are experts' signed endorsements and disputes of the
	// records, each checked offline against the expert's signature.
	Judgements []Judgement
	// Summaries and Links (version 2, summary.go) prove extensions whose
	// signature the validator's epoch summary stands for.
	Summaries []SummarySig
	Links     []Link
}

// Block is one deciding block: its app-hash inputs and the header and
// commit of the next height (whose app hash is the block's).
type Block struct {
	Height        int64
	PrevAppHash   []byte
	RecordRoot    [32]byte
	ChangesetHash [32]byte
	Header        *cmttypes.Header
	Commit        *cmttypes.Commit
}

// Extension is one validator's vote extension at one height, reduced to
// its attestation root and Ziggy signature; records point into it.
type Extension struct {
	Validator int // index in Validators
	Height    int64
	Root      [32]byte
	Signature []byte
}

// Record is one chunk's record and where its proofs lie.
type Record struct {
	Record            []byte // wire.Record canonical encoding
	Block             int    // index in Blocks
	Leaf, Leaves      int    // place in the block's record root
	Path              [][32]byte
	ProducerSignature []byte
	Attestations      []Attestation
}

// Attestation places a record's attestation in one Extension.
type Attestation struct {
	Extension    int // index in Extensions
	Leaf, Leaves int
	Path         [][32]byte
}

// Judgement is an expert's endorsement (or dispute) of a record: the
// Ziggy signature of Expert over wire.ExpertSignBytes of the record's
// stream, index and digest, Dispute and Note.
type Judgement struct {
	Record    int // index in Records
	Dispute   bool
	Note      string
	Expert    []byte
	Signature []byte
}

// ---- encoding ----

type writer struct{ b []byte }

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) int(v int)        { w.uvarint(uint64(v)) }
func (w *writer) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.b = append(w.b, b...) }
func (w *writer) str(s string)     { w.bytes([]byte(s)) }
func (w *writer) path(p [][32]byte) {
	w.int(len(p))
	for _, h := range p {
		w.b = append(w.b, h[:]...)
	}
}

// Sizes says how many bytes each part of an encoded file takes.
type Sizes struct {
	Total, Head, Validators, History, Blocks, Extensions, Signatures, Records, Attestations, ProducerSignatures, Judgements, Summaries int
}

// Encode returns f's canonical encoding.
func Encode(f *File) ([]byte, error) {
	b, _, err := encode(f)
	return b, err
}

// Measure returns what each part of f's encoding costs.
func Measure(f *File) (Sizes, error) {
	_, s, err := encode(f)
	return s, err
}

func encode(f *File) ([]byte, Sizes, error) {
	var s Sizes
	w := &writer{b: append(make([]byte, 0, 1<<16), Magic...)}
	mark := 0
	part := func(n *int) { *n += len(w.b) - mark; mark = len(w.b) }
	w.uvarint(f.version())
	w.str(f.ChainID)
	part(&s.Head)
	w.int(len(f.Validators))
	for _, v := range f.Validators {
		w.str(v.Name)
		w.bytes(v.Address)
		w.str(v.PubKey.Type)
		w.bytes(v.PubKey.Value)
		w.bytes(v.ZiggyPubKey)
		if v.Power < 0 {
			return nil, s, fmt.Errorf("validator %s has negative power", v.Address)
		}
		w.uvarint(uint64(v.Power))
	}
	part(&s.Validators)
	w.int(len(f.History))
	for _, h := range f.History {
		w.bytes(h)
	}
	part(&s.History)
	w.int(len(f.Blocks))
	for i, bl := range f.Blocks {
		if bl.Header == nil || bl.Commit == nil {
			return nil, s, fmt.Errorf("block %d has no header or commit", i)
		}
		w.uvarint(uint64(bl.Height))
		w.bytes(bl.PrevAppHash)
		w.b = append(w.b, bl.RecordRoot[:]...)
		w.b = append(w.b, bl.ChangesetHash[:]...)
		hb, err := bl.Header.ToProto().Marshal()
		if err != nil {
			return nil, s, fmt.Errorf("block %d header: %w", i, err)
		}
		cb, err := bl.Commit.ToProto().Marshal()
		if err != nil {
			return nil, s, fmt.Errorf("block %d commit: %w", i, err)
		}
		w.bytes(hb)
		w.bytes(cb)
	}
	part(&s.Blocks)
	w.int(len(f.Extensions))
	for _, e := range f.Extensions {
		w.int(e.Validator)
		w.uvarint(uint64(e.Height))
		w.b = append(w.b, e.Root[:]...)
		part(&s.Extensions)
		w.bytes(e.Signature)
		part(&s.Signatures)
	}
	part(&s.Extensions)
	w.int(len(f.Records))
	for _, r := range f.Records {
		w.bytes(r.Record)
		w.int(r.Block)
		w.int(r.Leaf)
		w.int(r.Leaves)
		w.path(r.Path)
		part(&s.Records)
		w.bytes(r.ProducerSignature)
		part(&s.ProducerSignatures)
		w.int(len(r.Attestations))
		for _, a := range r.Attestations {
			w.int(a.Extension)
			w.int(a.Leaf)
			w.int(a.Leaves)
			w.path(a.Path)
		}
		part(&s.Attestations)
	}
	part(&s.Records)
	w.int(len(f.Judgements))
	for _, j := range f.Judgements {
		// Each judgement is length-prefixed, so that later versions can
		// add fields a reader skips.
		jw := &writer{}
		jw.int(j.Record)
		if j.Dispute {
			jw.uvarint(1)
		} else {
			jw.uvarint(0)
		}
		jw.str(j.Note)
		jw.bytes(j.Expert)
		jw.bytes(j.Signature)
		w.bytes(jw.b)
	}
	part(&s.Judgements)
	encodeSummaries(w, f)
	part(&s.Summaries)
	s.Head += len(Magic)
	s.Total = len(w.b)
	return w.b, s, nil
}

// ---- decoding ----

// ErrNotDDR is wrapped by Decode's error for bytes that are not a file
// receipt at all (as opposed to a damaged one).
var ErrNotDDR = errors.New("not a .ddr file receipt")

// IsDDR reports whether b begins like a file receipt.
func IsDDR(b []byte) bool { return bytes.HasPrefix(b, []byte(Magic)) }

type reader struct {
	b   []byte
	err error
	at  string // the part being read, for errors
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = &receipt.LinkError{Link: "encoding", Err: fmt.Errorf("%s: %s", r.at, fmt.Sprintf(format, args...))}
	}
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	if v > max {
		r.fail("%d is above the limit %d", v, max)
		return 0
	}
	return v
}

// count reads a number of items, each at least min bytes long.
func (r *reader) count(max int, min int) int {
	n := r.uvarint(uint64(max))
	if r.err == nil && n*uint64(min) > uint64(len(r.b)) {
		r.fail("%d items cannot fit in the %d bytes left", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) bytes(max int) []byte {
	n := r.uvarint(uint64(max))
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("%d bytes announced, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	if n == 0 {
		return nil
	}
	return out
}

func (r *reader) str(max int) string { return string(r.bytes(max)) }

func (r *reader) hash() (h [32]byte) {
	if r.err != nil {
		return
	}
	if len(r.b) < 32 {
		r.fail("truncated hash")
		return
	}
	copy(h[:], r.b)
	r.b = r.b[32:]
	return
}

func (r *reader) path() [][32]byte {
	n := r.count(maxPath, 32)
	if n == 0 {
		return nil
	}
	p := make([][32]byte, n)
	for i := range p {
		p[i] = r.hash()
	}
	return p
}

func (r *reader) index(n int, what string) int {
	v := r.uvarint(math.MaxInt32)
	if r.err == nil && int(v) >= n {
		r.fail("%s %d of %d", what, v, n)
	}
	return int(v)
}

// Decode reads a file receipt. It refuses anything but the canonical
// encoding of a File, with an error naming the part that is wrong.
func Decode(b []byte) (*File, error) {
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, larger than the %d MiB limit", ErrNotDDR, len(b), MaxFileBytes>>20)
	}
	if !IsDDR(b) {
		return nil, fmt.Errorf("%w: it does not begin with the .ddr signature", ErrNotDDR)
	}
	r := &reader{b: b[len(Magic):], at: "version"}
	version := r.uvarint(math.MaxUint32)
	if r.err == nil && version != Version && version != VersionSummaries {
		return nil, &receipt.LinkError{Link: "version", Err: fmt.Errorf("file receipt version %d, this verifier reads versions %d and %d: use a newer datadragon", version, Version, VersionSummaries)}
	}
	f := &File{}
	r.at = "head"
	f.ChainID = r.str(maxString)

	r.at = "validators"
	f.Validators = make([]receipt.Validator, r.count(maxValidators, 6))
	for i := range f.Validators {
		v := &f.Validators[i]
		v.Name = r.str(maxString)
		v.Address = receipt.HexBytes(r.bytes(maxKey))
		v.PubKey.Type = r.str(maxString)
		v.PubKey.Value = r.bytes(maxKey)
		v.ZiggyPubKey = receipt.HexBytes(r.bytes(maxKey))
		v.Power = int64(r.uvarint(maxPower))
	}

	r.at = "validator-set history"
	for range r.count(1<<16, 1) {
		f.History = append(f.History, r.bytes(MaxFileBytes))
	}

	r.at = "blocks"
	f.Blocks = make([]Block, r.count(maxBlocks, 68))
	for i := range f.Blocks {
		bl := &f.Blocks[i]
		bl.Height = int64(r.uvarint(math.MaxInt64 - 1))
		bl.PrevAppHash = r.bytes(maxHashBytes)
		bl.RecordRoot = r.hash()
		bl.ChangesetHash = r.hash()
		hb := r.bytes(maxHeaderBytes)
		cb := r.bytes(maxCommitBytes)
		if r.err != nil {
			break
		}
		var ph cmtproto.Header
		if err := ph.Unmarshal(hb); err != nil {
			return nil, &receipt.LinkError{Link: "header", Err: fmt.Errorf("block %d: the header does not decode: %v", i, err)}
		}
		h, err := cmttypes.HeaderFromProto(&ph)
		if err != nil {
			return nil, &receipt.LinkError{Link: "header", Err: fmt.Errorf("block %d: %v", i, err)}
		}
		var pc cmtproto.Commit
		if err := pc.Unmarshal(cb); err != nil {
			return nil, &receipt.LinkError{Link: "commit", Err: fmt.Errorf("block %d: the commit does not decode: %v", i, err)}
		}
		c, err := cmttypes.CommitFromProto(&pc)
		if err != nil {
			return nil, &receipt.LinkError{Link: "commit", Err: fmt.Errorf("block %d: %v", i, err)}
		}
		bl.Header, bl.Commit = &h, c
	}

	r.at = "extensions"
	f.Extensions = make([]Extension, r.count(maxExtensions, 35))
	for i := range f.Extensions {
		e := &f.Extensions[i]
		e.Validator = r.index(len(f.Validators), "validator")
		e.Height = int64(r.uvarint(math.MaxInt64 - 1))
		e.Root = r.hash()
		e.Signature = r.bytes(maxSignatureBytes)
	}

	r.at = "records"
	f.Records = make([]Record, r.count(maxRecords, 7))
	attestations := 0
	for i := range f.Records {
		rc := &f.Records[i]
		rc.Record = r.bytes(maxRecordBytes)
		rc.Block = r.index(len(f.Blocks), "block")
		rc.Leaf = int(r.uvarint(math.MaxInt32))
		rc.Leaves = int(r.uvarint(math.MaxInt32))
		rc.Path = r.path()
		rc.ProducerSignature = r.bytes(maxSignatureBytes)
		n := r.count(maxValidators, 4)
		if attestations += n; attestations > maxAttestations {
			r.fail("more than %d attestations in all", maxAttestations)
			break
		}
		if n > 0 {
			rc.Attestations = make([]Attestation, n)
		}
		for j := range rc.Attestations {
			a := &rc.Attestations[j]
			a.Extension = r.index(len(f.Extensions), "extension")
			a.Leaf = int(r.uvarint(math.MaxInt32))
			a.Leaves = int(r.uvarint(math.MaxInt32))
			a.Path = r.path()
		}
	}

	r.at = "judgements"
	for range r.count(maxJudgements, 1) {
		jr := &reader{b: r.bytes(maxJudgementBytes), at: "judgement"}
		if r.err != nil {
			break
		}
		var j Judgement
		j.Record = jr.index(len(f.Records), "record")
		j.Dispute = jr.uvarint(1) == 1
		j.Note = jr.str(maxNoteBytes)
		j.Expert = jr.bytes(maxKey)
		j.Signature = jr.bytes(maxSignatureBytes)
		if jr.err == nil && len(jr.b) > 0 {
			jr.fail("%d bytes after its end", len(jr.b))
		}
		if jr.err != nil {
			r.err = jr.err
			break
		}
		f.Judgements = append(f.Judgements, j)
	}
	decodeSummaries(r, f, version)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		return nil, &receipt.LinkError{Link: "encoding", Err: fmt.Errorf("%d bytes after the end of the receipt", len(r.b))}
	}
	// Canonical: the one encoding of what was read, byte for byte.
	again, err := Encode(f)
	if err != nil {
		return nil, &receipt.LinkError{Link: "encoding", Err: err}
	}
	if !bytes.Equal(again, b) {
		return nil, &receipt.LinkError{Link: "encoding", Err: errors.New("the encoding is not canonical (a number, header or commit written in another form than the format's)")}
	}
	return f, nil
}
