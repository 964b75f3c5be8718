package stark

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/merkle"
)

// Proof is a STARK proof. It carries its options so the verifier can hold
// them against its security floor; every count in it is checked against
// what the verifier derives from the AIR and the options.
type Proof struct {
	Options        Options
	LogTraceLength int

	TraceRoot       merkle.Digest
	CompositionRoot merkle.Digest
	// Out-of-domain values: every trace column at z and at g·z, every
	// composition column at z.
	OODTrace       []field.Ext
	OODTraceNext   []field.Ext
	OODComposition []field.Ext
	FRIRoots       []merkle.Digest
	// Remainder holds the coefficients of the last FRI layer.
	Remainder []field.Ext
	Nonce     uint64

	Trace       BaseOpening
	Composition ExtOpening
	FRI         []ExtOpening
	// Salts holds, for zero-knowledge proofs, the salt of each opened
	// position (in leaf order), hashed into both its trace and its
	// composition leaf; nil otherwise.
	Salts []Salt
}

// saltSize is the number of random bytes hashed into the trace and
// composition leaves of a position in a zero-knowledge proof.
const saltSize = 16

// Salt is the salt of one position's trace and composition leaves.
type Salt [saltSize]byte

// BaseOpening is a set of opened Merkle leaves of base-field values (in
// increasing leaf order) with their compact multi-proof. A trace leaf holds
// the rows of x and −x, so its row is twice the trace width.
type BaseOpening struct {
	Rows  [][]field.Element
	Nodes []merkle.Digest
}

// ExtOpening is BaseOpening over the extension field.
type ExtOpening struct {
	Rows  [][]field.Ext
	Nodes []merkle.Digest
}

// proofMagic starts every encoded proof; the last byte is the version.
// Version 2 proofs come from the version 2 transcript (protocolID), which
// binds the whole statement; version 1 proofs would not verify, so they
// are refused by version.
var proofMagic = [8]byte{'D', 'D', 'S', 'T', 'A', 'R', 'K', 2}

// Decoder limits, so a hostile encoding cannot make the decoder allocate
// more than a few megabytes before the verifier looks at it.
const (
	// Overlapping zero-knowledge segments (stride > n/2) at most double
	// the count; one more for the mask.
	maxCompositionWidth = 2*MaxDegree + 2
	maxFRILayers        = 32
	maxProofNodes       = MaxQueries * 40
	// MaxProofSize bounds an encoded proof.
	MaxProofSize = 8 << 20
)

// MarshalBinary encodes the proof canonically: one proof, one encoding.
func (p *Proof) MarshalBinary() ([]byte, error) {
	if err := p.Options.Validate(); err != nil {
		return nil, err
	}
	o := p.Options
	b := append([]byte(nil), proofMagic[:]...)
	b = append(b, byte(bits.TrailingZeros(uint(o.Blowup))))
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Queries))
	b = append(b, byte(o.GrindingBits), byte(bits.TrailingZeros(uint(o.FoldingFactor))))
	b = binary.LittleEndian.AppendUint16(b, uint16(o.LastLayerDegree))
	b = append(b, boolByte(o.ZeroKnowledge), byte(p.LogTraceLength))
	b = append(b, p.TraceRoot[:]...)
	b = append(b, p.CompositionRoot[:]...)
	if len(p.OODTrace) != len(p.OODTraceNext) {
		return nil, errors.New("stark: out-of-domain rows differ in width")
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.OODTrace)))
	b = appendExts(appendExts(b, p.OODTrace), p.OODTraceNext)
	b = append(b, byte(len(p.OODComposition)))
	b = appendExts(b, p.OODComposition)
	b = append(b, byte(len(p.FRIRoots)))
	for _, r := range p.FRIRoots {
		b = append(b, r[:]...)
	}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Remainder)))
	b = appendExts(b, p.Remainder)
	b = binary.LittleEndian.AppendUint64(b, p.Nonce)

	b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Trace.Rows)))
	for _, row := range p.Trace.Rows {
		if len(row) != 2*len(p.OODTrace) {
			return nil, errors.New("stark: trace opening width differs from the trace")
		}
		for _, v := range row {
			b = v.AppendBytes(b)
		}
	}
	b = appendNodes(b, p.Trace.Nodes)
	var err error
	if b, err = appendExtOpening(b, &p.Composition, 2*len(p.OODComposition)); err != nil {
		return nil, err
	}
	if len(p.FRI) != len(p.FRIRoots) {
		return nil, errors.New("stark: FRI openings and roots differ in number")
	}
	for i := range p.FRI {
		if b, err = appendExtOpening(b, &p.FRI[i], o.FoldingFactor); err != nil {
			return nil, err
		}
	}
	// Salts, one pair per opened row, only with zero knowledge: their
	// count follows from the rows, so it is not written.
	if (o.ZeroKnowledge && len(p.Salts) != len(p.Trace.Rows)) || (!o.ZeroKnowledge && len(p.Salts) != 0) {
		return nil, errors.New("stark: salts do not match the opened rows and the zero-knowledge option")
	}
	for _, s := range p.Salts {
		b = append(b, s[:]...)
	}
	return b, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendExts(b []byte, v []field.Ext) []byte {
	for _, x := range v {
		b = x.AppendBytes(b)
	}
	return b
}

func appendNodes(b []byte, nodes []merkle.Digest) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(nodes)))
	for _, d := range nodes {
		b = append(b, d[:]...)
	}
	return b
}

func appendExtOpening(b []byte, o *ExtOpening, width int) ([]byte, error) {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(o.Rows)))
	for _, row := range o.Rows {
		if len(row) != width {
			return nil, fmt.Errorf("stark: opened row has %d values, want %d", len(row), width)
		}
		b = appendExts(b, row)
	}
	return appendNodes(b, o.Nodes), nil
}

