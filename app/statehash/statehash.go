package statehash

import (
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
	"errors"
)

// Lanes is the number of 16-bit lanes of a digest.
const Lanes = 1024

// Size is the length of a digest's encoding.
const Size = 2 * Lanes

// ElementDomain starts every element's expansion; SumDomain starts Sum.
const (
	ElementDomain = "datadragon/statehash/element/v1"
	SumDomain     = "datadragon/statehash/sum/v1"
)

// Digest is the lattice hash of a set of elements. The zero value is the
// digest of the empty set.
type Digest struct{ lanes [Lanes]uint16 }

// expand returns an element's 1024 lanes.
func expand(elem []byte) *[Lanes]uint16 {
	h := sha3.NewSHAKE128()
	h.Write([]byte(ElementDomain))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(elem)))
	h.Write(n[:])
	h.Write(elem)
	var buf [Size]byte
	h.Read(buf[:])
	var out [Lanes]uint16
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(buf[2*i:])
	}
	return &out
}

// Add adds an element.
func (d *Digest) Add(elem []byte) {
	e := expand(elem)
	for i := range d.lanes {
		d.lanes[i] += e[i]
	}
}

// Remove removes an element that was added (removing one that was not
// gives the digest of no set anyone can name).
func (d *Digest) Remove(elem []byte) {
	e := expand(elem)
	for i := range d.lanes {
		d.lanes[i] -= e[i]
	}
}

// Combine adds every element of o.
func (d *Digest) Combine(o *Digest) {
	for i := range d.lanes {
		d.lanes[i] += o.lanes[i]
	}
}

// Equal reports whether two digests are the same.
func (d *Digest) Equal(o *Digest) bool { return d.lanes == o.lanes }

// Sum is the 32-byte commitment to the digest:
// SHA-256("datadragon/statehash/sum/v1" ‖ the 2048-byte encoding).
func (d *Digest) Sum() [32]byte {
	h := sha256.New()
	h.Write([]byte(SumDomain))
	h.Write(d.Marshal())
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Marshal returns the lanes, little-endian, 2048 bytes.
func (d *Digest) Marshal() []byte {
	out := make([]byte, Size)
	for i, v := range d.lanes {
		binary.LittleEndian.PutUint16(out[2*i:], v)
	}
	return out
}

// Unmarshal reads what Marshal wrote.
func Unmarshal(b []byte) (*Digest, error) {
	if len(b) != Size {
		return nil, errors.New("statehash: a digest is 2048 bytes")
	}
	d := &Digest{}
	for i := range d.lanes {
		d.lanes[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return d, nil
}

// Element is the canonical encoding of one stored value as an element:
//
//	u8 len ‖ bucket ‖ u32 len ‖ key ‖ value
//
// The lengths make it injective, so no value can pass for another key's.
func Element(bucket string, key, value []byte) []byte {
	out := make([]byte, 0, 1+len(bucket)+4+len(key)+len(value))
	out = append(out, byte(len(bucket)))
	out = append(out, bucket...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(key)))
	out = append(out, key...)
	return append(out, value...)
}
