package stark

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/datadragon/datadragon/zk/field"
	"github.com/datadragon/datadragon/zk/transcript"
)

// protocolID names this proof system in the transcript. Version 2 binds
// the whole statement description (statementBytes).
const protocolID = "datadragon/stark/v2"

// newChannel starts the Fiat–Shamir transcript shared by prover and
// verifier. Everything that defines the statement — its name, public
// inputs, a canonical encoding of its whole description and every option
// — is absorbed before the first commitment, so no challenge can be
// computed for one statement and reused for another ("Frozen Heart").
func newChannel(l *layout) *transcript.Transcript {
	t := transcript.New(protocolID)
	t.Absorb("statement", []byte(l.info.Name))
	t.Absorb("public-inputs", l.info.PublicInputs)
	t.Absorb("description", statementBytes(&l.info))
	o := l.opts
	var opts []byte
	for _, v := range []int{o.Blowup, o.Queries, o.GrindingBits, o.FoldingFactor, o.LastLayerDegree, int(boolByte(o.ZeroKnowledge))} {
		opts = binary.LittleEndian.AppendUint32(opts, uint32(v))
	}
	t.Absorb("options", opts)
	return t
}

// statementBytes is the canonical encoding of everything an AIR declares
// besides its name and public inputs: trace shape, constrained rows,
// zero-knowledge flag, periodic columns, each constraint's degree, cycles,
// next-row use and row set, and each assertion's cell and value. The
// engine absorbs it itself, so an AIR whose PublicInputs forget a value
// its assertions pin (or anything else the verifier checks) still binds
// it: a prover cannot choose such a value after seeing the challenges.
// Every count is written before its items, so the encoding is injective.
func statementBytes(info *AirInfo) []byte {
	n := info.TraceLength
	b := make([]byte, 0, 64+8*len(info.Periodic)*16+32*len(info.Constraints)+16*len(info.Assertions))
	u32 := func(v int) { b = binary.LittleEndian.AppendUint32(b, uint32(v)) }
	u32(info.Width)
	u32(n)
	u32(info.rows())
	u32(int(boolByte(info.ZeroKnowledge)))
	u32(len(info.Periodic))
	for _, col := range info.Periodic {
		u32(len(col))
		for _, v := range col {
			b = v.AppendBytes(b)
		}
	}
	u32(len(info.Constraints))
	for _, c := range info.Constraints {
		u32(c.Degree)
		u32(len(c.Cycles))
		for _, p := range c.Cycles {
			u32(p)
		}
		u32(int(boolByte(c.UsesNext)))
		u32(c.Rows.period(n))
		u32(int(boolByte(c.Rows.Except)))
		u32(len(c.Rows.Residues))
		for _, r := range c.Rows.Residues {
			u32(r)
		}
	}
	u32(len(info.Assertions))
	for _, a := range info.Assertions {
		u32(a.Column)
		u32(a.Row)
		b = a.Value.AppendBytes(b)
	}
	return b
}

// drawExt draws a uniformly random extension element: 16 bytes per
// coefficient, so the bias from reducing mod p is below 2^-66.
func drawExt(t *transcript.Transcript, label string) field.Ext {
	a := t.Challenge(label)
	b := t.Challenge(label)
	return extFromBytes(append(a[:], b[:]...))
}

// elementFromBytes maps 16 uniform bytes to a field element, with bias
// below 2^-66.
func elementFromBytes(b []byte) field.Element {
	return field.FromWide(binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]))
}

// extFromBytes maps 48 uniform bytes to an extension element.
func extFromBytes(b []byte) field.Ext {
	return field.Ext{A0: elementFromBytes(b), A1: elementFromBytes(b[16:]), A2: elementFromBytes(b[32:])}
}

// drawOODPoint draws z outside both the trace domain and the evaluation
// domain (where DEEP's quotients would divide by zero); redrawing happens
// with negligible probability and identically for both parties.
func drawOODPoint(t *transcript.Transcript, l *layout) field.Ext {
	cm := field.FromBase(l.shift.Exp(uint64(l.m)))
	for {
		z := drawExt(t, "ood-point")
		if z.Exp(uint64(l.n)) != field.ExtOne() && z.Exp(uint64(l.m)) != cm {
			return z
		}
	}
}

// drawPositions draws the distinct query positions in [0, m) after the
// proof of work, returned in increasing order.
func drawPositions(t *transcript.Transcript, queries, m int) []int {
	seen := make(map[int]bool, queries)
	out := make([]int, 0, queries)
	for len(out) < queries {
		c := t.Challenge("query-positions")
		for i := 0; i+8 <= len(c) && len(out) < queries; i += 8 {
			p := int(binary.LittleEndian.Uint64(c[i:]) & uint64(m-1))
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func nonceBytes(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func rootBytes(d [32]byte) []byte { return d[:] }

// log2 of a power of two.
func log2(v int) int { return bits.TrailingZeros(uint(v)) }

// uniqueMod returns the sorted distinct values of p mod m.
func uniqueMod(positions []int, m int) []int {
	seen := make(map[int]bool, len(positions))
	var out []int
	for _, p := range positions {
		if v := p % m; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}
