package rawchunk

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/datadragon/datadragon/ingest/digest"
)

// Mode is a boundary rule.
type Mode uint8

// The boundary rules.
const (
	ByContent Mode = 1 // content-defined: a message whose boundary hash is below a target
	ByTime    Mode = 2 // windows of a timestamp field the messages carry
)

// Limits of policies.
const (
	HardMaxMessages  = 1 << 16  // messages per chunk, at most
	HardMaxBytes     = 64 << 20 // normalised bytes per chunk, at most
	DefaultMaxBytes  = 16 << 20
	MaxWindowMS      = 86_400_000
	MaxTimeFieldLen  = 128
	MaxStreamLen     = 64
	defaultMinFactor = 4 // Min = M/4 unless set
	defaultMaxFactor = 8 // Max = 8·M unless set
)

// Policy says how a raw stream is cut.
type Policy struct {
	Mode     Mode  `json:"-"`
	Expected int   `json:"expected,omitempty"` // ByContent: expected messages per chunk (M)
	Min      int   `json:"min,omitempty"`      // ByContent: no boundary within Min−1 messages of a low hash; 0: M/4 (at least 1)
	Max      int   `json:"max,omitempty"`      // both: a chunk closes at Max messages; 0: 8·M, or 65,536 under ByTime
	WindowMS int64 `json:"window_ms,omitempty"`
	// ByTime: the top-level field holding the time, and its unit: "ms"
	// (default), "s", "us" or "ns" for a JSON integer; a JSON string is
	// read as RFC 3339 whatever the unit.
	TimeField string `json:"time_field,omitempty"`
	TimeUnit  string `json:"time_unit,omitempty"`
	MaxBytes  int64  `json:"max_bytes,omitempty"` // normalised bytes per chunk; 0: DefaultMaxBytes
}

// ParsePolicy reads "content:M" (e.g. content:64) or "time:W:FIELD" (e.g.
// time:1s:ts, milliseconds in field ts). Min, Max and MaxBytes take their
// defaults.
func ParsePolicy(s string) (Policy, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	var p Policy
	switch {
	case len(parts) == 2 && parts[0] == "content":
		m, err := strconv.Atoi(parts[1])
		if err != nil {
			return Policy{}, fmt.Errorf("raw chunk policy %q: M must be a whole number of messages, e.g. content:64", s)
		}
		p = Policy{Mode: ByContent, Expected: m}
	case len(parts) == 3 && parts[0] == "time":
		d, err := time.ParseDuration(parts[1])
		if err != nil || d%time.Millisecond != 0 {
			return Policy{}, fmt.Errorf("raw chunk policy %q: W must be whole milliseconds, e.g. time:1s:ts", s)
		}
		p = Policy{Mode: ByTime, WindowMS: d.Milliseconds(), TimeField: parts[2]}
	default:
		return Policy{}, fmt.Errorf("raw chunk policy %q: write content:M (content-defined, about M messages a chunk) or time:W:FIELD (windows of W on the JSON field FIELD, in ms)", s)
	}
	return p, p.Validate()
}

// String returns the policy in ParsePolicy's form, with its bounds.
func (p Policy) String() string {
	p = p.WithDefaults()
	switch p.Mode {
	case ByContent:
		return fmt.Sprintf("content:%d (min %d, max %d)", p.Expected, p.Min, p.Max)
	case ByTime:
		return fmt.Sprintf("time:%dms:%s (max %d)", p.WindowMS, p.TimeField, p.Max)
	}
	return fmt.Sprintf("mode(%d)", p.Mode)
}

