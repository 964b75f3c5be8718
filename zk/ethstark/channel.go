package ethstark

import (
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/blake2s"

	"github.com/datadragon/datadragon/zk/field"
)

// maxDigest is the longest Blake2s digest a branch of ethSTARK uses (the
// ziggy branch's 256 bits). Digests are held in arrays of this size; a
// shorter digest (the master branch's 160 bits) fills the first bytes and
// leaves the rest zero, so arrays compare as the digests do.
const maxDigest = 32

type digest = [maxDigest]byte

// hashSum is Blake2s with an n-byte digest: golang.org/x/crypto's for 32
// bytes, the package's own core for the master branch's 20.
func hashSum(n int, b []byte) digest {
	if n == maxDigest {
		return blake2s.Sum256(b)
	}
	var d digest
	blake2sSum(d[:n], nil, b)
	return d
}

func hashPair(n int, l, r *digest) digest {
	var buf [2 * maxDigest]byte
	copy(buf[:], l[:n])
	copy(buf[n:], r[:n])
	return hashSum(n, buf[:2*n])
}

// hashChain is ethSTARK's Fiat–Shamir state: a Blake2s digest of n bytes
// that every prover message is absorbed into (digest ← H(digest ‖
// message)), and from which challenges are squeezed as H(digest ‖ 0…0 ‖
// counter) (2n bytes hashed), n bytes at a time. Bytes of a squeezed block
// left over by a short request are kept and served to the next short
// request, as ethSTARK does; the exact reuse rule matters because it
// decides every challenge.
type hashChain struct {
	n       int // digest length in bytes
	digest  digest
	counter uint64
	spare   [2 * maxDigest]byte
	nSpare  int
}

func newHashChain(n int, seed []byte) *hashChain {
	return &hashChain{n: n, digest: hashSum(n, seed)}
}

func (h *hashChain) mix(b []byte) {
	buf := make([]byte, 0, h.n+len(b))
	buf = append(buf, h.digest[:h.n]...)
	buf = append(buf, b...)
	h.digest = hashSum(h.n, buf)
	h.counter = 0
	h.nSpare = 0
}

func (h *hashChain) block() digest {
	var buf [2 * maxDigest]byte
	copy(buf[:], h.digest[:h.n])
	binary.BigEndian.PutUint64(buf[2*h.n-8:], h.counter)
	h.counter++
	return hashSum(h.n, buf[:2*h.n])
}

// random fills out with challenge bytes.
func (h *hashChain) random(out []byte) {
	full := len(out) / h.n * h.n
	for off := 0; off < full; off += h.n {
		b := h.block()
		copy(out[off:], b[:h.n])
	}
	tail := out[full:]
	if len(tail) <= h.nSpare {
		copy(tail, h.spare[:len(tail)])
		copy(h.spare[:], h.spare[len(tail):])
		h.nSpare -= len(tail)
		return
	}
	b := h.block()
	copy(tail, b[:len(tail)])
	h.nSpare += copy(h.spare[h.nSpare:], b[len(tail):h.n])
}

var errProofShort = errors.New("ethstark: proof too short")

// channel is the verifier's side of ethSTARK's non-interactive channel: it
// reads the prover's messages from the proof in order and, until the query
// phase begins, absorbs each one into the hash chain before the next
// challenge is drawn.
type channel struct {
	hc      *hashChain
	proof   []byte
	pos     int
	queries bool // query phase: messages are no longer absorbed
}

func newChannel(n int, seed, proof []byte) *channel {
	return &channel{hc: newHashChain(n, seed), proof: proof}
}

func (c *channel) receive(n int) ([]byte, error) {
	if n < 0 || n > len(c.proof)-c.pos {
		return nil, errProofShort
	}
	b := c.proof[c.pos : c.pos+n]
	c.pos += n
	if !c.queries {
		c.hc.mix(b)
	}
	return b, nil
}

