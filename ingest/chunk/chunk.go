package chunk

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/datadragon/datadragon/ingest/digest"
	"github.com/datadragon/datadragon/ingest/frame"
)

// Status is the verdict on one chunk.
type Status uint8

// The statuses; only Complete carries a digest. See the package comment.
const (
	Complete Status = 1
	Gap      Status = 2
	Missing  Status = 3
	Overflow Status = 4
	Conflict Status = 5
	Invalid  Status = 6
)

var statusNames = map[Status]string{Complete: "complete", Gap: "gap", Missing: "missing", Overflow: "overflow", Conflict: "conflict", Invalid: "invalid"}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText writes the status name, for JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for k, n := range statusNames {
		if n == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("unknown chunk status %q", b)
}

// Chunk is one closed chunk, or a range of chunks of which nothing was seen.
type Chunk struct {
	Stream    string
	Index     uint64
	LastIndex uint64 // equal to Index, except for Missing: chunks Index..LastIndex
	Status    Status
	Reason    string // why the chunk is not Complete, for people

	// What was received (all zero for Missing).
	Count     int    // messages
	Bytes     int64  // payload bytes
	FirstSeq  uint64 // lowest seq received
	LastSeq   uint64 // highest seq received
	FirstTime int64  // source time of FirstSeq
	LastTime  int64  // source time of LastSeq

	// Complete chunks only.
	Digest digest.Digest
	Frames []frame.Frame // the chunk's messages in seq order
}

// Messages returns the chunk's messages as the digest sees them.
func (c *Chunk) Messages() []digest.Message {
	m := make([]digest.Message, len(c.Frames))
	for i, f := range c.Frames {
		m[i] = digest.Message{Seq: f.Seq, Data: f.Payload}
	}
	return m
}

// Verify recomputes the digest of a Complete chunk from its frames.
func (c *Chunk) Verify() error {
	if c.Status != Complete {
		return fmt.Errorf("chunk %s/%d is %s: it has no digest", c.Stream, c.Index, c.Status)
	}
	d, err := digest.Compute(c.Stream, c.Index, c.Messages())
	if err != nil {
		return err
	}
	if d != c.Digest {
		return fmt.Errorf("chunk %s/%d: frames digest to %s, the chunk says %s", c.Stream, c.Index, d, c.Digest)
	}
	return nil
}

// Errors describing what happened to one frame. The chunks returned with
// them are valid.
var (
	ErrLate     = errors.New("late frame ignored")
	ErrConflict = errors.New("seq received twice with different payloads")
	ErrBadTime  = errors.New("source time out of order")
	ErrEnded    = errors.New("stream already ended")
)

// Stats counts frames that did not simply join a chunk.
type Stats struct {
	Duplicates uint64 // identical repeats, ignored
	Conflicts  uint64 // different repeats, chunk flagged
	Late       uint64 // frames for chunks already reported, ignored
}

// Chunker cuts one stream. It is not safe for concurrent use.
type Chunker struct {
	stream string
	p      Policy
	win    int64 // ByTime: window in ns

	started  bool   // a frame, gap or resume point has been seen
	next     uint64 // one past the highest seq processed (or declared lost)
	reported bool   // lastRep is meaningful
	lastRep  uint64 // highest index reported
	hole     bool   // ByTime: frames were lost since the last frame; the next chunk's start is unknown
	lostSome bool   // BySeq: lostTo is meaningful
	lostTo   uint64 // BySeq: highest seq reported lost by Gap
	ended    bool
	open     *openChunk
	stats    Stats
}

type openChunk struct {
	index      uint64
	frames     []frame.Frame // by seq; Payload nil once overflowed
	count      int
	bytes      int64
	overflow   bool
	gapNote    string // non-empty: known incomplete
	conflict   string
	invalid    string
	startKnown bool // ByTime: the frame before the first one belongs to an earlier window
	minSeq     uint64
	maxSeq     uint64
	minTime    int64
	maxTime    int64
}

