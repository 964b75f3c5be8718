package transcript

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	domainTag = "datadragon/transcript/v1"

	opAbsorb    = 0x01
	opChallenge = 0x02
	opRatchet   = 0x03
	opGrind     = 0x04

	// MaxGrindBits is the largest proof-of-work difficulty Grind accepts.
	MaxGrindBits = 32

	// parallelGrindBits is the difficulty from which Grind uses all CPUs.
	parallelGrindBits = 8
	// smallInput is the largest hash input assembled on the stack.
	smallInput = 256
)

// Transcript is a Fiat–Shamir transcript: a 32-byte SHA-256 chaining state
// and a count of challenges drawn. The zero value is not usable; call New.
// A Transcript is a plain value: copying it (u := *t) forks the transcript.
// It is not safe for concurrent use.
type Transcript struct {
	state   [32]byte
	counter uint64
}

// New starts a transcript for the named protocol:
// state = SHA-256("datadragon/transcript/v1" || u64le(len(protocol)) || protocol).
func New(protocol string) *Transcript {
	h := sha256.New()
	h.Write([]byte(domainTag))
	h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(protocol))))
	h.Write([]byte(protocol))
	t := new(Transcript)
	h.Sum(t.state[:0])
	return t
}

// Absorb binds a labelled message into the transcript:
// state = SHA-256(state || 0x01 || u64le(len(label)) || label || u64le(len(data)) || data).
func (t *Transcript) Absorb(label string, data []byte) {
	total := 32 + 1 + 8 + len(label) + 8 + len(data)
	if total <= smallInput {
		var buf [smallInput]byte
		b := append(buf[:0], t.state[:]...)
		b = append(b, opAbsorb)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(label)))
		b = append(b, label...)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
		b = append(b, data...)
		t.state = sha256.Sum256(b)
		return
	}
	var hdr [32 + 1 + 8]byte
	copy(hdr[:], t.state[:])
	hdr[32] = opAbsorb
	binary.LittleEndian.PutUint64(hdr[33:], uint64(len(label)))
	h := sha256.New()
	h.Write(hdr[:])
	h.Write([]byte(label))
	h.Write(binary.LittleEndian.AppendUint64(hdr[:0], uint64(len(data))))
	h.Write(data)
	h.Sum(t.state[:0])
}

// Challenge returns 32 pseudo-random bytes bound to everything absorbed so
// far, to label, and to the number of challenges drawn before:
// out = SHA-256(state || 0x02 || u64le(len(label)) || label || u64le(counter)).
// It then ratchets the state, state = SHA-256(state || 0x03 || out), and
// increments counter, so the next challenge differs even with the same label.
func (t *Transcript) Challenge(label string) [32]byte {
	var out [32]byte
	if 32+1+8+len(label)+8 <= smallInput {
		var buf [smallInput]byte
		b := append(buf[:0], t.state[:]...)
		b = append(b, opChallenge)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(label)))
		b = append(b, label...)
		b = binary.LittleEndian.AppendUint64(b, t.counter)
		out = sha256.Sum256(b)
	} else {
		h := sha256.New()
		h.Write(t.state[:])
		h.Write([]byte{opChallenge})
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(label))))
		h.Write([]byte(label))
		h.Write(binary.LittleEndian.AppendUint64(nil, t.counter))
		h.Sum(out[:0])
	}
	var r [32 + 1 + 32]byte
	copy(r[:32], t.state[:])
	r[32] = opRatchet
	copy(r[33:], out[:])
	t.state = sha256.Sum256(r[:])
	t.counter++
	return out
}

// grindInput returns state || 0x04 || 8 zero bytes; the nonce goes in [33:41].
func (t *Transcript) grindInput() [32 + 1 + 8]byte {
	var b [32 + 1 + 8]byte
	copy(b[:32], t.state[:])
	b[32] = opGrind
	return b
}

// powOK reports whether SHA-256(b with nonce) has at least n leading zero
// bits, reading the digest as a big-endian integer. n must be in 1..32.
func powOK(b *[41]byte, nonce uint64, n int) bool {
	binary.LittleEndian.PutUint64(b[33:], nonce)
	h := sha256.Sum256(b[:])
	return bits.LeadingZeros32(binary.BigEndian.Uint32(h[:4])) >= n
}

// Grind returns the smallest nonce such that
// SHA-256(state || 0x04 || u64le(nonce)) has at least bits leading zero bits
// (bits = 0 returns 0). The result is deterministic and independent of the
// number of CPUs; for bits ≥ 8 the search is split over
// runtime.GOMAXPROCS(0) goroutines (worker w tries w, w+P, w+2P, ...), which
// stop once a smaller nonce than any they could still find is known. Expected
// work is 2^bits hashes. Grind does not change the transcript; the caller is
// expected to absorb the nonce afterwards. It panics unless 0 ≤ bits ≤ 32.
func (t *Transcript) Grind(bits int) uint64 {
	if bits < 0 || bits > MaxGrindBits {
		panic(fmt.Sprintf("transcript: Grind: bits %d outside [0, %d]", bits, MaxGrindBits))
	}
	if bits == 0 {
		return 0
	}
	base := t.grindInput()
	procs := runtime.GOMAXPROCS(0)
	if bits < parallelGrindBits || procs == 1 {
		for nonce := uint64(0); ; nonce++ {
			if powOK(&base, nonce, bits) {
				return nonce
			}
		}
	}
	var best atomic.Uint64
	best.Store(math.MaxUint64)
	var wg sync.WaitGroup
	stride := uint64(procs)
	for w := range stride {
		wg.Go(func() {
			b := base
			// nonce < best: any later hit of this worker would be larger.
			for nonce := w; nonce < best.Load(); nonce += stride {
				if !powOK(&b, nonce, bits) {
					continue
				}
				for {
					cur := best.Load()
					if nonce >= cur || best.CompareAndSwap(cur, nonce) {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return best.Load()
}

// CheckGrind reports whether nonce satisfies the proof-of-work condition of
// Grind for the current state. bits = 0 accepts any nonce; bits outside
// [0, 32] are rejected.
func (t *Transcript) CheckGrind(nonce uint64, bits int) bool {
	if bits < 0 || bits > MaxGrindBits {
		return false
	}
	if bits == 0 {
		return true
	}
	b := t.grindInput()
	return powOK(&b, nonce, bits)
}
