// Package codec holds the few primitives every canonical binary format of
// the consensus app is written with: big-endian fixed-width integers and
// length-prefixed byte strings, and a reader that never panics and never
// allocates more than the input it was given.
//
// It exists so that the vote extension, the injected commit, the record and
// the stored state values are all read the same strict way: a short input,
// an oversized length or trailing bytes is an error, never a panic.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Writer appends to B.
type Writer struct{ B []byte }

// U8 appends one byte.
func (w *Writer) U8(v uint8) { w.B = append(w.B, v) }

// U16 appends v big-endian.
func (w *Writer) U16(v uint16) { w.B = binary.BigEndian.AppendUint16(w.B, v) }

// U32 appends v big-endian.
func (w *Writer) U32(v uint32) { w.B = binary.BigEndian.AppendUint32(w.B, v) }

// U64 appends v big-endian.
func (w *Writer) U64(v uint64) { w.B = binary.BigEndian.AppendUint64(w.B, v) }

// I64 appends v as its two's-complement u64.
func (w *Writer) I64(v int64) { w.U64(uint64(v)) }

// Raw appends b as is.
func (w *Writer) Raw(b []byte) { w.B = append(w.B, b...) }

// Bool appends 1 or 0.
func (w *Writer) Bool(v bool) {
	if v {
		w.U8(1)
	} else {
		w.U8(0)
	}
}

// Bytes8 appends a u8 length and b; b must be at most 255 bytes.
func (w *Writer) Bytes8(b []byte) {
	if len(b) > 0xff {
		panic("codec: Bytes8 over 255 bytes")
	}
	w.U8(uint8(len(b)))
	w.Raw(b)
}

// Bytes16 appends a u16 length and b.
func (w *Writer) Bytes16(b []byte) {
	if len(b) > 0xffff {
		panic("codec: Bytes16 over 65535 bytes")
	}
	w.U16(uint16(len(b)))
	w.Raw(b)
}

// Bytes32 appends a u32 length and b.
func (w *Writer) Bytes32(b []byte) {
	if uint64(len(b)) > 0xffffffff {
		panic("codec: Bytes32 over 4 GiB")
	}
	w.U32(uint32(len(b)))
	w.Raw(b)
}

// ErrShort is the error for an input that ends early.
var ErrShort = errors.New("input ends early")

// Reader reads from a byte slice. The first error sticks: later reads
// return zero values, and Err or Done report it.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error.
func (r *Reader) Err() error { return r.err }

// Fail records err if no error is recorded yet.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Failf records a formatted error if none is recorded yet.
func (r *Reader) Failf(format string, args ...any) { r.Fail(fmt.Errorf(format, args...)) }

// Remaining returns the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Offset returns the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = ErrShort
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	s := r.take(1)
	if s == nil {
		return 0
	}
	return s[0]
}

// U16 reads a big-endian u16.
func (r *Reader) U16() uint16 {
	s := r.take(2)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint16(s)
}

// U32 reads a big-endian u32.
func (r *Reader) U32() uint32 {
	s := r.take(4)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint32(s)
}

// U64 reads a big-endian u64.
func (r *Reader) U64() uint64 {
	s := r.take(8)
	if s == nil {
		return 0
	}
	return binary.BigEndian.Uint64(s)
}

// I64 reads a two's-complement i64.
func (r *Reader) I64() int64 { return int64(r.U64()) }

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	v := r.U8()
	if v > 1 {
		r.Failf("boolean byte is %d, not 0 or 1", v)
		return false
	}
	return v == 1
}

// Fixed copies exactly len(dst) bytes into dst.
func (r *Reader) Fixed(dst []byte) {
	s := r.take(len(dst))
	if s != nil {
		copy(dst, s)
	}
}

func (r *Reader) bytes(n, max int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > max {
		r.Failf("%s is %d bytes, more than the limit of %d", what, n, max)
		return nil
	}
	s := r.take(n)
	if s == nil {
		return nil
	}
	return append([]byte(nil), s...)
}

// Bytes8 reads a u8-length-prefixed byte string of at most max bytes and
// returns a copy (never nil when it succeeds, so an empty string is []byte{}).
func (r *Reader) Bytes8(max int, what string) []byte {
	return r.bytes(int(r.U8()), max, what)
}

// Bytes16 reads a u16-length-prefixed byte string of at most max bytes.
func (r *Reader) Bytes16(max int, what string) []byte {
	return r.bytes(int(r.U16()), max, what)
}

// Bytes32 reads a u32-length-prefixed byte string of at most max bytes.
func (r *Reader) Bytes32(max int, what string) []byte {
	n := r.U32()
	if uint64(n) > uint64(max) {
		r.Failf("%s is %d bytes, more than the limit of %d", what, n, max)
		return nil
	}
	return r.bytes(int(n), max, what)
}

// Count reads a u16 element count, at most max, and checks that the rest
// of the input could hold that many elements of at least minSize bytes, so
// a forged count cannot make the caller allocate much.
func (r *Reader) Count(max, minSize int, what string) int {
	n := int(r.U16())
	if r.err != nil {
		return 0
	}
	if n > max {
		r.Failf("%d %s, more than the limit of %d", n, what, max)
		return 0
	}
	if minSize > 0 && n > r.Remaining()/minSize {
		r.Fail(ErrShort)
		return 0
	}
	return n
}

// Done returns the first error, or an error if bytes are left over.
func (r *Reader) Done() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%d trailing bytes", len(r.b)-r.off)
	}
	return nil
}

// Slice returns the next n bytes without copying them: they alias the
// input (nil once the input is short).
func (r *Reader) Slice(n int) []byte { return r.take(n) }