func (c *channel) receiveHash() (digest, error) {
	var d digest
	b, err := c.receive(c.hc.n)
	if err != nil {
		return d, err
	}
	copy(d[:], b)
	return d, nil
}

func (c *channel) receiveBase() (field.Element, error) {
	b, err := c.receive(8)
	if err != nil {
		return field.Element{}, err
	}
	return decodeBase(b)
}

func receiveExt[E extElem[E], O extOps[E]](c *channel) (E, error) {
	var o O
	b, err := c.receive(o.size())
	if err != nil {
		var zero E
		return zero, err
	}
	return o.decode(b)
}

// receiveExtSpan reads n extension elements as one message, as ethSTARK
// sends the last FRI layer.
func receiveExtSpan[E extElem[E], O extOps[E]](c *channel, n int) ([]E, error) {
	var o O
	sz := o.size()
	if n < 0 || n > (len(c.proof)-c.pos)/sz {
		return nil, errProofShort
	}
	b, err := c.receive(sz * n)
	if err != nil {
		return nil, err
	}
	out := make([]E, n)
	for i := range out {
		if out[i], err = o.decode(b[sz*i:]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// randomNumber draws a number below bound from 8 challenge bytes, as
// ethSTARK does (a plain modular reduction; bound < 2^48).
func (c *channel) randomNumber(bound uint64) uint64 {
	var b [8]byte
	c.hc.random(b[:])
	return binary.BigEndian.Uint64(b[:]) % bound
}

// randomBase draws a base element: 8 bytes masked to 62 bits, rejected
// while ≥ p, taken as the Montgomery representation (ethSTARK's
// RandomElement).
func (c *channel) randomBase() field.Element {
	const mask = 1<<62 - 1
	var b [8]byte
	for {
		c.hc.random(b[:])
		v := binary.BigEndian.Uint64(b[:]) & mask
		if v < field.Modulus {
			return field.FromMontgomery(v)
		}
	}
}

// randomExt draws an extension element as ethSTARK does.
func randomExt[E extElem[E], O extOps[E]](c *channel) E {
	var o O
	return o.random(c)
}

var powMagic = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xed}

// powInit is the proof of work's first hash, H(magic ‖ state ‖ bits).
func powInit(n int, state digest, bits int) digest {
	init := make([]byte, 0, 8+maxDigest+1)
	init = append(init, powMagic[:]...)
	init = append(init, state[:n]...)
	init = append(init, byte(bits))
	return hashSum(n, init)
}

// proofOfWork reads the 8-byte nonce and checks that
// H(H(magic ‖ state ‖ bits) ‖ nonce) starts with bits zero bits.
func (c *channel) proofOfWork(bits int) error {
	if bits == 0 {
		return nil
	}
	if bits > 40 {
		return errors.New("ethstark: more than 40 proof-of-work bits")
	}
	n := c.hc.n
	ih := powInit(n, c.hc.digest, bits)
	nonce, err := c.receive(8)
	if err != nil {
		return err
	}
	var buf [maxDigest + 8]byte
	copy(buf[:], ih[:n])
	copy(buf[n:], nonce)
	h := hashSum(n, buf[:n+8])
	if binary.BigEndian.Uint64(h[:8]) >= uint64(1)<<(64-bits) {
		return errors.New("ethstark: wrong proof of work")
	}
	return nil
}

// decodeBase reads ethSTARK's encoding of a base element: the 8-byte
// big-endian Montgomery representation. ethSTARK does not check the range;
// DataDragon refuses a value ≥ p, which an honest prover never writes, so
// that every element has one encoding.
func decodeBase(b []byte) (field.Element, error) {
	v := binary.BigEndian.Uint64(b)
	if v >= field.Modulus {
		return field.Element{}, errors.New("ethstark: field element not below the modulus")
	}
	return field.FromMontgomery(v), nil
}

func appendBase(b []byte, e field.Element) []byte {
	return binary.BigEndian.AppendUint64(b, e.Montgomery())
}
