package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The on-disk layout; doc.go describes it in prose. All integers are
// little-endian.
const (
	segMagic      = "DDWALSEG" // the first 8 bytes of every segment file
	segVersion    = 1          // the layout version this package writes and reads
	segHeaderSize = 36         // magic 8, version 4, reserved 4, first seq 8, first offset 8, CRC 4

	recHeaderSize = 24                         // kind 1, flags 1, reserved 2, length 4, seq 8, offset 8
	recOverhead   = recHeaderSize + crc32.Size // bytes a record adds to its data

	kindData = 1 // a message
	kindEnd  = 2 // an end marker: the chunk closes after message seq

	flagEnd = 1 // on a data record: this message closes a chunk
)

// maxMessageLimit caps Options.MaxMessageBytes, so that a length and the end
// flag share a uint32 in the index (see slot).
const maxMessageLimit = 1 << 30

// castagnoli is the CRC-32C table every checksum in a segment uses.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segHeader is the decoded header at the start of a segment file.
type segHeader struct {
	first  uint64 // seq of the first message the segment holds (or will hold)
	offset uint64 // stream offset of that message
}

func appendSegHeader(dst []byte, h segHeader) []byte {
	start := len(dst)
	dst = append(dst, segMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, segVersion)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint64(dst, h.first)
	dst = binary.LittleEndian.AppendUint64(dst, h.offset)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// parseSegHeader decodes the segHeaderSize bytes at the start of a segment.
// Its errors say what is wrong, without naming the file.
func parseSegHeader(b []byte) (segHeader, error) {
	if len(b) < segHeaderSize {
		return segHeader{}, fmt.Errorf("segment header is %d bytes, want %d", len(b), segHeaderSize)
	}
	b = b[:segHeaderSize]
	if crc32.Checksum(b[:segHeaderSize-4], castagnoli) != binary.LittleEndian.Uint32(b[segHeaderSize-4:]) {
		if string(b[:len(segMagic)]) != segMagic {
			return segHeader{}, errors.New("not a WAL segment (bad magic)")
		}
		return segHeader{}, errors.New("segment header checksum mismatch")
	}
	if string(b[:len(segMagic)]) != segMagic {
		return segHeader{}, errors.New("not a WAL segment (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != segVersion {
		return segHeader{}, fmt.Errorf("segment format version %d; this build reads version %d only", v, segVersion)
	}
	if binary.LittleEndian.Uint32(b[12:]) != 0 {
		return segHeader{}, errors.New("segment header has non-zero reserved bytes")
	}
	return segHeader{
		first:  binary.LittleEndian.Uint64(b[16:]),
		offset: binary.LittleEndian.Uint64(b[24:]),
	}, nil
}

// recHeader is the decoded fixed part of a record.
type recHeader struct {
	kind  byte
	flags byte
	n     uint32 // data length; 0 for an end marker
	seq   uint64 // data: the message's seq; end marker: the seq of the message it closes the chunk after
	off   uint64 // data: the message's stream offset; end marker: the stream length after that message
}

// size is the record's length on disk.
func (h recHeader) size() int64 { return recOverhead + int64(h.n) }

// appendRecord appends the encoding of a record with header h (whose n is
// ignored: len(data) is written) to dst.
func appendRecord(dst []byte, h recHeader, data []byte) []byte {
	start := len(dst)
	dst = append(dst, h.kind, h.flags, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(data)))
	dst = binary.LittleEndian.AppendUint64(dst, h.seq)
	dst = binary.LittleEndian.AppendUint64(dst, h.off)
	dst = append(dst, data...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// badRecord is why bytes do not hold a valid record.
type badRecord struct {
	reason string
	// short: the bytes end inside a record whose header is otherwise valid,
	// as they do after a torn write.
	short bool
	// tooLong: the header is valid except that the length exceeds the limit.
	tooLong bool
	// intact: with tooLong, the whole record is present and its checksum
	// matches, so it is a real record written under a larger limit, not
	// garbage.
	intact bool
}

func (e *badRecord) Error() string { return e.reason }

// parseRecHeader decodes and checks a record header; b holds at least
// recHeaderSize bytes. When the only fault is a length above max it returns
// the header too, with a *badRecord whose tooLong is set.
func parseRecHeader(b []byte, max int) (recHeader, error) {
	h := recHeader{
		kind:  b[0],
		flags: b[1],
		n:     binary.LittleEndian.Uint32(b[4:]),
		seq:   binary.LittleEndian.Uint64(b[8:]),
		off:   binary.LittleEndian.Uint64(b[16:]),
	}
	switch {
	case h.kind != kindData && h.kind != kindEnd:
		return h, &badRecord{reason: fmt.Sprintf("unknown record kind %d", h.kind)}
	case b[2] != 0 || b[3] != 0:
		return h, &badRecord{reason: "record header has non-zero reserved bytes"}
	case h.kind == kindData && h.flags&^flagEnd != 0:
		return h, &badRecord{reason: fmt.Sprintf("unknown data record flags %#x", h.flags)}
	case h.kind == kindEnd && (h.flags != 0 || h.n != 0):
		return h, &badRecord{reason: "end marker with flags or data"}
	case int64(h.n) > int64(max):
		return h, &badRecord{reason: fmt.Sprintf("record length %d exceeds MaxMessageBytes (%d)", h.n, max), tooLong: true}
	}
	return h, nil
}

// record is a decoded record. data aliases the decoded bytes.
type record struct {
	recHeader
	data []byte
}

// decodeRecord decodes the record at the start of b, whose data may be at
// most max bytes, and returns it with its encoded length. It never reads
// past b and allocates nothing. Its errors are *badRecord.
func decodeRecord(b []byte, max int) (record, int, error) {
	if len(b) < recHeaderSize {
		return record{}, 0, &badRecord{reason: fmt.Sprintf("%d bytes, too short for a record header", len(b)), short: true}
	}
	h, err := parseRecHeader(b, max)
	if err != nil {
		return record{}, 0, err
	}
	end := recHeaderSize + int(h.n) // h.n ≤ max ≤ maxMessageLimit: no overflow
	if len(b) < end+crc32.Size {
		return record{}, 0, &badRecord{reason: fmt.Sprintf("record of %d bytes cut short at %d", end+crc32.Size, len(b)), short: true}
	}
	if crc32.Checksum(b[:end], castagnoli) != binary.LittleEndian.Uint32(b[end:]) {
		return record{}, 0, &badRecord{reason: "record checksum mismatch"}
	}
	return record{recHeader: h, data: b[recHeaderSize:end:end]}, end + crc32.Size, nil
}

// scanner verifies the records of a stream one by one, as recovery does,
// without holding any record's data in memory: lengths read from disk never
// size an allocation.
type scanner struct {
	r   *bufio.Reader
	max int
	pos int64 // stream position of the next record
	hdr [recHeaderSize]byte
}

// newScanner returns a scanner reading r, at stream position pos, through a
// buffer of bufSize bytes.
func newScanner(r io.Reader, pos int64, max, bufSize int) *scanner {
	return &scanner{r: bufio.NewReaderSize(r, bufSize), max: max, pos: pos}
}

// next verifies the next record and returns its header, advancing pos past
// it. At the end of the stream, on a record boundary, it returns io.EOF.
// A record that is torn, corrupt or too long gives a *badRecord, with pos
// left at its start; a read error is returned as it is.
func (s *scanner) next() (recHeader, error) {
	n, err := io.ReadFull(s.r, s.hdr[:])
	switch {
	case n == 0 && err == io.EOF:
		return recHeader{}, io.EOF
	case err == io.ErrUnexpectedEOF:
		return recHeader{}, &badRecord{reason: fmt.Sprintf("%d bytes, too short for a record header", n), short: true}
	case err != nil:
		return recHeader{}, err
	}
	h, herr := parseRecHeader(s.hdr[:], s.max)
	var bad *badRecord
	if herr != nil {
		bad = herr.(*badRecord)
		if !bad.tooLong {
			return h, bad
		}
	}
	crc := crc32.Update(0, castagnoli, s.hdr[:])
	for left := int64(h.n); left > 0; {
		b, err := s.r.Peek(int(min(left, int64(s.r.Size()))))
		if len(b) > 0 {
			crc = crc32.Update(crc, castagnoli, b)
			s.r.Discard(len(b))
			left -= int64(len(b))
			continue
		}
		if err == io.EOF {
			if bad != nil {
				return h, bad
			}
			return h, &badRecord{reason: fmt.Sprintf("record of %d bytes cut short", h.size()), short: true}
		}
		return h, err
	}
	var sum [crc32.Size]byte
	if _, err := io.ReadFull(s.r, sum[:]); err != nil {
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			return h, err
		}
		if bad != nil {
			return h, bad
		}
		return h, &badRecord{reason: fmt.Sprintf("record of %d bytes cut short", h.size()), short: true}
	}
	if binary.LittleEndian.Uint32(sum[:]) != crc {
		if bad != nil {
			return h, bad
		}
		return h, &badRecord{reason: "record checksum mismatch"}
	}
	if bad != nil {
		bad.intact = true
		return h, bad
	}
	s.pos += h.size()
	return h, nil
}
