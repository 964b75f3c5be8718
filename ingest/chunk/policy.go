package chunk

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is a chunking rule.
type Mode uint8

// The chunking rules.
const (
	BySeq  Mode = 1 // every M messages by seq
	ByTime Mode = 2 // source-time windows of W ms
)

// Limits on policies.
const (
	DefaultMaxMessages = 1 << 16   // messages per chunk unless set
	DefaultMaxBytes    = 64 << 20  // payload bytes per chunk unless set
	HardMaxMessages    = 1 << 20   // no policy may allow more messages per chunk
	HardMaxBytes       = 1 << 30   // no policy may allow more bytes per chunk
	MaxWindowMS        = 86400_000 // the longest time window: one day
	MaxStreamLen       = 256       // bytes of stream id
)

// Policy says how a stream is cut into chunks and how big a chunk may get.
type Policy struct {
	Mode        Mode
	Messages    uint64 // BySeq: messages per chunk (M)
	WindowMS    int64  // ByTime: window length in milliseconds (W)
	MaxMessages int    // per chunk; 0 means DefaultMaxMessages
	MaxBytes    int64  // payload bytes per chunk; 0 means DefaultMaxBytes
}

// EverySeq returns the policy "every m messages by seq".
func EverySeq(m uint64) Policy { return Policy{Mode: BySeq, Messages: m} }

// EveryWindow returns the policy "source-time windows of w".
func EveryWindow(w time.Duration) Policy { return Policy{Mode: ByTime, WindowMS: w.Milliseconds()} }

// ParsePolicy reads "seq:M" (e.g. "seq:100") or "time:DURATION" (e.g.
// "time:1500ms", "time:2s"; a whole number of milliseconds). Limits take
// their defaults.
func ParsePolicy(s string) (Policy, error) {
	rule, arg, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Policy{}, fmt.Errorf("chunk policy %q: write seq:M (every M messages, e.g. seq:100) or time:W (source-time windows, e.g. time:1s)", s)
	}
	var p Policy
	switch rule {
	case "seq":
		m, err := strconv.ParseUint(arg, 10, 64)
		if err != nil {
			return Policy{}, fmt.Errorf("chunk policy %q: M must be a whole number of messages, e.g. seq:100", s)
		}
		p = EverySeq(m)
	case "time":
		d, err := time.ParseDuration(arg)
		if err != nil || d%time.Millisecond != 0 {
			return Policy{}, fmt.Errorf("chunk policy %q: W must be a duration in whole milliseconds, e.g. time:500ms or time:2s", s)
		}
		p = EveryWindow(d)
	default:
		return Policy{}, fmt.Errorf("chunk policy %q: unknown rule %q, want seq or time", s, rule)
	}
	return p, p.Validate()
}

// String returns the policy in the form ParsePolicy reads.
func (p Policy) String() string {
	switch p.Mode {
	case BySeq:
		return fmt.Sprintf("seq:%d", p.Messages)
	case ByTime:
		return fmt.Sprintf("time:%dms", p.WindowMS)
	}
	return fmt.Sprintf("mode(%d)", p.Mode)
}

func (p Policy) withDefaults() Policy {
	if p.MaxMessages == 0 {
		p.MaxMessages = DefaultMaxMessages
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	return p
}

// Validate reports what is wrong with p, if anything.
func (p Policy) Validate() error {
	p = p.withDefaults()
	if p.MaxMessages < 1 || p.MaxMessages > HardMaxMessages {
		return fmt.Errorf("chunk limit of %d messages is out of range: use 1 to %d", p.MaxMessages, HardMaxMessages)
	}
	if p.MaxBytes < 1 || p.MaxBytes > HardMaxBytes {
		return fmt.Errorf("chunk limit of %d bytes is out of range: use 1 to %d (1 GiB)", p.MaxBytes, HardMaxBytes)
	}
	switch p.Mode {
	case BySeq:
		if p.Messages < 1 || p.Messages > uint64(p.MaxMessages) {
			return fmt.Errorf("chunk policy seq:%d: M must be 1 to %d (the chunk's message limit)", p.Messages, p.MaxMessages)
		}
	case ByTime:
		if p.WindowMS < 1 || p.WindowMS > MaxWindowMS {
			return fmt.Errorf("chunk policy time:%dms: the window must be 1 ms to 24 h", p.WindowMS)
		}
	default:
		return errors.New("chunk policy has no rule: use seq:M or time:W")
	}
	return nil
}
