package gen

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/datadragon/datadragon/ingest/frame"
)

// DefaultEpoch is the source time of frame 0 unless a stream says
// otherwise: 2025-01-01T00:00:00Z.
var DefaultEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Rate bounds, in frames per second.
const (
	MinRate = 0.001  // one frame every 1000 s
	MaxRate = 100000 // one frame every 10 µs
)

// ErrEnd is returned by a generator for a seq past the end of its stream
// (only file streams end).
var ErrEnd = errors.New("end of stream")

// Generator makes the payload of each frame of one stream.
type Generator interface {
	// Kind names the generator: "sensor", "ticker", "log" or "file".
	Kind() string
	// Payload returns the payload of frame seq, whose source time is t
	// (Unix nanoseconds). It returns ErrEnd if the stream has no frame seq.
	// The same (seq, t) always gives the same bytes.
	Payload(seq uint64, t int64) ([]byte, error)
}

// Kinds lists the generator kinds New knows, in help order.
var Kinds = []string{"sensor", "ticker", "log", "file"}

// Options configure New.
type Options struct {
	Seed      uint64 // content seed (sensor, ticker, log)
	File      string // path of the file to stream (file)
	PieceSize int    // bytes per frame for file streams; 0 means DefaultPieceSize
}

// New returns the generator of the given kind. A file generator holds the
// file open; close it with Close when done (see Closer).
func New(kind string, o Options) (Generator, error) {
	if kind != "file" && o.File != "" {
		return nil, fmt.Errorf("a file is only streamed by --kind file, not %q", kind)
	}
	switch kind {
	case "sensor":
		return NewSensor(o.Seed), nil
	case "ticker":
		return NewTicker(o.Seed), nil
	case "log":
		return NewLog(o.Seed), nil
	case "file":
		if o.File == "" {
			return nil, errors.New("kind file needs the file to stream: give --file PATH")
		}
		return OpenFile(o.File, o.PieceSize)
	}
	return nil, fmt.Errorf("unknown source kind %q: choose sensor, ticker, log or file", kind)
}

// Closer is implemented by generators that hold resources (file).
type Closer interface{ Close() error }

// Clock maps seqs to source times.
type Clock struct {
	Epoch    int64 // source time of frame 0, Unix nanoseconds
	Interval int64 // nanoseconds between frames, > 0
}

// NewClock returns the clock of a stream that starts at epoch and emits
// rate frames per second.
func NewClock(epoch time.Time, rate float64) (Clock, error) {
	if math.IsNaN(rate) || rate < MinRate || rate > MaxRate {
		return Clock{}, fmt.Errorf("rate %v frames/s is out of range: use %v to %v", rate, MinRate, MaxRate)
	}
	iv := int64(math.Round(1e9 / rate))
	return Clock{Epoch: epoch.UnixNano(), Interval: iv}, nil
}

// Time returns the source time of frame seq, or an error if it does not fit
// in an int64 of nanoseconds (after the year 2262).
func (c Clock) Time(seq uint64) (int64, error) {
	if c.Interval <= 0 {
		return 0, errors.New("clock has no interval")
	}
	if seq > uint64(math.MaxInt64/c.Interval) {
		return 0, fmt.Errorf("frame %d: source time overflows", seq)
	}
	off := int64(seq) * c.Interval
	if c.Epoch > 0 && off > math.MaxInt64-c.Epoch {
		return 0, fmt.Errorf("frame %d: source time overflows", seq)
	}
	return c.Epoch + off, nil
}

// Frame returns frame seq of the stream made by g on clock c.
func Frame(g Generator, c Clock, seq uint64) (frame.Frame, error) {
	t, err := c.Time(seq)
	if err != nil {
		return frame.Frame{}, err
	}
	p, err := g.Payload(seq, t)
	if err != nil {
		return frame.Frame{}, err
	}
	if len(p) > frame.MaxPayload {
		return frame.Frame{}, fmt.Errorf("%s generator made %d bytes for frame %d, over the frame limit %d", g.Kind(), len(p), seq, frame.MaxPayload)
	}
	return frame.Frame{Seq: seq, Time: t, Payload: p}, nil
}

// ---- deterministic integer randomness ----

// mix is the SplitMix64 finaliser: a bijection of uint64 that spreads
// every input bit over the output.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

// rng draws a reproducible sequence of numbers for one frame.
type rng struct{ s uint64 }

func newRNG(seed, seq uint64, salt uint64) *rng {
	return &rng{s: mix(seed^0x9e3779b97f4a7c15) ^ mix(seq+salt*0x632be59bd9b4e019)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n), n > 0.
func (r *rng) intn(n int64) int64 { return int64(r.next() % uint64(n)) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int64) int64 { return lo + r.intn(hi-lo+1) }

// tri is a triangle wave of the given period (> 0) in [-1000, 1000]
// (per mille), at position x.
func tri(x, period int64) int64 {
	p := x % period
	if p < 0 {
		p += period
	}
	if p < period/2 {
		return -1000 + 4000*p/period
	}
	return 3000 - 4000*p/period
}

// appendFixed appends v / 10^dec with exactly dec decimals, e.g. 2137, 2 →
// "21.37", -5, 2 → "-0.05".
func appendFixed(b []byte, v int64, dec int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	p := int64(1)
	for range dec {
		p *= 10
	}
	b = appendInt(b, v/p)
	if dec == 0 {
		return b
	}
	b = append(b, '.')
	frac := v % p
	for q := p / 10; q > 0; q /= 10 {
		b = append(b, byte('0'+frac/q%10))
	}
	return b
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		return appendUint(b, uint64(-v))
	}
	return appendUint(b, uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// appendTime appends t (Unix ns) as RFC 3339 UTC with milliseconds.
func appendTime(b []byte, t int64) []byte {
	return time.Unix(0, t).UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
}

// secondsOf returns whole seconds of source time since the Unix epoch.
func secondsOf(t int64) int64 {
	s := t / 1e9
	if t < 0 && t%1e9 != 0 {
		s--
	}
	return s
}