// New returns a chunker for the stream named stream (1 to MaxStreamLen
// bytes) under policy p.
func New(stream string, p Policy) (*Chunker, error) {
	if len(stream) == 0 || len(stream) > MaxStreamLen {
		return nil, fmt.Errorf("stream id of %d bytes: use 1 to %d", len(stream), MaxStreamLen)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	c := &Chunker{stream: stream, p: p}
	if p.Mode == ByTime {
		c.win = p.WindowMS * 1e6
	}
	return c, nil
}

// Policy returns the chunker's policy, limits filled in.
func (c *Chunker) Policy() Policy { return c.p }

// Stats returns counts of duplicate, conflicting and late frames.
func (c *Chunker) Stats() Stats { return c.stats }

// Next returns one past the highest seq processed or declared lost: where
// an observer should resume.
func (c *Chunker) Next() uint64 { return c.next }

// ResumeAfter tells a fresh chunker that chunk lastIndex was already
// reported and ended with seq lastSeq, so that it continues with seq
// lastSeq+1 (a node restarting where it stopped). Under the time policy
// this makes the first chunk after the resume point Complete-able.
func (c *Chunker) ResumeAfter(lastIndex, lastSeq uint64) error {
	if c.started {
		return errors.New("ResumeAfter must come before the first frame")
	}
	if lastSeq == math.MaxUint64 {
		return errors.New("cannot resume after the last possible seq")
	}
	if _, b := c.seqRange(lastIndex); c.p.Mode == BySeq && lastSeq != b {
		return fmt.Errorf("chunk %d under %s ends with seq %d, not %d", lastIndex, c.p, b, lastSeq)
	}
	c.started, c.next, c.reported, c.lastRep = true, lastSeq+1, true, lastIndex
	return nil
}

// Add processes one frame and returns the chunks it closed, in index order.
// A non-nil error says what happened to this frame (ignored as late,
// flagged as a conflict or bad time, or the stream ended); the returned
// chunks are valid either way.
func (c *Chunker) Add(f frame.Frame) ([]Chunk, error) {
	if c.ended {
		return nil, fmt.Errorf("%w: seq %d arrived after the end of stream %s", ErrEnded, f.Seq, c.stream)
	}
	if c.p.Mode == BySeq {
		return c.addSeq(f)
	}
	return c.addTime(f)
}

// ---- seq policy ----

// seqRange returns the first and last seq of chunk i under the seq policy.
func (c *Chunker) seqRange(i uint64) (uint64, uint64) {
	m := c.p.Messages
	a := i * m
	if math.MaxUint64-a < m-1 {
		return a, math.MaxUint64
	}
	return a, a + m - 1
}

func (c *Chunker) addSeq(f frame.Frame) ([]Chunk, error) {
	idx := f.Seq / c.p.Messages
	var out []Chunk
	o := c.open
	if o == nil || idx != o.index {
		if (c.reported && idx <= c.lastRep) || (o != nil && idx < o.index) {
			c.stats.Late++
			return nil, fmt.Errorf("%w: seq %d belongs to chunk %d, which was already reported", ErrLate, f.Seq, idx)
		}
		if o != nil {
			out = append(out, c.close(c.shortBy(o, "a frame of a later chunk arrived first")))
		}
		out = c.missingBefore(out, idx)
		o = &openChunk{index: idx}
		if a, _ := c.seqRange(idx); c.lostSome && a <= c.lostTo {
			o.gapNote = fmt.Sprintf("seqs up to %d were reported lost", c.lostTo)
		}
		c.open = o
	}
	if err := c.insert(o, f); err != nil {
		return out, err
	}
	c.advance(f.Seq)
	a, b := c.seqRange(idx)
	switch {
	case uint64(o.count) == b-a+1:
		out = append(out, c.close(""))
	case o.gapNote != "" && o.maxSeq == b:
		out = append(out, c.close(c.shortBy(o, o.gapNote)))
	}
	return out, nil
}

// shortBy explains why o, under the seq policy, is not whole.
func (c *Chunker) shortBy(o *openChunk, why string) string {
	a, b := c.seqRange(o.index)
	return fmt.Sprintf("%d of %d messages observed: %s", o.count, b-a+1, why)
}

func (c *Chunker) advance(seq uint64) {
	c.started = true
	if seq >= c.next {
		c.next = seq + 1 // seq = MaxUint64 wraps to 0; such a stream ends there
	}
}

// missingBefore appends a Missing chunk for the indices between the last
// reported one and idx, if any.
func (c *Chunker) missingBefore(out []Chunk, idx uint64) []Chunk {
	if c.reported && idx > c.lastRep+1 {
		out = append(out, Chunk{Stream: c.stream, Index: c.lastRep + 1, LastIndex: idx - 1, Status: Missing,
			Reason: "no frame of these chunks was observed"})
		c.lastRep = idx - 1
	}
	return out
}

// missingThrough appends a Missing chunk for the unreported indices up to
// last (seq policy, where every index exists).
func (c *Chunker) missingThrough(out []Chunk, last uint64, why string) []Chunk {
	first := uint64(0)
	if c.reported {
		if c.lastRep >= last {
			return out
		}
		first = c.lastRep + 1
	}
	if n := len(out); n > 0 && out[n-1].Status == Missing && out[n-1].LastIndex+1 == first {
		out[n-1].LastIndex = last // extend the range just reported
	} else {
		out = append(out, Chunk{Stream: c.stream, Index: first, LastIndex: last, Status: Missing, Reason: why})
	}
	c.reported, c.lastRep = true, last
	return out
}

// insert adds f to o in seq order, handling duplicates and the limits.
func (c *Chunker) insert(o *openChunk, f frame.Frame) error {
	i := sort.Search(len(o.frames), func(i int) bool { return o.frames[i].Seq >= f.Seq })
	if i < len(o.frames) && o.frames[i].Seq == f.Seq {
		return c.duplicate(o, o.frames[i], f)
	}
	if o.count == 0 || f.Seq < o.minSeq {
		o.minSeq, o.minTime = f.Seq, f.Time
	}
	if o.count == 0 || f.Seq > o.maxSeq {
		o.maxSeq, o.maxTime = f.Seq, f.Time
	}
	o.count++
	o.bytes += int64(len(f.Payload))
	c.checkLimits(o)
	if o.overflow {
		f.Payload = nil
	}
	if o.count <= c.p.MaxMessages {
		o.frames = append(o.frames, frame.Frame{})
		copy(o.frames[i+1:], o.frames[i:])
		o.frames[i] = f
	}
	return nil
}

func (c *Chunker) checkLimits(o *openChunk) {
	if o.overflow || (o.count <= c.p.MaxMessages && o.bytes <= c.p.MaxBytes) {
		return
	}
	o.overflow = true
	for i := range o.frames {
		o.frames[i].Payload = nil // free the payloads: no digest will be made
	}
}

func (c *Chunker) duplicate(o *openChunk, have, f frame.Frame) error {
	if have.Payload == nil && o.overflow {
		c.stats.Duplicates++ // payload no longer held: cannot compare, and no digest will be made anyway
		return nil
	}
	if bytes.Equal(have.Payload, f.Payload) && have.Time == f.Time {
		c.stats.Duplicates++
		return nil
	}
	c.stats.Conflicts++
	if o.conflict == "" {
		o.conflict = fmt.Sprintf("seq %d was received twice with different content", f.Seq)
	}
	return fmt.Errorf("%w: seq %d in chunk %d", ErrConflict, f.Seq, o.index)
}

// ---- time policy ----

func (c *Chunker) window(f frame.Frame) (uint64, string) {
	if f.Time < 0 {
		return 0, fmt.Sprintf("seq %d has a negative source time", f.Seq)
	}
	return uint64(f.Time / c.win), ""
}

func (c *Chunker) addTime(f frame.Frame) ([]Chunk, error) {
	if c.started && f.Seq < c.next {
		if o := c.open; o != nil && o.count > 0 && f.Seq >= o.minSeq {
			if k := f.Seq - o.minSeq; k < uint64(len(o.frames)) {
				return nil, c.duplicate(o, o.frames[k], f)
			}
			c.stats.Duplicates++ // beyond the stored headers (overflowed): nothing to compare
			return nil, nil
		}
		c.stats.Late++
		return nil, fmt.Errorf("%w: seq %d is before the open chunk", ErrLate, f.Seq)
	}
	var out []Chunk
	if c.started && f.Seq > c.next {
		out = c.loseTime(out, c.next, f.Seq-1)
	}
	c.advance(f.Seq)
	idx, bad := c.window(f)
	if o := c.open; o != nil {
		switch {
		case idx == o.index:
		case idx > o.index:
			out = append(out, c.close(""))
			c.open = &openChunk{index: idx, startKnown: true}
		default:
			bad = fmt.Sprintf("source time went backwards at seq %d (window %d inside window %d)", f.Seq, idx, o.index)
		}
		if bad != "" && c.open.invalid == "" {
			c.open.invalid = bad
		}
		c.insert(c.open, f)
		if bad != "" {
			return out, fmt.Errorf("%w: %s", ErrBadTime, bad)
		}
		return out, nil
	}
	if c.reported && idx <= c.lastRep {
		// After a hole: the frame belongs to a window already reported as
		// a gap. It is dropped, but as the newest frame seen it bounds the
		// lost ones (times do not decrease), so the next window's start is
		// known again.
		c.stats.Late++
		c.hole = false
		return out, fmt.Errorf("%w: seq %d falls in window %d, which was already reported", ErrLate, f.Seq, idx)
	}
	if c.hole {
		out = c.missingBefore(out, idx)
	}
	c.open = &openChunk{index: idx, startKnown: !c.hole && (c.reported || f.Seq == 0)}
	c.hole = false
	if bad != "" {
		c.open.invalid = bad
	}
	c.insert(c.open, f)
	if bad != "" {
		return out, fmt.Errorf("%w: %s", ErrBadTime, bad)
	}
	return out, nil
}

// loseTime records that seqs from..to are lost under the time policy: the
// open window (which they may belong to) closes as a gap and the next
// window's start becomes unknown.
func (c *Chunker) loseTime(out []Chunk, from, to uint64) []Chunk {
	if o := c.open; o != nil {
		o.gapNote = fmt.Sprintf("seqs %d..%d were not observed and may belong to this window", from, to)
		out = append(out, c.close(""))
	}
	c.hole = true
	return out
}

// ---- gaps and end ----

// Gap tells the chunker that seqs from..to (inclusive) will never arrive,
// as an observer reports when the source no longer has them. It returns
// the chunks this settles.
func (c *Chunker) Gap(from, to uint64) []Chunk {
	if c.ended || to < from {
		return nil
	}
	if c.started {
		if to < c.next {
			return nil
		}
		from = c.next // everything not yet seen up to to is lost
	}
	var out []Chunk
	if c.p.Mode == ByTime {
		out = c.loseTime(out, from, to)
	} else {
		note := fmt.Sprintf("seqs %d..%d were reported lost", from, to)
		if o := c.open; o != nil {
			if _, b := c.seqRange(o.index); to >= b {
				out = append(out, c.close(c.shortBy(o, note)))
			} else if o.gapNote == "" {
				o.gapNote = note
			}
		}
		// Chunks wholly inside the gap are missing.
		m := c.p.Messages
		first := from / m
		if a, _ := c.seqRange(first); a < from {
			first++
		}
		last, lastOK := to/m, true
		if _, b := c.seqRange(last); b != to {
			last, lastOK = last-1, last > 0
		}
		if c.reported && first <= c.lastRep {
			first = c.lastRep + 1
		}
		if lastOK && first <= last && c.open == nil {
			out = append(out, Chunk{Stream: c.stream, Index: first, LastIndex: last, Status: Missing, Reason: note})
			c.reported, c.lastRep = true, last
		}
		c.lostSome, c.lostTo = true, to
	}
	c.started = true
	c.next = to + 1
	return out
}

// End tells the chunker that the stream is finished after next frames
// (seqs 0..next-1), as the source announces. The open chunk closes: under
// the time policy this is what closes the last window. Later frames are
// refused with ErrEnded.
func (c *Chunker) End(next uint64) []Chunk {
	if c.ended {
		return nil
	}
	var out []Chunk
	if next > c.next || (!c.started && next > 0) {
		from := c.next
		out = append(out, c.Gap(from, next-1)...)
	}
	if o := c.open; o != nil {
		if o.maxSeq >= next {
			o.invalid = fmt.Sprintf("the source ended the stream at %d frames, but seq %d was received", next, o.maxSeq)
		}
		if c.p.Mode == BySeq {
			// The last chunk of a finished stream is [a, next-1].
			if a, _ := c.seqRange(o.index); next > a && uint64(o.count) == next-a && o.gapNote == "" {
				out = append(out, c.close(""))
			} else {
				why := o.gapNote
				if why == "" {
					why = "the stream ended before it was whole"
				}
				out = append(out, c.close(c.shortBy(o, why)))
			}
		} else {
			out = append(out, c.close(""))
		}
	}
	if c.p.Mode == BySeq && next > 0 {
		out = c.missingThrough(out, (next-1)/c.p.Messages, "the stream ended before any frame of these chunks was observed")
	}
	c.ended = true
	return out
}

// close reports the open chunk. gapReason, if not empty, makes it a gap;
// under the seq policy the caller has checked that an empty one means whole.
func (c *Chunker) close(gapReason string) Chunk {
	o := c.open
	c.open = nil
	c.reported, c.lastRep = true, o.index
	ch := Chunk{Stream: c.stream, Index: o.index, LastIndex: o.index, Count: o.count, Bytes: o.bytes,
		FirstSeq: o.minSeq, LastSeq: o.maxSeq, FirstTime: o.minTime, LastTime: o.maxTime}
	if c.p.Mode == ByTime && gapReason == "" {
		switch {
		case o.gapNote != "":
			gapReason = o.gapNote
		case !o.startKnown:
			gapReason = fmt.Sprintf("observation began at seq %d, so the window's earlier frames are unknown", o.minSeq)
		}
	}
	switch {
	case o.conflict != "":
		ch.Status, ch.Reason = Conflict, o.conflict
	case o.invalid != "":
		ch.Status, ch.Reason = Invalid, o.invalid
	case o.overflow:
		ch.Status = Overflow
		ch.Reason = fmt.Sprintf("%d messages and %d bytes exceed the chunk limits (%d messages, %d bytes): use a smaller chunk policy or raise the limits", o.count, o.bytes, c.p.MaxMessages, c.p.MaxBytes)
	case gapReason != "":
		ch.Status, ch.Reason = Gap, gapReason
	default:
		ch.Status = Complete
		h, err := digest.NewHasher(c.stream, o.index)
		for _, f := range o.frames {
			if err == nil {
				err = h.Add(f.Seq, f.Payload)
			}
		}
		if err == nil {
			ch.Digest, err = h.Sum()
		}
		if err != nil { // unreachable: frames are sorted and bounded
			ch.Status, ch.Reason = Invalid, err.Error()
			break
		}
		ch.Frames = o.frames
	}
	return ch
}