// WithDefaults fills in Min, Max, MaxBytes and TimeUnit.
func (p Policy) WithDefaults() Policy {
	if p.Mode == ByContent {
		if p.Min == 0 {
			p.Min = max(1, p.Expected/defaultMinFactor)
		}
		if p.Max == 0 {
			p.Max = min(HardMaxMessages, max(1, p.Expected*defaultMaxFactor))
		}
	}
	if p.Mode == ByTime {
		if p.Max == 0 {
			p.Max = HardMaxMessages
		}
		if p.TimeUnit == "" {
			p.TimeUnit = "ms"
		}
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	return p
}

// Validate reports what is wrong with p.
func (p Policy) Validate() error {
	p = p.WithDefaults()
	if p.Max < 1 || p.Max > HardMaxMessages {
		return fmt.Errorf("raw chunk max of %d messages: use 1 to %d", p.Max, HardMaxMessages)
	}
	if p.MaxBytes < 1 || p.MaxBytes > HardMaxBytes {
		return fmt.Errorf("raw chunk max of %d bytes: use 1 to %d", p.MaxBytes, HardMaxBytes)
	}
	switch p.Mode {
	case ByContent:
		if p.Expected < 1 || p.Expected > HardMaxMessages {
			return fmt.Errorf("raw chunk policy content:%d: M must be 1 to %d", p.Expected, HardMaxMessages)
		}
		if p.Min < 1 || p.Min > p.Max {
			return fmt.Errorf("raw chunk minimum %d: use 1 to the maximum (%d)", p.Min, p.Max)
		}
	case ByTime:
		if p.WindowMS < 1 || p.WindowMS > MaxWindowMS {
			return fmt.Errorf("raw chunk window of %d ms: use 1 ms to 24 h", p.WindowMS)
		}
		if p.TimeField == "" || len(p.TimeField) > MaxTimeFieldLen {
			return fmt.Errorf("raw chunk time policy: time_field must be 1 to %d bytes", MaxTimeFieldLen)
		}
		switch p.TimeUnit {
		case "s", "ms", "us", "ns":
		default:
			return fmt.Errorf("raw chunk time unit %q: use s, ms, us or ns", p.TimeUnit)
		}
	default:
		return errors.New("raw chunk policy has no rule: use content:M or time:W:FIELD")
	}
	return nil
}

// Status is the verdict on one chunk.
type Status uint8

// The statuses; only Complete has a digest.
const (
	Complete Status = 1
	Gap      Status = 2
	Overflow Status = 3
)

func (s Status) String() string {
	switch s {
	case Complete:
		return "complete"
	case Gap:
		return "gap"
	case Overflow:
		return "overflow"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Chunk is one closed raw chunk.
type Chunk struct {
	Stream string
	ID     digest.Digest // boundary hash of its first message
	Close  digest.Digest // the next chunk's id; zero unless Complete
	Status Status
	Reason string
	Count  int   // messages
	Bytes  int64 // normalised bytes

	// Complete chunks only.
	Content  digest.Digest // content hash
	Digest   digest.Digest // the attested digest
	Messages [][]byte      // normalised, in order
}

// Verify recomputes a Complete chunk's digest from its messages.
func (c *Chunk) Verify() error {
	x := digest.NewRawHasher()
	for _, m := range c.Messages {
		if err := x.Add(m); err != nil {
			return err
		}
	}
	d, err := digest.RawDigest(c.Stream, c.ID, c.Close, x.Count(), x.Sum())
	if err != nil {
		return err
	}
	if d != c.Digest {
		return fmt.Errorf("raw chunk %s: messages digest to %s, the chunk says %s", c.ID, d, c.Digest)
	}
	return nil
}

// Stats counts what the chunker saw.
type Stats struct {
	Messages  uint64 // kept after normalisation
	Ignored   uint64 // left out by normalisation
	Unsynced  uint64 // kept but before a recognisable boundary
	Gaps      uint64
	Overflows uint64
}

// Chunker cuts one raw stream. Not safe for concurrent use.
type Chunker struct {
	stream string
	p      Policy
	norm   digest.Normalize
	target uint64
	unit   int64 // ns per time unit
	win    int64 // ns

	run      int   // messages seen since the last gap
	sinceLow int   // messages since the last low hash, counting it as 1; 0: none in this run
	prevWin  int64 // ByTime: the previous message's window
	prevHas  bool  // ByTime: and it had one
	open     *open
	stats    Stats
}

type open struct {
	id       digest.Digest
	h        *digest.RawHasher
	msgs     [][]byte
	count    int
	bytes    int64
	overflow bool
}

// New returns a chunker for stream under p and normalisation n.
func New(stream string, p Policy, n digest.Normalize) (*Chunker, error) {
	if len(stream) == 0 || len(stream) > MaxStreamLen {
		return nil, fmt.Errorf("stream id of %d bytes: use 1 to %d", len(stream), MaxStreamLen)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	p = p.WithDefaults()
	c := &Chunker{stream: stream, p: p, norm: n}
	switch p.Mode {
	case ByContent:
		c.target = math.MaxUint64 / uint64(p.Expected)
		if p.Expected == 1 {
			c.target = math.MaxUint64
		}
	case ByTime:
		c.win = p.WindowMS * 1e6
		c.unit = map[string]int64{"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1}[p.TimeUnit]
	}
	return c, nil
}

// Policy returns the policy with its defaults.
func (c *Chunker) Policy() Policy { return c.p }

// Stats returns the counters.
func (c *Chunker) Stats() Stats { return c.stats }

// Synced reports whether the chunker knows where the current chunk began.
func (c *Chunker) Synced() bool { return c.open != nil }

// window returns msg's time window, if it has one.
func (c *Chunker) window(norm []byte) (int64, bool) {
	v := digest.Field(norm, c.p.TimeField)
	if v == nil {
		return 0, false
	}
	var ns int64
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return 0, false
		}
		ns = t.UnixNano()
	} else {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n > math.MaxInt64/c.unit || n < math.MinInt64/c.unit {
			return 0, false
		}
		ns = n * c.unit
	}
	w := ns / c.win
	if ns < 0 && ns%c.win != 0 {
		w-- // floor
	}
	return w, true
}

// Add processes one message as received and returns the chunk it closed,
// if any.
func (c *Chunker) Add(msg []byte) []Chunk {
	norm, ign := c.norm.Apply(msg)
	if ign {
		c.stats.Ignored++
		return nil
	}
	c.stats.Messages++
	b := digest.Boundary(norm)

	// Is this message a boundary, and can this chunker tell?
	boundary, known := false, false
	switch c.p.Mode {
	case ByContent:
		low := binary.BigEndian.Uint64(b[:8]) < c.target
		if low {
			if c.sinceLow > 0 {
				boundary, known = c.sinceLow >= c.p.Min, true
			} else {
				boundary, known = true, c.run >= c.p.Min-1
			}
		} else {
			known = true
		}
		if low {
			c.sinceLow = 1
		} else if c.sinceLow > 0 {
			c.sinceLow++
		}
	case ByTime:
		w, has := c.window(norm)
		if has && c.prevHas {
			boundary, known = w != c.prevWin, true
		} else {
			known = c.run > 0
		}
		c.prevWin, c.prevHas = w, has
	}
	c.run++
	if c.open != nil && c.open.count >= c.p.Max {
		boundary, known = true, true
	}

	var out []Chunk
	if boundary && known {
		if c.open != nil {
			out = append(out, c.close(b))
		}
		c.open = &open{id: b, h: digest.NewRawHasher()}
	}
	if c.open == nil {
		c.stats.Unsynced++
		return out
	}
	o := c.open
	o.count++
	o.bytes += int64(len(norm))
	if !o.overflow && o.bytes > c.p.MaxBytes {
		o.overflow, o.msgs = true, nil
		c.stats.Overflows++
	}
	if !o.overflow {
		o.h.Add(norm) // cannot fail: bounded by MaxBytes and Max
		o.msgs = append(o.msgs, norm)
	}
	return out
}

func (c *Chunker) close(next digest.Digest) Chunk {
	o := c.open
	c.open = nil
	ch := Chunk{Stream: c.stream, ID: o.id, Count: o.count, Bytes: o.bytes}
	if o.overflow {
		ch.Status, ch.Reason = Overflow, fmt.Sprintf("more than %d bytes", c.p.MaxBytes)
		return ch
	}
	ch.Status, ch.Close, ch.Content, ch.Messages = Complete, next, o.h.Sum(), o.msgs
	ch.Digest, _ = digest.RawDigest(c.stream, ch.ID, next, o.h.Count(), ch.Content)
	return ch
}

// Gap tells the chunker the connection broke: messages may have been
// missed. The open chunk, if any, is reported as a gap, and the chunker
// waits for the next boundary it can recognise.
func (c *Chunker) Gap(reason string) []Chunk {
	c.run, c.sinceLow, c.prevHas = 0, 0, false
	if c.open == nil {
		return nil
	}
	o := c.open
	c.open = nil
	c.stats.Gaps++
	return []Chunk{{Stream: c.stream, ID: o.id, Status: Gap, Reason: reason, Count: o.count, Bytes: o.bytes}}
}
