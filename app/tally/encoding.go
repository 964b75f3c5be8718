package tally

import (
	"fmt"

	"github.com/datadragon/datadragon/app/internal/codec"
	"github.com/datadragon/datadragon/app/wire"
)

const chunkVersion = 1

// Marshal encodes the chunk for the store (canonical: the app hash covers
// it):
//
//	u8 version ‖ u8 len ‖ stream ‖ u64 index ‖ u8 status ‖ u8 settled ‖
//	u64 first ‖ u64 start ‖ u64 decided ‖ u64 deadline ‖ digest ‖ u8 kind ‖ u32 code ‖
//	u64 power ‖ i64 time ‖ u16 n ‖ n × (u16 validator ‖ digest ‖ u8 kind ‖
//	u32 code ‖ i64 time ‖ u64 height ‖ u16 vote ‖ u16 leaf ‖ u8 flags ‖
//	u8 outcome)
func (c *Chunk) Marshal() []byte {
	w := codec.Writer{B: make([]byte, 0, 120+len(c.Entries)*64)}
	w.U8(chunkVersion)
	w.Bytes8([]byte(c.Key.Stream))
	w.U64(c.Key.Index)
	w.U8(uint8(c.Status))
	w.Bool(c.Settled)
	w.I64(c.FirstHeight)
	w.I64(c.StartHeight)
	w.I64(c.DecidedHeight)
	w.I64(c.Deadline)
	w.Raw(c.Claim.Digest[:])
	w.U8(uint8(c.Claim.Verdict.Kind))
	w.U32(c.Claim.Verdict.Code)
	w.I64(c.Power)
	w.I64(c.TimeMs)
	w.U16(uint16(len(c.Entries)))
	for _, e := range c.Entries {
		w.U16(uint16(e.Validator))
		w.Raw(e.Claim.Digest[:])
		w.U8(uint8(e.Claim.Verdict.Kind))
		w.U32(e.Claim.Verdict.Code)
		w.I64(e.TimeMs)
		w.I64(e.Height)
		w.U16(e.Vote)
		w.U16(e.Leaf)
		var flags uint8
		if e.Equivocated {
			flags |= 1
		}
		if e.Late {
			flags |= 2
		}
		w.U8(flags)
		w.U8(uint8(e.Outcome))
	}
	return w.B
}

const entryBytes = 2 + wire.DigestSize + 1 + 4 + 8 + 8 + 2 + 2 + 1 + 1

// UnmarshalChunk decodes Marshal's output; it never panics.
func UnmarshalChunk(b []byte) (*Chunk, error) {
	r := codec.NewReader(b)
	if v := r.U8(); r.Err() == nil && v != chunkVersion {
		return nil, fmt.Errorf("chunk state version %d, want %d", v, chunkVersion)
	}
	c := &Chunk{}
	c.Key.Stream = string(r.Bytes8(wire.MaxStreamIDLen, "stream id"))
	c.Key.Index = r.U64()
	c.Status = wire.Status(r.U8())
	c.Settled = r.Bool()
	c.FirstHeight = r.I64()
	c.StartHeight = r.I64()
	c.DecidedHeight = r.I64()
	c.Deadline = r.I64()
	r.Fixed(c.Claim.Digest[:])
	c.Claim.Verdict.Kind = wire.VerdictKind(r.U8())
	c.Claim.Verdict.Code = r.U32()
	c.Power = r.I64()
	c.TimeMs = r.I64()
	n := r.Count(wire.MaxVotes, entryBytes, "entries")
	if n > 0 {
		c.Entries = make([]Entry, 0, n)
	}
	for i := 0; i < n && r.Err() == nil; i++ {
		var e Entry
		e.Validator = int(r.U16())
		r.Fixed(e.Claim.Digest[:])
		e.Claim.Verdict.Kind = wire.VerdictKind(r.U8())
		e.Claim.Verdict.Code = r.U32()
		e.TimeMs = r.I64()
		e.Height = r.I64()
		e.Vote = r.U16()
		e.Leaf = r.U16()
		flags := r.U8()
		if flags > 3 {
			r.Failf("entry %d: unknown flags %#x", i, flags)
		}
		e.Equivocated = flags&1 != 0
		e.Late = flags&2 != 0
		e.Outcome = wire.Outcome(r.U8())
		if i > 0 && c.Entries[i-1].Validator >= e.Validator {
			r.Failf("entries out of order at %d", i)
		}
		c.Entries = append(c.Entries, e)
	}
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("chunk state: %w", err)
	}
	if c.Status > wire.StatusDisputed {
		return nil, fmt.Errorf("chunk state: unknown status %d", c.Status)
	}
	return c, nil
}

// MarshalCounters encodes counters: seven u64 in field order.
func (k *Counters) Marshal() []byte {
	w := codec.Writer{B: make([]byte, 0, 56)}
	for _, v := range []uint64{k.Attested, k.Agreed, k.Faulty, k.Equivocations, k.Gaps, k.Absent, k.Late} {
		w.U64(v)
	}
	return w.B
}

// UnmarshalCounters decodes Counters.Marshal.
func UnmarshalCounters(b []byte) (Counters, error) {
	r := codec.NewReader(b)
	var k Counters
	for _, p := range []*uint64{&k.Attested, &k.Agreed, &k.Faulty, &k.Equivocations, &k.Gaps, &k.Absent, &k.Late} {
		*p = r.U64()
	}
	if err := r.Done(); err != nil {
		return Counters{}, fmt.Errorf("validator counters: %w", err)
	}
	return k, nil
}
