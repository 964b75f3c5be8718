package ethstark

import (
	"encoding/binary"
	"math/bits"
)

// A Blake2s core (RFC 7693) whose digest length is a parameter.
//
// The digest length is a field of Blake2s's parameter block, so Blake2s
// with a 20-byte digest is not a truncation of Blake2s-256: the first
// chaining word differs and with it every output byte. ethSTARK's master
// branch hashes with this 160-bit Blake2s; golang.org/x/crypto/blake2s
// offers only 32- and (keyed) 16-byte digests, so the package carries its
// own core. Only sequential hashing (fanout 1, depth 1) is implemented,
// with an optional key for RFC 7693's self-test.

const blake2sBlockSize = 64

var blake2sIV = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// blake2sSigma is the message schedule: round r reads message word
// blake2sSigma[r][i] at its i-th position.
var blake2sSigma = [10][16]uint8{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
}

// blake2sCompress is the compression function F: it mixes one 64-byte
// block into h. t is the number of bytes hashed so far, this block
// included; final marks the last block.
func blake2sCompress(h *[8]uint32, block []byte, t uint64, final bool) {
	var m [16]uint32
	for i := range m {
		m[i] = binary.LittleEndian.Uint32(block[4*i:])
	}
	v0, v1, v2, v3, v4, v5, v6, v7 := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
	v8, v9, v10, v11 := blake2sIV[0], blake2sIV[1], blake2sIV[2], blake2sIV[3]
	v12, v13, v14, v15 := blake2sIV[4]^uint32(t), blake2sIV[5]^uint32(t>>32), blake2sIV[6], blake2sIV[7]
	if final {
		v14 = ^v14
	}
	for r := range blake2sSigma {
		s := &blake2sSigma[r]
		v0, v4, v8, v12 = blake2sG(v0, v4, v8, v12, m[s[0]], m[s[1]])
		v1, v5, v9, v13 = blake2sG(v1, v5, v9, v13, m[s[2]], m[s[3]])
		v2, v6, v10, v14 = blake2sG(v2, v6, v10, v14, m[s[4]], m[s[5]])
		v3, v7, v11, v15 = blake2sG(v3, v7, v11, v15, m[s[6]], m[s[7]])
		v0, v5, v10, v15 = blake2sG(v0, v5, v10, v15, m[s[8]], m[s[9]])
		v1, v6, v11, v12 = blake2sG(v1, v6, v11, v12, m[s[10]], m[s[11]])
		v2, v7, v8, v13 = blake2sG(v2, v7, v8, v13, m[s[12]], m[s[13]])
		v3, v4, v9, v14 = blake2sG(v3, v4, v9, v14, m[s[14]], m[s[15]])
	}
	h[0] ^= v0 ^ v8
	h[1] ^= v1 ^ v9
	h[2] ^= v2 ^ v10
	h[3] ^= v3 ^ v11
	h[4] ^= v4 ^ v12
	h[5] ^= v5 ^ v13
	h[6] ^= v6 ^ v14
	h[7] ^= v7 ^ v15
}

// blake2sG is the mixing function G on four state words with two message
// words.
func blake2sG(a, b, c, d, x, y uint32) (uint32, uint32, uint32, uint32) {
	a += b + x
	d = bits.RotateLeft32(d^a, -16)
	c += d
	b = bits.RotateLeft32(b^c, -12)
	a += b + y
	d = bits.RotateLeft32(d^a, -8)
	c += d
	b = bits.RotateLeft32(b^c, -7)
	return a, b, c, d
}

// blake2sSum writes to out (1 to 32 bytes: the digest length) the Blake2s
// digest of the concatenation of parts, keyed with key (at most 32 bytes,
// empty for plain hashing). It panics only on a length outside those
// ranges, which no caller derives from input.
func blake2sSum(out, key []byte, parts ...[]byte) {
	n := len(out)
	if n < 1 || n > 32 || len(key) > 32 {
		panic("ethstark: Blake2s digest or key length out of range")
	}
	h := blake2sIV
	h[0] ^= 0x01010000 ^ uint32(len(key))<<8 ^ uint32(n)

	var buf [blake2sBlockSize]byte
	fill := 0
	var t uint64
	if len(key) > 0 {
		copy(buf[:], key)
		fill = blake2sBlockSize // the padded key is a whole block
	}
	// A block is compressed only once more input follows it, so that the
	// last one, full or not, is compressed with the final flag.
	for _, p := range parts {
		for len(p) > 0 {
			if fill == blake2sBlockSize {
				t += blake2sBlockSize
				blake2sCompress(&h, buf[:], t, false)
				fill = 0
			}
			c := copy(buf[fill:], p)
			fill += c
			p = p[c:]
		}
	}
	clear(buf[fill:])
	t += uint64(fill)
	blake2sCompress(&h, buf[:], t, true)

	var d [32]byte
	for i, w := range h {
		binary.LittleEndian.PutUint32(d[4*i:], w)
	}
	copy(out, d[:n])
}
