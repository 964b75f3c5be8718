package ethstark

import (
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/blake2s"

	"github.com/datadragon/datadragon/zk/field"
)

// digestSize is the Blake2s digest length of the ziggy branch of ethSTARK
// (256 bits) and therefore the length of every commitment and Merkle node.
const digestSize = 32

func hashBytes(b []byte) [digestSize]byte { return blake2s.Sum256(b) }

func hashPair(l, r *[digestSize]byte) [digestSize]byte {
	var buf [2 * digestSize]byte
	copy(buf[:], l[:])
	copy(buf[digestSize:], r[:])
	return blake2s.Sum256(buf[:])
}

// hashChain is ethSTARK's Fiat–Shamir state: a Blake2s digest that every
// prover message is absorbed into (digest ← H(digest ‖ message)), and from
// which challenges are squeezed as H(digest ‖ 0…0 ‖ counter), 32 bytes at a
// time. Bytes of a squeezed block left over by a short request are kept and
// served to the next short request, as ethSTARK does; the exact reuse rule
// matters because it decides every challenge.
type hashChain struct {
	digest  [digestSize]byte
	counter uint64
	spare   [2 * digestSize]byte
	nSpare  int
}

func newHashChain(seed []byte) *hashChain {
	return &hashChain{digest: hashBytes(seed)}
}

func (h *hashChain) mix(b []byte) {
	buf := make([]byte, 0, digestSize+len(b))
	buf = append(buf, h.digest[:]...)
	buf = append(buf, b...)
	h.digest = hashBytes(buf)
	h.counter = 0
	h.nSpare = 0
}

func (h *hashChain) block() [digestSize]byte {
	var buf [2 * digestSize]byte
	copy(buf[:], h.digest[:])
	binary.BigEndian.PutUint64(buf[2*digestSize-8:], h.counter)
	h.counter++
	return blake2s.Sum256(buf[:])
}

// random fills out with challenge bytes.
func (h *hashChain) random(out []byte) {
	full := len(out) / digestSize * digestSize
	for off := 0; off < full; off += digestSize {
		b := h.block()
		copy(out[off:], b[:])
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
	h.nSpare += copy(h.spare[h.nSpare:], b[len(tail):])
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

func newChannel(seed, proof []byte) *channel {
	return &channel{hc: newHashChain(seed), proof: proof}
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

func (c *channel) receiveHash() ([digestSize]byte, error) {
	var d [digestSize]byte
	b, err := c.receive(digestSize)
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

func (c *channel) receiveExt() (field.Ext, error) {
	b, err := c.receive(24)
	if err != nil {
		return field.Ext{}, err
	}
	return decodeExt(b)
}

// receiveExtSpan reads n extension elements as one message, as ethSTARK
// sends the last FRI layer.
func (c *channel) receiveExtSpan(n int) ([]field.Ext, error) {
	if n < 0 || n > (len(c.proof)-c.pos)/24 {
		return nil, errProofShort
	}
	b, err := c.receive(24 * n)
	if err != nil {
		return nil, err
	}
	out := make([]field.Ext, n)
	for i := range out {
		if out[i], err = decodeExt(b[24*i:]); err != nil {
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

// randomExt draws an extension element. ethSTARK builds it from three
// random base elements passed as constructor arguments, which its compiler
// evaluates right to left: the first draw is the X² coefficient, the last
// the constant one.
func (c *channel) randomExt() field.Ext {
	a2 := c.randomBase()
	a1 := c.randomBase()
	a0 := c.randomBase()
	return field.Ext{A0: a0, A1: a1, A2: a2}
}

var powMagic = [8]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xed}

// proofOfWork reads the 8-byte nonce and checks that
// H(H(magic ‖ state ‖ bits) ‖ nonce) starts with bits zero bits.
func (c *channel) proofOfWork(bits int) error {
	if bits == 0 {
		return nil
	}
	if bits > 40 {
		return errors.New("ethstark: more than 40 proof-of-work bits")
	}
	state := c.hc.digest
	nonce, err := c.receive(8)
	if err != nil {
		return err
	}
	init := make([]byte, 0, 8+digestSize+1)
	init = append(init, powMagic[:]...)
	init = append(init, state[:]...)
	init = append(init, byte(bits))
	ih := hashBytes(init)
	var buf [digestSize + 8]byte
	copy(buf[:], ih[:])
	copy(buf[digestSize:], nonce)
	h := hashBytes(buf[:])
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

func decodeExt(b []byte) (field.Ext, error) {
	var e field.Ext
	var err error
	if e.A0, err = decodeBase(b[0:]); err != nil {
		return e, err
	}
	if e.A1, err = decodeBase(b[8:]); err != nil {
		return e, err
	}
	e.A2, err = decodeBase(b[16:])
	return e, err
}

func appendBase(b []byte, e field.Element) []byte {
	return binary.BigEndian.AppendUint64(b, e.Montgomery())
}

func appendExt(b []byte, e field.Ext) []byte {
	return appendBase(appendBase(appendBase(b, e.A0), e.A1), e.A2)
}