// reader decodes with bounds checks; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("stark: malformed proof: "+format, args...)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.take(2)
	if v == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(v))
}

func (r *reader) u32() int {
	v := r.take(4)
	if v == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint32(v))
}

func (r *reader) u64() uint64 {
	v := r.take(8)
	if v == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(v)
}

func (r *reader) digest() (d merkle.Digest) {
	copy(d[:], r.take(len(d)))
	return d
}

// count reads a length and checks it against a limit before anything is
// allocated for it.
func (r *reader) count(v, limit int, what string) int {
	if r.err == nil && v > limit {
		r.fail("%d %s exceed the limit %d", v, what, limit)
	}
	if r.err != nil {
		return 0
	}
	return v
}

func (r *reader) base() field.Element {
	v := r.take(field.Bytes)
	if v == nil {
		return field.Element{}
	}
	e, err := field.FromBytes(v)
	if err != nil {
		r.fail("%v", err)
	}
	return e
}

func (r *reader) ext() field.Ext {
	v := r.take(field.ExtBytes)
	if v == nil {
		return field.Ext{}
	}
	e, err := field.ExtFromBytes(v)
	if err != nil {
		r.fail("%v", err)
	}
	return e
}

func (r *reader) exts(n int) []field.Ext {
	if r.err != nil || n*field.ExtBytes > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := make([]field.Ext, n)
	for i := range out {
		out[i] = r.ext()
	}
	return out
}

func (r *reader) nodes() []merkle.Digest {
	n := r.count(r.u32(), maxProofNodes, "Merkle nodes")
	if r.err != nil || n*len(merkle.Digest{}) > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := make([]merkle.Digest, n)
	for i := range out {
		out[i] = r.digest()
	}
	return out
}

func (r *reader) extOpening(width int) ExtOpening {
	rows := r.count(r.u16(), MaxQueries, "opened rows")
	var o ExtOpening
	if rows*width*field.ExtBytes > len(r.b) {
		r.fail("truncated")
		return o
	}
	o.Rows = make([][]field.Ext, rows)
	for i := range o.Rows {
		o.Rows[i] = r.exts(width)
	}
	o.Nodes = r.nodes()
	return o
}

// ParseProof decodes a proof. It checks structure and limits only; whether
// the proof is valid is for Verify. It never panics on any input.
func ParseProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("stark: proof of %d bytes exceeds the %d-byte limit", len(b), MaxProofSize)
	}
	r := &reader{b: b}
	if m := r.take(len(proofMagic)); m == nil || [8]byte(m[:8]) != proofMagic {
		if m != nil && string(m[:7]) == string(proofMagic[:7]) {
			return nil, fmt.Errorf("stark: proof version %d is not supported (this build reads version %d)", m[7], proofMagic[7])
		}
		return nil, errors.New("stark: not a DataDragon STARK proof (bad magic)")
	}
	p := &Proof{}
	logBlowup := r.u8()
	p.Options.Queries = r.u16()
	p.Options.GrindingBits = r.u8()
	logFold := r.u8()
	p.Options.LastLayerDegree = r.u16()
	zk := r.u8()
	p.LogTraceLength = r.u8()
	if r.err != nil {
		return nil, r.err
	}
	if logBlowup > 6 || logFold > 4 || zk > 1 {
		return nil, errors.New("stark: malformed proof: option out of range")
	}
	p.Options.Blowup = 1 << logBlowup
	p.Options.FoldingFactor = 1 << logFold
	p.Options.ZeroKnowledge = zk == 1
	if err := p.Options.Validate(); err != nil {
		return nil, fmt.Errorf("stark: malformed proof: %w", err)
	}
	if p.LogTraceLength < 3 || p.LogTraceLength > MaxLogTraceLength {
		return nil, fmt.Errorf("stark: malformed proof: trace length 2^%d out of range", p.LogTraceLength)
	}
	p.TraceRoot = r.digest()
	p.CompositionRoot = r.digest()
	width := r.count(r.u16(), MaxWidth, "trace columns")
	p.OODTrace = r.exts(width)
	p.OODTraceNext = r.exts(width)
	compWidth := r.count(r.u8(), maxCompositionWidth, "composition columns")
	p.OODComposition = r.exts(compWidth)
	layers := r.count(r.u8(), maxFRILayers, "FRI layers")
	for i := 0; i < layers && r.err == nil; i++ {
		p.FRIRoots = append(p.FRIRoots, r.digest())
	}
	p.Remainder = r.exts(r.count(r.u16(), MaxLastLayer+16, "remainder coefficients"))
	p.Nonce = r.u64()

	rows := r.count(r.u16(), MaxQueries, "opened trace rows")
	if r.err == nil && rows*2*width*field.Bytes > len(r.b) {
		r.fail("truncated")
	}
	if r.err == nil {
		p.Trace.Rows = make([][]field.Element, rows)
		for i := range p.Trace.Rows {
			row := make([]field.Element, 2*width)
			for j := range row {
				row[j] = r.base()
			}
			p.Trace.Rows[i] = row
		}
	}
	p.Trace.Nodes = r.nodes()
	p.Composition = r.extOpening(2 * compWidth)
	for i := 0; i < layers && r.err == nil; i++ {
		p.FRI = append(p.FRI, r.extOpening(p.Options.FoldingFactor))
	}
	if p.Options.ZeroKnowledge {
		for i := 0; i < rows && r.err == nil; i++ {
			var s Salt
			copy(s[:], r.take(saltSize))
			p.Salts = append(p.Salts, s)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("stark: malformed proof: %d trailing bytes", len(r.b))
	}
	return p, nil
}
